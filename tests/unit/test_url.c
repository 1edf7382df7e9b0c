/* Tests for url.c: http(s) URLs split for the event-loop client, the Host
 * header, basic authentication from the userinfo, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "url.h"

static void test_plain(void **state)
{
    (void)state;
    struct nu_url u;
    char err[NU_ERRMSG_MAX], host[300];
    assert_int_equal(nu_url_parse("http://127.0.0.1:3030", &u, err), 0);
    assert_false(u.tls);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 3030);
    assert_false(u.default_port);
    assert_false(u.ipv6);
    assert_string_equal(u.path, "/");
    assert_false(u.has_userinfo);
    nu_url_host_header(&u, host, sizeof(host));
    assert_string_equal(host, "127.0.0.1:3030");

    assert_int_equal(nu_url_parse("https://rpc.mainnet.near.org", &u, err), 0);
    assert_true(u.tls);
    assert_int_equal(u.port, 443);
    assert_true(u.default_port);
    nu_url_host_header(&u, host, sizeof(host));
    assert_string_equal(host, "rpc.mainnet.near.org");

    assert_int_equal(nu_url_parse("HTTP://Node_1.local:80/rpc?x=1&y", &u, err), 0);
    assert_string_equal(u.host, "Node_1.local");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/rpc?x=1&y");
    assert_int_equal(nu_url_parse("http://h?q", &u, err), 0);
    assert_string_equal(u.path, "/?q");
    assert_int_equal(u.port, 80);
}

static void test_ipv6(void **state)
{
    (void)state;
    struct nu_url u;
    char err[NU_ERRMSG_MAX], host[300];
    assert_int_equal(nu_url_parse("http://[::1]:3030/", &u, err), 0);
    assert_true(u.ipv6);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 3030);
    nu_url_host_header(&u, host, sizeof(host));
    assert_string_equal(host, "[::1]:3030");
    assert_int_equal(nu_url_parse("https://[2001:db8::7]", &u, err), 0);
    assert_int_equal(u.port, 443);
    nu_url_host_header(&u, host, sizeof(host));
    assert_string_equal(host, "[2001:db8::7]");
}

static void test_userinfo(void **state)
{
    (void)state;
    struct nu_url u;
    char err[NU_ERRMSG_MAX], auth[600];
    assert_int_equal(nu_url_parse("http://us%40er:p%3Ass:w@h:1/x", &u, err), 0);
    assert_true(u.has_userinfo);
    assert_string_equal(u.user, "us@er");
    assert_string_equal(u.password, "p:ss:w");
    assert_string_equal(u.host, "h");
    assert_string_equal(u.path, "/x");
    assert_int_equal(nu_url_basic_auth(&u, auth, sizeof(auth)), 0);
    assert_string_equal(auth, "Authorization: Basic dXNAZXI6cDpzczp3\r\n");
    assert_int_equal(nu_url_parse("http://u@h", &u, err), 0);
    assert_string_equal(u.user, "u");
    assert_string_equal(u.password, "");
    assert_int_equal(nu_url_basic_auth(&u, auth, sizeof(auth)), 0);
    assert_string_equal(auth, "Authorization: Basic dTo=\r\n");
    /* the last '@' ends the userinfo */
    assert_int_equal(nu_url_parse("http://a@b@h:9", &u, err), 0);
    assert_string_equal(u.user, "a@b");
    assert_string_equal(u.host, "h");
    assert_int_equal(nu_url_parse("http://u:p@h", &u, err), 0);
    assert_int_equal(nu_url_basic_auth(&u, auth, sizeof(auth)), 0);
    assert_string_equal(auth, "Authorization: Basic dTpw\r\n");
    assert_int_equal(nu_url_basic_auth(&u, auth, 20), NU_ETOOBIG);
    assert_int_equal(nu_url_parse("http://h", &u, err), 0);
    assert_int_equal(nu_url_basic_auth(&u, auth, sizeof(auth)), 0);
    assert_string_equal(auth, "");
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *url, *err;
    } cases[] = {
        {"ftp://x", "URL ftp://x: expected http:// or https://"},
        {"127.0.0.1:3030", "URL 127.0.0.1:3030: expected http:// or https://"},
        {"http://", "URL http://: no host"},
        {"http://:80", "URL http://:80: no host"},
        {"http:///x", "URL http:///x: no host"},
        {"http://h:0", "URL http://h:0: the port must be 1 to 65535"},
        {"http://h:65536", "URL http://h:65536: the port must be 1 to 65535"},
        {"http://h:", "URL http://h:: the port must be 1 to 65535"},
        {"http://h:12a", "URL http://h:12a: the port must be 1 to 65535"},
        {"http://h:-1", "URL http://h:-1: the port must be 1 to 65535"},
        {"http://h:000080", "URL http://h:000080: the port must be 1 to 65535"},
        {"http://h h", "URL http://h h: bad character in the host"},
        {"http://h;x", "URL http://h;x: bad character in the host"},
        {"http://h/a b", "URL http://h/a b: space, control character or '#' in the path"},
        {"http://h/x#frag", "URL http://h/x#frag: space, control character or '#' in the path"},
        {"http://[::1", "URL http://[::1: unclosed [ in the host"},
        {"http://[zz]:1", "URL http://[zz]:1: bad IPv6 address"},
        {"http://[::1]x", "URL http://[::1]x: expected :PORT after ]"},
        {"http://[]:1", "URL http://[]:1: no host"},
        {"http://u:p@h:0", "URL http://***@h:0: the port must be 1 to 65535"},
        {"http://%zz@h", "URL http://***@h: bad percent-encoding in the user or password"},
        {"http://u%00@h", "URL http://***@h: bad percent-encoding in the user or password"},
        {"http://u%4@h", "URL http://***@h: bad percent-encoding in the user or password"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nu_url u;
        char err[NU_ERRMSG_MAX] = "";
        if (nu_url_parse(cases[i].url, &u, err) != NU_EINVAL || strcmp(err, cases[i].err) != 0)
            fail_msg("%s: got '%s'", cases[i].url, err);
    }
    char longhost[400];
    snprintf(longhost, sizeof(longhost), "http://%0300d", 0);
    struct nu_url u;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_url_parse(longhost, &u, err), NU_EINVAL);
    assert_non_null(strstr(err, ": host name too long"));
}

/* Percent-encoding for S3 keys and listing parameters (moved here with
 * the function from test_snap_format.c). */
static void test_encode(void **state)
{
    (void)state;
    char enc[64];
    assert_int_equal(nu_url_encode("a b/c+~", false, enc, sizeof(enc)), 0);
    assert_string_equal(enc, "a%20b%2Fc%2B~");
    assert_int_equal(nu_url_encode("a b/c", true, enc, sizeof(enc)), 0);
    assert_string_equal(enc, "a%20b/c");
    assert_int_equal(nu_url_encode("AZaz09-_.~", false, enc, sizeof(enc)), 0);
    assert_string_equal(enc, "AZaz09-_.~");
    assert_int_equal(nu_url_encode("\xc3\xa9=", false, enc, sizeof(enc)), 0);
    assert_string_equal(enc, "%C3%A9%3D");
    assert_int_equal(nu_url_encode("abc", false, enc, 4), 0);
    assert_string_equal(enc, "abc");
    assert_int_equal(nu_url_encode("abcd", false, enc, 4), NU_ETOOBIG);
    assert_int_equal(nu_url_encode("a b", false, enc, 5), NU_ETOOBIG); /* "a%20b" needs 6 */
    assert_int_equal(nu_url_encode("a b", false, enc, 6), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),    cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_userinfo), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
