/* nearup health: polls one node, judges it, serves the verdict (see sidecar.h).
 *
 * Polling is probe.c's, over the event-loop HTTP client, so a slow or
 * hanging node never blocks /healthcheck or the agent. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent.h"
#include "buf.h"
#include "chaingate.h"
#include "clock.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "probe.h"
#include "sidecar.h"

#define PAGE_MAX (1u << 20) /* /metrics and /healthcheck bodies */

struct sc_metrics {
    struct nu_metrics *reg;
    struct nu_metric *up, *node_up, *head, *age, *ref_head, *lag, *state, *weight, *checks;
    struct nu_metric *chain; /* with --home */
};

#define UNVERIFIED "unverified" /* the served state while the chain check blocks */
#define DRAINING "draining"     /* the served state after POST /drain */
#define DRAIN_REASON "drained by an operator (POST /drain); POST /undrain to serve again"

struct hc_sidecar {
    uv_loop_t *loop;
    struct hc_opts o;
    uv_timer_t tick;
    struct nu_hc_tls *tls; /* for https URLs; freed last */
    struct hc_probe node, ref;
    bool has_ref, round_busy;
    struct nu_httpd *httpd;
    struct hc_agent *agent;
    int http_port, agent_port;
    struct hc_check last;
    struct health_verdict v;
    struct hc_chain_gate gate;
    struct sc_metrics m;
    bool draining; /* POST /drain: not serving until POST /undrain */
    bool closing;
    int pending; /* closes still to complete */
    hc_sidecar_closed_fn done;
    void *done_ud;
};

const char *hc_state_name(int st)
{
    return st == HEALTH_UNKNOWN ? "starting" : health_state_name(st);
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

/* ---- metrics ---- */

static int metrics_init(struct sc_metrics *m, bool has_ref, bool has_home, char *errbuf)
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
        {&m->chain, NU_METRIC_GAUGE, "nearup_health_chain_check",
         "1 for the state of the home's chain check (--home)", state_l},
    };
    m->reg = nu_metrics_new();
    if (m->reg == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "health: out of memory");
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        if (!has_ref && (defs[i].out == &m->ref_head || defs[i].out == &m->lag))
            continue;
        if (!has_home && defs[i].out == &m->chain)
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

static bool served_healthy(const struct hc_sidecar *s)
{
    return s->v.healthy && !hc_gate_blocks(&s->gate) && !s->draining;
}

static const char *served_state(const struct hc_sidecar *s)
{
    return hc_gate_blocks(&s->gate) ? UNVERIFIED
           : s->draining            ? DRAINING
                                    : hc_state_name(s->v.state);
}

/* The served state (and, with --home, the chain check's) in the gauges. */
static void metrics_state(struct hc_sidecar *s)
{
    struct sc_metrics *m = &s->m;
    bool blocked = hc_gate_blocks(&s->gate);
    bool other = blocked || s->draining; /* served instead of the judged state */
    for (int st = 0; st < HEALTH_NSTATES; st++) {
        const char *lv[] = {hc_state_name(st)};
        nu_metric_set(m->state, lv, !other && st == (int)s->v.state);
    }
    const char *dv[] = {DRAINING};
    nu_metric_set(m->state, dv, !blocked && s->draining);
    if (!s->gate.on)
        return;
    const char *uv[] = {UNVERIFIED};
    nu_metric_set(m->state, uv, blocked);
    for (int st = 0; st < HC_GATE_NSTATES; st++) {
        const char *lv[] = {hc_gate_state_name(st)};
        nu_metric_set(m->chain, lv, st == (int)s->gate.state);
    }
}

static unsigned served_weight(const struct hc_sidecar *s)
{
    return served_healthy(s) ? hc_weight(s->last.c.lag, s->o.max_lag) : 0;
}

static void metrics_update(struct hc_sidecar *s)
{
    struct sc_metrics *m = &s->m;
    const struct hc_sample *n = &s->node.sample;
    const char *res[] = {hc_state_name(s->last.c.state)};
    nu_metric_inc(m->checks, res);
    metrics_state(s);
    nu_metric_set(m->up, NULL, served_healthy(s));
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

/* The chain check's file, looked at once per round (one stat). */
static void gate_refresh(struct hc_sidecar *s)
{
    bool blocked = hc_gate_blocks(&s->gate);
    if (!hc_gate_refresh(&s->gate))
        return;
    if (hc_gate_blocks(&s->gate))
        nu_warn("node unverified: not serving until its chain check passes", "home", s->o.home,
                "chain_check", hc_gate_state_name(s->gate.state), "reason", s->gate.reason);
    else if (blocked)
        nu_info("chain check no longer holds the node back", "home", s->o.home, "chain_check",
                hc_gate_state_name(s->gate.state));
}

static void round_finish(struct hc_sidecar *s)
{
    s->round_busy = false;
    if (s->closing)
        return;
    gate_refresh(s);
    struct health_verdict was = s->v;
    struct hc_check was_check = s->last;
    hc_classify(&s->o, &s->node.sample, s->has_ref ? &s->ref.sample : NULL, nu_real_ms(), &s->last);
    health_verdict_apply(&s->v, &s->last.c, s->o.rise, s->o.fall);
    metrics_update(s);
    log_change(s, &was, &was_check);
}

/* A poll is over: the round is, once both are. */
static void on_polled(void *ud, struct hc_probe *p)
{
    struct hc_sidecar *s = ud;
    if (!s->node.busy && !s->ref.busy)
        round_finish(s);
}

void hc_sidecar_check_now(struct hc_sidecar *s)
{
    if (s->round_busy || s->closing)
        return;
    s->round_busy = true;
    hc_probe_start(&s->node);
    if (s->has_ref)
        hc_probe_start(&s->ref);
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
    bool blocked = hc_gate_blocks(&s->gate);
    json_object_set_new(o, "status", json_string(served_state(s)));
    json_object_set_new(o, "reason",
                        json_string(blocked       ? s->gate.reason
                                    : s->draining ? DRAIN_REASON
                                    : v->known    ? v->reason
                                                  : "no check completed yet"));
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
    if (s->gate.on)
        json_object_set_new(o, "chain_check", hc_gate_json(&s->gate));
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
        (void)nu_httpd_respond_ex(req, served_healthy(s) ? 200 : 503, "application/json", hdrs,
                                  b.data, b.len, 0);
    nu_buf_release(&b);
}

/* A client on this host: what may drain the node, whatever --listen binds. */
static bool peer_is_loopback(const char *peer)
{
    return peer != NULL && (strncmp(peer, "127.", 4) == 0 || strncmp(peer, "[::1]:", 6) == 0 ||
                            strncmp(peer, "[::ffff:127.", 12) == 0);
}

/* POST /drain and POST /undrain: set the drain state, answer as
 * /healthcheck does. */
static void serve_drain(struct hc_sidecar *s, struct nu_http_req *req, bool drain)
{
    static const char *const allow[] = {"Allow: POST", NULL};
    if (strcmp(req->method, "POST") != 0) {
        const char *msg = "method not allowed; use POST\n";
        (void)nu_httpd_respond_ex(req, 405, "text/plain", allow, msg, strlen(msg), 0);
        return;
    }
    if (!peer_is_loopback(req->peer)) {
        respond_text(req, 403, "text/plain", "drain and undrain are for loopback clients only\n");
        return;
    }
    if (s->draining != drain) {
        s->draining = drain;
        if (drain)
            nu_info("draining: not serving until POST /undrain", "peer", req->peer);
        else
            nu_info("drain lifted", "peer", req->peer);
        metrics_state(s);
        nu_metric_set(s->m.up, NULL, served_healthy(s));
        nu_metric_set(s->m.weight, NULL, served_weight(s));
    }
    serve_health(s, req);
}

static void on_request(struct nu_http_req *req, void *ud)
{
    struct hc_sidecar *s = ud;
    static const char *const allow[] = {"Allow: GET, HEAD", NULL};
    bool health = strcmp(req->path, "/healthcheck") == 0;
    bool metrics = strcmp(req->path, "/metrics") == 0;
    if (strcmp(req->path, "/drain") == 0 || strcmp(req->path, "/undrain") == 0) {
        serve_drain(s, req, req->path[1] == 'd');
        return;
    }
    if (!health && !metrics) {
        respond_text(req, 404, "text/plain",
                     "not found; try /healthcheck, /metrics, POST /drain or POST /undrain\n");
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
        nu_metrics_respond(s->m.reg, req);
}

static void agent_reply(void *ud, struct hc_agent_reply *r)
{
    const struct hc_sidecar *s = ud;
    if (hc_gate_blocks(&s->gate)) {
        r->kind = HC_AGENT_DOWN; /* whatever the node says: its data is not proven */
        r->reason = UNVERIFIED;
    } else if (s->draining) {
        r->kind = HC_AGENT_DRAIN; /* no new traffic; what is open finishes */
        r->reason = DRAINING;
    } else if (!s->v.known) {
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

static void one_closed(void *ud)
{
    struct hc_sidecar *s = ud;
    if (--s->pending > 0)
        return;
    hc_sidecar_closed_fn done = s->done;
    void *done_ud = s->done_ud;
    nu_hc_tls_free(s->tls); /* no connection is left that uses it */
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
    s->pending = 5; /* the timer, the two probes, the HTTP server, the agent */
    nu_metrics_free(s->m.reg);
    s->m.reg = NULL;
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    hc_probe_close(&s->node, one_closed, s);
    hc_probe_close(&s->ref, one_closed, s);
    if (s->httpd != NULL)
        nu_httpd_close(s->httpd, s->o.drain_ms, one_closed, s);
    else
        one_closed(s);
    s->httpd = NULL;
    hc_agent_close(s->agent, one_closed, s);
    s->agent = NULL;
}

static bool is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

/* The probes, and a TLS layer when a URL is https. */
static int setup_probes(struct hc_sidecar *s, char *errbuf)
{
    const struct hc_opts *o = &s->o;
    int rc = 0;
    if (is_https(o->node_url) || (s->has_ref && is_https(o->reference_url)))
        rc = nu_hc_tls_client(&s->tls, errbuf);
    if (rc == 0)
        rc = hc_probe_init(&s->node, s->loop, o->node_url, o->timeout_ms, s->tls, on_polled, s,
                           errbuf);
    if (rc == 0 && s->has_ref)
        rc = hc_probe_init(&s->ref, s->loop, o->reference_url, o->timeout_ms, s->tls, on_polled, s,
                           errbuf);
    return rc;
}

static int setup_listeners(struct hc_sidecar *s, char *errbuf)
{
    struct nu_httpd_opts ho;
    nu_httpd_opts_status(&ho, s->o.listen_host, s->o.listen_port);
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
    (void)uv_timer_init(loop, &s->tick); /* cannot fail for timers */
    int rc = hc_gate_init(&s->gate, o->home, errbuf);
    if (rc == 0)
        rc = metrics_init(&s->m, s->has_ref, s->gate.on, errbuf);
    if (rc == 0) {
        metrics_state(s);
        if (hc_gate_blocks(&s->gate))
            nu_warn("node unverified: not serving until its chain check passes", "home", o->home,
                    "chain_check", hc_gate_state_name(s->gate.state), "reason", s->gate.reason);
    }
    if (rc == 0)
        rc = setup_probes(s, errbuf);
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
