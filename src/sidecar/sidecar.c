/* nearup health: polls one node, judges it, serves the verdict (see sidecar.h).
 *
 * Polling uses libcurl's multi interface driven by the uv loop (sockets
 * through uv_poll, curl's timer through a uv_timer), so a slow or hanging
 * node never blocks /healthcheck or the agent. */
#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "buf.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "redact.h"
#include "sidecar.h"

#define STATUS_REQUEST                                                                             \
    "{\"jsonrpc\":\"2.0\",\"id\":\"nearup-health\",\"method\":\"status\",\"params\":[]}"
#define PAGE_MAX (1u << 20)  /* /metrics and /healthcheck bodies */
#define HC_URL_SHOWN_MAX 121 /* what a message shows of a node's URL */

struct probe {
    struct hc_sidecar *sc;
    const char *url;              /* in sc->o */
    char shown[HC_URL_SHOWN_MAX]; /* url with its userinfo redacted, for messages */
    CURL *easy;
    struct curl_slist *headers;
    struct nu_buf body;
    bool busy, toobig;
    struct hc_sample sample;
    char curlerr[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. curl reports every socket it closes
 * (CURL_POLL_REMOVE), curl_multi_cleanup included, so none is left over. */
struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct hc_sidecar *sc;
};

struct sc_metrics {
    struct nu_metrics *reg;
    struct nu_metric *up, *node_up, *head, *age, *ref_head, *lag, *state, *weight, *checks;
};

struct hc_sidecar {
    uv_loop_t *loop;
    struct hc_opts o;
    CURLM *multi;
    uv_timer_t curl_timer, tick;
    struct probe node, ref;
    bool has_ref, round_busy;
    struct nu_httpd *httpd;
    struct hc_agent *agent;
    int http_port, agent_port;
    struct hc_check last;
    struct health_verdict v;
    struct sc_metrics m;
    bool closing;
    int pending; /* closes still to complete */
    hc_sidecar_closed_fn done;
    void *done_ud;
};

const char *hc_state_name(int st)
{
    return st == HEALTH_UNKNOWN ? "starting" : health_state_name(st);
}

void hc_opts_init(struct hc_opts *o)
{
    *o = (struct hc_opts){.listen_host = "127.0.0.1",
                          .listen_port = 3032,
                          .agent_port = -1,
                          .max_lag = 20,
                          .stale_ms = 30000,
                          .interval_ms = 1000,
                          .timeout_ms = 1000,
                          .rise = 2,
                          .fall = 2,
                          .drain_ms = 1000};
}

/* ---- judging ---- */

void hc_classify(const struct hc_opts *o, const struct hc_sample *node, const struct hc_sample *ref,
                 int64_t now_ms, struct hc_check *out)
{
    const struct health_limits lim = {.max_lag = o->max_lag, .stale_ms = o->stale_ms};
    int64_t ref_head = -1;
    out->ref_error[0] = '\0';
    if (!node->ok) {
        health_check_down(&out->c, node->error);
        return;
    }
    if (ref != NULL && !ref->ok)
        snprintf(out->ref_error, sizeof(out->ref_error), "reference: %.200s", ref->error);
    else if (ref != NULL && strcmp(ref->st.chain_id, node->st.chain_id) != 0)
        snprintf(out->ref_error, sizeof(out->ref_error),
                 "reference chain_id %.60s differs from the node's %.60s", ref->st.chain_id,
                 node->st.chain_id);
    else if (ref != NULL)
        ref_head = ref->st.head;
    health_classify(&node->st, ref_head, now_ms, &lim, &out->c);
}

unsigned hc_weight(int64_t lag, unsigned max_lag)
{
    if (lag <= HC_FULL_WEIGHT_LAG || max_lag <= HC_FULL_WEIGHT_LAG)
        return 100;
    if (lag >= (int64_t)max_lag)
        return HC_MIN_WEIGHT;
    uint64_t over = (uint64_t)lag - HC_FULL_WEIGHT_LAG;
    uint64_t span = max_lag - HC_FULL_WEIGHT_LAG;
    return 100 - (unsigned)((100 - HC_MIN_WEIGHT) * over / span);
}

/* ---- the status reply ---- */

/* A status result the judge can use (of the node or of the reference). */
static void parse_status(const char *data, size_t len, struct hc_sample *sm)
{
    char err[NU_ERRMSG_MAX];
    int rc = health_status_parse(data, len, HEALTH_REPLY_JSONRPC, &sm->st, err);
    if (rc == 0)
        rc = health_status_judgeable(&sm->st, err);
    if (rc != 0)
        snprintf(sm->error, sizeof(sm->error), "%.*s", (int)sizeof(sm->error) - 1, err);
    sm->ok = rc == 0;
}

/* ---- curl on the uv loop ---- */

static void round_finish(struct hc_sidecar *s);

static void probe_finish(struct probe *p, CURLcode res)
{
    struct hc_sample *sm = &p->sample;
    long code = 0;
    memset(sm, 0, sizeof(*sm));
    (void)curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    if (p->toobig)
        snprintf(sm->error, sizeof(sm->error), "status reply larger than %u bytes", HC_REPLY_MAX);
    else if (res == CURLE_OPERATION_TIMEDOUT)
        snprintf(sm->error, sizeof(sm->error), "no answer from %s within %u ms", p->shown,
                 p->sc->o.timeout_ms);
    else if (res != CURLE_OK)
        snprintf(sm->error, sizeof(sm->error), "%s: %.120s", p->shown,
                 p->curlerr[0] ? p->curlerr : curl_easy_strerror(res));
    else if (code < 200 || code > 299)
        snprintf(sm->error, sizeof(sm->error), "%s answered HTTP %ld", p->shown, code);
    else
        parse_status(p->body.data ? p->body.data : "", p->body.len, sm);
    p->busy = false;
    if (!p->sc->node.busy && !p->sc->ref.busy)
        round_finish(p->sc);
}

static void drain_done(struct hc_sidecar *s)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct probe *p = NULL;
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result;
        (void)curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&p);
        curl_multi_remove_handle(s->multi, e);
        if (p != NULL)
            probe_finish(p, res);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *k = h->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    (void)curl_multi_socket_action(k->sc->multi, k->fd, flags, &running);
    drain_done(k->sc);
}

static void on_sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static struct sock *sock_new(struct hc_sidecar *s, curl_socket_t fd)
{
    struct sock *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    if (uv_poll_init_socket(s->loop, &k->poll, fd) != 0) {
        free(k);
        return NULL;
    }
    k->poll.data = k;
    k->fd = fd;
    k->sc = s;
    return k;
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct hc_sidecar *s = userp;
    struct sock *k = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (k != NULL) {
            uv_close((uv_handle_t *)&k->poll, on_sock_closed);
            curl_multi_assign(s->multi, fd, NULL);
        }
        return 0;
    }
    if (k == NULL) {
        k = sock_new(s, fd);
        if (k == NULL)
            return -1; /* curl fails the transfer: the check reports DOWN */
        curl_multi_assign(s->multi, fd, k);
    }
    int ev = ((what & CURL_POLL_IN) ? UV_READABLE : 0) | ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    return uv_poll_start(&k->poll, ev, on_poll) == 0 ? 0 : -1;
}

static void on_curl_timer(uv_timer_t *t)
{
    struct hc_sidecar *s = t->data;
    int running;
    (void)curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(s);
}

static int on_curl_timer_change(CURLM *m, long timeout_ms, void *userp)
{
    struct hc_sidecar *s = userp;
    if (timeout_ms < 0)
        return uv_timer_stop(&s->curl_timer) == 0 ? 0 : -1;
    /* Even 0 goes through the loop: curl must not be re-entered from here. */
    return uv_timer_start(&s->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct probe *p = ud;
    if (nu_buf_append(&p->body, data, size * n) != 0) {
        p->toobig = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static int probe_init(struct hc_sidecar *s, struct probe *p, const char *url, char *errbuf)
{
    p->sc = s;
    p->url = url;
    nu_redact(url, p->shown, sizeof(p->shown)); /* before it is cut short */
    nu_buf_init(&p->body, HC_REPLY_MAX);
    p->easy = curl_easy_init();
    p->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (p->easy == NULL || p->headers == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "health: out of memory");
    CURL *e = p->easy;
    long tmo = (long)s->o.timeout_ms;
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, STATUS_REQUEST) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, p) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, p) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->curlerr) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK)
        return nu_err_set(errbuf, NU_EINVAL, "health: cannot use %s with libcurl", url);
    return 0;
}

static void probe_start(struct probe *p)
{
    nu_buf_reset(&p->body);
    p->toobig = false;
    p->curlerr[0] = '\0';
    CURLMcode rc = curl_multi_add_handle(p->sc->multi, p->easy);
    if (rc != CURLM_OK) {
        memset(&p->sample, 0, sizeof(p->sample));
        snprintf(p->sample.error, sizeof(p->sample.error), "cannot start a request: %s",
                 curl_multi_strerror(rc));
        return;
    }
    p->busy = true;
}

static void probe_release(struct probe *p)
{
    if (p->easy != NULL) {
        if (p->busy && p->sc->multi != NULL)
            curl_multi_remove_handle(p->sc->multi, p->easy);
        curl_easy_cleanup(p->easy);
        p->easy = NULL;
    }
    curl_slist_free_all(p->headers);
    p->headers = NULL;
    nu_buf_release(&p->body);
}

/* ---- metrics ---- */

static int metrics_init(struct sc_metrics *m, bool has_ref, char *errbuf)
{
    static const char *const state_l[] = {"state", NULL};
    static const char *const result_l[] = {"result", NULL};
    struct {
        struct nu_metric **out;
        enum nu_metric_type type;
        const char *name, *help;
        const char *const *labels;
    } defs[] = {
        {&m->up, NU_METRIC_GAUGE, "nearup_health_up", "1 while /healthcheck answers 200", NULL},
        {&m->node_up, NU_METRIC_GAUGE, "nearup_health_node_up",
         "1 when the last check got a valid status from the node", NULL},
        {&m->head, NU_METRIC_GAUGE, "nearup_health_head", "node head height at the last check",
         NULL},
        {&m->age, NU_METRIC_GAUGE, "nearup_health_head_age_seconds",
         "age of the node's head block at the last check", NULL},
        {&m->ref_head, NU_METRIC_GAUGE, "nearup_health_reference_head",
         "reference head height at the last check (NaN when unknown)", NULL},
        {&m->lag, NU_METRIC_GAUGE, "nearup_health_lag",
         "blocks the node is behind the reference (NaN when unknown)", NULL},
        {&m->state, NU_METRIC_GAUGE, "nearup_health_state",
         "1 for the state served (after rise/fall), 0 for the others", state_l},
        {&m->weight, NU_METRIC_GAUGE, "nearup_health_weight_percent",
         "weight the agent-check reports (0 when not healthy)", NULL},
        {&m->checks, NU_METRIC_COUNTER, "nearup_health_checks_total",
         "status checks by their outcome", result_l},
    };
    m->reg = nu_metrics_new();
    if (m->reg == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "health: out of memory");
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        if (!has_ref && (defs[i].out == &m->ref_head || defs[i].out == &m->lag))
            continue;
        int rc = nu_metric_new(m->reg, defs[i].type, defs[i].name, defs[i].help, defs[i].labels,
                               NULL, 0, defs[i].out, errbuf);
        if (rc != 0)
            return rc;
    }
    for (int st = 0; st < HEALTH_NSTATES; st++) {
        const char *lv[] = {hc_state_name(st)};
        nu_metric_set(m->state, lv, st == HEALTH_UNKNOWN);
        if (st != HEALTH_UNKNOWN) /* every outcome from the start: rate() needs a 0 */
            nu_metric_add(m->checks, lv, 0);
    }
    nu_metric_set(m->up, NULL, 0);
    nu_metric_set(m->weight, NULL, 0);
    return 0;
}

static unsigned served_weight(const struct hc_sidecar *s)
{
    return s->v.healthy ? hc_weight(s->last.c.lag, s->o.max_lag) : 0;
}

static void metrics_update(struct hc_sidecar *s)
{
    struct sc_metrics *m = &s->m;
    const struct hc_sample *n = &s->node.sample;
    const char *res[] = {hc_state_name(s->last.c.state)};
    nu_metric_inc(m->checks, res);
    for (int st = 0; st < HEALTH_NSTATES; st++) {
        const char *lv[] = {hc_state_name(st)};
        nu_metric_set(m->state, lv, st == (int)s->v.state);
    }
    nu_metric_set(m->up, NULL, s->v.healthy);
    nu_metric_set(m->node_up, NULL, n->ok);
    if (n->ok) {
        nu_metric_set(m->head, NULL, (double)n->st.head);
        nu_metric_set(m->age, NULL, (double)s->last.c.age_ms / 1000);
    }
    nu_metric_set(m->weight, NULL, served_weight(s));
    if (s->has_ref) {
        nu_metric_set(m->ref_head, NULL, s->ref.sample.ok ? (double)s->ref.sample.st.head : NAN);
        nu_metric_set(m->lag, NULL, s->last.c.lag >= 0 ? (double)s->last.c.lag : NAN);
    }
}

/* ---- check rounds ---- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line per change of the verdict (not per check: reasons carry heads
 * and ages that change every time), and when the reference stops or starts answering. */
static void log_change(const struct hc_sidecar *s, const struct health_verdict *was,
                       const struct hc_check *was_check)
{
    const struct health_verdict *v = &s->v;
    bool changed = !was->known || was->healthy != v->healthy || was->state != v->state;
    if (changed && v->healthy)
        nu_info("node healthy", "node", s->o.node_url);
    else if (changed)
        nu_warn("node unhealthy", "node", s->o.node_url, "state", hc_state_name(v->state), "reason",
                v->reason);
    if (!s->has_ref || (was_check->ref_error[0] != '\0') == (s->last.ref_error[0] != '\0'))
        return;
    if (s->last.ref_error[0])
        nu_warn("lag unknown; judging the node without it", "error", s->last.ref_error);
    else
        nu_info("reference answering", "reference", s->o.reference_url);
}

static void round_finish(struct hc_sidecar *s)
{
    s->round_busy = false;
    if (s->closing)
        return;
    struct health_verdict was = s->v;
    struct hc_check was_check = s->last;
    hc_classify(&s->o, &s->node.sample, s->has_ref ? &s->ref.sample : NULL, wall_ms(), &s->last);
    health_verdict_apply(&s->v, &s->last.c, s->o.rise, s->o.fall);
    metrics_update(s);
    log_change(s, &was, &was_check);
}

void hc_sidecar_check_now(struct hc_sidecar *s)
{
    if (s->round_busy || s->closing)
        return;
    s->round_busy = true;
    probe_start(&s->node);
    if (s->has_ref)
        probe_start(&s->ref);
    if (!s->node.busy && !s->ref.busy) /* neither could start */
        round_finish(s);
}

static void on_tick(uv_timer_t *t)
{
    hc_sidecar_check_now(t->data);
}

/* ---- HTTP and agent ---- */

static json_t *int_or_null(bool known, int64_t v)
{
    return known ? json_integer(v) : json_null();
}

static json_t *health_json(const struct hc_sidecar *s)
{
    const struct health_verdict *v = &s->v;
    const struct health_check *c = &s->last.c;
    const struct hc_sample *n = &s->node.sample;
    bool seen = v->known && n->ok;
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(hc_state_name(v->state)));
    json_object_set_new(o, "reason", json_string(v->known ? v->reason : "no check completed yet"));
    json_object_set_new(o, "head", int_or_null(seen, n->st.head));
    json_object_set_new(o, "head_age_ms", int_or_null(seen, c->age_ms));
    json_object_set_new(o, "syncing", seen ? json_boolean(n->st.syncing == 1) : json_null());
    json_object_set_new(o, "lag", int_or_null(v->known && c->lag >= 0, c->lag));
    if (s->has_ref) {
        json_object_set_new(o, "reference_head",
                            int_or_null(v->known && s->ref.sample.ok, s->ref.sample.st.head));
        json_object_set_new(o, "reference_error",
                            s->last.ref_error[0] ? json_string(s->last.ref_error) : json_null());
    }
    json_object_set_new(o, "weight", json_integer(served_weight(s)));
    json_object_set_new(o, "check",
                        json_string(hc_state_name(v->known ? c->state : HEALTH_UNKNOWN)));
    json_object_set_new(o, "successes", json_integer(v->successes));
    json_object_set_new(o, "failures", json_integer(v->failures));
    json_object_set_new(o, "max_lag", json_integer(s->o.max_lag));
    json_object_set_new(o, "stale_ms", json_integer(s->o.stale_ms));
    return o;
}

static void respond_text(struct nu_http_req *req, int status, const char *type, const char *text)
{
    (void)nu_httpd_respond(req, status, type, text, strlen(text));
}

static void serve_health(struct hc_sidecar *s, struct nu_http_req *req)
{
    static const char *const hdrs[] = {"Cache-Control: no-store", NULL};
    struct nu_buf b;
    nu_buf_init(&b, PAGE_MAX);
    json_t *o = health_json(s);
    int rc = o ? nu_json_dump_buf(o, &b, 0) : NU_ENOMEM;
    json_decref(o);
    if (rc == 0)
        rc = nu_buf_putc(&b, '\n');
    if (rc != 0)
        respond_text(req, 500, "text/plain", "cannot build the health report\n");
    else
        (void)nu_httpd_respond_ex(req, s->v.healthy ? 200 : 503, "application/json", hdrs, b.data,
                                  b.len, 0);
    nu_buf_release(&b);
}

static void serve_metrics(struct hc_sidecar *s, struct nu_http_req *req)
{
    struct nu_buf b;
    nu_buf_init(&b, PAGE_MAX);
    if (nu_metrics_render(s->m.reg, &b) != 0)
        respond_text(req, 500, "text/plain", "cannot render metrics\n");
    else
        (void)nu_httpd_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    nu_buf_release(&b);
}

static void on_request(struct nu_http_req *req, void *ud)
{
    struct hc_sidecar *s = ud;
    static const char *const allow[] = {"Allow: GET, HEAD", NULL};
    bool health = strcmp(req->path, "/healthcheck") == 0;
    bool metrics = strcmp(req->path, "/metrics") == 0;
    if (!health && !metrics) {
        respond_text(req, 404, "text/plain", "not found; try /healthcheck or /metrics\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        const char *msg = "method not allowed\n";
        (void)nu_httpd_respond_ex(req, 405, "text/plain", allow, msg, strlen(msg), 0);
        return;
    }
    if (health)
        serve_health(s, req);
    else
        serve_metrics(s, req);
}

static void agent_reply(void *ud, struct hc_agent_reply *r)
{
    const struct hc_sidecar *s = ud;
    if (!s->v.known) {
        r->kind = HC_AGENT_SILENT;
    } else if (s->v.healthy) {
        r->kind = HC_AGENT_UP;
        r->weight_pct = served_weight(s);
    } else if (s->v.state == HEALTH_LAGGING) {
        r->kind = HC_AGENT_DRAIN; /* alive and catching up: no new traffic, no alarm */
        r->reason = "lagging";
    } else {
        r->kind = HC_AGENT_DOWN;
        r->reason = s->v.state == HEALTH_DOWN ? "unreachable" : hc_state_name(s->v.state);
    }
}

/* ---- lifecycle ---- */

static void release(struct hc_sidecar *s)
{
    probe_release(&s->node);
    probe_release(&s->ref);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi); /* reports the sockets it closes */
    s->multi = NULL;
    nu_metrics_free(s->m.reg);
    s->m.reg = NULL;
}

static void one_closed(void *ud)
{
    struct hc_sidecar *s = ud;
    if (--s->pending > 0)
        return;
    hc_sidecar_closed_fn done = s->done;
    void *done_ud = s->done_ud;
    free(s);
    if (done)
        done(done_ud);
}

static void on_handle_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

void hc_sidecar_close(struct hc_sidecar *s, hc_sidecar_closed_fn done, void *ud)
{
    s->closing = true;
    s->done = done;
    s->done_ud = ud;
    s->pending = 4; /* two timers, the HTTP server, the agent */
    release(s);
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->curl_timer, on_handle_closed);
    if (s->httpd != NULL)
        nu_httpd_close(s->httpd, s->o.drain_ms, one_closed, s);
    else
        one_closed(s);
    s->httpd = NULL;
    hc_agent_close(s->agent, one_closed, s);
    s->agent = NULL;
}

static int setup_curl(struct hc_sidecar *s, char *errbuf)
{
    s->multi = curl_multi_init();
    if (s->multi == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "health: out of memory");
    if (curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s) != CURLM_OK ||
        curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer_change) != CURLM_OK ||
        curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s) != CURLM_OK)
        return nu_err_set(errbuf, NU_EINVAL, "health: libcurl refused the multi options");
    int rc = probe_init(s, &s->node, s->o.node_url, errbuf);
    if (rc == 0 && s->has_ref)
        rc = probe_init(s, &s->ref, s->o.reference_url, errbuf);
    return rc;
}

static int setup_listeners(struct hc_sidecar *s, char *errbuf)
{
    struct nu_httpd_opts ho;
    nu_httpd_opts_init(&ho);
    ho.host = s->o.listen_host;
    ho.port = s->o.listen_port;
    ho.max_body_bytes = 4096; /* nothing here takes a body */
    ho.max_connections = 1000;
    int rc = nu_httpd_new(s->loop, &ho, on_request, s, &s->httpd, errbuf);
    if (rc != 0)
        return rc;
    s->http_port = nu_httpd_port(s->httpd);
    s->agent_port = -1;
    if (s->o.agent_port < 0)
        return 0;
    rc =
        hc_agent_new(s->loop, s->o.listen_host, s->o.agent_port, agent_reply, s, &s->agent, errbuf);
    if (rc == 0)
        s->agent_port = hc_agent_port(s->agent);
    return rc;
}

int hc_sidecar_new(uv_loop_t *loop, const struct hc_opts *o, struct hc_sidecar **out, char *errbuf)
{
    *out = NULL;
    struct hc_sidecar *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "health: out of memory");
    s->loop = loop;
    s->o = *o;
    s->has_ref = o->reference_url[0] != '\0';
    health_check_down(&s->last.c, "no check completed yet");
    health_verdict_init(&s->v);
    s->tick.data = s;
    s->curl_timer.data = s;
    (void)uv_timer_init(loop, &s->tick); /* cannot fail for timers */
    (void)uv_timer_init(loop, &s->curl_timer);
    int rc = metrics_init(&s->m, s->has_ref, errbuf);
    if (rc == 0)
        rc = setup_curl(s, errbuf);
    if (rc == 0)
        rc = setup_listeners(s, errbuf);
    if (rc == 0)
        rc = uv_timer_start(&s->tick, on_tick, 0, o->interval_ms) == 0
                 ? 0
                 : nu_err_set(errbuf, NU_EINVAL, "health: cannot start the check timer");
    if (rc != 0) {
        hc_sidecar_close(s, NULL, NULL);
        return rc;
    }
    *out = s;
    return 0;
}

int hc_sidecar_http_port(const struct hc_sidecar *s)
{
    return s->http_port;
}

int hc_sidecar_agent_port(const struct hc_sidecar *s)
{
    return s->agent_port;
}
