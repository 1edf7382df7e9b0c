/* nu_httpd memory per connection: idle keep-alive connections keep no
 * buffers after a pipelined burst, and the answer bytes held for clients
 * that do not read are capped by max_unsent_bytes (reset beyond). */
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

#define HUGE (8u << 20)

/* A client whose receive buffer is small, so what it does not read stays
 * with the server. */
static int slow_client(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int rcv = 64 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Reads one answer with a body of fx_pattern bytes; returns the body bytes
 * that arrived (all of them unless the server reset), *reset when it did. */
static size_t read_pattern_answer(int fd, bool *reset)
{
    static char buf[1 << 16];
    size_t have = 0, body = 0, want = 0;
    bool in_body = false;
    *reset = false;
    for (;;) {
        ssize_t n = recv(fd, buf + have, sizeof(buf) - have - 1, 0);
        if (n < 0 && errno == ECONNRESET) {
            *reset = true;
            return body;
        }
        assert_true(n >= 0);
        if (n == 0)
            return body;
        have += (size_t)n;
        size_t from = 0;
        if (!in_body) {
            buf[have] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (!end)
                continue;
            char *cl = strstr(buf, "Content-Length: ");
            assert_non_null(cl);
            want = strtoul(cl + 16, NULL, 10);
            from = (size_t)(end - buf) + 4;
            in_body = true;
        }
        for (size_t i = from; i < have; i++, body++)
            assert_int_equal(buf[i], fx_pattern(body));
        have = 0;
        if (body == want)
            return body;
    }
}

static void wait_handled(struct fx *f, int n)
{
    for (int i = 0; i < 5000 && atomic_load(&f->handled) < n; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&f->handled), n);
    usleep(50000); /* the answer's first write happens in the handler */
}

/* Pipelined bursts on 3 connections: bodies in, large and small answers out. */
static void burst_on_three(struct fx *f, struct cl **c)
{
    char body[20000], req[4096];
    memset(body, 'x', sizeof(body));
    for (int k = 0; k < 3; k++) {
        c[k] = cl_open(f->port);
        for (int i = 0; i < 10; i++)
            cl_puts(c[k], GET("/burst"));
        snprintf(req, sizeof(req),
                 "POST /posted HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
        cl_puts(c[k], req);
        cl_send(c[k], body, sizeof(body));
        cl_puts(c[k], "GET /pattern?n=300000 HTTP/1.1\r\nHost: t\r\n\r\n" GET("/last"));
    }
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 10; i++)
            fx_expect(c[k], "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
                            "\r\npath=/burst");
        fx_expect(c[k], "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
                        "\r\npath=/posted");
        char got[512];
        cl_response(c[k], true, got, sizeof(got));
        assert_non_null(strstr(got, "Content-Length: 300000\r\n"));
        size_t left = 300000;
        while (left > 0) {
            if (c[k]->len == 0)
                assert_true(cl_fill(c[k]) > 0);
            size_t n = c[k]->len < left ? c[k]->len : left;
            memmove(c[k]->buf, c[k]->buf + n, c[k]->len - n);
            c[k]->len -= n;
            left -= n;
        }
        fx_expect(
            c[k],
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\npath=/last");
    }
}

/* After a pipelined burst an idle kept-alive connection holds no buffer at
 * all once idle_trim_ms has passed. */
static void test_idle_after_burst(void **state)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.idle_trim_ms = 20;
    struct fx *f = fx_start(&o);
    struct cl *c[3];
    burst_on_three(f, c);
    usleep(300 * 1000); /* well past idle_trim_ms: every connection trimmed */
    struct nu_httpd_stats st = fx_finish(f);
    for (int k = 0; k < 3; k++)
        cl_close(c[k]);
    assert_int_equal(st.requests, 39);
    assert_int_equal(st.open_connections, 3);
    assert_int_equal(st.buffer_bytes, 0);
    assert_int_equal(st.unsent_bytes, 0);
}

/* Within idle_trim_ms a kept-alive connection keeps its request buffers for
 * the next request (no allocation per request); keepalive_ms still ends it. */
static void test_busy_connection_keeps_buffers(void **state)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.idle_trim_ms = 60000;
    struct fx *f = fx_start(&o);
    struct cl *c[3];
    burst_on_three(f, c);
    struct nu_httpd_stats st = fx_finish(f);
    for (int k = 0; k < 3; k++)
        cl_close(c[k]);
    assert_int_equal(st.requests, 39);
    assert_int_equal(st.open_connections, 3);
    assert_true(st.buffer_bytes > 0);
    assert_int_equal(st.unsent_bytes, 0);
}

/* A client that does not read an 8 MiB answer while the cap is 1 MiB is
 * reset at once (not after write_timeout); the server goes on serving. */
static void test_slow_reader_over_cap(void **state)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_unsent_bytes = 1u << 20;
    o.idle_trim_ms = 0;
    struct fx *f = fx_start(&o);
    int fd = slow_client(f->port);
    send_all(fd, "GET /pattern?n=8388608 HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_handled(f, 1);
    bool reset;
    size_t got = read_pattern_answer(fd, &reset);
    assert_true(reset);
    assert_true(got < HUGE);
    close(fd);
    struct cl *c = cl_open(f->port);
    cl_puts(c, GET("/after"));
    fx_expect(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
                 "path=/after");
    cl_close(c);
    struct nu_httpd_stats st = fx_finish(f);
    assert_int_equal(st.unsent_drops, 1);
    assert_int_equal(st.unsent_bytes, 0);
    assert_int_equal(st.buffer_bytes, 0);
}

/* Within the cap, slow readers get every byte, whether the server copied
 * the rest (/pattern) or kept the handed-over body (/take). */
static void test_slow_readers_within_cap(void **state)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_unsent_bytes = 3 * HUGE;
    o.idle_trim_ms = 0;
    struct fx *f = fx_start(&o);
    int a = slow_client(f->port), b = slow_client(f->port);
    send_all(a, "GET /pattern?n=8388608 HTTP/1.1\r\nHost: t\r\n\r\n");
    send_all(b, "GET /take?n=8388608 HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_handled(f, 2);
    bool reset;
    assert_int_equal(read_pattern_answer(a, &reset), HUGE);
    assert_false(reset);
    assert_int_equal(read_pattern_answer(b, &reset), HUGE);
    assert_false(reset);
    /* Both kept alive: the next request on each is answered. */
    send_all(a, "GET /pattern?n=10 HTTP/1.1\r\nHost: t\r\n\r\n");
    send_all(b, "GET /take?n=10 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_pattern_answer(a, &reset), 10);
    assert_int_equal(read_pattern_answer(b, &reset), 10);
    struct nu_httpd_stats st = fx_finish(f);
    close(a);
    close(b);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.unsent_drops, 0);
    assert_int_equal(st.unsent_bytes, 0);
    assert_int_equal(st.buffer_bytes, 0);
    assert_int_equal(st.open_connections, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_after_burst),
        cmocka_unit_test(test_busy_connection_keeps_buffers),
        cmocka_unit_test(test_slow_reader_over_cap),
        cmocka_unit_test(test_slow_readers_within_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
