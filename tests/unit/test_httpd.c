/* nu_httpd: a server on a uv loop in a background thread, driven with raw
 * blocking sockets so the exact bytes on the wire are asserted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>
#include "clock.h"
#include "httpd_fx.h"

/* ---- tests ---- */

static void test_simple_get(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "GET /echo?a=1 HTTP/1.1\r\nHost: t\r\nX-Test: yes\r\n\r\n");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n"
                 "GET /echo?a=1 yes 0:");
    cl_close(c);
    fx_finish(f);
}

static void test_keepalive_three(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    for (int i = 0; i < 3; i++) {
        cl_puts(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\n"
                     "POST /echo - 3:abc");
    }
    cl_puts(c, GET("/close"));
    fx_expect(c, "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                 "X-A: 1\r\nX-B: two\r\nConnection: close\r\n\r\nbye");
    assert_true(cl_eof(c));
    cl_close(c);
    fx_finish(f);
}

static void test_pipelined(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/one") "GET /async/two?ms=30 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" GET("/four"));
    fx_expect(c,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\npath=/one");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
                 "/async/two");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n"
                 "POST /echo - 5:abcde");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
                 "path=/four");
    cl_close(c);
    struct nu_httpd_stats st = fx_finish(f);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.responses, 4);
}

static void test_head_and_204(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    char got[512];
    cl_response(c, true, got, sizeof(got));
    assert_string_equal(got,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n");
    cl_puts(c, GET("/nocontent"));
    fx_expect(c, "HTTP/1.1 204 No Content\r\n\r\n");
    /* No stray body bytes from HEAD: the next answer starts clean. */
    cl_puts(c, GET("/y"));
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/y");
    cl_close(c);
    fx_finish(f);
}

static void test_http10(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
                 "Connection: keep-alive\r\n\r\npath=/a");
    cl_puts(c, "GET /b HTTP/1.0\r\n\r\n");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
                 "Connection: close\r\n\r\npath=/b");
    assert_true(cl_eof(c));
    cl_close(c);
    c = cl_open(f->port);
    cl_puts(c, "GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
                 "Connection: close\r\n\r\npath=/c");
    assert_true(cl_eof(c));
    cl_close(c);
    fx_finish(f);
}

static void test_body_limit(void **state)
{
    struct fx *f = fx_start_small();
    const char *want = ERR("413", "Payload Too Large", "18");
    fx_expect_error(f, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n", want);
    /* Chunked: the announced chunk is refused before it is read. */
    fx_expect_error(
        f, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\nabc", want);
    /* Many small chunks adding up past the limit. */
    char req[4096];
    size_t n = (size_t)snprintf(
        req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 11; i++) {
        n += (size_t)snprintf(req + n, sizeof(req) - n, "64\r\n");
        memset(req + n, 'x', 100);
        n += 100;
        n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
    }
    fx_expect_error(f, req, want);
    /* Exactly at the limit is fine. */
    struct cl *c = cl_open(f->port);
    char body[1024];
    memset(body, 'y', sizeof(body));
    cl_puts(c, "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n");
    cl_send(c, body, sizeof(body));
    fx_expect(c,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\npath=/ok");
    cl_close(c);
    assert_int_equal(fx_finish(f).too_large, 3);
}

static void test_header_limits(void **state)
{
    struct fx *f = fx_start_small();
    const char *want = ERR("431", "Request Header Fields Too Large", "32");
    char req[4096];
    memset(req, 'a', sizeof(req));
    memcpy(req, "GET / HTTP/1.1\r\nX-Big: ", 23);
    memcpy(req + 2000, "\r\n\r\n", 5);
    fx_expect_error(f, req, want);
    /* A long url counts too. */
    memset(req, 'a', sizeof(req));
    memcpy(req, "GET /", 5);
    memcpy(req + 1500, " HTTP/1.1\r\n\r\n", 14);
    fx_expect_error(f, req, want);
    size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 11; i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "X-H%d: v\r\n", i);
    snprintf(req + n, sizeof(req) - n, "\r\n");
    fx_expect_error(f, req, want);
    /* Ten headers (Host and nine more) are allowed. */
    struct cl *c = cl_open(f->port);
    n = (size_t)snprintf(req, sizeof(req), "GET /ten HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 9; i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "X-H%d: v\r\n", i);
    snprintf(req + n, sizeof(req) - n, "\r\n");
    cl_puts(c, req);
    fx_expect(c,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\npath=/ten");
    cl_close(c);
    fx_finish(f);
}

static void test_malformed(void **state)
{
    struct fx *f = fx_start_small();
    fx_expect_refused(f, "GARBAGE\r\n\r\n", 400, "invalid method encountered");
    fx_expect_refused(f, "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, "invalid header token");
    fx_expect_refused(f, "GET / HTTP/9.9\r\n\r\n", 400, "invalid HTTP version");
    /* Smuggling: both framings. */
    fx_expect_refused(f,
                      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                      400, "Content-Length can't be present with Transfer-Encoding");
    fx_expect_refused(f,
                      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
                      "\r\nabcdef",
                      400, "duplicate Content-Length");
    fx_expect_refused(f,
                      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
                      400, "invalid `Transfer-Encoding` header value");
    /* A good request followed by garbage: answered, then 400. */
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/g") "BAD\r\n\r\n");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/g");
    char want[512];
    fx_refused(want, sizeof(want), 400, "invalid method encountered");
    assert_string_equal(cl_rest(c), want);
    cl_close(c);
    assert_int_equal(fx_finish(f).bad_requests, 7);
}

static void test_timeouts(void **state)
{
    struct fx *f = fx_start_small();
    const char *want = ERR("408", "Request Timeout", "16");
    uint64_t t0 = nu_mono_ns();
    fx_expect_error(f, "GET / HTTP/1.1\r\nHost: t\r\n", want);
    uint64_t ms = (nu_mono_ns() - t0) / 1000000;
    assert_true(ms >= 190 && ms < 1500);
    /* Head on time, body too slow. */
    fx_expect_error(f, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", want);
    /* Idle keep-alive: closed silently. */
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/k"));
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/k");
    t0 = nu_mono_ns();
    assert_true(cl_eof(c));
    ms = (nu_mono_ns() - t0) / 1000000;
    assert_true(ms >= 150 && ms < 1500);
    cl_close(c);
    /* A connection that never sends anything is closed silently too. */
    c = cl_open(f->port);
    assert_true(cl_eof(c));
    cl_close(c);
    assert_int_equal(fx_finish(f).timeouts, 2);
}

static void test_max_connections(void **state)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_connections = 2;
    struct fx *f = fx_start(&o);
    struct cl *a = cl_open(f->port), *b = cl_open(f->port);
    cl_puts(a, GET("/a"));
    cl_puts(b, GET("/b"));
    fx_expect(a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/a");
    fx_expect(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/b");
    struct cl *c = cl_open(f->port);
    assert_true(cl_eof(c));
    cl_close(c);
    cl_close(a);
    cl_close(b);
    struct nu_httpd_stats st = fx_finish(f);
    assert_int_equal(st.rejected_max_conns, 1);
    assert_int_equal(st.accepted, 2);
}

static void test_async_and_cancel(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/async?ms=60"));
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n/async");
    cl_close(c);
    c = cl_open(f->port);
    cl_puts(c, GET("/never"));
    while (atomic_load(&f->handled) < 2)
        usleep(1000);
    cl_close(c);
    for (int i = 0; i < 2000 && atomic_load(&f->cancels) == 0; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&f->cancels), 1);
    fx_finish(f);
}

/* A peer that resets while a large answer is written: no SIGPIPE, the
 * connection is dropped and the server keeps serving. */
static void test_reset_during_write(void **state)
{
    struct fx *f = fx_start_default();
    for (int i = 0; i < 3; i++) {
        struct cl *c = cl_open(f->port);
        cl_puts(c, GET("/huge"));
        assert_true(cl_fill(c) > 0);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        cl_close(c);
    }
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/after"));
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
                 "path=/after");
    cl_close(c);
    fx_finish(f);
}

static void test_truncate(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/truncate"));
    assert_string_equal(cl_rest(c), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 10\r\n\r\n01234");
    cl_close(c);
    fx_finish(f);
}

static void test_expect_continue(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c,
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    char got[256];
    cl_response(c, true, got, sizeof(got));
    assert_string_equal(got, "HTTP/1.1 100 Continue\r\n\r\n");
    cl_puts(c, "hi");
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\n"
                 "POST /echo - 2:hi");
    cl_close(c);
    fx_finish(f);
}

static void test_graceful_close(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *idle = cl_open(f->port);
    struct cl *busy = cl_open(f->port);
    cl_puts(idle, GET("/i"));
    fx_expect(idle,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/i");
    cl_puts(busy, GET("/async?ms=200"));
    while (atomic_load(&f->handled) < 2)
        usleep(1000);
    f->drain_ms = 3000;
    uv_async_send(&f->stop);
    /* The idle connection goes at once; the busy one gets its answer. */
    assert_true(cl_eof(idle));
    fx_expect(busy, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
                    "Connection: close\r\n\r\n/async");
    assert_true(cl_eof(busy));
    uv_thread_join(&f->th);
    assert_int_equal(atomic_load(&f->done), 1);
    assert_int_equal(atomic_load(&f->cancels), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    cl_close(idle);
    cl_close(busy);
    free(f);
}

static void test_drain_timeout_cancels(void **state)
{
    struct fx *f = fx_start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/never"));
    while (atomic_load(&f->handled) < 1)
        usleep(1000);
    uint64_t t0 = nu_mono_ns();
    fx_stop(f, 100);
    uint64_t ms = (nu_mono_ns() - t0) / 1000000;
    assert_true(ms >= 90 && ms < 2000);
    assert_int_equal(atomic_load(&f->cancels), 1);
    assert_true(cl_eof(c));
    cl_close(c);
    free(f);
}

static void test_bad_listen(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.host = "not-an-ip";
    struct nu_httpd *h = (void *)1;
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(nu_httpd_new(&loop, &o, fx_handler, NULL, &h, err), NU_EINVAL);
    assert_null(h);
    assert_string_equal(err, "listen address not-an-ip: not an IP address");
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_string_equal(nu_http_reason(404), "Not Found");
    assert_string_equal(nu_http_reason(299), "Unknown");
}

static void test_reuseport(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.reuseport = true;
    struct nu_httpd *a, *b, *c;
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(nu_httpd_new(&loop, &o, fx_handler, NULL, &a, err), 0);
    o.port = nu_httpd_port(a);
    assert_int_equal(nu_httpd_new(&loop, &o, fx_handler, NULL, &b, err), 0);
    assert_int_equal(nu_httpd_port(b), o.port);
    /* Without the option the port is taken. */
    o.reuseport = false;
    assert_int_equal(nu_httpd_new(&loop, &o, fx_handler, NULL, &c, err), NU_ENET);
    assert_non_null(strstr(err, "bind 127.0.0.1:"));
    nu_httpd_close(a, 0, NULL, NULL);
    nu_httpd_close(b, 0, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_keepalive_three),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_head_and_204),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_async_and_cancel),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_reset_during_write),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_graceful_close),
        cmocka_unit_test(test_drain_timeout_cancels),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_reuseport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
