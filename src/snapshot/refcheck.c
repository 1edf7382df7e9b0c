/* Reference RPCs against a manifest's block (see refcheck.h): one worker
 * per reference, so the whole check takes as long as the slowest one,
 * never longer than SNAP_VERIFY_TIMEOUT_MS. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "httpc.h"
#include "json.h"
#include "jsonrpc.h"
#include "redact.h"
#include "refcheck.h"
#include "url.h"
#include "workers.h"

#define RPC_ID "nearup-snapshot"
#define REPLY_MAX (4u << 20) /* a block with its chunk headers is some KiB */
#define CONNECT_MS 5000

struct refs {
    const struct snap_verify_refs *v;
    const char *chain_id, *hash;
    int64_t height;
    const volatile sig_atomic_t *cancel;
    struct snap_chain_report *r;
};

struct call {
    const char *url;
    uint64_t deadline_ms; /* monotonic */
    const volatile sig_atomic_t *cancel;
};

static int on_progress(void *ud, uint64_t done, uint64_t total)
{
    const struct call *c = ud;
    (void)done;
    (void)total;
    return c->cancel != NULL && *c->cancel;
}

/* What follows "POST <url>: " in httpc's message: libcurl's words. */
static const char *transport_words(const char *err)
{
    const char *p = strncmp(err, "POST ", 5) == 0 ? strstr(err + 5, ": ") : NULL;
    return p != NULL ? p + 2 : err;
}

/* One call into *result (a new reference); else why in detail (one line). */
static int rpc(struct call *c, const char *method, json_t *params, json_t **result, char *name,
               char *detail, size_t detailsz)
{
    char err[NU_ERRMSG_MAX];
    struct nu_buf req, resp;
    struct nu_httpc_opts o;
    long status = 0;
    uint64_t now = nu_mono_ms();
    long left = c->deadline_ms > now ? (long)(c->deadline_ms - now) : 1;
    *result = NULL;
    name[0] = '\0';
    nu_buf_init(&req, 4096);
    nu_buf_init(&resp, REPLY_MAX);
    nu_httpc_opts_init(&o);
    o.connect_timeout_ms = left < CONNECT_MS ? left : CONNECT_MS;
    o.timeout_ms = left;
    o.max_bytes = REPLY_MAX;
    o.progress = on_progress;
    o.progress_ud = c;
    int rc = nu_jsonrpc_request(&req, RPC_ID, method, params);
    if (rc < 0) {
        snprintf(detail, detailsz, "%s: cannot build the request", method);
    } else if ((rc = nu_http_post(c->url, &o, "application/json", req.data, req.len, &resp, &status,
                                  err)) < 0 &&
               rc != NU_EHTTP) {
        snprintf(detail, detailsz, "%.40s: %.200s", method, transport_words(err));
    } else if ((rc = nu_jsonrpc_result(c->url, (int)status, resp.data ? resp.data : "", resp.len,
                                       result, name, err)) < 0) {
        snprintf(detail, detailsz, "%.40s: %.200s", method, err);
    }
    nu_buf_release(&req);
    nu_buf_release(&resp);
    return rc;
}

static void set(struct node_chain_ref *ref, enum node_chain_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set(struct node_chain_ref *ref, enum node_chain_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ref->outcome = o;
    vsnprintf(ref->detail, sizeof(ref->detail), fmt, ap);
    va_end(ap);
    nu_redact_inplace(ref->detail, sizeof(ref->detail));
}

/* The block's hash the reference has at the height, or why not. */
static void ask_block(const struct refs *x, struct call *c, struct node_chain_ref *ref)
{
    char detail[NODE_CHAIN_DETAIL_MAX], name[NU_JSONRPC_NAME_MAX];
    json_t *res = NULL;
    const char *hash = NULL;
    long long h = (long long)x->height;
    int rc = rpc(c, "block", json_pack("{s:I}", "block_id", (json_int_t)x->height), &res, name,
                 detail, sizeof(detail));
    if (rc < 0 && strcmp(name, "UNKNOWN_BLOCK") == 0)
        set(ref, NODE_CHAIN_REF_UNAVAILABLE,
            "block %lld is unknown there (UNKNOWN_BLOCK: garbage-collected, or beyond its head; "
            "an archival node keeps every block)",
            h);
    else if (rc < 0)
        set(ref, NODE_CHAIN_REF_UNAVAILABLE, "%s", detail);
    else if (nu_json_get_str(res, "header.hash", &hash) < 0)
        set(ref, NODE_CHAIN_REF_UNAVAILABLE, "block %lld: the reply has no header.hash", h);
    else if (strcmp(hash, x->hash) != 0)
        set(ref, NODE_CHAIN_REF_MISMATCH, "block %lld is %.64s, not %s", h, hash, x->hash);
    else
        set(ref, NODE_CHAIN_REF_MATCH, "block %lld is %s", h, hash);
    json_decref(res);
}

/* A worker: one reference, its status then its block. */
static int job(void *ctx, void *state, size_t i, char *errbuf)
{
    const struct refs *x = ctx;
    struct node_chain_ref *ref = &x->r->refs[i];
    char detail[NODE_CHAIN_DETAIL_MAX], name[NU_JSONRPC_NAME_MAX];
    struct call c = {.url = x->v->urls[i],
                     .deadline_ms = nu_mono_ms() + SNAP_VERIFY_TIMEOUT_MS,
                     .cancel = x->cancel};
    json_t *res = NULL;
    const char *chain = NULL;
    (void)state;
    (void)errbuf;
    nu_redact(c.url, ref->url, sizeof(ref->url));
    if (rpc(&c, "status", NULL, &res, name, detail, sizeof(detail)) < 0)
        set(ref, NODE_CHAIN_REF_UNAVAILABLE, "%s", detail);
    else if (nu_json_get_str(res, "chain_id", &chain) < 0)
        set(ref, NODE_CHAIN_REF_UNAVAILABLE, "status: the reply has no chain_id");
    else if (strcmp(chain, x->chain_id) != 0)
        set(ref, NODE_CHAIN_REF_MISMATCH, "chain_id is %.100s, not %s", chain, x->chain_id);
    else
        ask_block(x, &c, ref);
    json_decref(res);
    return 0;
}

int snap_check_references(const struct snap_verify_refs *v, const char *chain_id, int64_t height,
                          const char *hash, const volatile sig_atomic_t *cancel,
                          struct snap_chain_report *r, char *errbuf)
{
    size_t n = 0;
    while (v->urls != NULL && v->urls[n] != NULL)
        n++;
    memset(r, 0, sizeof(*r));
    if (n == 0 || n > SNAP_VERIFY_REFS_MAX)
        return nu_err_set(errbuf, NU_EINVAL, "1 to %d references, not %zu", SNAP_VERIFY_REFS_MAX,
                          n);
    if (v->quorum > n)
        return nu_err_set(errbuf, NU_EINVAL, "a quorum of %u needs as many references, not %zu",
                          v->quorum, n);
    r->checked = true;
    r->nrefs = n;
    r->quorum = v->quorum != 0 ? v->quorum : (unsigned)(n / 2 + 1);
    r->height = height;
    snprintf(r->hash, sizeof(r->hash), "%s", hash);
    struct refs x = {
        .v = v, .chain_id = chain_id, .hash = hash, .height = height, .cancel = cancel, .r = r};
    struct snap_pool_def pool = {
        .nworkers = n, .njobs = n, .ctx = &x, .job = job, .cancel = cancel};
    int rc = snap_pool_run(&pool, errbuf);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        r->matches += r->refs[i].outcome == NODE_CHAIN_REF_MATCH;
    if (r->matches < r->quorum)
        return nu_err_set(errbuf, NU_EVERIFY,
                          "block %lld (hash %s) is confirmed by %zu of %zu references, %u needed",
                          (long long)height, hash, r->matches, n, r->quorum);
    return 0;
}
