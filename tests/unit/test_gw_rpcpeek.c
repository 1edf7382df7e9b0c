/* Tests for the gateway's JSON-RPC peeks (gw_rpcpeek.c, gw_jsonscan.c): names
 * are read decoded as neard reads them, repeated request fields and
 * strings neard cannot read are refused, block references take each key's
 * last occurrence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gw_jsonscan.h"
#include "gw_rpcpeek.h"

/* Peeks body as one call; asserts it is accepted. */
static struct gw_call_peek peek(const char *body)
{
    struct gw_call_peek pk;
    char err[200] = "";
    struct gw_span all = {0, (uint32_t)strlen(body)};
    assert_int_equal(gw_json_check(body, all.len, NULL, err, sizeof(err)), GW_BODY_OBJECT);
    int rc = gw_rpcpeek_call(body, all, &pk, err, sizeof(err));
    if (rc != 0)
        fail_msg("refused %s: %s", body, err);
    return pk;
}

/* The error text for body, refused by gw_json_check or gw_rpcpeek_call. */
static const char *refusal(const char *body, size_t len)
{
    static char err[200];
    struct gw_call_peek pk;
    size_t n;
    err[0] = '\0';
    enum gw_body_kind k = gw_json_check(body, len, &n, err, sizeof(err));
    if (k == GW_BODY_INVALID)
        return err;
    struct gw_span all = {0, (uint32_t)len};
    assert_int_equal(gw_rpcpeek_call(body, all, &pk, err, sizeof(err)), NU_EPARSE);
    assert_int_equal(pk.method, GW_M_OTHER);
    return err;
}

static void test_escaped_spellings_are_the_method(void **state)
{
    (void)state;
    assert_int_equal(peek("{\"method\":\"quer\\u0079\"}").method, GW_M_QUERY);
    assert_int_equal(peek("{\"m\\u0065thod\":\"query\"}").method, GW_M_QUERY);
    assert_int_equal(peek("{\"method\":\"\\u0071\\u0075\\u0065\\u0072\\u0079\"}").method,
                     GW_M_QUERY);
    assert_int_equal(peek("{\"method\":\"broadcast\\u005Ftx\\u005fcommit\"}").method,
                     GW_M_BROADCAST_TX_COMMIT);
    assert_int_equal(peek("{\"method\":\"EXPERIMENTAL\\u005flight_client_block_proof\"}").method,
                     GW_M_X_LIGHT_CLIENT_BLOCK_PROOF);
    /* escapes that decode to something else stay something else */
    assert_int_equal(peek("{\"method\":\"query\\u0000\"}").method, GW_M_OTHER);
    assert_int_equal(peek("{\"method\":\"quer\\/y\"}").method, GW_M_OTHER);
    assert_int_equal(peek("{\"method\":\"\"}").method, GW_M_OTHER);
    assert_int_equal(peek("{\"method\":1}").method, GW_M_OTHER);
    /* a name longer than any in the table, escaped or not */
    assert_int_equal(peek("{\"method\":\"EXPERIMENTAL_light_client_block_proof_and_a_very_long_"
                          "tail\\u0021\"}")
                         .method,
                     GW_M_OTHER);
}

static void test_id_and_escaped_keys(void **state)
{
    (void)state;
    const char *body = "{\"\\u0069d\":\"\\ud83d\\ude00\",\"method\":\"status\"}";
    struct gw_call_peek pk = peek(body);
    assert_int_equal(pk.method, GW_M_STATUS);
    assert_int_equal(pk.id.off, 11);
    assert_int_equal(pk.id.len, 14);
    assert_memory_equal(body + pk.id.off, "\"\\ud83d\\ude00\"", 14);
}

static void test_block_references(void **state)
{
    (void)state;
    struct gw_call_peek pk =
        peek("{\"method\":\"bl\\u006fck\",\"params\":{\"block\\u005fid\":42}}");
    assert_int_equal(pk.method, GW_M_BLOCK);
    assert_int_equal(pk.height, 42);
    assert_false(pk.by_hash);
    /* last occurrence wins, as in neard's params map */
    pk = peek("{\"method\":\"block\",\"params\":{\"block_id\":\"abc\",\"block_id\":7}}");
    assert_int_equal(pk.height, 7);
    assert_false(pk.by_hash);
    pk = peek("{\"method\":\"block\",\"params\":{\"block_id\":7,\"block_id\":\"abc\"}}");
    assert_int_equal(pk.height, -1);
    assert_true(pk.by_hash);
    pk = peek("{\"method\":\"block\",\"params\":{\"block_id\":7,\"block_id\":-1}}");
    assert_int_equal(pk.height, -1);
    pk = peek("{\"method\":\"query\",\"params\":{\"finality\":\"optimistic\",\"fin\\u0061lity\":"
              "\"fin\\u0061l\"}}");
    assert_int_equal(pk.finality, GW_FIN_FINAL);
    assert_int_equal(pk.height, -1);
    pk = peek("{\"method\":\"query\",\"params\":{\"sync\\u005fcheckpoint\":\"g\\u0065nesis\"}}");
    assert_int_equal(pk.height, 0);
    pk = peek("{\"method\":\"query\",\"params\":{\"sync_checkpoint\":\"genesis\",\"block_id\":9}}");
    assert_int_equal(pk.height, 9);
    pk = peek("{\"method\":\"gas_price\",\"params\":[1234]}");
    assert_int_equal(pk.height, 1234);
    pk = peek("{\"method\":\"gas_price\",\"params\":[1000000000000000000]}");
    assert_int_equal(pk.height, -1); /* 19 digits: not read as a height */
    /* a method without block references names no block */
    pk = peek("{\"method\":\"tx\",\"params\":{\"block_id\":5}}");
    assert_int_equal(pk.height, -1);
}

static void test_repeated_request_fields_are_refused(void **state)
{
    (void)state;
    const char *b = "{\"method\":\"block\",\"method\":\"query\"}";
    assert_string_equal(refusal(b, strlen(b)), "duplicate field `method` at line 1 column 26");
    b = "{\"method\":\"block\",\n\"m\\u0065thod\":\"block\"}";
    assert_string_equal(refusal(b, strlen(b)), "duplicate field `method` at line 2 column 13");
    b = "{\"id\":1,\"params\":[],\"params\":{}}";
    assert_string_equal(refusal(b, strlen(b)), "duplicate field `params` at line 1 column 28");
    b = "{\"id\":1,\"i\\u0064\":2}";
    assert_string_equal(refusal(b, strlen(b)), "duplicate field `id` at line 1 column 17");
    b = "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\"}";
    assert_string_equal(refusal(b, strlen(b)), "duplicate field `jsonrpc` at line 1 column 26");
    /* repeats inside params, or of other keys, are neard's business */
    struct gw_call_peek pk = peek("{\"x\":1,\"x\":2,\"method\":\"block\",\"params\":{\"a\":1,"
                                  "\"a\":2}}");
    assert_int_equal(pk.method, GW_M_BLOCK);
    /* in a batch the position counts from the start of the body */
    const char *batch = "[{\"method\":\"block\"},\n {\"id\":1,\"id\":2}]";
    struct gw_span e;
    size_t cursor = 0, n = 0;
    char err[200];
    assert_int_equal(gw_json_check(batch, strlen(batch), &n, err, sizeof(err)), GW_BODY_ARRAY);
    assert_true(gw_json_array_next(batch, strlen(batch), &cursor, &e));
    assert_int_equal(gw_rpcpeek_call(batch, e, &pk, err, sizeof(err)), 0);
    assert_true(gw_json_array_next(batch, strlen(batch), &cursor, &e));
    assert_int_equal(gw_rpcpeek_call(batch, e, &pk, err, sizeof(err)), NU_EPARSE);
    assert_string_equal(err, "duplicate field `id` at line 2 column 13");
}

static void test_strings_neard_cannot_read_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t len;
        const char *err;
    } cases[] = {
        {"{\"m\":\"\\ud800y\"}", 0, "unexpected end of hex escape at line 1 column 13"},
        {"{\"m\":\"\\ud800\\n\"}", 0, "unexpected end of hex escape at line 1 column 13"},
        {"{\"m\":\"\\ud800\\u0041\"}", 0,
         "lone leading surrogate in hex escape at line 1 column 19"},
        {"{\"m\":\"\\udfff\"}", 0, "lone leading surrogate in hex escape at line 1 column 13"},
        {"{\"m\":\"\\ud800\\ud800\"}", 0,
         "lone leading surrogate in hex escape at line 1 column 19"},
        {"{\"m\":\"\\ud800\\u00\"}", 0, "invalid escape at line 1 column 17"},
        {"{\"m\":\"\xff\"}", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"m\":\"\xc0\xaf\"}", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"m\":\"\xe0\x80\xaf\"}", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"m\":\"\xed\xa0\x80\"}", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"m\":\"\xf4\x90\x80\x80\"}", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"m\":\"\xe2\x82\"}", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"m\":\"\xe2\x82", 0, "invalid unicode code point at line 1 column 7"},
        {"{\"\xff\":1}", 0, "invalid unicode code point at line 1 column 3"},
        {"{\"m\":\"a\0b\"}", 10,
         "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
        assert_string_equal(refusal(cases[i].body, len), cases[i].err);
    }
    /* well-formed characters of every length pass */
    struct gw_call_peek pk = peek("{\"id\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"
                                  "\xed\x9f\xbf\",\"method\":\"status\"}");
    assert_int_equal(pk.method, GW_M_STATUS);
}

static void test_decode(void **state)
{
    (void)state;
    const char *raw = "a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\\u0000";
    struct gw_jstr j = {raw, strlen(raw), true};
    char out[64];
    size_t n = gw_jstr_decode(&j, out, sizeof(out));
    assert_int_equal(n, 19);
    assert_memory_equal(out, "a\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0", 19);
    /* too long: stops early and says so */
    assert_true(gw_jstr_decode(&j, out, 4) > 4);
    assert_memory_equal(out, "a\"\\/", 4);
}

static void test_reply_names_are_decoded(void **state)
{
    (void)state;
    const char *r =
        "{\"jsonrpc\":\"2.0\",\"\\u0065rror\":{\"name\":\"HANDLER_ERROR\",\"c\\u0061use\":"
        "{\"n\\u0061me\":\"UNKNOWN\\u005fBLOCK\"}},\"id\":1}";
    struct gw_reply_peek rp;
    gw_rpcpeek_reply(r, strlen(r), &rp);
    assert_int_equal(rp.kind, GW_REPLY_ERROR);
    assert_int_equal(rp.cause, GW_CAUSE_UNKNOWN_BLOCK);
    r = "{\"jsonrpc\":\"2.0\",\"r\\u0065sult\":{},\"id\":1}";
    gw_rpcpeek_reply(r, strlen(r), &rp);
    assert_int_equal(rp.kind, GW_REPLY_RESULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaped_spellings_are_the_method),
        cmocka_unit_test(test_id_and_escaped_keys),
        cmocka_unit_test(test_block_references),
        cmocka_unit_test(test_repeated_request_fields_are_refused),
        cmocka_unit_test(test_strings_neard_cannot_read_are_refused),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_reply_names_are_decoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
