/* neard-sim RPC side without sockets: the Borsh SignedTransaction reader,
 * base64/u128 codecs, and the JSON-RPC handler on an in-memory node
 * (envelopes, HTTP status mapping, query quirks, transactions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../sim/rpc/borsh.h"
#include "../../sim/rpc/rpc.h"
#include "../../src/lib/base58.h"
#include "clock.h"

/* ---- a small Borsh writer ---- */

struct wr {
    uint8_t b[4096];
    size_t n;
};

static void w_raw(struct wr *w, const void *p, size_t len)
{
    assert_true(w->n + len <= sizeof(w->b));
    memcpy(w->b + w->n, p, len);
    w->n += len;
}

static void w_u8(struct wr *w, uint8_t v)
{
    w_raw(w, &v, 1);
}

static void w_le(struct wr *w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        w_u8(w, (uint8_t)(v >> (8 * i)));
}

static void w_str(struct wr *w, const char *s)
{
    w_le(w, strlen(s), 4);
    w_raw(w, s, strlen(s));
}

static void w_pk(struct wr *w, const uint8_t pub[32])
{
    w_u8(w, 0);
    w_raw(w, pub, 32);
}

static void w_u128(struct wr *w, uint64_t lo, uint64_t hi)
{
    w_le(w, lo, 8);
    w_le(w, hi, 8);
}

/* Transaction header: signer, key, nonce, receiver, block hash, n actions. */
static void w_tx_head(struct wr *w, const char *signer, const uint8_t pub[32], uint64_t nonce,
                      const char *receiver, uint32_t nactions)
{
    uint8_t block_hash[32];
    memset(block_hash, 7, sizeof(block_hash));
    w_str(w, signer);
    w_pk(w, pub);
    w_le(w, nonce, 8);
    w_str(w, receiver);
    w_raw(w, block_hash, 32);
    w_le(w, nactions, 4);
}

/* Appends an ed25519 signature of sha256(w->b[0..n)). */
static void w_sign(struct wr *w, const struct nu_keypair *kp)
{
    uint8_t hash[32], sig[64];
    SHA256(w->b, w->n, hash);
    assert_int_equal(nu_key_sign(kp, hash, sizeof(hash), sig), 0);
    w_u8(w, 0);
    w_raw(w, sig, 64);
}

static void keypair(struct nu_keypair *kp, const char *account)
{
    assert_int_equal(nu_key_from_seed(kp, account, account), 0);
}

/* ---- borsh ---- */

static void test_transfer_parses(void **state)
{
    struct nu_keypair kp;
    struct wr w = {.n = 0};
    keypair(&kp, "alice.test");
    w_tx_head(&w, "alice.test", kp.pub, 5, "bob.test", 1);
    w_u8(&w, SIM_ACT_TRANSFER);
    w_u128(&w, 1000, 1);
    size_t tx_len = w.n;
    w_sign(&w, &kp);
    struct sim_tx *tx = malloc(sizeof(*tx));
    char err[NU_ERRMSG_MAX];
    assert_int_equal(sim_borsh_signed_tx(w.b, w.n, tx, err), 0);
    assert_string_equal(tx->signer_id, "alice.test");
    assert_string_equal(tx->receiver_id, "bob.test");
    assert_int_equal(tx->nonce, 5);
    assert_int_equal(tx->nactions, 1);
    assert_int_equal(tx->actions[0].kind, SIM_ACT_TRANSFER);
    assert_true(tx->actions[0].amount == (((nu_u128)1 << 64) | 1000));
    assert_int_equal(tx->tx_len, tx_len);
    assert_memory_equal(tx->public_key.data, kp.pub, 32);
    uint8_t hash[32];
    SHA256(w.b, tx_len, hash);
    assert_memory_equal(tx->hash, hash, 32);
    assert_int_equal(nu_key_verify(kp.pub, tx->hash, 32, tx->signature), 0);
    free(tx);
    (void)state;
}

static size_t all_actions(struct wr *w, const struct nu_keypair *kp)
{
    w_tx_head(w, "alice.test", kp->pub, 9, "alice.test", 9);
    w_u8(w, SIM_ACT_CREATE_ACCOUNT);
    w_u8(w, SIM_ACT_DEPLOY_CONTRACT);
    w_str(w, "wasm");
    w_u8(w, SIM_ACT_FUNCTION_CALL);
    w_str(w, "echo");
    w_str(w, "{}");
    w_le(w, 30000000000000ull, 8);
    w_u128(w, 0, 0);
    w_u8(w, SIM_ACT_TRANSFER);
    w_u128(w, 1, 0);
    w_u8(w, SIM_ACT_STAKE);
    w_u128(w, 2, 0);
    w_pk(w, kp->pub);
    w_u8(w, SIM_ACT_ADD_KEY); /* FunctionCall key with allowance and two methods */
    w_pk(w, kp->pub);
    w_le(w, 0, 8);
    w_u8(w, 0);
    w_u8(w, 1);
    w_u128(w, 250, 0);
    w_str(w, "app.test");
    w_le(w, 2, 4);
    w_str(w, "a");
    w_str(w, "b");
    w_u8(w, SIM_ACT_ADD_KEY); /* FullAccess */
    w_pk(w, kp->pub);
    w_le(w, 3, 8);
    w_u8(w, 1);
    w_u8(w, SIM_ACT_DELETE_KEY);
    w_pk(w, kp->pub);
    w_u8(w, SIM_ACT_DELETE_ACCOUNT);
    w_str(w, "bob.test");
    size_t len = w->n;
    w_sign(w, kp);
    return len;
}

static void test_all_actions_parse(void **state)
{
    struct nu_keypair kp;
    struct wr w = {.n = 0};
    keypair(&kp, "alice.test");
    all_actions(&w, &kp);
    struct sim_tx *tx = malloc(sizeof(*tx));
    char err[NU_ERRMSG_MAX];
    assert_int_equal(sim_borsh_signed_tx(w.b, w.n, tx, err), 0);
    assert_int_equal(tx->nactions, 9);
    assert_int_equal(tx->actions[1].code.len, 4);
    assert_memory_equal(tx->actions[2].method.p, "echo", 4);
    assert_int_equal(tx->actions[2].gas, 30000000000000ull);
    assert_true(tx->actions[4].amount == 2);
    const struct sim_access_key *ak = &tx->actions[5].ak;
    assert_false(ak->full_access);
    assert_true(ak->has_allowance && ak->allowance == 250);
    assert_string_equal(ak->receiver_id, "app.test");
    assert_int_equal(ak->nmethods, 2);
    assert_true(tx->actions[6].ak.full_access);
    assert_int_equal(tx->actions[6].ak.nonce, 3);
    assert_string_equal(tx->actions[8].beneficiary, "bob.test");
    free(tx);
    (void)state;
}

static void test_malformed_rejected(void **state)
{
    struct nu_keypair kp;
    struct wr w = {.n = 0};
    keypair(&kp, "alice.test");
    all_actions(&w, &kp);
    struct sim_tx *tx = malloc(sizeof(*tx));
    char err[NU_ERRMSG_MAX];
    for (size_t len = 0; len < w.n; len++)
        assert_int_equal(sim_borsh_signed_tx(w.b, len, tx, err), NU_EPARSE);
    w.b[w.n] = 0;
    assert_int_equal(sim_borsh_signed_tx(w.b, w.n + 1, tx, err), NU_EPARSE);
    char want[64];
    snprintf(want, sizeof(want), "invalid trailing bytes at byte %zu", w.n);
    assert_string_equal(err, want);

    struct wr bad = {.n = 0};
    w_tx_head(&bad, "alice.test", kp.pub, 1, "bob.test", 1);
    w_u8(&bad, 8); /* Delegate: not simulated */
    assert_int_equal(sim_borsh_signed_tx(bad.b, bad.n, tx, err), NU_EPARSE);
    assert_non_null(strstr(err, "unknown variant"));

    struct wr upper = {.n = 0};
    w_tx_head(&upper, "Alice", kp.pub, 1, "bob.test", 0);
    w_sign(&upper, &kp);
    assert_int_equal(sim_borsh_signed_tx(upper.b, upper.n, tx, err), NU_EPARSE);
    assert_string_equal(err, "invalid signer_id at byte 9");
    free(tx);
    (void)state;
}

static void test_base64_and_u128(void **state)
{
    uint8_t out[16];
    size_t n = 0;
    char enc[16];
    sim_base64_encode((const uint8_t *)"hello", 5, enc);
    assert_string_equal(enc, "aGVsbG8=");
    assert_int_equal(sim_base64_decode("aGVsbG8=", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(sim_base64_decode("e30=", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sim_base64_decode("", 0, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sim_base64_decode("aGVsbG8", 7, out, sizeof(out), &n), NU_EINVAL);
    assert_int_equal(sim_base64_decode("a=Vs", 4, out, sizeof(out), &n), NU_EINVAL);
    assert_int_equal(sim_base64_decode("aG!s", 4, out, sizeof(out), &n), NU_EINVAL);
    assert_int_equal(sim_base64_decode("aGVsbG8=", 8, out, 4, &n), NU_ETOOBIG);

    nu_u128 v;
    char t[NU_U128_TEXT_MAX];
    const char *max = "340282366920938463463374607431768211455";
    assert_int_equal(nu_u128_parse(max, &v), 0);
    nu_u128_text(v, t);
    assert_string_equal(t, max);
    assert_int_equal(nu_u128_parse("340282366920938463463374607431768211456", &v), NU_EINVAL);
    assert_int_equal(nu_u128_parse("-1", &v), NU_EINVAL);
    assert_int_equal(nu_u128_parse("", &v), NU_EINVAL);
    nu_u128_text(0, t);
    assert_string_equal(t, "0");
    (void)state;
}

/* ---- JSON-RPC on an in-memory node (no store, no loop) ---- */

#define HEAD 100
#define EARLIEST 50

struct fixture {
    struct sim_node n;
    struct nu_keypair alice;
};

static int setup_node(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct sim_node *n = &f->n;
    char pk[NU_KEY_TEXT_MAX], err[NU_ERRMSG_MAX];
    keypair(&f->alice, "alice.test");
    nu_key_pub_text(&f->alice, pk, sizeof(pk));
    snprintf(n->gen.chain_id, sizeof(n->gen.chain_id), "unitnet");
    snprintf(n->gen.genesis_hash, sizeof(n->gen.genesis_hash), "%s",
             "9mZB8JyQ3UUbCCuMuAdrBGAJzMT8CRqCYdKXGXwBkyRa");
    n->gen.genesis_time_ns = nu_real_ns() - (uint64_t)HEAD * 120 * 1000000ull;
    n->gen.epoch_length = 60;
    n->gen.num_shards = 1;
    n->gen.protocol_version = SIM_PROTOCOL;
    n->gen.nvalidators = 1;
    snprintf(n->gen.validators[0].account_id, NU_ACCOUNT_ID_MAX, "alice.test");
    snprintf(n->gen.validators[0].public_key, NU_KEY_TEXT_MAX, "%s", pk);
    snprintf(n->gen.validators[0].amount, 48, "50000000000000000000000000000000");
    n->gen.json = json_pack(
        "{s:s,s:s,s:[{s:{s:s,s:{s:s,s:s,s:s,s:i}}},{s:{s:s,s:s,s:{s:i,s:s}}},"
        "{s:{s:s,s:{s:s,s:s,s:s,s:i}}}]}",
        "chain_id", "unitnet", "min_gas_price", "100000000", "records", "Account", "account_id",
        "alice.test", "account", "amount", "1000000000000000000000000000", "locked", "0",
        "code_hash", RPC_NO_CODE_HASH, "storage_usage", 182, "AccessKey", "account_id",
        "alice.test", "public_key", pk, "access_key", "nonce", 0, "permission", "FullAccess",
        "Account", "account_id", "app.test", "account", "amount", "5", "locked", "0", "code_hash",
        "8mZB8JyQ3UUbCCuMuAdrBGAJzMT8CRqCYdKXGXwBkyRa", "storage_usage", 300);
    n->cfg.min_block_production_delay_ms = 120;
    n->cfg.max_block_production_delay_ms = 500;
    n->cfg.polling_timeout_ms = 10000;
    n->cfg.max_num_peers = 40;
    snprintf(n->cfg.rpc_addr, sizeof(n->cfg.rpc_addr), "127.0.0.1:3030");
    n->head = HEAD;
    n->earliest = EARLIEST;
    n->header_head = HEAD;
    n->sync_status = SIM_SYNC_NO_SYNC;
    n->boot_time_ns = nu_real_ns();
    assert_int_equal(sim_rpc_state_init(n, err), 0);
    *state = f;
    return 0;
}

static int teardown_node(void **state)
{
    struct fixture *f = *state;
    sim_rpc_state_free(&f->n);
    json_decref(f->n.gen.json);
    free(f);
    return 0;
}

/* Sends body; returns the parsed reply and the HTTP status. */
static json_t *call(struct fixture *f, const char *body, int *status)
{
    struct nu_buf out;
    nu_buf_init(&out, 1 << 20);
    assert_int_equal(sim_jsonrpc_handle_body(&f->n, body, strlen(body), &out, status), 0);
    json_error_t jerr;
    json_t *v = json_loads(out.data, 0, &jerr);
    if (!v)
        fail_msg("reply is not JSON: %s", out.data);
    nu_buf_release(&out);
    return v;
}

static json_t *rpcf(struct fixture *f, int *status, const char *method, const char *params)
{
    char body[8192];
    int n = snprintf(body, sizeof(body),
                     "{\"jsonrpc\":\"2.0\",\"id\":\"t\",\"method\":\"%s\",\"params\":%s}", method,
                     params);
    assert_true(n > 0 && (size_t)n < sizeof(body));
    return call(f, body, status);
}

static const char *err_str(const json_t *r, const char *path)
{
    const char *s = NULL;
    if (nu_json_get_str(r, path, &s) != 0)
        return "<missing>";
    return s;
}

static void test_envelopes(void **state)
{
    struct fixture *f = *state;
    int st;
    json_t *r = rpcf(f, &st, "foo", "[]");
    assert_int_equal(st, 400);
    assert_string_equal(err_str(r, "error.name"), "REQUEST_VALIDATION_ERROR");
    assert_string_equal(err_str(r, "error.cause.name"), "METHOD_NOT_FOUND");
    assert_string_equal(err_str(r, "error.cause.info.method_name"), "foo");
    assert_int_equal(json_integer_value(nu_json_get(r, "error.code")), -32601);
    assert_string_equal(err_str(r, "error.message"), "Method not found");
    assert_string_equal(err_str(r, "error.data"), "foo");
    assert_string_equal(err_str(r, "id"), "t");
    json_decref(r);

    r = call(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"extra\":1}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(err_str(r, "error.cause.name"), "PARSE_ERROR");
    assert_string_equal(err_str(r, "error.data"), "JSON RPC Request format was expected");
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);

    r = call(f, "{not json", &st);
    assert_int_equal(st, 400);
    assert_int_equal(json_integer_value(nu_json_get(r, "error.code")), -32700);
    json_decref(r);

    r = rpcf(f, &st, "block", "{\"block_id\": 10}"); /* below earliest: GC'd */
    assert_int_equal(st, 422);
    assert_string_equal(err_str(r, "error.name"), "HANDLER_ERROR");
    assert_string_equal(err_str(r, "error.cause.name"), "UNKNOWN_BLOCK");
    assert_int_equal(json_object_size(nu_json_get(r, "error.cause.info")), 0);
    assert_string_equal(err_str(r, "error.data"),
                        "DB Not Found Error: BLOCK HEIGHT: 10 \n Cause: Unknown");
    json_decref(r);

    r = rpcf(f, &st, "block", "{\"block_id\": 1000}"); /* above head: 200 */
    assert_int_equal(st, 200);
    assert_string_equal(err_str(r, "error.cause.name"), "UNKNOWN_BLOCK");
    json_decref(r);

    f->n.cfg.sim_http_status_mode = SIM_HTTP_STATUS_LEGACY_200;
    r = rpcf(f, &st, "foo", "[]");
    assert_int_equal(st, 200);
    json_decref(r);
    r = rpcf(f, &st, "block", "{\"block_id\": 10}");
    assert_int_equal(st, 200);
    json_decref(r);
}

static void test_status_block_batch(void **state)
{
    struct fixture *f = *state;
    int st;
    json_t *r = rpcf(f, &st, "status", "[]");
    assert_int_equal(st, 200);
    assert_string_equal(err_str(r, "result.chain_id"), "unitnet");
    assert_int_equal(json_integer_value(nu_json_get(r, "result.sync_info.latest_block_height")),
                     HEAD);
    assert_int_equal(json_integer_value(nu_json_get(r, "result.sync_info.earliest_block_height")),
                     EARLIEST);
    assert_true(json_is_false(nu_json_get(r, "result.sync_info.syncing")));
    assert_string_equal(err_str(r, "result.version.build"), "sim");
    json_decref(r);

    r = rpcf(f, &st, "block", "{\"finality\": \"final\"}");
    assert_int_equal(json_integer_value(nu_json_get(r, "result.header.height")), HEAD - 2);
    json_decref(r);
    r = rpcf(f, &st, "block", "{\"sync_checkpoint\": \"earliest_available\"}");
    assert_int_equal(json_integer_value(nu_json_get(r, "result.header.height")), EARLIEST);
    json_decref(r);

    r = call(f,
             "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\",\"params\":[]},"
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\",\"params\":[]}]",
             &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(r), 2);
    assert_true(json_is_null(json_object_get(json_array_get(r, 0), "result")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "id")), 2);
    json_decref(r);

    f->n.sync_status = SIM_SYNC_HEADER_SYNC;
    r = rpcf(f, &st, "health", "[]");
    assert_string_equal(err_str(r, "error.cause.name"), "NODE_IS_SYNCING");
    assert_null(nu_json_get(r, "error.cause.info"));
    assert_string_equal(err_str(r, "error.data.name"), "NODE_IS_SYNCING");
    json_decref(r);
}

static void test_query(void **state)
{
    struct fixture *f = *state;
    int st;
    json_t *r = rpcf(f, &st, "query",
                     "{\"request_type\":\"view_account\",\"finality\":\"final\","
                     "\"account_id\":\"alice.test\"}");
    assert_string_equal(err_str(r, "result.amount"), "1000000000000000000000000000");
    assert_int_equal(json_integer_value(nu_json_get(r, "result.block_height")), HEAD - 2);
    json_decref(r);

    r = rpcf(f, &st, "query",
             "{\"request_type\":\"view_account\",\"block_id\":10,\"account_id\":\"alice.test\"}");
    assert_string_equal(err_str(r, "error.cause.name"), "GARBAGE_COLLECTED_BLOCK");
    assert_int_equal(json_integer_value(nu_json_get(r, "error.cause.info.block_height")), 10);
    json_decref(r);

    r = rpcf(
        f, &st, "query",
        "{\"request_type\":\"view_account\",\"finality\":\"final\",\"account_id\":\"no.test\"}");
    assert_string_equal(err_str(r, "error.cause.name"), "UNKNOWN_ACCOUNT");
    assert_string_equal(err_str(r, "error.data"), "account no.test does not exist while viewing");
    json_decref(r);

    r = rpcf(f, &st, "query",
             "{\"request_type\":\"call_function\",\"finality\":\"final\",\"account_id\":"
             "\"app.test\",\"method_name\":\"echo\",\"args_base64\":\"aGk=\"}");
    assert_int_equal(json_array_size(nu_json_get(r, "result.result")), 2);
    assert_int_equal(json_integer_value(json_array_get(nu_json_get(r, "result.result"), 0)), 'h');
    json_decref(r);

    r = rpcf(f, &st, "query",
             "{\"request_type\":\"call_function\",\"finality\":\"final\",\"account_id\":"
             "\"app.test\",\"method_name\":\"nope\",\"args_base64\":\"\"}");
    assert_string_equal(err_str(r, "result.error"),
                        "wasm execution failed with error: MethodResolveError(MethodNotFound)");
    json_decref(r);

    r = rpcf(f, &st, "query",
             "{\"request_type\":\"call_function\",\"finality\":\"final\",\"account_id\":"
             "\"alice.test\",\"method_name\":\"echo\",\"args_base64\":\"\"}");
    assert_non_null(strstr(err_str(r, "result.error"), "CodeDoesNotExist"));
    json_decref(r);
}

static void test_transfer_applies(void **state)
{
    struct fixture *f = *state;
    struct wr w = {.n = 0};
    char b64[8192], params[8300];
    int st;
    w_tx_head(&w, "alice.test", f->alice.pub, 1, "app.test", 1);
    w_u8(&w, SIM_ACT_TRANSFER);
    w_u128(&w, 1000, 0);
    w_sign(&w, &f->alice);
    sim_base64_encode(w.b, w.n, b64);
    snprintf(params, sizeof(params), "[\"%s\"]", b64);
    json_t *r = rpcf(f, &st, "broadcast_tx_async", params);
    assert_int_equal(st, 200);
    uint8_t hash[32];
    char hash58[64];
    SHA256(w.b, w.n - 65, hash);
    assert_true(nu_base58_encode(hash, 32, hash58, sizeof(hash58)) > 0);
    assert_string_equal(err_str(r, "result"), hash58);
    json_decref(r);

    r = rpcf(f, &st, "query",
             "{\"request_type\":\"view_account\",\"finality\":\"optimistic\","
             "\"account_id\":\"app.test\"}");
    assert_string_equal(err_str(r, "result.amount"), "1005");
    json_decref(r);

    /* Same nonce again, new content: InvalidNonce. */
    w.n = 0;
    w_tx_head(&w, "alice.test", f->alice.pub, 1, "app.test", 1);
    w_u8(&w, SIM_ACT_TRANSFER);
    w_u128(&w, 7, 0);
    w_sign(&w, &f->alice);
    sim_base64_encode(w.b, w.n, b64);
    snprintf(params, sizeof(params), "[\"%s\"]", b64);
    r = rpcf(f, &st, "broadcast_tx_commit", params);
    assert_string_equal(err_str(r, "error.cause.name"), "INVALID_TRANSACTION");
    assert_int_equal(json_integer_value(nu_json_get(
                         r, "error.data.TxExecutionError.InvalidTxError.InvalidNonce.ak_nonce")),
                     1);
    json_decref(r);

    /* Bad signature. */
    w.b[w.n - 1] ^= 1;
    sim_base64_encode(w.b, w.n, b64);
    snprintf(params, sizeof(params), "[\"%s\"]", b64);
    r = rpcf(f, &st, "broadcast_tx_commit", params);
    assert_string_equal(err_str(r, "error.data.TxExecutionError.InvalidTxError"),
                        "InvalidSignature");
    json_decref(r);

    r = rpcf(f, &st, "broadcast_tx_commit", "[\"AAAA\"]");
    assert_int_equal(st, 400);
    assert_non_null(strstr(err_str(r, "error.data"), "Failed to decode transaction"));
    json_decref(r);
}

static void test_not_synced(void **state)
{
    struct fixture *f = *state;
    int st;
    f->n.head = 0;
    f->n.earliest = 0;
    f->n.sync_status = SIM_SYNC_AWAITING_PEERS;
    json_t *r = rpcf(f, &st, "block", "{\"finality\": \"final\"}");
    assert_int_equal(st, 200);
    assert_string_equal(err_str(r, "error.cause.name"), "NOT_SYNCED_YET");
    assert_null(nu_json_get(r, "error.cause.info"));
    assert_string_equal(err_str(r, "error.data"), "There are no fully synchronized blocks yet");
    json_decref(r);
    r = rpcf(f, &st, "query",
             "{\"request_type\":\"view_account\",\"finality\":\"final\","
             "\"account_id\":\"alice.test\"}");
    assert_string_equal(err_str(r, "error.cause.name"), "NO_SYNCED_BLOCKS");
    assert_string_equal(err_str(r, "error.data"),
                        "There are no fully synchronized blocks on the node yet");
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_parses),
        cmocka_unit_test(test_all_actions_parse),
        cmocka_unit_test(test_malformed_rejected),
        cmocka_unit_test(test_base64_and_u128),
        cmocka_unit_test_setup_teardown(test_envelopes, setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(test_status_block_batch, setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(test_query, setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(test_transfer_applies, setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(test_not_synced, setup_node, teardown_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
