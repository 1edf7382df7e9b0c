/* nu_httpd request framing: everything a front proxy could frame
 * differently (request smuggling) is refused with 400 and a closed
 * connection, and the good requests next to the bad ones still work. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "httpd_fx.h"

#define CHUNKED "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"

static void expect_400(struct fx *f, const char *req, const char *detail)
{
    fx_expect_refused(f, req, 400, detail);
}

static const char FOLD[] = "header line starts with whitespace (obs-fold); send each header on "
                           "one line";
static const char BARE_LF[] = "line ends in a bare LF; end every line with CRLF";
static const char NO_NAME[] = "header line has no name before the colon";

static void test_obs_fold(void **state)
{
    struct fx *f = fx_start_default();
    /* The smuggling case: Transfer-Encoding's value on a continuation line. */
    expect_400(f,
               "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
               "3\r\nabc\r\n0\r\n\r\n",
               FOLD);
    expect_400(f, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n 2\r\n\r\nhi", FOLD);
    expect_400(f, "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n\tb\r\n\r\n", FOLD);
    /* A line of only whitespace before the end of the head is a fold too. */
    expect_400(f, "GET / HTTP/1.1\r\nHost: t\r\n \r\n\r\n", FOLD);
    /* In the trailer section. */
    expect_400(f, CHUNKED "3\r\nabc\r\n0\r\nX-T: 1\r\n 2\r\n\r\n", FOLD);
    struct nu_httpd_stats st = fx_finish(f);
    assert_int_equal(st.bad_requests, 5);
    assert_int_equal(st.requests, 0);
}

/* The fold arrives in pieces: the check carries its state across reads. */
static void test_obs_fold_split(void **state)
{
    struct fx *f = fx_start_default();
    const char *parts[] = {"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r", "\n", " b\r\n\r\n"};
    struct cl *c = cl_open(f->port);
    for (size_t i = 0; i < 3; i++) {
        cl_puts(c, parts[i]);
        usleep(30000);
    }
    char want[512];
    fx_refused(want, sizeof(want), 400, FOLD);
    assert_string_equal(cl_rest(c), want);
    cl_close(c);
    assert_int_equal(fx_finish(f).requests, 0);
}

static void test_chunk_crlf(void **state)
{
    struct fx *f = fx_start_default();
    const char *want = "expected CRLF after chunk";
    expect_400(f, CHUNKED "3\r\nabcXX0\r\n\r\n", want);
    expect_400(f, CHUNKED "3\r\nabc\rX0\r\n\r\n", want);
    expect_400(f, CHUNKED "3\r\nabc\n0\r\n\r\n", want);
    /* The right framing passes, with extensions and trailers. */
    struct cl *c = cl_open(f->port);
    cl_puts(c, CHUNKED "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n"
                 "POST /echo - 5:abcde");
    cl_close(c);
    fx_finish(f);
}

static void test_header_names(void **state)
{
    struct fx *f = fx_start_default();
    expect_400(f, "GET / HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n", NO_NAME);
    expect_400(f, "GET / HTTP/1.1\r\n:\r\nHost: t\r\n\r\n", NO_NAME);
    expect_400(f, CHUNKED "0\r\n: x\r\n\r\n", NO_NAME);
    /* Whitespace between name and colon (RFC 9112 section 5.1). */
    expect_400(f, "GET / HTTP/1.1\r\nHost : t\r\n\r\n", "invalid header token");
    expect_400(f, "GET / HTTP/1.1\r\nHost: t\r\nContent-Length : 0\r\n\r\n",
               "invalid header field char");
    fx_finish(f);
}

static void test_line_ends(void **state)
{
    struct fx *f = fx_start_default();
    expect_400(f, "GET / HTTP/1.1\r\nHost: t\r\n\n", BARE_LF);
    expect_400(f, "GET / HTTP/1.1\nHost: t\r\n\r\n", BARE_LF);
    expect_400(f, "\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", BARE_LF);
    expect_400(f, CHUNKED "0\r\n\n", BARE_LF);
    expect_400(f, "GET / HTTP/1.1\r\nHost: t\r\n\r\r\n",
               "line ends in a bare CR; end every line "
               "with CRLF");
    /* An empty line (CRLF) before the request line is ignored (RFC 9112 2.2). */
    struct cl *c = cl_open(f->port);
    cl_puts(c, "\r\n" GET("/after-crlf"));
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\n"
                 "path=/after-crlf");
    cl_close(c);
    fx_finish(f);
}

static void test_host(void **state)
{
    struct fx *f = fx_start_default();
    expect_400(f, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
               "HTTP/1.1 request without a Host header; send one");
    expect_400(f, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
               "more than one Host header; send exactly one");
    expect_400(f, "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
               "more than one Host header; send exactly one");
    expect_400(f, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "Host header is not a valid host[:port]");
    expect_400(f, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "Host header is not a valid host[:port]");
    /* Fine: HTTP/1.0 without Host, an empty Host, an IPv6 literal with a port. */
    const char *ok[] = {"GET /a HTTP/1.0\r\n\r\n", "GET /a HTTP/1.1\r\nHost:\r\n\r\n",
                        "GET /a HTTP/1.1\r\nHost: [::1]:3030\r\n\r\n",
                        "GET /a HTTP/1.1\r\nHOST: rpc.mainnet.near.org\r\n\r\n"};
    for (size_t i = 0; i < 4; i++) {
        struct cl *c = cl_open(f->port);
        cl_puts(c, ok[i]);
        const char *close = i == 0 ? "Connection: close\r\n" : "";
        char want[256];
        snprintf(want, sizeof(want),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n%s\r\n"
                 "path=/a",
                 close);
        fx_expect(c, want);
        cl_close(c);
    }
    struct nu_httpd_stats st = fx_finish(f);
    assert_int_equal(st.bad_requests, 5);
    assert_int_equal(st.requests, 4);
}

static void test_versions_and_te(void **state)
{
    struct fx *f = fx_start_default();
    expect_400(f,
               "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
               "0\r\n\r\n",
               "Content-Length can't be present with Transfer-Encoding");
    expect_400(f, "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               "Transfer-Encoding in an HTTP/1.0 request; use HTTP/1.1 or Content-Length");
    const char *v = "only HTTP/1.0 and HTTP/1.1 are served";
    fx_expect_refused(f, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, v);
    fx_expect_refused(f, "GET / HTTP/0.9\r\nHost: t\r\n\r\n", 505, v);
    fx_finish(f);
}

/* A good request, then a smuggling attempt on the same connection: the
 * first is answered, the second refused, and nothing after it is read. */
static void test_pipelined_then_refused(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/one") "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n"
                           "\r\n0\r\n\r\n" GET("/smuggled"));
    fx_expect(c,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\npath=/one");
    char want[512];
    fx_refused(want, sizeof(want), 400, FOLD);
    assert_string_equal(cl_rest(c), want);
    cl_close(c);
    struct nu_httpd_stats st = fx_finish(f);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.bad_requests, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obs_fold),        cmocka_unit_test(test_obs_fold_split),
        cmocka_unit_test(test_chunk_crlf),      cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_line_ends),       cmocka_unit_test(test_host),
        cmocka_unit_test(test_versions_and_te), cmocka_unit_test(test_pipelined_then_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
