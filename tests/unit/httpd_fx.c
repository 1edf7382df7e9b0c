/* The nu_httpd test fixture (see httpd_fx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "httpd_fx.h"

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

char fx_pattern(size_t i)
{
    return (char)('a' + i % 23);
}

void fx_handler(struct nu_http_req *req, void *ud)
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
    } else if (strcmp(req->path, "/pattern") == 0 || strcmp(req->path, "/take") == 0) {
        /* n bytes of fx_pattern(i); /take hands the body over to the server. */
        const char *q = strstr(req->url, "n=");
        size_t n = q ? strtoul(q + 2, NULL, 10) : 0;
        char *big = malloc(n ? n : 1);
        assert_non_null(big);
        for (size_t i = 0; i < n; i++)
            big[i] = fx_pattern(i);
        if (req->path[1] == 't') {
            assert_int_equal(
                nu_httpd_respond_take(req, 200, "application/octet-stream", NULL, big, n, 0), 0);
        } else {
            assert_int_equal(nu_httpd_respond(req, 200, "application/octet-stream", big, n), 0);
            free(big);
        }
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

struct fx *fx_start(const struct nu_httpd_opts *o)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(nu_httpd_new(&f->loop, o, fx_handler, f, &f->h, err), 0);
    f->port = nu_httpd_port(f->h);
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    assert_int_equal(uv_thread_create(&f->th, run_loop, f), 0);
    return f;
}

struct fx *fx_start_default(void)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    return fx_start(&o);
}

/* Graceful close from the test thread; waits for the loop to end. */
void fx_stop(struct fx *f, unsigned drain_ms)
{
    f->drain_ms = drain_ms;
    uv_async_send(&f->stop);
    uv_thread_join(&f->th);
    assert_int_equal(atomic_load(&f->done), 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Stops and frees f; returns the stats taken just before closing. */
struct nu_httpd_stats fx_finish(struct fx *f)
{
    fx_stop(f, 0);
    struct nu_httpd_stats st = f->st;
    free(f);
    return st;
}

/* ---- raw client ---- */

struct cl *cl_open(int port)
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

void cl_close(struct cl *c)
{
    close(c->fd);
    free(c);
}

void cl_send(struct cl *c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

void cl_puts(struct cl *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

/* Reads more; returns 0 on EOF or reset. */
ssize_t cl_fill(struct cl *c)
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
void cl_response(struct cl *c, bool head_only, char *out, size_t outsz)
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
const char *cl_rest(struct cl *c)
{
    while (cl_fill(c) > 0)
        ;
    return c->buf;
}

bool cl_eof(struct cl *c)
{
    return cl_fill(c) == 0 && c->len == 0;
}

void fx_expect(struct cl *c, const char *want)
{
    char got[8192];
    cl_response(c, false, got, sizeof(got));
    assert_string_equal(got, want);
}

struct fx *fx_start_small(void)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_body_bytes = 1024;
    o.max_header_bytes = 1024;
    o.max_headers = 10;
    o.header_timeout_ms = 200;
    o.body_timeout_ms = 400;
    o.keepalive_ms = 200;
    return fx_start(&o);
}

void fx_expect_error(struct fx *f, const char *req, const char *want)
{
    struct cl *c = cl_open(f->port);
    cl_puts(c, req);
    assert_string_equal(cl_rest(c), want);
    cl_close(c);
}

void fx_refused(char *out, size_t outsz, int status, const char *detail)
{
    const char *reason = nu_http_reason(status);
    char lower[64];
    size_t i = 0;
    for (; reason[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)(reason[i] >= 'A' && reason[i] <= 'Z' ? reason[i] + 32 : reason[i]);
    lower[i] = '\0';
    char body[256];
    int n = snprintf(body, sizeof(body), "%s: %s\n", lower, detail);
    snprintf(out, outsz,
             "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n%s",
             status, reason, n, body);
}

void fx_expect_refused(struct fx *f, const char *req, int status, const char *detail)
{
    char want[512];
    fx_refused(want, sizeof(want), status, detail);
    fx_expect_error(f, req, want);
}
