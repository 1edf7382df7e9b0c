/* The supervisor's HTTP client: one GET at a time, HTTP/1.0 over libuv TCP
 * on the loop thread, for neard's /status on the loopback RPC address.
 *
 * It replaces libcurl in the supervisor, whose RSS target (4 MB) leaves no
 * room for libcurl and the TLS libraries it maps, and whose blocking API
 * needed the thread pool. The request is HTTP/1.0 so the server closes the
 * connection after its reply (no chunked encoding, no keep-alive); a
 * Content-Length ends it sooner. The reply is bounded
 * (SUP_HTTP_REPLY_MAX) and the whole GET has one deadline. */
#include "sup-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void on_closed(uv_handle_t *hd)
{
    struct sup_http *h = hd->data;
    int status = h->result;
    char *body = NULL;
    size_t len = 0;
    h->busy = false;
    if (status == 0 && sup_http_parse(h->reply.data, h->reply.len, &status, &body, &len) < 0)
        status = NU_EPARSE;
    h->cb(h, status, body != NULL ? body : "", len);
    nu_buf_release(&h->reply);
}

/* Ends the GET with result (0: reply complete); the callback runs once the
 * socket is closed, so the next GET can reuse it. */
static void finish(struct sup_http *h, int result)
{
    if (h->done)
        return;
    h->done = true;
    h->result = result;
    uv_timer_stop(&h->timer);
    /* The supervisor closes every handle when it exits: then no callback. */
    if (!uv_is_closing((uv_handle_t *)&h->tcp))
        uv_close((uv_handle_t *)&h->tcp, on_closed);
}

/* The length of the whole reply once its headers say so; 0 when unknown. */
static size_t expected_len(const char *data, size_t len)
{
    const char *end = memmem(data, len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    for (const char *p = data; p < end;) {
        const char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
        const char *line = nl != NULL ? nl + 2 : end;
        if (line < end && strncasecmp(line, "content-length:", 15) == 0) {
            char *stop;
            unsigned long long n = strtoull(line + 15, &stop, 10);
            return n < SUP_HTTP_REPLY_MAX ? (size_t)(end + 4 - data) + (size_t)n : 0;
        }
        p = line;
        if (nl == NULL)
            break;
    }
    return 0;
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    struct sup_http *h = hd->data;
    buf->base = h->chunk;
    buf->len = sizeof(h->chunk);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct sup_http *h = st->data;
    if (n == UV_EOF) {
        finish(h, 0);
        return;
    }
    if (n < 0) {
        finish(h, NU_ENET);
        return;
    }
    if (nu_buf_append(&h->reply, buf->base, (size_t)n) < 0) {
        finish(h, NU_ETOOBIG);
        return;
    }
    size_t want = expected_len(h->reply.data, h->reply.len);
    if (want > 0 && h->reply.len >= want)
        finish(h, 0);
}

static void on_written(uv_write_t *w, int status)
{
    struct sup_http *h = w->data;
    if (status < 0)
        finish(h, NU_ENET);
}

static void on_connect(uv_connect_t *c, int status)
{
    struct sup_http *h = c->data;
    if (status < 0 || h->done) {
        finish(h, NU_ENET);
        return;
    }
    uv_buf_t b = uv_buf_init(h->request, (unsigned)strlen(h->request));
    h->write.data = h;
    if (uv_write(&h->write, (uv_stream_t *)&h->tcp, &b, 1, on_written) < 0 ||
        uv_read_start((uv_stream_t *)&h->tcp, on_alloc, on_read) < 0)
        finish(h, NU_ENET);
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data, NU_ETIMEDOUT);
}

void sup_http_init(uv_loop_t *loop, struct sup_http *h)
{
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    nu_buf_init(&h->reply, SUP_HTTP_REPLY_MAX);
}

int sup_http_get(struct sup_http *h, const struct sockaddr *addr, const char *host,
                 const char *path, unsigned timeout_ms)
{
    if (h->busy)
        return NU_ESTATE;
    int n = snprintf(h->request, sizeof(h->request),
                     "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\n\r\n", path, host);
    if (n < 0 || (size_t)n >= sizeof(h->request))
        return NU_ETOOBIG;
    int rc = uv_tcp_init(h->timer.loop, &h->tcp);
    if (rc < 0)
        return NU_ENET;
    h->tcp.data = h;
    h->connect.data = h;
    h->busy = true;
    h->done = false;
    h->result = 0;
    nu_buf_reset(&h->reply);
    uv_tcp_nodelay(&h->tcp, 1);
    if (uv_tcp_connect(&h->connect, &h->tcp, addr, on_connect) < 0) {
        finish(h, NU_ENET); /* the callback still reports it, after the close */
        return 0;
    }
    uv_timer_start(&h->timer, on_timeout, timeout_ms, 0);
    return 0;
}

void sup_http_release(struct sup_http *h)
{
    nu_buf_release(&h->reply);
}

int sup_http_parse(char *reply, size_t len, int *status, char **body, size_t *bodylen)
{
    unsigned minor, code;
    char sp;
    if (reply == NULL || len < 12 || strncmp(reply, "HTTP/1.", 7) != 0)
        return NU_EPARSE;
    if (sscanf(reply, "HTTP/1.%1u %3u%c", &minor, &code, &sp) != 3 || (sp != ' ' && sp != '\r') ||
        code < 100 || code > 999)
        return NU_EPARSE;
    char *end = memmem(reply, len, "\r\n\r\n", 4);
    if (end == NULL)
        return NU_EPARSE;
    size_t want = expected_len(reply, len);
    *body = end + 4;
    *bodylen = len - (size_t)(*body - reply);
    if (want > 0 && len < want)
        return NU_EPARSE; /* cut short */
    if (want > 0)
        *bodylen = want - (size_t)(*body - reply);
    (*body)[*bodylen] = '\0'; /* nu_buf keeps room for the NUL past len */
    *status = (int)code;
    return 0;
}
