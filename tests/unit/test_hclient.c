/* Tests for the event-loop HTTP client (hconn.c, hpool.c) against a small
 * libuv server on 127.0.0.1 in the same loop that answers with canned
 * bytes: the requests it sends (GET and POST, byte for byte), answers it
 * accepts (lengths, EOF-delimited bodies, bytes past the answer) and
 * refuses, keep-alive reuse, limits, timeouts and connect errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hclient.h"

/* ---- the server ---- */

struct srv {
    uv_tcp_t listener;
    int port;
    const char *reply; /* sent once a whole request is in; NULL: never answer */
    bool close_after;  /* close the connection after the reply */
    char req[8192];    /* every request received, concatenated */
    size_t req_len, answered_at;
    int conns;
    uv_tcp_t *client; /* the last connection */
};

struct sconn {
    uv_tcp_t tcp;
    uv_write_t w;
    struct srv *s;
};

static void on_sconn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[4096];
    *b = uv_buf_init(buf, sizeof(buf));
}

static void srv_written(uv_write_t *w, int status)
{
    struct sconn *k = w->data;
    if (k->s->close_after && !uv_is_closing((uv_handle_t *)&k->tcp))
        uv_close((uv_handle_t *)&k->tcp, on_sconn_closed);
}

/* A whole request: its head, and as many body bytes as it announces. */
static bool request_complete(const struct srv *s)
{
    const char *start = s->req + s->answered_at;
    const char *end = strstr(start, "\r\n\r\n");
    if (end == NULL)
        return false;
    const char *cl = strcasestr(start, "content-length: ");
    size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
    return (size_t)(s->req + s->req_len - (end + 4)) >= body;
}

static void srv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct sconn *k = st->data;
    struct srv *s = k->s;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)st))
            uv_close((uv_handle_t *)st, on_sconn_closed);
        return;
    }
    assert_true(s->req_len + (size_t)n < sizeof(s->req));
    memcpy(s->req + s->req_len, b->base, (size_t)n);
    s->req_len += (size_t)n;
    s->req[s->req_len] = '\0';
    if (!request_complete(s) || s->reply == NULL)
        return;
    s->answered_at = s->req_len;
    uv_buf_t out = uv_buf_init((char *)s->reply, (unsigned)strlen(s->reply));
    k->w.data = k;
    assert_int_equal(uv_write(&k->w, st, &out, 1, srv_written), 0);
}

static void on_conn(uv_stream_t *l, int status)
{
    struct srv *s = l->data;
    struct sconn *k = calloc(1, sizeof(*k));
    assert_non_null(k);
    k->s = s;
    uv_tcp_init(l->loop, &k->tcp);
    k->tcp.data = k;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&k->tcp), 0);
    s->conns++;
    s->client = &k->tcp;
    uv_read_start((uv_stream_t *)&k->tcp, srv_alloc, srv_read);
}

static void srv_start(uv_loop_t *loop, struct srv *s, const char *reply, bool close_after)
{
    memset(s, 0, sizeof(*s));
    s->reply = reply;
    s->close_after = close_after;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    assert_int_equal(uv_tcp_bind(&s->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 16, on_conn), 0);
    int len = sizeof(a);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
}

static void close_any(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h))
        return;
    /* server connections own their memory; the listener lives in struct srv */
    uv_close(h, h->type == UV_TCP && h->data != arg ? on_sconn_closed : NULL);
}

/* ---- one exchange ---- */

struct got {
    bool done;
    struct nu_hc_resp r;
    char body[1024];
    char detail[256];
};

static void on_answer(void *ud, const struct nu_hc_resp *r)
{
    struct got *g = ud;
    g->done = true;
    g->r = *r;
    snprintf(g->body, sizeof(g->body), "%.*s", (int)r->len, r->body);
    snprintf(g->detail, sizeof(g->detail), "%s", r->detail);
    g->r.body = g->body;
    g->r.detail = g->detail;
}

struct fx {
    uv_loop_t loop;
    struct srv s;
    struct nu_hc_pool *p;
    char host[64];
};

static const struct nu_hc_pool_opts opts = {
    .idle_max = 2, .idle_timeout_ms = 5000, .connect_timeout_ms = 1000, .max_response = 64};

static void fx_start(struct fx *f, const char *reply, bool close_after, const char *method,
                     const char *headers)
{
    uv_loop_init(&f->loop);
    srv_start(&f->loop, &f->s, reply, close_after);
    snprintf(f->host, sizeof(f->host), "127.0.0.1:%d", f->s.port);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", f->s.port, &a);
    const struct nu_hc_target t = {.method = method,
                                   .path = strcmp(method, "GET") == 0 ? "/status" : "/",
                                   .host = f->host,
                                   .headers = headers};
    char err[NU_ERRMSG_MAX];
    f->p = nu_hc_pool_new(&f->loop, (struct sockaddr *)&a, &t, &opts, err);
    assert_non_null(f->p);
}

static void exchange(struct fx *f, const char *body, unsigned timeout_ms, struct got *g)
{
    memset(g, 0, sizeof(*g));
    struct nu_hc_conn *c = nu_hc_pool_get(f->p);
    assert_non_null(c);
    nu_hc_send(c, body, strlen(body), timeout_ms, NU_HC_REPLAYABLE, on_answer, g);
    assert_false(g->done); /* never inside send */
    while (!g->done)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void fx_end(struct fx *f)
{
    nu_hc_pool_retire(f->p);
    uv_walk(&f->loop, close_any, &f->s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ---- requests ---- */

static void test_get_request_bytes(void **state)
{
    (void)state;
    struct fx f;
    struct got g;
    fx_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false, "GET", NULL);
    exchange(&f, "ignored", 1000, &g);
    char want[256];
    snprintf(want, sizeof(want),
             "GET /status HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n\r\n",
             f.s.port);
    assert_string_equal(f.s.req, want);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_int_equal(g.r.status, 200);
    assert_string_equal(g.body, "{}");
    fx_end(&f);
}

static void test_post_request_bytes(void **state)
{
    (void)state;
    struct fx f;
    struct got g;
    fx_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes", false, "POST",
             "Authorization: Basic dTpw\r\n");
    exchange(&f, "{\"a\":1}", 1000, &g);
    char want[256];
    snprintf(want, sizeof(want),
             "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
             "Authorization: Basic dTpw\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
             f.s.port);
    assert_string_equal(f.s.req, want);
    assert_string_equal(g.body, "yes");
    fx_end(&f);
}

static void test_head_too_large(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char path[NU_HC_HEAD_MAX];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 1, &a);
    const struct nu_hc_target t = {.method = "POST", .path = path, .host = "h:1"};
    char err[NU_ERRMSG_MAX];
    assert_null(nu_hc_pool_new(&loop, (struct sockaddr *)&a, &t, &opts, err));
    assert_string_equal(err, "request head for h:1 is larger than 4096 bytes");
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- answers ---- */

/* One GET answered with reply (the server closing after it when
 * close_after); returns the result in g. */
static void answer(const char *reply, bool close_after, struct got *g, unsigned *idle)
{
    struct fx f;
    fx_start(&f, reply, close_after, "GET", NULL);
    exchange(&f, "", 1000, g);
    *idle = f.p->nidle;
    fx_end(&f);
}

static void test_answers(void **state)
{
    (void)state;
    struct got g;
    unsigned idle;
    answer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
           "{\"a\": [1, 2]}",
           false, &g, &idle);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_int_equal(g.r.status, 200);
    assert_string_equal(g.body, "{\"a\": [1, 2]}");
    assert_int_equal(idle, 1); /* kept alive */
    /* HTTP/1.0 without a length: the body is what came before the close */
    answer("HTTP/1.0 503 Service Unavailable\r\n\r\nnot yet", true, &g, &idle);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_int_equal(g.r.status, 503);
    assert_string_equal(g.body, "not yet");
    assert_int_equal(idle, 0);
    /* bytes past Content-Length are not the body, and the connection is
     * not reused; header names are case-blind */
    answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA", false, &g, &idle);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_string_equal(g.body, "ok");
    assert_int_equal(idle, 0);
    answer("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", false, &g, &idle);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_int_equal(g.r.status, 204);
    assert_string_equal(g.body, "");
    /* "Connection: close" is honoured */
    answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false, &g, &idle);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_int_equal(idle, 0);
}

static void test_not_answers(void **state)
{
    (void)state;
    static const struct {
        const char *reply;
        int err;
        const char *detail;
    } cases[] = {
        {"", NU_HC_RESET, "closed before answering"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", NU_HC_TRUNCATED,
         "closed in the middle of the answer"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", NU_HC_TRUNCATED,
         "closed in the middle of the answer"},
        {"HTTP/2 200\r\n\r\n{}", NU_HC_PROTOCOL, "bad HTTP answer: HPE_INVALID_VERSION"},
        {"SSH-2.0-OpenSSH_9.6\r\n\r\n", NU_HC_PROTOCOL, "bad HTTP answer: HPE_INVALID_CONSTANT"},
        {"HTTP/1.1 20 OK\r\n\r\n", NU_HC_PROTOCOL, "bad HTTP answer: status 20"},
        {"HTTP/1.1 2000 OK\r\n\r\n", NU_HC_PROTOCOL, "bad HTTP answer: HPE_INVALID_STATUS"},
        {"HTTP/1.1 abc OK\r\n\r\n", NU_HC_PROTOCOL, "bad HTTP answer: HPE_INVALID_STATUS"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", NU_HC_TOO_BIG,
         "answer larger than max_response"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct got g;
        unsigned idle;
        char reply[256];
        snprintf(reply, sizeof(reply), "%s%s", cases[i].reply,
                 cases[i].err == NU_HC_TOO_BIG
                     ? "0123456789012345678901234567890123456789012345678901234567890123X"
                     : "");
        answer(reply, true, &g, &idle);
        if (g.r.err != cases[i].err || strcmp(g.detail, cases[i].detail) != 0)
            fail_msg("'%s': got %s '%s'", cases[i].reply, nu_hc_err_name(g.r.err), g.detail);
        assert_int_equal(g.r.status, 0);
        assert_int_equal(idle, 0);
    }
}

static void test_keep_alive_reuse(void **state)
{
    (void)state;
    struct fx f;
    struct got g;
    fx_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", false, "POST", NULL);
    exchange(&f, "a", 1000, &g);
    assert_false(g.r.reused);
    exchange(&f, "b", 1000, &g);
    assert_true(g.r.reused);
    assert_string_equal(g.body, "1");
    assert_int_equal(f.s.conns, 1);
    assert_int_equal(f.p->nopen, 1);
    fx_end(&f);
}

static void test_server_closes_idle(void **state)
{
    (void)state;
    struct fx f;
    struct got g;
    atomic_uint_fast64_t resends = 0;
    fx_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", false, "POST", NULL);
    f.p->resends = &resends;
    exchange(&f, "a", 1000, &g);
    /* the server closes the kept-alive connection: the pool notices it
     * while idle and the next request goes on a fresh one */
    uv_close((uv_handle_t *)f.s.client, on_sconn_closed);
    while (f.p->nidle > 0)
        uv_run(&f.loop, UV_RUN_ONCE);
    exchange(&f, "b", 1000, &g);
    assert_int_equal(g.r.err, NU_HC_OK);
    assert_false(g.r.reused);
    assert_int_equal(f.s.conns, 2);
    assert_int_equal(resends, 0);
    fx_end(&f);
}

static void test_timeout_and_connect_error(void **state)
{
    (void)state;
    struct fx f;
    struct got g;
    fx_start(&f, NULL, false, "GET", NULL); /* accepts, never answers */
    exchange(&f, "", 50, &g);
    assert_int_equal(g.r.err, NU_HC_TIMEOUT);
    assert_string_equal(g.detail, "no answer within 50 ms");
    int port = f.s.port;
    fx_end(&f); /* the port is free again: connecting is refused */

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    const struct nu_hc_target t = {.method = "GET", .path = "/", .host = "x"};
    char err[NU_ERRMSG_MAX];
    struct nu_hc_pool *p = nu_hc_pool_new(&loop, (struct sockaddr *)&a, &t, &opts, err);
    assert_non_null(p);
    memset(&g, 0, sizeof(g));
    nu_hc_send(nu_hc_pool_get(p), "", 0, 1000, 0, on_answer, &g);
    while (!g.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.r.err, NU_HC_CONNECT);
    assert_string_equal(g.detail, "connect: connection refused");
    assert_false(g.r.timed_out);
    nu_hc_pool_retire(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_err_names(void **state)
{
    (void)state;
    static const char *const want[] = {"ok",      "connect",  "reset",  "truncated",
                                       "timeout", "protocol", "too_big"};
    for (int e = 0; e < NU_HC_NERR; e++)
        assert_string_equal(nu_hc_err_name(e), want[e]);
    assert_string_equal(nu_hc_err_name(NU_HC_NERR), "protocol");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_request_bytes),  cmocka_unit_test(test_post_request_bytes),
        cmocka_unit_test(test_head_too_large),     cmocka_unit_test(test_answers),
        cmocka_unit_test(test_not_answers),        cmocka_unit_test(test_keep_alive_reuse),
        cmocka_unit_test(test_server_closes_idle), cmocka_unit_test(test_timeout_and_connect_error),
        cmocka_unit_test(test_err_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
