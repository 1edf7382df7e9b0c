/* The proxy path for POST / (see gw_proxy.h).
 *
 * An exchange is one client request: a single call, or a batch split into
 * calls that are routed independently and reassembled in order. A call
 * goes to one upstream at a time; its answer is classified (classify())
 * and either retried on another upstream or kept.
 * The exchange answers when its last call is done. Exchanges are reused
 * from a per-worker free list; a single call answers straight from the
 * upstream connection's buffer (the server copies it once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "gw_accesslog.h"
#include "gw_limits.h"
#include "hclient.h"
#include "gw_proxy.h"
#include "gw_reply.h"
#include "gw_router.h"
#include "gw_worker.h"

#define MAX_TRIES 11         /* retries setting is at most 10 */
#define FREE_EX_MAX 256      /* cached exchanges per worker */
#define OWN_KEEP_MAX 16384   /* larger per-call buffers are freed on reuse */
#define REPLY_MAX (1u << 31) /* one call's or a batch's reply; max_response bounds each call */

struct gw_call {
    struct gw_exchange *ex;
    struct gw_call_peek pk;
    const char *body;
    size_t blen;
    struct gw_upstream *up; /* current attempt, in-flight slot held */
    struct nu_hc_conn *conn;
    struct gw_upstream *tried[MAX_TRIES];
    unsigned ntried, retries;
    uint64_t attempt_ns;
    int status;
    const char *rbody; /* the answer: upstream buffer (single) or own */
    size_t rlen;
    unsigned retry_after;
    bool done, need_head, want_archival;
    struct nu_buf own;
};

struct gw_exchange {
    struct gw_worker *w;
    struct nu_http_req *req;
    struct gw_view *view;
    uint64_t start_ns;
    size_t ncalls, pending;
    bool batch;
    struct gw_call one;
    struct gw_call *calls;
    struct gw_exchange *next_free;
};

static void call_attempt(struct gw_call *c);

static const struct gw_config *ex_cfg(const struct gw_exchange *ex)
{
    return ex->view->snap->cfg;
}

/* ---- exchanges ---- */

/* A call of the request body spanning sp; no method or id yet (call_peek). */
static void call_init(struct gw_call *c, struct gw_exchange *ex, const char *body,
                      struct gw_span sp)
{
    struct nu_buf own = c->own;
    *c = (struct gw_call){.ex = ex, .body = body + sp.off, .blen = sp.len, .own = own};
    c->pk = (struct gw_call_peek){.method = GW_M_OTHER, .height = -1};
    if (!c->own.max)
        nu_buf_init(&c->own, REPLY_MAX);
    nu_buf_reset(&c->own);
}

/* Reads the call's method, id and block reference; NU_EPARSE (msg says
 * why) when neard would refuse to read the call. */
static int call_peek(struct gw_call *c, const char *body, char *msg, size_t msgsz)
{
    struct gw_span sp = {(uint32_t)(c->body - body), (uint32_t)c->blen};
    return gw_rpcpeek_call(body, sp, &c->pk, msg, msgsz);
}

static struct gw_exchange *ex_new(struct gw_worker *w, struct nu_http_req *req)
{
    struct gw_exchange *ex = w->free_ex;
    if (ex) {
        w->free_ex = ex->next_free;
        w->nfree--;
    } else {
        ex = calloc(1, sizeof(*ex));
        if (!ex)
            return NULL;
    }
    ex->w = w;
    ex->req = req;
    ex->view = gw_worker_view_pin(w);
    ex->start_ns = req->start_ns ? req->start_ns : nu_mono_ns();
    ex->batch = false;
    ex->calls = NULL;
    ex->ncalls = ex->pending = 0;
    return ex;
}

static void ex_free(struct gw_exchange *ex)
{
    struct gw_worker *w = ex->w;
    if (ex->calls) {
        for (size_t i = 0; i < ex->ncalls; i++)
            nu_buf_release(&ex->calls[i].own);
        free(ex->calls);
        ex->calls = NULL;
    }
    if (ex->one.own.cap > OWN_KEEP_MAX)
        nu_buf_release(&ex->one.own);
    gw_worker_view_unpin(w, ex->view);
    ex->view = NULL;
    if (w->nfree >= FREE_EX_MAX) {
        nu_buf_release(&ex->one.own);
        free(ex);
        return;
    }
    ex->next_free = w->free_ex;
    w->free_ex = ex;
    w->nfree++;
}

void gw_proxy_worker_cleanup(struct gw_worker *w)
{
    while (w->free_ex) {
        struct gw_exchange *ex = w->free_ex;
        w->free_ex = ex->next_free;
        nu_buf_release(&ex->one.own);
        free(ex);
    }
    w->nfree = 0;
}

static struct gw_call *ex_call(struct gw_exchange *ex, size_t i)
{
    return ex->batch ? &ex->calls[i] : &ex->one;
}

/* ---- answering ---- */

static void log_access(struct gw_exchange *ex, int status, size_t out_len)
{
    struct gw_call *c = ex_call(ex, 0);
    unsigned retries = 0;
    for (size_t i = 0; i < ex->ncalls; i++)
        retries += ex_call(ex, i)->retries;
    struct gw_upstream *u = c->ntried ? c->tried[c->ntried - 1] : NULL;
    struct gw_alog_entry e = {
        .client = ex->req->peer,
        .method = ex->batch ? "batch" : gw_method_name(c->pk.method),
        .calls = (unsigned)ex->ncalls,
        .upstream = u ? u->name : "-",
        .status = status,
        .latency_us = (nu_mono_ns() - ex->start_ns) / 1000,
        .retries = retries,
        .bytes_in = ex->req->body_len,
        .bytes_out = out_len,
    };
    gw_alog_add(ex->w, ex->view, &e);
}

/* Answers the client; owned (the body, malloc'd) goes to the server. */
static void respond(struct gw_exchange *ex, int status, const char *body, size_t len,
                    unsigned retry_after, char *owned)
{
    char ra[48];
    const char *extra[2] = {NULL, NULL};
    if (retry_after) {
        snprintf(ra, sizeof(ra), "Retry-After: %u", retry_after);
        extra[0] = ra;
    }
    if (ex->view->snap->alog)
        log_access(ex, status, len);
    int err = owned
                  ? nu_httpd_respond_take(ex->req, status, "application/json", extra, owned, len, 0)
                  : nu_httpd_respond_ex(ex->req, status, "application/json", extra, body, len, 0);
    if (err == NU_EINVAL)
        nu_httpd_abort(ex->req);
}

/* Joins the calls' replies into one array of exactly the right size,
 * freeing each call's copy once it is in, and hands the array to the
 * server: a batch reply is held once, not three times (call copies, the
 * joined array, the server's copy). */
static void answer_batch(struct gw_exchange *ex)
{
    size_t total = ex->ncalls + 1; /* brackets and commas */
    for (size_t i = 0; i < ex->ncalls; i++)
        total += ex->calls[i].rlen;
    char *out = total <= REPLY_MAX ? malloc(total) : NULL;
    if (!out) {
        respond(ex, 500, "", 0, 0, NULL);
        return;
    }
    char *p = out;
    *p++ = '[';
    for (size_t i = 0; i < ex->ncalls; i++) {
        struct gw_call *c = &ex->calls[i];
        if (i)
            *p++ = ',';
        memcpy(p, c->rbody, c->rlen);
        p += c->rlen;
        c->rbody = NULL;
        nu_buf_release(&c->own);
    }
    *p = ']';
    respond(ex, 200, out, total, 0, out);
}

static void ex_finish(struct gw_exchange *ex)
{
    if (ex->req) {
        if (ex->batch) {
            answer_batch(ex);
        } else {
            struct gw_call *c = &ex->one;
            respond(ex, c->status, c->rbody, c->rlen, c->retry_after, NULL);
        }
    }
    ex_free(ex);
}

static void call_done(struct gw_call *c)
{
    struct gw_exchange *ex = c->ex;
    c->done = true;
    uint64_t us = (nu_mono_ns() - ex->start_ns) / 1000;
    gw_stats_call(&ex->w->st, c->pk.method, c->status, us);
    if (--ex->pending == 0)
        ex_finish(ex);
}

/* A call ends with the gateway's own error; status 0 means the error's own. */
static void call_fail_status(struct gw_call *c, int kind, const char *detail, unsigned retry_after,
                             int status)
{
    const struct gw_config *cfg = ex_cfg(c->ex);
    nu_buf_reset(&c->own);
    const char *id = c->pk.id.len ? c->body + c->pk.id.off : NULL;
    int err = gw_reply_error(&c->own, id, c->pk.id.len, kind, detail, gw_method_name(c->pk.method),
                             retry_after);
    if (!status)
        status = gw_lerr_status(kind, cfg->deny == GW_DENY_JSONRPC);
    c->status = err ? 500 : status;
    c->rbody = err ? "" : c->own.data;
    c->rlen = err ? 0 : c->own.len;
    c->retry_after = retry_after;
    call_done(c);
}

static void call_fail(struct gw_call *c, int kind, const char *detail, unsigned retry_after)
{
    call_fail_status(c, kind, detail, retry_after, 0);
}

/* A call ends with an upstream's answer (body valid until return). */
static void call_answer(struct gw_call *c, int status, const char *body, size_t len)
{
    const char *p = body;
    while (p < body + len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    if (p == body + len || *p != '{') {
        char detail[200];
        snprintf(detail, sizeof(detail), "upstream %s answered HTTP %d without a JSON-RPC reply",
                 c->tried[c->ntried - 1]->name, status);
        call_fail_status(c, GW_LE_UPSTREAM, detail, 0, status >= 500 ? status : 502);
        return;
    }
    c->status = status;
    if (c->ex->batch) {
        nu_buf_reset(&c->own);
        if (nu_buf_append(&c->own, body, len) != 0) {
            call_fail(c, GW_LE_INTERNAL, "out of memory", 0);
            return;
        }
        body = c->own.data;
    }
    c->rbody = body;
    c->rlen = len;
    call_done(c);
}

/* ---- retries ---- */

#define HALF_WINDOW_NS 5000000000ull

/* Retry budget: retries over the last 5-10 s stay below retry_budget_percent
 * of calls, or retry_budget_min, whichever is larger. */
static bool budget_allows(struct gw_worker *w, const struct gw_config *cfg)
{
    uint64_t now = nu_mono_ns();
    if (now - w->win_start_ns >= HALF_WINDOW_NS) {
        bool stale = now - w->win_start_ns >= 2 * HALF_WINDOW_NS;
        w->win_req[1] = stale ? 0 : w->win_req[0];
        w->win_retry[1] = stale ? 0 : w->win_retry[0];
        w->win_req[0] = w->win_retry[0] = 0;
        w->win_start_ns = now;
    }
    uint64_t calls = (uint64_t)w->win_req[0] + w->win_req[1];
    uint64_t retries = (uint64_t)w->win_retry[0] + w->win_retry[1];
    uint64_t allowed = calls * cfg->retry_budget_percent / 100;
    if (allowed < cfg->retry_budget_min)
        allowed = cfg->retry_budget_min;
    return retries < allowed;
}

static struct gw_upstream *pick(struct gw_call *c, bool *shed)
{
    struct gw_exchange *ex = c->ex;
    struct gw_route_req rq = {
        .height = c->pk.height,
        .need_head = c->need_head,
        .want_archival = c->want_archival,
        .tried = c->tried,
        .ntried = c->ntried,
    };
    return gw_router_pick(ex->view->snap->set, ex_cfg(ex), &rq, &ex->w->rng, shed);
}

/* UNKNOWN_BLOCK is worth a retry when another upstream has the block: by
 * height, one whose head reached it and whose GC boundary is below it; by
 * hash, an archival one. */
static bool unknown_block_retry(struct gw_call *c, const struct gw_upstream *u)
{
    struct gw_route_req rq = {.height = c->pk.height, .tried = c->tried, .ntried = c->ntried};
    if (c->pk.height >= 0)
        rq.need_head = true;
    else if (!u->spec.archival)
        rq.want_archival = true;
    else
        return false;
    if (!gw_router_has_candidate(c->ex->view->snap->set, &rq))
        return false;
    c->need_head = rq.need_head;
    c->want_archival = rq.want_archival;
    return true;
}

/* The retry reason for an answer, or -1 when it is final. */
static int classify(struct gw_call *c, const struct gw_upstream *u, const struct nu_hc_resp *r)
{
    bool tx = gw_method_flags(c->pk.method) & GW_MF_TX;
    if (r->err == GW_UE_CONNECT)
        return GW_RR_CONNECT; /* never left: safe even for transactions */
    if (tx)
        return -1;
    if (r->err == GW_UE_RESET || r->err == GW_UE_TRUNCATED)
        return GW_RR_RESET;
    if (r->err != GW_UE_OK || r->status == 408)
        return -1; /* timeouts are never retried */
    if (r->status == 502)
        return GW_RR_HTTP_502;
    if (r->status == 503)
        return GW_RR_HTTP_503;
    struct gw_reply_peek rp;
    gw_rpcpeek_reply(r->body, r->len, &rp);
    if (rp.kind != GW_REPLY_ERROR)
        return -1;
    switch (rp.cause) {
    case GW_CAUSE_INTERNAL:
        return GW_RR_INTERNAL;
    case GW_CAUSE_NOT_SYNCED:
        return GW_RR_NOT_SYNCED;
    case GW_CAUSE_UNKNOWN_BLOCK:
        return unknown_block_retry(c, u) ? GW_RR_UNKNOWN_BLOCK : -1;
    default:
        return -1;
    }
}

static void call_send(struct gw_call *c, struct gw_upstream *u);

static bool try_retry(struct gw_call *c, int reason)
{
    struct gw_worker *w = c->ex->w;
    const struct gw_config *cfg = ex_cfg(c->ex);
    if (c->retries >= cfg->retries)
        return false;
    if (!budget_allows(w, cfg)) {
        GW_STAT_INC(w->st.retry_budget_exhausted);
        return false;
    }
    bool shed;
    struct gw_upstream *u = pick(c, &shed);
    if (!u)
        return false;
    c->retries++;
    w->win_retry[0]++;
    GW_STAT_INC(w->st.retries[reason]);
    call_send(c, u);
    return true;
}

/* ---- attempts ---- */

static void on_answer(void *ud, const struct nu_hc_resp *r)
{
    struct gw_call *c = ud;
    const struct gw_config *cfg = ex_cfg(c->ex);
    struct gw_upstream *u = c->up;
    c->conn = NULL;
    c->up = NULL;
    gw_upstream_release(u);
    int kind = r->err;
    char detail[300];
    if (kind == GW_UE_OK && r->status >= 500) {
        kind = GW_UE_HTTP_5XX;
        snprintf(detail, sizeof(detail), "HTTP %d", r->status);
    } else {
        snprintf(detail, sizeof(detail), "%s", r->detail);
    }
    uint64_t us = (nu_mono_ns() - c->attempt_ns) / 1000;
    gw_upstream_record(u, kind, us, cfg->passive_failures, kind ? detail : NULL);
    int reason = classify(c, u, r);
    if (reason >= 0 && try_retry(c, reason))
        return;
    if (r->err == GW_UE_OK) {
        call_answer(c, r->status, r->body, r->len);
        return;
    }
    snprintf(detail, sizeof(detail), "upstream %s: %s", u->name, r->detail);
    call_fail(c, r->err == GW_UE_TIMEOUT ? GW_LE_TIMEOUT : GW_LE_UPSTREAM, detail, 0);
}

static void call_send(struct gw_call *c, struct gw_upstream *u)
{
    struct gw_exchange *ex = c->ex;
    c->up = u;
    c->tried[c->ntried++] = u;
    struct nu_hc_pool *p = gw_worker_pool(ex->w, u);
    struct nu_hc_conn *conn = p ? nu_hc_pool_get(p) : NULL;
    if (!conn) {
        gw_upstream_release(u);
        c->up = NULL;
        call_fail(c, GW_LE_INTERNAL, "out of memory", 0);
        return;
    }
    c->conn = conn;
    c->attempt_ns = nu_mono_ns();
    /* Only a transaction could do harm if it arrived twice. */
    unsigned flags = gw_method_flags(c->pk.method) & GW_MF_TX ? 0 : NU_HC_REPLAYABLE;
    nu_hc_send(conn, c->body, c->blen, ex_cfg(ex)->upstream_timeout_ms, flags, on_answer, c);
}

static void call_attempt(struct gw_call *c)
{
    struct gw_worker *w = c->ex->w;
    const struct gw_config *cfg = ex_cfg(c->ex);
    bool shed;
    w->win_req[0]++;
    struct gw_upstream *u = pick(c, &shed);
    if (u) {
        call_send(c, u);
        return;
    }
    GW_STAT_INC(w->st.shed[shed ? GW_SHED_FULL : GW_SHED_NO_UPSTREAM]);
    call_fail(c, shed ? GW_LE_OVERLOADED : GW_LE_NO_UPSTREAM,
              shed ? "gateway: every upstream is at max_inflight"
                   : "gateway: no upstream can take the request",
              cfg->retry_after_s);
}

/* ---- requests ---- */

static void on_client_gone(struct nu_http_req *req, void *ud)
{
    struct gw_exchange *ex = ud;
    ex->req = NULL;
    for (size_t i = 0; i < ex->ncalls; i++) {
        struct gw_call *c = ex_call(ex, i);
        if (c->done || !c->conn)
            continue;
        nu_hc_cancel(c->conn);
        c->conn = NULL;
        gw_upstream_release(c->up);
        c->up = NULL;
    }
    ex_free(ex);
}

/* The whole request fails with one error (bad JSON, batch size, rate limit). */
static void request_error(struct gw_exchange *ex, int kind, const char *detail,
                          unsigned retry_after, bool with_id)
{
    ex->batch = false;
    ex->ncalls = ex->pending = 1;
    if (!with_id)
        call_init(&ex->one, ex, "", (struct gw_span){0, 0});
    call_fail(&ex->one, kind, detail, retry_after);
}

/* Splits a batch of n calls; NU_EPARSE (msg says why) when one of them
 * cannot be read, and then the whole batch is refused. */
static int setup_batch(struct gw_exchange *ex, size_t n, char *msg, size_t msgsz)
{
    struct nu_http_req *req = ex->req;
    ex->calls = calloc(n, sizeof(*ex->calls));
    if (!ex->calls)
        return NU_ENOMEM;
    ex->batch = true;
    ex->ncalls = n;
    size_t cursor = 0, i = 0;
    struct gw_span sp;
    while (i < n && gw_json_array_next(req->body, req->body_len, &cursor, &sp)) {
        call_init(&ex->calls[i], ex, req->body, sp);
        if (call_peek(&ex->calls[i], req->body, msg, msgsz) != 0) {
            free(ex->calls); /* no call holds anything yet */
            ex->calls = NULL;
            return NU_EPARSE;
        }
        i++;
    }
    NU_BUG_ON(i != n);
    GW_STAT_INC(ex->w->st.batches);
    GW_STAT_ADD(ex->w->st.batch_calls, n);
    return 0;
}

/* The body as calls (NU_EPARSE: msg says why it is refused). */
static int split_calls(struct gw_exchange *ex, char *msg, size_t msgsz)
{
    struct nu_http_req *req = ex->req;
    const struct gw_config *cfg = ex_cfg(ex);
    size_t n = 0;
    enum gw_body_kind k = gw_json_check(req->body, req->body_len, &n, msg, msgsz);
    if (k == GW_BODY_INVALID)
        return NU_EPARSE;
    if (k == GW_BODY_ARRAY && (n == 0 || n > cfg->max_batch)) {
        snprintf(msg, msgsz, "batch must hold 1 to %u requests, got %zu", cfg->max_batch, n);
        return NU_EPARSE;
    }
    if (k == GW_BODY_ARRAY)
        return setup_batch(ex, n, msg, msgsz);
    ex->ncalls = 1;
    call_init(&ex->one, ex, req->body, (struct gw_span){0, (uint32_t)req->body_len});
    return call_peek(&ex->one, req->body, msg, msgsz);
}

/* Parses the body into calls; false when the request was answered. A body
 * neard could not read the same way is refused whole with neard's parse
 * error (HTTP 400, id null): nothing of it reaches an upstream. */
static bool parse_calls(struct gw_exchange *ex)
{
    char msg[200];
    int err = split_calls(ex, msg, sizeof(msg));
    if (err == NU_EPARSE) {
        GW_STAT_INC(ex->w->st.parse_errors);
        request_error(ex, GW_LE_PARSE, msg, 0, false);
    } else if (err != 0) {
        request_error(ex, GW_LE_INTERNAL, "out of memory", 0, false);
    }
    return err == 0;
}

/* Charges the rate limit for every admitted call; false when answered. */
static bool admit(struct gw_exchange *ex)
{
    const struct gw_config *cfg = ex_cfg(ex);
    if (!cfg->rate_limit)
        return true;
    unsigned cost = 0, retry_after = 0;
    for (size_t i = 0; i < ex->ncalls; i++) {
        int m = ex_call(ex, i)->pk.method;
        if (gw_method_allowed(cfg, m))
            cost += gw_method_cost(cfg, m);
    }
    if (gw_limits_charge(ex->w->gw->rl, cfg, ex->req->peer, cost, nu_mono_ns(), &retry_after))
        return true;
    GW_STAT_INC(ex->w->st.rate_limited);
    bool single = !ex->batch;
    if (ex->batch) {
        free(ex->calls);
        ex->calls = NULL;
    }
    request_error(ex, GW_LE_RATE_LIMITED, "rate limit exceeded", retry_after, single);
    return false;
}

void gw_proxy_handle(struct gw_worker *w, struct nu_http_req *req)
{
    struct gw_exchange *ex = ex_new(w, req);
    if (!ex) {
        if (nu_httpd_respond(req, 500, "text/plain", "out of memory\n", 14) != 0)
            nu_httpd_abort(req);
        return;
    }
    if (!parse_calls(ex) || !admit(ex))
        return;
    const struct gw_config *cfg = ex_cfg(ex);
    nu_httpd_on_cancel(req, on_client_gone, ex);
    ex->pending = ex->ncalls + 1; /* +1 until every call has started */
    for (size_t i = 0; i < ex->ncalls; i++) {
        struct gw_call *c = ex_call(ex, i);
        if (gw_method_allowed(cfg, c->pk.method)) {
            call_attempt(c);
            continue;
        }
        char detail[160];
        GW_STAT_INC(w->st.denied);
        snprintf(detail, sizeof(detail), "method %s is not allowed by this gateway",
                 gw_method_name(c->pk.method));
        call_fail(c, GW_LE_DENIED, detail, 0);
    }
    if (--ex->pending == 0)
        ex_finish(ex);
}
