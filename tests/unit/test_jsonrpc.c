/* Tests for the JSON-RPC envelope (src/lib/jsonrpc.c): request bodies and
 * what neard's replies say, in every HTTP status neard answers with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jsonrpc.h"

static int result_of(int status, const char *body, json_t **r, char *name, char *err)
{
    return nu_jsonrpc_result("http://n:3030", status, body, strlen(body), r, name, err);
}

static void test_replies(void **state)
{
    (void)state;
    json_t *r = NULL;
    char err[NU_ERRMSG_MAX], name[NU_JSONRPC_NAME_MAX] = "x";
    assert_int_equal(
        result_of(200, "{\"jsonrpc\":\"2.0\",\"result\":{\"a\":1},\"id\":1}", &r, name, err), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "a")), 1);
    assert_string_equal(name, "");
    json_decref(r);
    /* neard's error object, with the legacy string data */
    assert_int_equal(
        result_of(200,
                  "{\"error\":{\"name\":\"HANDLER_ERROR\",\"cause\":{\"name\":\"UNKNOWN_ACCOUNT\","
                  "\"info\":{}},\"code\":-32000,\"data\":\"account x does not exist while "
                  "viewing\"}}",
                  &r, name, err),
        NU_EPARSE);
    assert_null(r);
    assert_string_equal(name, "UNKNOWN_ACCOUNT");
    assert_string_equal(err, "JSON-RPC error UNKNOWN_ACCOUNT: account x does not exist while "
                             "viewing");
    /* >= 2.3 answers with 4xx: the error still reads the same; object data is shown as JSON */
    assert_int_equal(result_of(408,
                               "{\"error\":{\"name\":\"HANDLER_ERROR\",\"cause\":{\"name\":"
                               "\"TIMEOUT_ERROR\"},\"data\":{\"x\":[1]}}}",
                               &r, NULL, err),
                     NU_EPARSE);
    assert_string_equal(err, "JSON-RPC error TIMEOUT_ERROR: {\"x\":[1]}");
    /* one line whatever the server sent: neard's own data holds "\n" */
    assert_int_equal(result_of(422,
                               "{\"error\":{\"cause\":{\"name\":\"UNKNOWN_BLOCK\"},"
                               "\"data\":\"DB Not Found Error: BLOCK HEIGHT: 9 \\n Cause: "
                               "Unknown\"}}",
                               &r, name, err),
                     NU_EPARSE);
    assert_string_equal(name, "UNKNOWN_BLOCK");
    assert_string_equal(err, "JSON-RPC error UNKNOWN_BLOCK: DB Not Found Error: BLOCK HEIGHT: 9   "
                             "Cause: Unknown");
    /* an error without a cause is named by itself */
    assert_int_equal(result_of(200, "{\"error\":{\"name\":\"PARSE_ERROR\"}}", &r, name, err),
                     NU_EPARSE);
    assert_string_equal(name, "PARSE_ERROR");
    assert_string_equal(err, "JSON-RPC error PARSE_ERROR");
    assert_int_equal(result_of(503, "", &r, name, err), NU_EPARSE);
    assert_string_equal(err, "http://n:3030 answered HTTP 503");
    assert_string_equal(name, "");
    assert_int_equal(result_of(502, "{\"result\":1}", &r, NULL, err), NU_EPARSE);
    assert_string_equal(err, "http://n:3030 answered HTTP 502");
    assert_int_equal(result_of(200, "{\"id\":1}", &r, NULL, err), NU_EPARSE);
    assert_string_equal(err, "reply has no result");
    assert_int_equal(result_of(200, "<html>", &r, NULL, err), NU_EPARSE);
    assert_non_null(strstr(err, "malformed reply: reply:1:"));
}

static void test_request(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 1024);
    assert_int_equal(
        nu_jsonrpc_request(&b, "nearup-canary", "block", json_pack("{s:s}", "finality", "final")),
        0);
    assert_string_equal(b.data,
                        "{\"jsonrpc\":\"2.0\",\"id\":\"nearup-canary\",\"method\":\"block\","
                        "\"params\":{\"finality\":\"final\"}}");
    assert_int_equal(nu_jsonrpc_request(&b, "x", "status", NULL), 0);
    assert_string_equal(b.data, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"status\","
                                "\"params\":null}");
    /* a body over the buffer's maximum is refused */
    struct nu_buf small;
    nu_buf_init(&small, 16);
    assert_int_equal(nu_jsonrpc_request(&small, "x", "status", NULL), NU_ETOOBIG);
    nu_buf_release(&small);
    nu_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
