/* Upstream HTTP/1.1 client connections over libuv + llhttp (see
 * gw_upclient.h).
 *
 * States: NEW -> CONNECTING -> BUSY (request written, answer parsed) ->
 * IDLE (parked in the pool, still reading to notice a close) -> BUSY ...;
 * any failure ends in CLOSING. One timer serves connect, answer and idle
 * timeouts. Failures found synchronously are reported from the timer
 * (0 ms) so a caller never sees its callback run inside gw_upconn_send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_pool.h"
#include "gw_upstream.h"

#define RESP_KEEP_MAX (256 * 1024) /* larger buffers are freed when parked */
#define READ_BUF 65536

static void on_timer(uv_timer_t *t);

static _Thread_local char read_buf[READ_BUF];

static int on_headers_complete(llhttp_t *p)
{
    struct gw_upconn *c = p->data;
    c->status = llhttp_get_status_code(p);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct gw_upconn *c = p->data;
    if (nu_buf_append(&c->resp, at, len) != 0) {
        c->overflow = true;
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct gw_upconn *c = p->data;
    c->complete = true;
    return HPE_PAUSED; /* one answer per request: stop at its end */
}

static const llhttp_settings_t parser_settings = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- lifetime ---- */

static void on_closed(uv_handle_t *h)
{
    struct gw_upconn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct gw_pool *p = c->pool;
    nu_buf_release(&c->resp);
    free(c);
    gw_pool_conn_gone(p);
}

void gw_upconn_close(struct gw_upconn *c)
{
    if (c->state == GW_UC_CLOSING)
        return;
    c->state = GW_UC_CLOSING;
    c->cb = NULL;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

struct gw_upconn *gw_upconn_new(struct gw_pool *p)
{
    struct gw_upconn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pool = p;
    uv_tcp_init(p->loop, &c->tcp);
    uv_timer_init(p->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->state = GW_UC_NEW;
    nu_buf_init(&c->resp, p->o.max_response);
    p->nopen++;
    return c;
}

/* The request is over: report it, then hand the connection back. */
static void finish(struct gw_upconn *c, int err, const char *detail)
{
    uv_timer_stop(&c->timer);
    gw_upconn_cb cb = c->cb;
    void *ud = c->ud;
    c->cb = NULL;
    bool reusable = err == GW_UE_OK && c->complete && !c->writing && !c->noreuse &&
                    llhttp_should_keep_alive(&c->parser);
    struct gw_upresp r = {
        .err = err,
        .status = err == GW_UE_OK ? c->status : 0,
        .body = c->resp.data ? c->resp.data : "",
        .len = c->resp.len,
        .reused = c->reused,
        .detail = detail ? detail : "",
    };
    if (cb)
        cb(ud, &r);
    gw_pool_done(c->pool, c, reusable);
}

void gw_upconn_cancel(struct gw_upconn *c)
{
    gw_upconn_close(c);
}

void gw_upconn_park(struct gw_upconn *c, unsigned idle_ms)
{
    c->state = GW_UC_IDLE;
    c->body = NULL;
    if (c->resp.cap > RESP_KEEP_MAX)
        nu_buf_release(&c->resp);
    uv_timer_start(&c->timer, on_timer, idle_ms, 0);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    *buf = uv_buf_init(read_buf, READ_BUF);
}

static void on_eof(struct gw_upconn *c, ssize_t nread)
{
    if (!c->got_bytes) {
        finish(c, GW_UE_RESET,
               nread == UV_EOF ? "closed before answering" : uv_strerror((int)nread));
        return;
    }
    llhttp_finish(&c->parser); /* completes an answer delimited by EOF */
    if (c->complete) {
        c->noreuse = true; /* the connection is gone anyway */
        finish(c, GW_UE_OK, NULL);
        return;
    }
    finish(c, GW_UE_TRUNCATED, "closed in the middle of the answer");
}

static void on_data(struct gw_upconn *c, const char *data, size_t len)
{
    c->got_bytes = true;
    llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
    if (e == HPE_OK)
        return;
    if (e == HPE_PAUSED && c->complete) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        if (pos && pos < data + len)
            c->noreuse = true; /* bytes beyond the answer: never reuse */
        finish(c, GW_UE_OK, NULL);
        return;
    }
    if (c->overflow) {
        finish(c, GW_UE_TOO_BIG, "answer larger than max_response");
        return;
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "bad HTTP answer: %s", llhttp_errno_name(e));
    finish(c, GW_UE_PROTOCOL, detail);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct gw_upconn *c = s->data;
    if (nread == 0)
        return;
    if (c->state == GW_UC_IDLE) {
        /* closed by the upstream, or bytes nobody asked for: drop it */
        gw_pool_idle_gone(c->pool, c);
        return;
    }
    if (c->state != GW_UC_BUSY)
        return;
    if (nread < 0)
        on_eof(c, nread);
    else
        on_data(c, buf->base, (size_t)nread);
}

/* ---- writing ---- */

static void on_write(uv_write_t *w, int status)
{
    struct gw_upconn *c = w->data;
    c->writing = false;
    if (c->state != GW_UC_BUSY || status == 0)
        return;
    if (!c->got_bytes)
        finish(c, GW_UE_RESET, uv_strerror(status));
}

static void start_write(struct gw_upconn *c)
{
    uv_buf_t b[2] = {uv_buf_init(c->head, (unsigned)c->hlen),
                     uv_buf_init((char *)c->body, (unsigned)c->blen)};
    size_t total = c->hlen + c->blen;
    int n = uv_try_write((uv_stream_t *)&c->tcp, b, 2);
    if (n >= 0 && (size_t)n == total)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        finish(c, GW_UE_RESET, uv_strerror(n));
        return;
    }
    size_t off = n > 0 ? (size_t)n : 0;
    int nb = 0;
    uv_buf_t rest[2];
    if (off < c->hlen) {
        rest[nb++] = uv_buf_init(c->head + off, (unsigned)(c->hlen - off));
        off = 0;
    } else {
        off -= c->hlen;
    }
    if (c->blen > off)
        rest[nb++] = uv_buf_init((char *)c->body + off, (unsigned)(c->blen - off));
    c->wreq.data = c;
    int r = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, rest, (unsigned)nb, on_write);
    if (r != 0) {
        finish(c, GW_UE_RESET, uv_strerror(r));
        return;
    }
    c->writing = true;
}

/* ---- timers and connecting ---- */

static void on_timer(uv_timer_t *t)
{
    struct gw_upconn *c = t->data;
    char detail[96];
    switch (c->state) {
    case GW_UC_NEW:
        finish(c, GW_UE_CONNECT, "cannot start connecting");
        break;
    case GW_UC_CONNECTING:
        snprintf(detail, sizeof(detail), "connect timeout after %u ms",
                 c->pool->o.connect_timeout_ms);
        finish(c, GW_UE_CONNECT, detail);
        break;
    case GW_UC_BUSY:
        snprintf(detail, sizeof(detail), "no answer within %u ms", c->timeout_ms);
        finish(c, GW_UE_TIMEOUT, detail);
        break;
    case GW_UC_IDLE:
        gw_pool_idle_gone(c->pool, c);
        break;
    default:
        break;
    }
}

static void begin_request(struct gw_upconn *c)
{
    c->state = GW_UC_BUSY;
    uv_timer_start(&c->timer, on_timer, c->timeout_ms, 0);
    start_write(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct gw_upconn *c = req->data;
    if (c->state != GW_UC_CONNECTING)
        return;
    if (status < 0) {
        char detail[96];
        snprintf(detail, sizeof(detail), "connect: %s", uv_strerror(status));
        finish(c, GW_UE_CONNECT, detail);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        finish(c, GW_UE_CONNECT, "cannot read from the connection");
        return;
    }
    begin_request(c);
}

static void prepare(struct gw_upconn *c, const char *body, size_t blen, unsigned timeout_ms,
                    gw_upconn_cb cb, void *ud)
{
    struct gw_pool *p = c->pool;
    c->cb = cb;
    c->ud = ud;
    c->body = body;
    c->blen = blen;
    c->timeout_ms = timeout_ms;
    c->got_bytes = c->complete = c->overflow = c->noreuse = false;
    c->status = 0;
    nu_buf_reset(&c->resp);
    llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
    c->parser.data = c;
    memcpy(c->head, p->prefix, p->prefix_len);
    int n = snprintf(c->head + p->prefix_len, sizeof(c->head) - p->prefix_len, "%zu\r\n\r\n", blen);
    c->hlen = p->prefix_len + (size_t)n;
}

void gw_upconn_send(struct gw_upconn *c, const char *body, size_t blen, unsigned timeout_ms,
                    gw_upconn_cb cb, void *ud)
{
    prepare(c, body, blen, timeout_ms, cb, ud);
    if (c->state == GW_UC_IDLE) {
        c->reused = true;
        begin_request(c);
        return;
    }
    c->reused = false;
    c->creq.data = c;
    int r =
        uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->pool->up->addr, on_connect);
    if (r != 0) {
        c->state = GW_UC_NEW; /* reported from the timer, never from inside send */
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return;
    }
    c->state = GW_UC_CONNECTING;
    uv_timer_start(&c->timer, on_timer, c->pool->o.connect_timeout_ms, 0);
}
