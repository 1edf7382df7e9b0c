/* Failure injection: /sim/control (only with --sim-control) and the
 * per-request faults. Percentages are applied deterministically with an
 * accumulator so tests can assert exact counts: 50 fails exactly every
 * second request, 100 every request, 25 every fourth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "rpc.h"

#define LATENCY_MAX_MS 600000u /* 10 minutes */

/* Advances acc by pct; true when a fault is due. */
static bool step(unsigned *acc, int pct)
{
    if (pct <= 0)
        return false;
    *acc += (unsigned)pct;
    if (*acc < 100)
        return false;
    *acc -= 100;
    return true;
}

static void release_hung(struct sim_rpc *rpc)
{
    for (struct rpc_exchange *ex = rpc->exchanges, *next; ex; ex = next) {
        next = ex->next;
        if (!ex->hung || ex->answered)
            continue;
        if (ex->req)
            nu_httpd_abort(ex->req);
        ex->req = NULL;
        ex->answered = true;
        rpc_exchange_maybe_free(ex);
    }
}

static void answer_injected_error(struct rpc_exchange *ex, const struct nu_http_req *req,
                                  bool is_jsonrpc)
{
    json_t *doc = NULL, *id = NULL;
    if (is_jsonrpc) {
        doc = json_loadb(req->body, req->body_len, 0, NULL);
        id = json_object_get(doc, "id");
    }
    json_t *reply = json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", "error",
                              rpc_err_internal("Mailbox has closed (injected by /sim/control "
                                               "error_rate)"),
                              "id", id ? id : json_null());
    char *body = json_dumps(reply, JSON_COMPACT);
    int status = is_jsonrpc ? rpc_status_for(ex->rpc->n, 500) : 500;
    rpc_exchange_answer(ex, status, "application/json", body, body ? strlen(body) : 0);
    free(body);
    json_decref(reply);
    json_decref(doc);
}

bool rpc_faults_apply(struct sim_rpc *rpc, struct rpc_exchange *ex, bool is_jsonrpc)
{
    const struct sim_faults *f = &rpc->n->faults;
    if (f->hang) {
        ex->hung = true; /* freed when the client leaves, on reset or at stop */
        return true;
    }
    bool fdrop = step(&rpc->acc.drop, f->drop_pct);
    bool f503 = step(&rpc->acc.status_503, f->status_503_pct);
    bool ferr = step(&rpc->acc.error, f->error_rate_pct);
    bool fclose = step(&rpc->acc.close, f->close_pct);
    if (fdrop) {
        /* What a client sees when an upstream closes a kept-alive
         * connection just as a request reaches it: no byte of answer. */
        nu_httpd_abort(ex->req);
        ex->req = NULL;
        ex->answered = true;
        rpc_exchange_maybe_free(ex);
        return true;
    }
    if (f503) {
        rpc_exchange_answer(ex, 503, "application/json", "", 0);
        return true;
    }
    if (ferr) {
        answer_injected_error(ex, ex->req, is_jsonrpc);
        return true;
    }
    if (fclose)
        ex->resp_flags |= NU_HTTPD_TRUNCATE;
    return false;
}

/* The knobs, plus what tests read back: head, sync status, and the
 * connections the RPC server accepted so far. */
static json_t *settings(const struct sim_node *n)
{
    const struct sim_faults *f = &n->faults;
    struct nu_httpd_stats st = {0};
    if (n->rpc != NULL && n->rpc->httpd != NULL)
        nu_httpd_get_stats(n->rpc->httpd, &st);
    return json_pack("{s:b,s:I,s:i,s:i,s:i,s:i,s:b,s:b,s:o,s:I,s:s,s:I}", "stall", n->stalled,
                     "latency_ms", (json_int_t)f->latency_ms, "error_rate", f->error_rate_pct,
                     "status_503", f->status_503_pct, "close_mid_response", f->close_pct,
                     "drop_before_answer", f->drop_pct, "hang", f->hang, "not_synced",
                     f->not_synced, "fork_from",
                     n->fork_from != 0 ? json_integer((json_int_t)n->fork_from) : json_null(),
                     "head", (json_int_t)n->head, "sync_status",
                     n->sync_status == SIM_SYNC_NO_SYNC ? "NoSync" : "Syncing", "http_connections",
                     (json_int_t)st.accepted);
}

static void respond_json(struct nu_http_req *req, int status, json_t *v)
{
    char *body = json_dumps(v, JSON_COMPACT);
    (void)nu_httpd_respond(req, status, "application/json", body ? body : "",
                           body ? strlen(body) : 0);
    free(body);
    json_decref(v);
}

static void respond_error(struct nu_http_req *req, const char *msg)
{
    respond_json(req, 400, json_pack("{s:s}", "error", msg));
}

struct control_req {
    bool reset, crash;
    int stall, hang, not_synced; /* -1: unchanged */
    int64_t resync_from;         /* -1: unchanged */
    int64_t fork_from;           /* -1: unchanged; 0: no fork (null) */
    int64_t latency_ms, error_rate, status_503, close_pct, drop_pct; /* -1: unchanged */
};

static int get_bool(json_t *v, const char *key, int *out, char *err, size_t errsz)
{
    if (!json_is_boolean(v)) {
        snprintf(err, errsz, "%s must be true or false", key);
        return NU_EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}

static int get_int(json_t *v, const char *key, int64_t max, int64_t *out, char *err, size_t errsz)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        snprintf(err, errsz, "%s must be an integer from 0 to %lld", key, (long long)max);
        return NU_EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

/* A height of at least 1, or null (no fork). */
static int get_fork(json_t *v, int64_t *out, char *err, size_t errsz)
{
    if (json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        snprintf(err, errsz, "fork_from must be a block height of at least 1, or null");
        return NU_EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

/* Validates the whole request before anything is applied. */
static int parse_control(json_t *doc, struct control_req *cr, char *err, size_t errsz)
{
    const char *key;
    json_t *v;
    int rc = 0;
    *cr = (struct control_req){.stall = -1,
                               .hang = -1,
                               .not_synced = -1,
                               .resync_from = -1,
                               .fork_from = -1,
                               .latency_ms = -1,
                               .error_rate = -1,
                               .status_503 = -1,
                               .close_pct = -1,
                               .drop_pct = -1};
    if (!json_is_object(doc)) {
        snprintf(err, errsz, "body must be a JSON object");
        return NU_EINVAL;
    }
    json_object_foreach(doc, key, v)
    {
        int b = 0;
        if (strcmp(key, "stall") == 0)
            rc = get_bool(v, key, &cr->stall, err, errsz);
        else if (strcmp(key, "hang") == 0)
            rc = get_bool(v, key, &cr->hang, err, errsz);
        else if (strcmp(key, "not_synced") == 0)
            rc = get_bool(v, key, &cr->not_synced, err, errsz);
        else if (strcmp(key, "reset") == 0 || strcmp(key, "crash") == 0) {
            rc = get_bool(v, key, &b, err, errsz);
            if (key[0] == 'r')
                cr->reset = b;
            else
                cr->crash = b;
        } else if (strcmp(key, "resync_from") == 0)
            rc = get_int(v, key, INT64_MAX, &cr->resync_from, err, errsz);
        else if (strcmp(key, "fork_from") == 0)
            rc = get_fork(v, &cr->fork_from, err, errsz);
        else if (strcmp(key, "latency_ms") == 0)
            rc = get_int(v, key, LATENCY_MAX_MS, &cr->latency_ms, err, errsz);
        else if (strcmp(key, "error_rate") == 0)
            rc = get_int(v, key, 100, &cr->error_rate, err, errsz);
        else if (strcmp(key, "status_503") == 0)
            rc = get_int(v, key, 100, &cr->status_503, err, errsz);
        else if (strcmp(key, "close_mid_response") == 0)
            rc = get_int(v, key, 100, &cr->close_pct, err, errsz);
        else if (strcmp(key, "drop_before_answer") == 0)
            rc = get_int(v, key, 100, &cr->drop_pct, err, errsz);
        else {
            snprintf(err, errsz,
                     "unknown control key \"%s\" (known: stall, resync_from, fork_from, "
                     "latency_ms, error_rate, status_503, close_mid_response, "
                     "drop_before_answer, hang, not_synced, crash, reset)",
                     key);
            rc = NU_EINVAL;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static void reset_faults(struct sim_rpc *rpc)
{
    memset(&rpc->n->faults, 0, sizeof(rpc->n->faults));
    memset(&rpc->acc, 0, sizeof(rpc->acc));
    if (rpc->n->stalled)
        sim_node_set_stalled(rpc->n, false);
    release_hung(rpc);
}

static int apply_control(struct sim_rpc *rpc, const struct control_req *cr, char *err, size_t errsz)
{
    struct sim_node *n = rpc->n;
    struct sim_faults *f = &n->faults;
    if (cr->crash)
        abort(); /* as a crashing neard: SIGABRT, no cleanup */
    if (cr->fork_from >= 0 && sim_node_fork_check(n, (uint64_t)cr->fork_from, err, errsz) != 0)
        return NU_EINVAL; /* before anything else is applied */
    if (cr->reset)
        reset_faults(rpc);
    if (cr->resync_from >= 0 && sim_node_resync_from(n, (uint64_t)cr->resync_from) != 0) {
        snprintf(err, errsz,
                 "resync_from %lld: must be between the earliest block %llu and the "
                 "head %llu",
                 (long long)cr->resync_from, (unsigned long long)n->earliest,
                 (unsigned long long)n->head);
        return NU_EINVAL;
    }
    /* reset leaves the fork alone: it is a property of the data, not a fault */
    if (cr->fork_from >= 0 && sim_node_fork_from(n, (uint64_t)cr->fork_from, err, errsz) != 0)
        return NU_EINVAL;
    if (cr->stall >= 0)
        sim_node_set_stalled(n, cr->stall != 0);
    if (cr->latency_ms >= 0)
        f->latency_ms = (unsigned)cr->latency_ms;
    if (cr->error_rate >= 0)
        f->error_rate_pct = (int)cr->error_rate;
    if (cr->status_503 >= 0)
        f->status_503_pct = (int)cr->status_503;
    if (cr->close_pct >= 0)
        f->close_pct = (int)cr->close_pct;
    if (cr->drop_pct >= 0)
        f->drop_pct = (int)cr->drop_pct;
    if (cr->not_synced >= 0)
        f->not_synced = cr->not_synced != 0;
    if (cr->hang >= 0) {
        f->hang = cr->hang != 0;
        if (!f->hang)
            release_hung(rpc);
    }
    /* A changed rate starts counting afresh so counts stay exact. */
    if (cr->error_rate >= 0)
        rpc->acc.error = 0;
    if (cr->status_503 >= 0)
        rpc->acc.status_503 = 0;
    if (cr->close_pct >= 0)
        rpc->acc.close = 0;
    if (cr->drop_pct >= 0)
        rpc->acc.drop = 0;
    return 0;
}

void rpc_control_handle(struct sim_rpc *rpc, struct nu_http_req *req)
{
    char err[300];
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        respond_json(req, 200, settings(rpc->n));
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        (void)nu_httpd_respond(req, 405, "text/plain", "", 0);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(req->body, req->body_len, 0, &jerr);
    struct control_req cr;
    if (!doc) {
        snprintf(err, sizeof(err), "invalid JSON: %s", jerr.text);
        respond_error(req, err);
        return;
    }
    int rc = parse_control(doc, &cr, err, sizeof(err));
    json_decref(doc);
    rc = rc ? rc : apply_control(rpc, &cr, err, sizeof(err));
    if (rc) {
        respond_error(req, err);
        return;
    }
    respond_json(req, 200, settings(rpc->n));
}
