/* neard-sim's HTTP server: neard's routes (POST /, /status, /health,
 * /network_info, /metrics, /debug/...), plus /sim/control, on nu_httpd.
 * Owns the RPC state's lifetime (sim_rpc_start/stop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hostport.h"
#include "rpc.h"

#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4"
#define METRICS_MAX (16u << 20)

/* ---- exchanges ---- */

struct rpc_exchange *rpc_exchange_new(struct sim_rpc *rpc, struct nu_http_req *req)
{
    struct rpc_exchange *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return NULL;
    ex->rpc = rpc;
    ex->req = req;
    ex->ctype = CT_JSON;
    nu_buf_init(&ex->body, SIM_RPC_REPLY_MAX);
    ex->next = rpc->exchanges;
    if (rpc->exchanges)
        rpc->exchanges->prev = ex;
    rpc->exchanges = ex;
    return ex;
}

static void exchange_free(struct rpc_exchange *ex)
{
    struct sim_rpc *rpc = ex->rpc;
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        rpc->exchanges = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    for (size_t i = 0; i < ex->ncalls; i++)
        nu_buf_release(&ex->calls[i].reply);
    free(ex->calls);
    json_decref(ex->doc);
    nu_buf_release(&ex->body);
    free(ex);
}

static void maybe_finish_stop(struct sim_rpc *rpc);

void rpc_exchange_maybe_free(struct rpc_exchange *ex)
{
    if (!ex->answered || ex->handles > 0)
        return;
    struct sim_rpc *rpc = ex->rpc;
    exchange_free(ex);
    maybe_finish_stop(rpc);
}

void rpc_handle_closed(uv_handle_t *h)
{
    struct rpc_exchange *ex = h->data;
    free(h);
    if (!ex)
        return;
    struct sim_rpc *rpc = ex->rpc;
    ex->handles--;
    rpc->open_handles--;
    rpc_exchange_maybe_free(ex);
    maybe_finish_stop(rpc);
}

static void send_now(struct rpc_exchange *ex)
{
    if (ex->req) {
        (void)nu_httpd_respond_ex(ex->req, ex->status, ex->ctype, NULL, ex->body.data, ex->body.len,
                                  ex->resp_flags);
        ex->req = NULL;
    }
}

static void on_delay(uv_timer_t *t)
{
    struct rpc_exchange *ex = t->data;
    send_now(ex);
    ex->delay = NULL;
    uv_close((uv_handle_t *)t, rpc_handle_closed);
}

/* Arms the latency timer; false when it cannot (then answer at once). */
static bool arm_delay(struct rpc_exchange *ex, unsigned ms)
{
    struct sim_node *n = ex->rpc->n;
    uv_timer_t *t = malloc(sizeof(*t));
    if (!t || uv_timer_init(n->loop, t) != 0) {
        free(t);
        return false;
    }
    t->data = ex;
    ex->handles++;
    ex->rpc->open_handles++;
    ex->delay = t;
    /* from now, not from the loop's cached time (the start of this
     * iteration): a delay of ms is never shorter than ms */
    uv_update_time(n->loop);
    uv_timer_start(t, on_delay, ms, 0);
    return true;
}

void rpc_exchange_answer(struct rpc_exchange *ex, int status, const char *ctype, const char *body,
                         size_t len)
{
    NU_BUG_ON(ex->answered);
    ex->answered = true;
    ex->status = status;
    ex->ctype = ctype;
    nu_buf_reset(&ex->body);
    if (nu_buf_append(&ex->body, body ? body : "", len) != 0)
        ex->status = 500;
    if (ex->sync)
        return; /* the synchronous caller reads ex->body and frees ex */
    unsigned latency = ex->rpc->n->faults.latency_ms;
    if (latency == 0 || !ex->req || !arm_delay(ex, latency))
        send_now(ex);
    rpc_exchange_maybe_free(ex);
}

/* The client went away before the answer: stop waiting, free later. */
static void on_cancel(struct nu_http_req *req, void *ud)
{
    struct rpc_exchange *ex = ud;
    ex->req = NULL;
    rpc_tx_cancel_waits(ex);
    if (ex->delay) {
        uv_timer_stop(ex->delay);
        uv_close((uv_handle_t *)ex->delay, rpc_handle_closed);
        ex->delay = NULL;
    }
    ex->answered = true;
    rpc_exchange_maybe_free(ex);
}

/* ---- routes ---- */

static void answer_status_route(struct rpc_exchange *ex)
{
    const char *json;
    size_t len;
    nu_metric_add(ex->rpc->m.http_status, NULL, 1);
    if (rpc_status_json(ex->rpc, &json, &len) != 0)
        rpc_exchange_answer(ex, 503, CT_JSON, "", 0);
    else
        rpc_exchange_answer(ex, 200, CT_JSON, json, len);
}

static void answer_health_route(struct rpc_exchange *ex)
{
    json_t *err = rpc_health_error(ex->rpc->n);
    if (err) {
        json_decref(err);
        rpc_exchange_answer(ex, 503, CT_JSON, "", 0);
    } else {
        rpc_exchange_answer(ex, 200, CT_JSON, "null", 4);
    }
}

static void answer_json_value(struct rpc_exchange *ex, json_t *v)
{
    struct nu_buf b;
    nu_buf_init(&b, SIM_RPC_REPLY_MAX);
    if (v && nu_json_dump_buf(v, &b, JSON_COMPACT) == 0)
        rpc_exchange_answer(ex, 200, CT_JSON, b.data, b.len);
    else
        rpc_exchange_answer(ex, 503, CT_JSON, "", 0);
    nu_buf_release(&b);
    json_decref(v);
}

static void answer_metrics_route(struct rpc_exchange *ex)
{
    struct nu_buf b;
    nu_buf_init(&b, METRICS_MAX);
    nu_metric_add(ex->rpc->m.http_prometheus, NULL, 1);
    if (rpc_metrics_render(ex->rpc, &b) == 0)
        rpc_exchange_answer(ex, 200, CT_METRICS, b.data, b.len);
    else
        rpc_exchange_answer(ex, 500, "text/plain", "", 0);
    nu_buf_release(&b);
}

/* /debug/...: 405 unless rpc.enable_debug_rpc (actix-era neard). */
static void answer_debug_route(struct rpc_exchange *ex, const char *path)
{
    if (!ex->rpc->n->cfg.enable_debug_rpc) {
        rpc_exchange_answer(ex, 405, "text/plain", "", 0);
        return;
    }
    if (strcmp(path, "/debug/api/status") == 0) {
        answer_status_route(ex);
        return;
    }
    rpc_exchange_answer(ex, 404, "text/plain", "", 0);
}

static bool is_get(const struct nu_http_req *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* Routes a request that already passed failure injection. */
static void route(struct rpc_exchange *ex, struct nu_http_req *req)
{
    const char *p = req->path;
    if (strcmp(p, "/") == 0) {
        if (strcmp(req->method, "POST") == 0)
            rpc_exchange_run_body(ex, req->body, req->body_len);
        else
            rpc_exchange_answer(ex, 405, "text/plain", "", 0);
    } else if (strcmp(p, "/status") == 0 && is_get(req)) {
        answer_status_route(ex);
    } else if (strcmp(p, "/health") == 0 && is_get(req)) {
        answer_health_route(ex);
    } else if (strcmp(p, "/network_info") == 0 && is_get(req)) {
        answer_json_value(ex, rpc_network_info(ex->rpc->n));
    } else if (strcmp(p, "/metrics") == 0 && is_get(req)) {
        answer_metrics_route(ex);
    } else if (strncmp(p, "/debug", 6) == 0 && (p[6] == '/' || p[6] == '\0')) {
        answer_debug_route(ex, p);
    } else {
        rpc_exchange_answer(ex, 404, "text/plain", "", 0);
    }
}

static void on_request(struct nu_http_req *req, void *ud)
{
    struct sim_rpc *rpc = ud;
    if (strcmp(req->path, "/sim/control") == 0 && rpc->n->sim_control) {
        rpc_control_handle(rpc, req);
        return;
    }
    struct rpc_exchange *ex = rpc_exchange_new(rpc, req);
    if (!ex) {
        (void)nu_httpd_respond(req, 500, "text/plain", "", 0);
        return;
    }
    nu_httpd_on_cancel(req, on_cancel, ex);
    if (rpc_faults_apply(rpc, ex, strcmp(req->path, "/") == 0))
        return;
    route(ex, req);
}

/* ---- lifecycle ---- */

int sim_rpc_state_init(struct sim_node *n, char *errbuf)
{
    struct sim_rpc *rpc = calloc(1, sizeof(*rpc));
    if (!rpc)
        return nu_err_set(errbuf, NU_ENOMEM, "rpc: out of memory");
    rpc->n = n;
    n->rpc = rpc;
    nu_buf_init(&rpc->status_json, SIM_RPC_REPLY_MAX);
    rpc->accounts = json_object();
    rpc->txs = json_object();
    int rc = rpc_metrics_init(rpc, errbuf);
    rc = rc ? rc : rpc_state_init(rpc, errbuf);
    if (rc) {
        sim_rpc_state_free(n);
        return rc;
    }
    return 0;
}

void sim_rpc_state_free(struct sim_node *n)
{
    struct sim_rpc *rpc = n->rpc;
    if (!rpc)
        return;
    while (rpc->exchanges)
        exchange_free(rpc->exchanges);
    nu_metrics_free(rpc->reg);
    nu_buf_release(&rpc->status_json);
    json_decref(rpc->genesis_accounts);
    json_decref(rpc->accounts);
    json_decref(rpc->txs);
    free(rpc);
    n->rpc = NULL;
}

int sim_rpc_start(struct sim_node *n, char *errbuf)
{
    struct nu_hostport hp;
    const char *why;
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    if (nu_hostport_parse(n->cfg.rpc_addr, strlen(n->cfg.rpc_addr), 0, NU_HOSTPORT_PORT0, &hp,
                          &why) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "rpc.addr %s: %s", n->cfg.rpc_addr, why);
    o.port = hp.port;
    o.host = hp.host;
    if (n->cfg.json_payload_max_size > 0)
        o.max_body_bytes = n->cfg.json_payload_max_size;
    o.keepalive_ms = (unsigned)n->cfg.sim_http_keep_alive_ms;
    int rc;
    if (!n->rpc) {
        rc = sim_rpc_state_init(n, errbuf);
        if (rc)
            return rc;
    }
    rc = nu_httpd_new(n->loop, &o, on_request, n->rpc, &n->rpc->httpd, errbuf);
    if (rc) {
        sim_rpc_state_free(n);
        return rc;
    }
    sim_log("INFO", "network", "Starting http server at %s", n->cfg.rpc_addr);
    return 0;
}

void sim_rpc_on_head(struct sim_node *n)
{
    if (!n->rpc)
        return;
    n->rpc->status_valid = false;
    rpc_tx_on_head(n->rpc);
}

static void maybe_finish_stop(struct sim_rpc *rpc)
{
    if (!rpc->stopping || !rpc->httpd_closed || rpc->open_handles > 0 || rpc->exchanges)
        return;
    struct sim_node *n = rpc->n;
    void (*done)(struct sim_node *) = rpc->stop_done;
    rpc->stopping = false; /* free once */
    sim_rpc_state_free(n);
    if (done)
        done(n);
}

static void on_httpd_closed(void *ud)
{
    struct sim_rpc *rpc = ud;
    rpc->httpd = NULL;
    rpc->httpd_closed = true;
    /* Whatever the server dropped without a cancel (aborted, hung) is ours to free. */
    for (struct rpc_exchange *ex = rpc->exchanges, *next; ex; ex = next) {
        next = ex->next;
        ex->req = NULL;
        if (!ex->answered) {
            rpc_tx_cancel_waits(ex);
            ex->answered = true;
        }
        if (ex->delay) {
            uv_timer_stop(ex->delay);
            uv_close((uv_handle_t *)ex->delay, rpc_handle_closed);
            ex->delay = NULL;
        }
        if (ex->handles == 0)
            exchange_free(ex);
    }
    maybe_finish_stop(rpc);
}

void sim_rpc_stop(struct sim_node *n, void (*done)(struct sim_node *n))
{
    struct sim_rpc *rpc = n->rpc;
    if (!rpc) {
        if (done)
            done(n);
        return;
    }
    rpc->stopping = true;
    rpc->stop_done = done;
    /* Waiting tx calls and hung requests would hold the drain: drop them. */
    for (struct rpc_exchange *ex = rpc->exchanges; ex; ex = ex->next) {
        if (!ex->answered && ex->req) {
            rpc_tx_cancel_waits(ex);
            nu_httpd_abort(ex->req);
            ex->req = NULL;
            ex->answered = true;
        }
    }
    if (rpc->httpd)
        nu_httpd_close(rpc->httpd, SIM_RPC_DRAIN_MS, on_httpd_closed, rpc);
    else
        on_httpd_closed(rpc);
}
