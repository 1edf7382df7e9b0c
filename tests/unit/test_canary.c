/* Tests for the canary's pure parts: the borsh Transfer (exact bytes for a
 * fixed key, nonce and block hash, computed independently with Python's
 * cryptography package, and read back by neard-sim's borsh reader), the
 * report JSON, and the settings' hooks (JSON-RPC replies: test_jsonrpc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "../../sim/rpc/borsh.h"
#include "canary-int.h"
#include "cn_config.h"
#include "cn_report.h"
#include "cn_tx.h"

/* sha256 of the Transaction below is HN2g6roQcUnDcmQXtjzBpc84n3u7Mp5Qs6Tm9tx1hV36. */
static const char want_tx_hex[] =
    "09000000746573742e6e656172"                                         /* signer_id "test.near" */
    "002c38335b2eae5808dcfa451fbbcc7f2566c455e191a628c8b1ef78fd54abd690" /* ed25519 key */
    "0700000000000000"                                                   /* nonce 7 */
    "040000006e656172"                                                   /* receiver "near" */
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"   /* block hash */
    "01000000"                                                           /* one action */
    "03"                                                                 /* Transfer */
    "000000a1edccce1bc2d3000000000000"                                   /* 10^24 yocto (1 NEAR) */
    "00"                                                                 /* signature: ed25519 */
    "331872379f7b0c529d1fa74f6db8629557b06f3d1d725a572df6fa8005b019e3"
    "7a3248584ba60aa9a82380054e6e3a3fa6ba2f64190468400e7b389bc12d8002";

static const char want_b64[] =
    "CQAAAHRlc3QubmVhcgAsODNbLq5YCNz6RR+"
    "7zH8lZsRV4ZGmKMix73j9VKvWkAcAAAAAAAAABAAAAG5lYXIAAQIDBAUGBwgJ"
    "CgsMDQ4PEBESExQVFhcYGRobHB0eHwEAAAADAAAAoe3MzhvC0wAAAAAAAAAzGHI3n3sMUp0fp09tuGKVV7BvPR1yWlct9v"
    "qABbAZ43oySFhLpgqpqCOABU5uOj+mui9kGQRoQA57OJvBLYAC";

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void make_transfer(struct nu_keypair *kp, struct cn_transfer *t)
{
    assert_int_equal(nu_key_from_seed(kp, "test.near", "canary"), 0);
    *t = (struct cn_transfer){.key = kp, .nonce = 7, .receiver_id = "near"};
    for (int i = 0; i < 32; i++)
        t->block_hash[i] = (uint8_t)i;
    t->deposit = (nu_u128)1000000000000ull * 1000000000000ull;
}

static void test_transfer_exact_bytes(void **state)
{
    (void)state;
    struct nu_keypair kp;
    struct cn_transfer t;
    make_transfer(&kp, &t);
    struct nu_buf b;
    nu_buf_init(&b, CN_TX_MAX);
    uint8_t hash[CN_TX_HASH_LEN];
    char err[NU_ERRMSG_MAX], text[2 * CN_TX_MAX + 1], b58[CN_TX_HASH_TEXT], b64[CN_TX_B64_MAX];
    assert_int_equal(cn_tx_transfer(&t, &b, hash, err), 0);
    assert_int_equal(b.len, 180);
    hex((const uint8_t *)b.data, b.len, text);
    assert_string_equal(text, want_tx_hex);
    assert_true(nu_base58_encode(hash, sizeof(hash), b58, sizeof(b58)) > 0);
    assert_string_equal(b58, "HN2g6roQcUnDcmQXtjzBpc84n3u7Mp5Qs6Tm9tx1hV36");
    cn_base64((const uint8_t *)b.data, b.len, b64);
    assert_string_equal(b64, want_b64);

    /* neard-sim's reader (what the simulator accepts) sees the same transaction */
    struct sim_tx *tx = calloc(1, sizeof(*tx));
    assert_int_equal(sim_borsh_signed_tx((const uint8_t *)b.data, b.len, tx, err), 0);
    assert_string_equal(tx->signer_id, "test.near");
    assert_string_equal(tx->receiver_id, "near");
    assert_int_equal(tx->nonce, 7);
    assert_int_equal(tx->nactions, 1);
    assert_int_equal(tx->actions[0].kind, SIM_ACT_TRANSFER);
    assert_true(tx->actions[0].amount == t.deposit);
    assert_memory_equal(tx->hash, hash, sizeof(hash));
    assert_memory_equal(tx->public_key.data, kp.pub, 32);
    assert_int_equal(nu_key_verify(kp.pub, hash, sizeof(hash), tx->signature), 0);
    free(tx);
    nu_buf_release(&b);
}

static void test_transfer_refuses_bad_ids(void **state)
{
    (void)state;
    struct nu_keypair kp;
    struct cn_transfer t;
    make_transfer(&kp, &t);
    t.receiver_id = "Not An Account";
    struct nu_buf b;
    nu_buf_init(&b, CN_TX_MAX);
    uint8_t hash[CN_TX_HASH_LEN];
    char err[NU_ERRMSG_MAX];
    assert_int_equal(cn_tx_transfer(&t, &b, hash, err), NU_EINVAL);
    assert_string_equal(err, "\"Not An Account\" is not a NEAR account id");
    assert_int_equal(b.len, 0);
    nu_buf_release(&b);
}

/* ---- the report ---- */

static void test_report(void **state)
{
    (void)state;
    struct cn_result st = {.done = true, .ok = true, .duration_ms = 1.23456},
                     lag = {.done = true, .ok = false, .duration_ms = 2},
                     ref = {.done = true, .duration_ms = 0.5};
    snprintf(lag.error, sizeof(lag.error),
             "final block 5 is 30 blocks behind the reference's 35 "
             "(limit 20)");
    st.values = json_pack("{s:i}", "head", 7);
    lag.values = json_pack("{s:i,s:i,s:i}", "height", 5, "reference_height", 35, "lag", 30);
    struct cn_report_ep eps[] = {{.name = "a", .url = "http://***@h:1/", .res = {&st, &lag}}};
    const struct cn_report_ref r = {.url = "http://r:2", .res = &ref, .final_height = 35};
    unsigned checks = (1u << CN_STATUS) | (1u << CN_FINAL_LAG);
    json_t *j = cn_report_json(eps, 1, checks, &r);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
    assert_string_equal(
        text, "{\"ok\":false,\"checks\":[\"status\",\"final_lag\"],\"reference\":{\"url\":"
              "\"http://r:2\",\"ok\":true,\"final_height\":35,\"duration_ms\":0.5,\"error\":null},"
              "\"endpoints\":[{\"name\":\"a\",\"url\":\"http://***@h:1/\",\"ok\":false,\"checks\":"
              "{\"status\":{\"ok\":true,\"duration_ms\":1.235,\"error\":null,\"head\":7},"
              "\"final_lag\":{\"ok\":false,\"duration_ms\":2.0,\"error\":\"final block 5 is 30 "
              "blocks behind the reference's 35 (limit 20)\",\"height\":5,\"reference_height\":35,"
              "\"lag\":30}}}]}");
    free(text);
    json_decref(j);
    assert_false(cn_report_ok(eps, 1, checks));
    assert_true(cn_report_ok(eps, 1, 1u << CN_STATUS));
    json_decref(st.values);
    json_decref(lag.values);
}

/* ---- settings ---- */

static int set(const char *name, struct cn_config *c, const char *v, char *msg)
{
    const struct nu_setting *s = nu_setting_find(cn_settings, cn_nsettings, name, strlen(name));
    assert_non_null(s);
    return nu_setting_set(s, c, v, msg, NU_ERRMSG_MAX);
}

static void test_settings(void **state)
{
    (void)state;
    struct cn_config *c = calloc(1, sizeof(*c));
    char msg[NU_ERRMSG_MAX];
    assert_int_equal(set("endpoint", c, "https://u:p@rpc.example:443/x", msg), 0);
    assert_int_equal(set("endpoint", c, "127.0.0.1:3030,name=node-a", msg), 0);
    assert_string_equal(c->endpoints.v[0].name, "https://rpc.example:443/x");
    assert_string_equal(c->endpoints.v[1].url, "http://127.0.0.1:3030");
    assert_string_equal(c->endpoints.v[1].name, "node-a");
    assert_int_equal(set("endpoint", c, "http://h:1,zone=a", msg), NU_EINVAL);
    assert_string_equal(msg, "\"http://h:1,zone=a\": expected URL[,name=NAME]");
    assert_int_equal(set("endpoint", c, "http://h:1,name=a b", msg), NU_EINVAL);
    assert_string_equal(msg, "name \"a b\": 1-64 characters, no spaces, quotes, '\\' or ','");
    assert_int_equal(set("endpoint", c, "ftp://h", msg), NU_EINVAL);
    assert_string_equal(msg, "\"ftp://h\" is not an http:// or https:// URL");
    assert_int_equal(c->endpoints.n, 2);

    assert_int_equal(set("call", c, "wrap.near:ft_balance_of:{\"account_id\":\"a:b\"}", msg), 0);
    assert_string_equal(c->call.contract, "wrap.near");
    assert_string_equal(c->call.method, "ft_balance_of");
    assert_string_equal(c->call.args, "{\"account_id\":\"a:b\"}");
    assert_int_equal(set("call", c, "c.near:m", msg), 0);
    assert_string_equal(c->call.args, "");
    assert_int_equal(set("call", c, "c.near:m:{oops", msg), NU_EINVAL);
    assert_non_null(strstr(msg, "ARGS_JSON is not JSON: "));
    assert_int_equal(set("call", c, "Bad:m:{}", msg), NU_EINVAL);
    assert_string_equal(msg, "\"Bad:m:{}\": expected CONTRACT:METHOD:ARGS_JSON with a NEAR "
                             "account id");

    assert_int_equal(set("transfer_amount", c, "340282366920938463463374607431768211455", msg), 0);
    assert_true(c->transfer_amount.yocto == ~(nu_u128)0);
    assert_int_equal(set("transfer_amount", c, "340282366920938463463374607431768211456", msg),
                     NU_EINVAL);
    assert_string_equal(msg, "\"340282366920938463463374607431768211456\" is not a whole number of "
                             "yoctoNEAR below 2^128");
    assert_int_equal(set("account_id", c, "x", msg), NU_EINVAL);
    assert_string_equal(msg, "\"x\" is not a NEAR account id (2-64 characters of a-z 0-9 . _ -)");
    assert_int_equal(set("interval", c, "50ms", msg), NU_EINVAL);
    assert_string_equal(msg, "50ms is out of range [100, 86400000] ms");

    /* what must hold once every source is read */
    assert_int_equal(cn_config_check(c, msg), NU_EINVAL);
    assert_string_equal(msg, "--transfer-key, --transfer-to and --transfer-amount go together; "
                             "missing --transfer-key and --transfer-to");
    c->transfer_amount.text[0] = '\0';
    assert_int_equal(cn_config_check(c, msg), 0);
    assert_int_equal(set("endpoint", c, "http://127.0.0.1:3030", msg), 0);
    assert_int_equal(set("endpoint", c, "http://127.0.0.1:3030", msg), 0);
    assert_int_equal(cn_config_check(c, msg), NU_EINVAL);
    assert_string_equal(msg, "--endpoint: two endpoints are named \"http://127.0.0.1:3030\"; give "
                             "one another with ,name=NAME");
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_exact_bytes),
        cmocka_unit_test(test_transfer_refuses_bad_ids),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
