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
#include "httpd.h"

struct fx {
    uv_loop_t loop;
    uv_thread_t th;
    uv_async_t stop;
    struct nu_httpd *h;
    int port;
    unsigned drain_ms;
    struct nu_httpd_stats st;
    atomic_int cancels, done, handled;
};

/* ---- handler ---- */

struct later {
    uv_timer_t t;
    struct nu_http_req *req;
    struct fx *f;
    char body[128];
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *t)
{
    struct later *l = t->data;
    assert_int_equal(nu_httpd_respond(l->req, 200, "text/plain", l->body, strlen(l->body)), 0);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void later_cancel(struct nu_http_req *req, void *ud)
{
    struct later *l = ud;
    atomic_fetch_add(&l->f->cancels, 1);
    /* The req must not be used from here on: respond is refused. */
    assert_int_equal(nu_httpd_respond(req, 200, NULL, NULL, 0), NU_ESTATE);
    uv_timer_stop(&l->t);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void answer_later(struct fx *f, struct nu_http_req *req, unsigned ms, const char *body)
{
    struct later *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    l->req = req;
    l->f = f;
    snprintf(l->body, sizeof(l->body), "%s", body);
    uv_timer_init(&f->loop, &l->t);
    l->t.data = l;
    uv_timer_start(&l->t, later_fire, ms, 0);
    nu_httpd_on_cancel(req, later_cancel, l);
}

static void handler(struct nu_http_req *req, void *ud)
{
    struct fx *f = ud;
    char body[256];
    atomic_fetch_add(&f->handled, 1);
    if (strncmp(req->path, "/async", 6) == 0) {
        unsigned ms = 50;
        const char *q = strstr(req->url, "ms=");
        if (q)
            ms = (unsigned)strtoul(q + 3, NULL, 10);
        answer_later(f, req, ms, req->path);
    } else if (strcmp(req->path, "/never") == 0) {
        answer_later(f, req, 20000, "late");
    } else if (strcmp(req->path, "/truncate") == 0) {
        assert_int_equal(
            nu_httpd_respond_ex(req, 200, "text/plain", NULL, "0123456789", 10, NU_HTTPD_TRUNCATE),
            0);
    } else if (strcmp(req->path, "/close") == 0) {
        const char *extra[] = {"X-A: 1", "X-B: two", NULL};
        assert_int_equal(
            nu_httpd_respond_ex(req, 201, "text/plain", extra, "bye", 3, NU_HTTPD_CLOSE), 0);
    } else if (strcmp(req->path, "/echo") == 0) {
        const char *h = nu_http_req_header(req, "x-test");
        int n = snprintf(body, sizeof(body), "%s %s %s %zu:%s", req->method, req->url, h ? h : "-",
                         req->body_len, req->body);
        assert_int_equal(nu_httpd_respond(req, 200, "text/plain", body, (size_t)n), 0);
    } else if (strcmp(req->path, "/huge") == 0) {
        size_t n = 8u << 20;
        char *big = calloc(1, n);
        assert_int_equal(nu_httpd_respond(req, 200, "application/octet-stream", big, n), 0);
        free(big);
    } else if (strcmp(req->path, "/nocontent") == 0) {
        assert_int_equal(nu_httpd_respond(req, 204, NULL, NULL, 0), 0);
    } else {
        int n = snprintf(body, sizeof(body), "path=%s", req->path);
        assert_int_equal(nu_httpd_respond(req, 200, "text/plain", body, (size_t)n), 0);
    }
}

/* ---- server thread ---- */

static void on_closed(void *ud)
{
    struct fx *f = ud;
    atomic_store(&f->done, 1);
}

static void on_stop(uv_async_t *a)
{
    struct fx *f = a->data;
    nu_httpd_get_stats(f->h, &f->st);
    nu_httpd_close(f->h, f->drain_ms, on_closed, f);
    uv_close((uv_handle_t *)&f->stop, NULL);
}

static void run_loop(void *arg)
{
    struct fx *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static struct fx *start(const struct nu_httpd_opts *o)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(nu_httpd_new(&f->loop, o, handler, f, &f->h, err), 0);
    f->port = nu_httpd_port(f->h);
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    assert_int_equal(uv_thread_create(&f->th, run_loop, f), 0);
    return f;
}

static struct fx *start_default(void)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    return start(&o);
}

/* Graceful close from the test thread; waits for the loop to end. */
static void stop(struct fx *f, unsigned drain_ms)
{
    f->drain_ms = drain_ms;
    uv_async_send(&f->stop);
    uv_thread_join(&f->th);
    assert_int_equal(atomic_load(&f->done), 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Stops and frees f; returns the stats taken just before closing. */
static struct nu_httpd_stats finish(struct fx *f)
{
    stop(f, 0);
    struct nu_httpd_stats st = f->st;
    free(f);
    return st;
}

/* ---- raw client ---- */

struct cl {
    int fd;
    char buf[65536];
    size_t len;
};

static struct cl *cl_open(int port)
{
    struct cl *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return c;
}

static void cl_close(struct cl *c)
{
    close(c->fd);
    free(c);
}

static void cl_send(struct cl *c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

static void cl_puts(struct cl *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

/* Reads more; returns 0 on EOF or reset. */
static ssize_t cl_fill(struct cl *c)
{
    assert_true(c->len < sizeof(c->buf) - 1);
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        fail_msg("recv timed out");
    if (n <= 0)
        return 0;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return n;
}

/* One response (head + Content-Length body) into out; head_only for HEAD. */
static void cl_response(struct cl *c, bool head_only, char *out, size_t outsz)
{
    char *end;
    c->buf[c->len] = '\0';
    while (!(end = strstr(c->buf, "\r\n\r\n")))
        assert_true(cl_fill(c) > 0);
    size_t hlen = (size_t)(end - c->buf) + 4;
    size_t blen = 0;
    char *cl = strstr(c->buf, "Content-Length: ");
    if (cl && cl < end && !head_only)
        blen = strtoul(cl + 16, NULL, 10);
    while (c->len < hlen + blen)
        assert_true(cl_fill(c) > 0);
    assert_true(hlen + blen < outsz);
    memcpy(out, c->buf, hlen + blen);
    out[hlen + blen] = '\0';
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    c->buf[c->len] = '\0';
}

/* Everything until the server closes. */
static const char *cl_rest(struct cl *c)
{
    while (cl_fill(c) > 0)
        ;
    return c->buf;
}

static bool cl_eof(struct cl *c)
{
    return cl_fill(c) == 0 && c->len == 0;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

static void expect(struct cl *c, const char *want)
{
    char got[8192];
    cl_response(c, false, got, sizeof(got));
    assert_string_equal(got, want);
}

/* ---- tests ---- */

static void test_simple_get(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "GET /echo?a=1 HTTP/1.1\r\nHost: t\r\nX-Test: yes\r\n\r\n");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n"
              "GET /echo?a=1 yes 0:");
    cl_close(c);
    finish(f);
}

static void test_keepalive_three(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    for (int i = 0; i < 3; i++) {
        cl_puts(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\n"
                  "POST /echo - 3:abc");
    }
    cl_puts(c, GET("/close"));
    expect(c, "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
              "X-A: 1\r\nX-B: two\r\nConnection: close\r\n\r\nbye");
    assert_true(cl_eof(c));
    cl_close(c);
    finish(f);
}

static void test_pipelined(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/one") "GET /async/two?ms=30 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" GET("/four"));
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\npath=/one");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
              "/async/two");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n"
              "POST /echo - 5:abcde");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
              "path=/four");
    cl_close(c);
    struct nu_httpd_stats st = finish(f);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.responses, 4);
}

static void test_head_and_204(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    char got[512];
    cl_response(c, true, got, sizeof(got));
    assert_string_equal(got,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n");
    cl_puts(c, GET("/nocontent"));
    expect(c, "HTTP/1.1 204 No Content\r\n\r\n");
    /* No stray body bytes from HEAD: the next answer starts clean. */
    cl_puts(c, GET("/y"));
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/y");
    cl_close(c);
    finish(f);
}

static void test_http10(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
              "Connection: keep-alive\r\n\r\npath=/a");
    cl_puts(c, "GET /b HTTP/1.0\r\n\r\n");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
              "Connection: close\r\n\r\npath=/b");
    assert_true(cl_eof(c));
    cl_close(c);
    c = cl_open(f->port);
    cl_puts(c, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
              "Connection: close\r\n\r\npath=/c");
    assert_true(cl_eof(c));
    cl_close(c);
    finish(f);
}

#define ERR(code, reason, n)                                                                       \
    "HTTP/1.1 " code " " reason "\r\nContent-Type: text/plain\r\nContent-Length: " n               \
    "\r\nConnection: close\r\n\r\n" reason "\n"

static struct fx *start_small(void)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_body_bytes = 1024;
    o.max_header_bytes = 1024;
    o.max_headers = 10;
    o.header_timeout_ms = 200;
    o.body_timeout_ms = 400;
    o.keepalive_ms = 200;
    return start(&o);
}

static void expect_error(struct fx *f, const char *req, const char *want)
{
    struct cl *c = cl_open(f->port);
    cl_puts(c, req);
    assert_string_equal(cl_rest(c), want);
    cl_close(c);
}

static void test_body_limit(void **state)
{
    struct fx *f = start_small();
    const char *want = ERR("413", "Payload Too Large", "18");
    expect_error(f, "POST /echo HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", want);
    /* Chunked: the announced chunk is refused before it is read. */
    expect_error(f, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\nabc", want);
    /* Many small chunks adding up past the limit. */
    char req[4096];
    size_t n = (size_t)snprintf(req, sizeof(req),
                                "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 11; i++) {
        n += (size_t)snprintf(req + n, sizeof(req) - n, "64\r\n");
        memset(req + n, 'x', 100);
        n += 100;
        n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
    }
    expect_error(f, req, want);
    /* Exactly at the limit is fine. */
    struct cl *c = cl_open(f->port);
    char body[1024];
    memset(body, 'y', sizeof(body));
    cl_puts(c, "POST /ok HTTP/1.1\r\nContent-Length: 1024\r\n\r\n");
    cl_send(c, body, sizeof(body));
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\npath=/ok");
    cl_close(c);
    assert_int_equal(finish(f).too_large, 3);
}

static void test_header_limits(void **state)
{
    struct fx *f = start_small();
    const char *want = ERR("431", "Request Header Fields Too Large", "32");
    char req[4096];
    memset(req, 'a', sizeof(req));
    memcpy(req, "GET / HTTP/1.1\r\nX-Big: ", 23);
    memcpy(req + 2000, "\r\n\r\n", 5);
    expect_error(f, req, want);
    /* A long url counts too. */
    memset(req, 'a', sizeof(req));
    memcpy(req, "GET /", 5);
    memcpy(req + 1500, " HTTP/1.1\r\n\r\n", 14);
    expect_error(f, req, want);
    size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 11; i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "X-H%d: v\r\n", i);
    snprintf(req + n, sizeof(req) - n, "\r\n");
    expect_error(f, req, want);
    /* Ten headers are allowed. */
    struct cl *c = cl_open(f->port);
    n = (size_t)snprintf(req, sizeof(req), "GET /ten HTTP/1.1\r\n");
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "X-H%d: v\r\n", i);
    snprintf(req + n, sizeof(req) - n, "\r\n");
    cl_puts(c, req);
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\npath=/ten");
    cl_close(c);
    finish(f);
}

static void test_malformed(void **state)
{
    struct fx *f = start_small();
    const char *want = ERR("400", "Bad Request", "12");
    expect_error(f, "GARBAGE\r\n\r\n", want);
    expect_error(f, "GET / HTTP/1.1\r\nBad Header\r\n\r\n", want);
    expect_error(f, "GET / HTTP/9.9\r\n\r\n", want);
    /* Smuggling: both framings. */
    expect_error(f,
                 "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n",
                 want);
    expect_error(f, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
                 want);
    expect_error(f, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", want);
    /* A good request followed by garbage: answered, then 400. */
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/g") "BAD\r\n\r\n");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/g");
    assert_string_equal(cl_rest(c), want);
    cl_close(c);
    assert_int_equal(finish(f).bad_requests, 7);
}

static void test_timeouts(void **state)
{
    struct fx *f = start_small();
    const char *want = ERR("408", "Request Timeout", "16");
    uint64_t t0 = uv_hrtime();
    expect_error(f, "GET / HTTP/1.1\r\nHost: t\r\n", want);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_true(ms >= 190 && ms < 1500);
    /* Head on time, body too slow. */
    expect_error(f, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", want);
    /* Idle keep-alive: closed silently. */
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/k"));
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/k");
    t0 = uv_hrtime();
    assert_true(cl_eof(c));
    ms = (uv_hrtime() - t0) / 1000000;
    assert_true(ms >= 150 && ms < 1500);
    cl_close(c);
    /* A connection that never sends anything is closed silently too. */
    c = cl_open(f->port);
    assert_true(cl_eof(c));
    cl_close(c);
    assert_int_equal(finish(f).timeouts, 2);
}

static void test_max_connections(void **state)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_connections = 2;
    struct fx *f = start(&o);
    struct cl *a = cl_open(f->port), *b = cl_open(f->port);
    cl_puts(a, GET("/a"));
    cl_puts(b, GET("/b"));
    expect(a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/a");
    expect(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/b");
    struct cl *c = cl_open(f->port);
    assert_true(cl_eof(c));
    cl_close(c);
    cl_close(a);
    cl_close(b);
    struct nu_httpd_stats st = finish(f);
    assert_int_equal(st.rejected_max_conns, 1);
    assert_int_equal(st.accepted, 2);
}

static void test_async_and_cancel(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/async?ms=60"));
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n/async");
    cl_close(c);
    c = cl_open(f->port);
    cl_puts(c, GET("/never"));
    while (atomic_load(&f->handled) < 2)
        usleep(1000);
    cl_close(c);
    for (int i = 0; i < 2000 && atomic_load(&f->cancels) == 0; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&f->cancels), 1);
    finish(f);
}

/* A peer that resets while a large answer is written: no SIGPIPE, the
 * connection is dropped and the server keeps serving. */
static void test_reset_during_write(void **state)
{
    struct fx *f = start_default();
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
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
              "path=/after");
    cl_close(c);
    finish(f);
}

static void test_truncate(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/truncate"));
    assert_string_equal(cl_rest(c), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 10\r\n\r\n01234");
    cl_close(c);
    finish(f);
}

static void test_expect_continue(void **state)
{
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    char got[256];
    cl_response(c, true, got, sizeof(got));
    assert_string_equal(got, "HTTP/1.1 100 Continue\r\n\r\n");
    cl_puts(c, "hi");
    expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\n"
              "POST /echo - 2:hi");
    cl_close(c);
    finish(f);
}

static void test_graceful_close(void **state)
{
    struct fx *f = start_default();
    struct cl *idle = cl_open(f->port);
    struct cl *busy = cl_open(f->port);
    cl_puts(idle, GET("/i"));
    expect(idle, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npath=/i");
    cl_puts(busy, GET("/async?ms=200"));
    while (atomic_load(&f->handled) < 2)
        usleep(1000);
    f->drain_ms = 3000;
    uv_async_send(&f->stop);
    /* The idle connection goes at once; the busy one gets its answer. */
    assert_true(cl_eof(idle));
    expect(busy, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
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
    struct fx *f = start_default();
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/never"));
    while (atomic_load(&f->handled) < 1)
        usleep(1000);
    uint64_t t0 = uv_hrtime();
    stop(f, 100);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
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
    assert_int_equal(nu_httpd_new(&loop, &o, handler, NULL, &h, err), NU_EINVAL);
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
    assert_int_equal(nu_httpd_new(&loop, &o, handler, NULL, &a, err), 0);
    o.port = nu_httpd_port(a);
    assert_int_equal(nu_httpd_new(&loop, &o, handler, NULL, &b, err), 0);
    assert_int_equal(nu_httpd_port(b), o.port);
    /* Without the option the port is taken. */
    o.reuseport = false;
    assert_int_equal(nu_httpd_new(&loop, &o, handler, NULL, &c, err), NU_ENET);
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
