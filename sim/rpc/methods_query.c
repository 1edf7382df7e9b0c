/* query: view_account, view_code, view_state, view_access_key,
 * view_access_key_list and call_function over the simulated state, with
 * neard's legacy quirks (process_query_response): UNKNOWN_ACCESS_KEY and
 * CONTRACT_EXECUTION_ERROR come back as a successful result carrying
 * "error". There is no VM: an account with code answers the built-in view
 * methods below; state is not versioned (every height sees the latest). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "borsh.h"
#include "rpc.h"

#define QUERY_ARGS_MAX (4u << 20)

struct query {
    struct rpc_call *c;
    const json_t *p;      /* params object */
    const char *account;  /* account_id */
    struct sim_block blk; /* resolved block */
};

static json_t *with_block(json_t *o, const struct query *q)
{
    json_object_set_new(o, "block_height", json_integer((json_int_t)q->blk.height));
    json_object_set_new(o, "block_hash", json_string(q->blk.hash));
    return o;
}

static json_t *account_info(const struct query *q, const char *id_key)
{
    return json_pack("{s:s,s:I,s:s}", id_key, q->account, "block_height", (json_int_t)q->blk.height,
                     "block_hash", q->blk.hash);
}

static void fail_unknown_account(const struct query *q)
{
    char data[160];
    snprintf(data, sizeof(data), "account %s does not exist while viewing", q->account);
    rpc_call_fail(q->c,
                  rpc_err_handler("UNKNOWN_ACCOUNT", account_info(q, "requested_account_id"),
                                  json_string(data)),
                  200);
}

/* The legacy quirk: an error reported as a result. */
static void ok_with_error(const struct query *q, const char *error)
{
    rpc_call_ok(q->c, with_block(json_pack("{s:s,s:[]}", "error", error, "logs"), q));
}

static void view_account(struct query *q, const json_t *a)
{
    json_t *o =
        json_pack("{s:O,s:O,s:O,s:O,s:i}", "amount", json_object_get(a, "amount"), "locked",
                  json_object_get(a, "locked"), "code_hash", json_object_get(a, "code_hash"),
                  "storage_usage", json_object_get(a, "storage_usage"), "storage_paid_at", 0);
    rpc_call_ok(q->c, with_block(o, q));
}

static bool has_code(const json_t *a)
{
    const char *h = json_string_value(json_object_get(a, "code_hash"));
    return h && strcmp(h, RPC_NO_CODE_HASH) != 0;
}

static void view_code(struct query *q, const json_t *a)
{
    if (!has_code(a)) {
        char data[200];
        snprintf(data, sizeof(data),
                 "Contract code for contract ID #%s has never been observed on the node",
                 q->account);
        rpc_call_fail(q->c,
                      rpc_err_handler("NO_CONTRACT_CODE", account_info(q, "contract_account_id"),
                                      json_string(data)),
                      200);
        return;
    }
    json_t *code = json_object_get(a, "code_base64");
    json_t *o = json_pack("{s:o,s:O}", "code_base64", code ? json_incref(code) : json_string(""),
                          "hash", json_object_get(a, "code_hash"));
    rpc_call_ok(q->c, with_block(o, q));
}

static void view_access_key(struct query *q, const json_t *a)
{
    const char *pk = json_string_value(json_object_get(q->p, "public_key"));
    struct sim_pubkey parsed;
    if (!pk || sim_pubkey_parse(pk, &parsed) != 0) {
        rpc_fail_args(q->c, pk ? "invalid public key" : "missing field `public_key`");
        return;
    }
    json_t *ak = a ? json_object_get(json_object_get(a, "keys"), pk) : NULL;
    if (!ak) {
        char err[200];
        snprintf(err, sizeof(err), "access key %s does not exist while viewing", pk);
        ok_with_error(q, err);
        return;
    }
    rpc_call_ok(q->c, with_block(json_deep_copy(ak), q));
}

static void view_access_key_list(struct query *q, const json_t *a)
{
    json_t *keys = json_array();
    const char *pk;
    json_t *ak;
    json_object_foreach(a ? json_object_get(a, "keys") : NULL, pk, ak)
        json_array_append_new(keys, json_pack("{s:s,s:O}", "public_key", pk, "access_key", ak));
    rpc_call_ok(q->c, with_block(json_pack("{s:o}", "keys", keys), q));
}

static void call_result(struct query *q, const uint8_t *data, size_t len)
{
    json_t *bytes = json_array();
    for (size_t i = 0; i < len; i++)
        json_array_append_new(bytes, json_integer(data[i]));
    rpc_call_ok(q->c, with_block(json_pack("{s:o,s:[]}", "result", bytes, "logs"), q));
}

/* Built-in view methods of every account with code (see docs/neard-sim.md, "The RPC side"). */
static void run_builtin(struct query *q, const char *method, const uint8_t *args, size_t len)
{
    char out[128];
    if (strcmp(method, "echo") == 0) {
        call_result(q, args, len);
    } else if (strcmp(method, "block_height") == 0) {
        int n = snprintf(out, sizeof(out), "%" PRIu64, q->blk.height);
        call_result(q, (const uint8_t *)out, (size_t)n);
    } else if (strcmp(method, "account_id") == 0) {
        int n = snprintf(out, sizeof(out), "\"%s\"", q->account);
        call_result(q, (const uint8_t *)out, (size_t)n);
    } else {
        ok_with_error(q, "wasm execution failed with error: MethodResolveError(MethodNotFound)");
    }
}

static void call_function(struct query *q, const json_t *a)
{
    const char *method = json_string_value(json_object_get(q->p, "method_name"));
    const char *args64 = json_string_value(json_object_get(q->p, "args_base64"));
    if (!method || !args64) {
        rpc_fail_args(q->c, "missing field `%s`", method ? "args_base64" : "method_name");
        return;
    }
    size_t inlen = strlen(args64), outlen = 0;
    uint8_t *args = inlen <= QUERY_ARGS_MAX ? malloc(sim_base64_decoded_max(inlen)) : NULL;
    if (!args || sim_base64_decode(args64, inlen, args, sim_base64_decoded_max(inlen), &outlen)) {
        free(args);
        rpc_fail_args(q->c, "invalid base64 in args_base64");
        return;
    }
    if (!a) {
        fail_unknown_account(q);
    } else if (!has_code(a)) {
        char err[200];
        snprintf(err, sizeof(err),
                 "wasm execution failed with error: CompilationError(CodeDoesNotExist { "
                 "account_id: \"%s\" })",
                 q->account);
        ok_with_error(q, err);
    } else {
        run_builtin(q, method, args, outlen);
    }
    free(args);
}

static void fail_ref(struct query *q, const struct rpc_ref *r)
{
    char data[200];
    if (r->err == REF_NOT_SYNCED) {
        rpc_call_fail(q->c,
                      rpc_err_handler("NO_SYNCED_BLOCKS", NULL,
                                      json_string("There are no fully synchronized blocks "
                                                  "on the node yet")),
                      200);
    } else if (r->err == REF_GC) {
        struct sim_block b;
        sim_chain_block(q->c->n, r->height, &b);
        snprintf(data, sizeof(data),
                 "The data for block #%" PRIu64 " is garbage collected on this node, use an "
                 "archival node to fetch historical data",
                 r->height);
        json_t *info =
            json_pack("{s:I,s:s}", "block_height", (json_int_t)r->height, "block_hash", b.hash);
        rpc_call_fail(q->c, rpc_err_handler("GARBAGE_COLLECTED_BLOCK", info, json_string(data)),
                      200);
    } else if (r->err == REF_UNKNOWN_HEIGHT) {
        json_t *e = rpc_err_unknown_block_height(r->height);
        json_object_set_new(
            json_object_get(e, "cause"), "info",
            json_pack("{s:{s:I}}", "block_reference", "block_id", (json_int_t)r->height));
        rpc_call_fail(q->c, e, r->height < q->c->n->head ? 422 : 200);
    } else if (r->err == REF_UNKNOWN_HASH) {
        json_t *e = rpc_err_unknown_block_hash(r->hash);
        json_object_set_new(json_object_get(e, "cause"), "info",
                            json_pack("{s:{s:s}}", "block_reference", "block_id", r->hash));
        rpc_call_fail(q->c, e, 200);
    } else {
        rpc_fail_ref(q->c, r);
    }
}

typedef void (*view_fn)(struct query *q, const json_t *account);

struct view {
    const char *type;
    view_fn fn;
    bool needs_account; /* UNKNOWN_ACCOUNT when missing */
};

static const struct view views[] = {
    {"view_account", view_account, true},
    {"view_code", view_code, true},
    {"view_state", NULL, true},
    {"view_access_key", view_access_key, false},
    {"view_access_key_list", view_access_key_list, false},
    {"call_function", call_function, false},
};

static void view_state(struct query *q, const json_t *a)
{
    (void)a;
    rpc_call_ok(q->c, with_block(json_pack("{s:[],s:[]}", "values", "proof"), q));
}

void rpc_m_query(struct rpc_call *c)
{
    struct query q = {.c = c, .p = c->params};
    const char *type = json_string_value(json_object_get(c->params, "request_type"));
    const struct view *v = NULL;
    if (!json_is_object(c->params) || !type) {
        rpc_fail_args(c, "missing field `request_type`");
        return;
    }
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcmp(views[i].type, type) == 0)
            v = &views[i];
    if (!v) {
        rpc_fail_args(c, "unknown variant `%.64s`", type);
        return;
    }
    bool proof = json_is_true(json_object_get(c->params, "include_proof"));
    snprintf(c->label, sizeof(c->label), "query_%s%s", type,
             proof && strcmp(type, "view_state") == 0 ? "_with_proof" : "");
    q.account = json_string_value(json_object_get(c->params, "account_id"));
    if (!q.account || !nu_account_id_valid(q.account, strlen(q.account))) {
        rpc_fail_args(c, q.account ? "invalid account id" : "missing field `account_id`");
        return;
    }
    struct rpc_ref r;
    rpc_resolve_ref(c->n, c->params, &r, &q.blk);
    if (r.err != REF_OK) {
        fail_ref(&q, &r);
        return;
    }
    const json_t *a = rpc_account_get(c->ex->rpc, q.account);
    if (!a && v->needs_account) {
        fail_unknown_account(&q);
        return;
    }
    (v->fn ? v->fn : view_state)(&q, a);
}
