/* The supervisor's part in a restore's chain check (chaincheck.h). A
 * pending check is loaded before the first neard; once neard answers
 * /status, its own block at the check's height is asked for (JSON-RPC
 * `block` over the event-loop client, POST /), and until the check is
 * decided the starter hears nothing (no "ok" on the ready pipe, no
 * READY=1), the old data a restore kept stays, and `nearup health --home`
 * serves "unverified".
 *
 *   same hash:     the check is "ok"; ready is reported; the old data goes.
 *   another hash:  "mismatch": neard is stopped; its data dirs are moved
 *                  aside (<dir>.rejected-<snapshot>, never deleted), the old
 *                  data a restore kept comes back, and the supervisor gives
 *                  up with the reason (no restart loop).
 *   no answer, an error: asked again, SUP_CHAIN_RETRY_MIN_MS doubling to
 *                  SUP_CHAIN_RETRY_MAX_MS; the check stays pending.
 *
 * The file is written on the loop thread, as status.json is (small); the
 * renames of a rejection are too (metadata only, neard stopped). */
#include "sup-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chaincheck.h"
#include "dataswap.h"
#include "json.h"
#include "jsonrpc.h"

#define CHAIN_RPC_ID "nearup-supervisor"

bool sup_chain_waiting(const struct sup *s)
{
    return s->chain != NULL && s->chain->state == NODE_CHAIN_PENDING && !s->chain_rejected;
}

int sup_chain_load(struct sup *s, char *errbuf)
{
    char why[NU_ERRMSG_MAX];
    struct node_chain_check *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int rc = node_chain_load(s->home, c, why);
    if (rc == NU_ENOENT) {
        free(c);
        return 0;
    }
    if (rc < 0) {
        free(c);
        return nu_err_set(errbuf, rc,
                          "%.400s; neard is not started on data whose chain check cannot be "
                          "read: restore again, or remove the file to run the node unverified",
                          why);
    }
    s->chain = c;
    if (c->state == NODE_CHAIN_PENDING) {
        char line[NU_ERRMSG_MAX];
        node_chain_describe(c, line, sizeof(line));
        sup_log(s, NU_LOG_INFO, "a chain check is pending; neard must confirm the block", "check",
                line, NULL);
    }
    return 0;
}

int sup_chain_init(struct sup *s, char *errbuf)
{
    uv_timer_init(&s->loop, &s->t_chain);
    s->t_chain.data = s;
    if (!sup_chain_waiting(s) || s->rpc_addr[0] == '\0')
        return 0;
    const struct nu_hc_target t = {.method = "POST", .path = "/", .host = s->rpc_addr};
    const struct nu_hc_pool_opts o = {.idle_max = 0,
                                      .connect_timeout_ms = SUP_PROBE_TIMEOUT_MS,
                                      .max_response = SUP_HTTP_REPLY_MAX};
    s->chain_pool = nu_hc_pool_new(&s->loop, (const struct sockaddr *)&s->rpc_sa, &t, &o, errbuf);
    return s->chain_pool != NULL ? 0 : NU_ENOMEM;
}

void sup_chain_close(struct sup *s)
{
    if (s->chain_conn != NULL)
        nu_hc_cancel(s->chain_conn);
    s->chain_conn = NULL;
    nu_hc_pool_retire(s->chain_pool);
    s->chain_pool = NULL;
    uv_timer_stop(&s->t_chain);
}

void sup_chain_free(struct sup *s)
{
    free(s->chain);
    s->chain = NULL;
    free(s->rejection);
    s->rejection = NULL;
}

static void save(struct sup *s)
{
    char err[NU_ERRMSG_MAX];
    if (node_chain_save(s->home, s->chain, err) < 0)
        sup_log(s, NU_LOG_ERROR, "cannot record the chain check", "error", err, NULL);
}

/* ---- the outcomes ---- */

static void passed(struct sup *s, const char *hash)
{
    char h[24];
    struct node_chain_check *c = s->chain;
    c->state = NODE_CHAIN_OK;
    snprintf(c->node_hash, sizeof(c->node_hash), "%s", hash);
    c->checked_at = (int64_t)time(NULL);
    save(s);
    snprintf(h, sizeof(h), "%lld", (long long)c->height);
    sup_log(s, NU_LOG_INFO, "chain check passed: neard has the snapshot's block", "snapshot",
            c->snapshot, "height", h, "hash", hash, NULL);
    sup_metrics_update(s);
    sup_report_started(s);
    sup_swap_cleanup(s);
}

/* The rejection is planned (and recorded) before neard stops: a kill -9
 * meanwhile leaves a "mismatch" that names where the data was to go. */
static void failed(struct sup *s, const char *hash)
{
    char err[NU_ERRMSG_MAX], h[24];
    struct node_chain_check *c = s->chain;
    c->state = NODE_CHAIN_MISMATCH;
    snprintf(c->node_hash, sizeof(c->node_hash), "%.*s", NODE_CHAIN_HASH_MAX - 1, hash);
    c->checked_at = (int64_t)time(NULL);
    s->rejection = calloc(1, sizeof(*s->rejection));
    if (s->rejection == NULL ||
        node_swap_reject_plan((const char(*)[PATH_MAX])c->data_dirs, c->ndirs, c->snapshot,
                              s->rejection, err) < 0) {
        sup_log(s, NU_LOG_ERROR, "cannot move the rejected data aside; it stays in place", "error",
                s->rejection == NULL ? "out of memory" : err, NULL);
        free(s->rejection);
        s->rejection = NULL;
    }
    for (size_t i = 0; s->rejection != NULL && i < c->ndirs; i++)
        snprintf(c->rejected[i], PATH_MAX, "%s", s->rejection->rejected[i]);
    save(s);
    snprintf(h, sizeof(h), "%lld", (long long)c->height);
    sup_log(s, NU_LOG_ERROR,
            "chain check failed: the restored data is not on the chain the references confirmed; "
            "stopping neard",
            "snapshot", c->snapshot, "height", h, "expected", c->expected_hash, "node_hash", hash,
            NULL);
    node_chain_describe(c, s->reason, sizeof(s->reason));
    s->chain_rejected = true;
    sup_set_state(s, SUP_STOPPING);
    sup_stop_neard(s);
}

bool sup_chain_on_exit(struct sup *s)
{
    char err[NU_ERRMSG_MAX];
    struct node_chain_check *c = s->chain;
    if (!s->chain_rejected)
        return false;
    if (s->rejection != NULL && node_swap_reject(s->home, s->rejection, err) < 0) {
        sup_log(s, NU_LOG_ERROR, "cannot move the rejected data aside", "error", err, NULL);
    } else if (s->rejection != NULL) {
        for (size_t i = 0; i < s->rejection->ndirs; i++)
            c->old_back = c->old_back || s->rejection->old_back[i];
        save(s);
        sup_log(s, NU_LOG_WARN, "moved the rejected data aside", "to", c->rejected[0],
                "old_data_back", c->old_back ? "yes" : "no", NULL);
    }
    node_chain_describe(c, s->reason, sizeof(s->reason));
    sup_finish(s, SUP_GAVE_UP, 1);
    return true;
}

/* ---- asking neard ---- */

static void on_retry(uv_timer_t *t)
{
    sup_chain_on_status(t->data);
}

static void retry(struct sup *s, const char *why)
{
    char h[24], in[24];
    s->chain_retry_ms = s->chain_retry_ms == 0 ? SUP_CHAIN_RETRY_MIN_MS : s->chain_retry_ms * 2;
    if (s->chain_retry_ms > SUP_CHAIN_RETRY_MAX_MS)
        s->chain_retry_ms = SUP_CHAIN_RETRY_MAX_MS;
    snprintf(h, sizeof(h), "%lld", (long long)s->chain->height);
    snprintf(in, sizeof(in), "%u", s->chain_retry_ms);
    sup_log(s, NU_LOG_WARN, "chain check: neard did not show the block yet; asking again", "height",
            h, "error", why, "in_ms", in, NULL);
    uv_timer_start(&s->t_chain, on_retry, s->chain_retry_ms, 0);
}

static void on_block(void *ud, const struct nu_hc_resp *r)
{
    struct sup *s = ud;
    char err[NU_ERRMSG_MAX], name[NU_JSONRPC_NAME_MAX];
    json_t *res = NULL;
    const char *hash = NULL;
    s->chain_conn = NULL;
    if (s->closing || !sup_chain_waiting(s) || s->child.pid != s->chain_pid || s->child.exited)
        return; /* a neard that is gone: its successor is asked once it answers */
    if (r->err != NU_HC_OK)
        snprintf(err, sizeof(err), "no answer from %s: %s", s->rpc_addr,
                 r->detail[0] ? r->detail : "connection failed");
    else if (nu_jsonrpc_result(s->rpc_addr, r->status, r->body, r->len, &res, name, err) < 0)
        ;
    else if (nu_json_get_str(res, "header.hash", &hash) < 0 || hash[0] == '\0')
        snprintf(err, sizeof(err), "the block reply has no header.hash");
    if (hash != NULL && hash[0] != '\0' && strcmp(hash, s->chain->expected_hash) == 0)
        passed(s, hash);
    else if (hash != NULL && hash[0] != '\0')
        failed(s, hash);
    else
        retry(s, err);
    json_decref(res);
}

void sup_chain_on_status(struct sup *s)
{
    char body[160];
    if (!sup_chain_waiting(s) || s->chain_conn != NULL ||
        uv_is_active((uv_handle_t *)&s->t_chain) || s->closing || s->child.pid <= 0 ||
        s->child.exited)
        return;
    if (s->chain_pool == NULL) {
        if (!s->chain_norpc_said)
            sup_log(s, NU_LOG_ERROR,
                    "neard has no RPC address: the chain check cannot ask it for the block; the "
                    "node stays unverified",
                    NULL);
        s->chain_norpc_said = true;
        sup_report_started(s);
        return;
    }
    int len = snprintf(body, sizeof(body),
                       "{\"jsonrpc\":\"2.0\",\"id\":\"" CHAIN_RPC_ID
                       "\",\"method\":\"block\",\"params\":{\"block_id\":%lld}}",
                       (long long)s->chain->height);
    s->chain_pid = s->child.pid;
    s->chain_conn = nu_hc_pool_get(s->chain_pool);
    if (s->chain_conn == NULL) {
        retry(s, "out of memory");
        return;
    }
    nu_hc_send(s->chain_conn, body, (size_t)len, SUP_CHAIN_TIMEOUT_MS, NU_HC_REPLAYABLE, on_block,
               s);
}
