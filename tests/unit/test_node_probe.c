/* Tests for sup_http.c's reply parser, which judges neard's answer to the
 * supervisor's GET /status: status line, headers, Content-Length (a reply
 * cut short is no reply), and a NUL-terminated body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sup-int.h"

/* Parses text from a writable copy with room for the NUL after it. */
static int parse(const char *text, int *status, char *body, size_t bodysz)
{
    char copy[1024], *b = NULL;
    size_t len = strlen(text), blen = 0;
    assert_true(len < sizeof(copy));
    memcpy(copy, text, len + 1);
    int rc = sup_http_parse(copy, len, status, &b, &blen);
    if (rc == 0) {
        assert_int_equal(strlen(b), blen);
        snprintf(body, bodysz, "%s", b);
    }
    return rc;
}

static void test_replies(void **state)
{
    (void)state;
    int status = 0;
    char body[256];
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 13\r\n\r\n{\"a\": [1, 2]}",
                           &status, body, sizeof(body)),
                     0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "{\"a\": [1, 2]}");
    /* HTTP/1.0 without a length: the body is what came before the close. */
    assert_int_equal(
        parse("HTTP/1.0 503 Service Unavailable\r\n\r\nnot yet", &status, body, sizeof(body)), 0);
    assert_int_equal(status, 503);
    assert_string_equal(body, "not yet");
    /* Bytes past Content-Length are not the body; header names are case-blind. */
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA", &status, body, sizeof(body)),
        0);
    assert_string_equal(body, "ok");
    assert_int_equal(
        parse("HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n", &status, body, sizeof(body)), 0);
    assert_int_equal(status, 204);
    assert_string_equal(body, "");
}

static void test_not_replies(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", /* cut short */
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",        /* no end of headers */
        "HTTP/2 200\r\n\r\n{}",
        "SSH-2.0-OpenSSH_9.6\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
    };
    int status = 0;
    char body[64];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &status, body, sizeof(body)) != NU_EPARSE)
            fail_msg("accepted: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_not_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
