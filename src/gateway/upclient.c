/* Upstream HTTP/1.1 client connections over libuv + llhttp (see
 * gw_upclient.h).
 *
 * States: NEW -> CONNECTING -> BUSY (request written, answer parsed) ->
 * IDLE (parked in the pool, still reading to notice a close) -> BUSY ...;
 * a reused connection found closed before any answer byte goes BUSY ->
 * REOPENING (old socket closing) -> CONNECTING -> BUSY once; any failure
 * ends in CLOSING. One timer serves connect, answer and idle timeouts.
 * Failures found synchronously are reported from the timer (0 ms) so a
 * caller never sees its callback run inside gw_upconn_send. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
    /* While reopening, the socket's close is under way already; its
     * callback sees CLOSING and counts it. */
    bool tcp_closing = c->state == GW_UC_REOPENING;
    c->state = GW_UC_CLOSING;
    c->cb = NULL;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    if (!tcp_closing)
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
    c->parked_ns = uv_hrtime();
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

static void failed_early(struct gw_upconn *c, const char *detail);

static void on_eof(struct gw_upconn *c, ssize_t nread)
{
    if (!c->got_bytes) {
        failed_early(c, nread == UV_EOF ? "closed before answering" : uv_strerror((int)nread));
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
        failed_early(c, uv_strerror(status));
}

/* A write that failed inside gw_upconn_send: reported from the timer. */
static void write_failed(struct gw_upconn *c, int err)
{
    c->write_err = err;
    uv_timer_start(&c->timer, on_timer, 0, 0);
}

static void start_write(struct gw_upconn *c)
{
    uv_buf_t b[2] = {uv_buf_init(c->head, (unsigned)c->hlen),
                     uv_buf_init((char *)c->body, (unsigned)c->blen)};
    size_t total = c->hlen + c->blen;
    int n = uv_try_write((uv_stream_t *)&c->tcp, b, 2);
    if (n > 0)
        c->sent_any = true;
    if (n >= 0 && (size_t)n == total)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        write_failed(c, n); /* nothing of this request left */
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
        write_failed(c, r);
        return;
    }
    c->writing = true;
    c->sent_any = true; /* from here on, bytes may leave at any time */
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
        if (c->write_err) {
            int err = c->write_err;
            c->write_err = 0;
            failed_early(c, uv_strerror(err));
            break;
        }
        /* fall through */
    case GW_UC_REOPENING:
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
    uint64_t now = uv_now(c->pool->loop);
    if (c->deadline_ms == 0)
        c->deadline_ms = now + c->timeout_ms;
    c->state = GW_UC_BUSY;
    uv_timer_start(&c->timer, on_timer, c->deadline_ms > now ? c->deadline_ms - now : 0, 0);
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

/* Forgets whatever an attempt at the request left: answer, parser, writes. */
static void reset_attempt(struct gw_upconn *c)
{
    c->got_bytes = c->complete = c->overflow = c->noreuse = c->sent_any = false;
    c->write_err = 0;
    c->status = 0;
    nu_buf_reset(&c->resp);
    llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
    c->parser.data = c;
}

static void prepare(struct gw_upconn *c, const char *body, size_t blen, unsigned timeout_ms,
                    unsigned flags, gw_upconn_cb cb, void *ud)
{
    struct gw_pool *p = c->pool;
    c->cb = cb;
    c->ud = ud;
    c->body = body;
    c->blen = blen;
    c->timeout_ms = timeout_ms;
    c->deadline_ms = 0;
    c->replayable = (flags & GW_UPF_REPLAYABLE) != 0;
    c->resent = false;
    reset_attempt(c);
    memcpy(c->head, p->prefix, p->prefix_len);
    int n = snprintf(c->head + p->prefix_len, sizeof(c->head) - p->prefix_len, "%zu\r\n\r\n", blen);
    c->hlen = p->prefix_len + (size_t)n;
}

static void connect_now(struct gw_upconn *c)
{
    c->creq.data = c;
    int r =
        uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->pool->up->addr, on_connect);
    if (r != 0) {
        c->state = GW_UC_NEW; /* reported from the timer, never from inside send */
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return;
    }
    uint64_t ms = c->pool->o.connect_timeout_ms, now = uv_now(c->pool->loop);
    if (c->deadline_ms != 0) /* sending again: the answer is due by the first deadline */
        ms = c->deadline_ms <= now ? 0 : c->deadline_ms - now < ms ? c->deadline_ms - now : ms;
    c->state = GW_UC_CONNECTING;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- sending again on a fresh connection ---- */

static void on_reopen_closed(uv_handle_t *h)
{
    struct gw_upconn *c = h->data;
    if (c->state != GW_UC_REOPENING) { /* given up meanwhile (gw_upconn_close) */
        on_closed(h);
        return;
    }
    uv_tcp_init(c->pool->loop, &c->tcp);
    c->tcp.data = c;
    connect_now(c);
}

/* Closes the socket and sends the request on a new one to the same
 * upstream. The answer deadline keeps running. */
static void reopen(struct gw_upconn *c)
{
    c->state = GW_UC_REOPENING;
    c->reused = false;
    c->resent = true;
    reset_attempt(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_reopen_closed);
}

/* The request failed before any byte of an answer (see gw_upclient.h for
 * when it is sent again). */
static void failed_early(struct gw_upconn *c, const char *detail)
{
    char why[200];
    if (c->reused && !c->resent && (c->replayable || !c->sent_any)) {
        if (c->sent_any)
            atomic_fetch_add_explicit(&c->pool->up->resends, 1, memory_order_relaxed);
        reopen(c);
        return;
    }
    if (c->reused && c->sent_any && !c->replayable) {
        snprintf(why, sizeof(why), "%s; not sent again, as the upstream may have received it",
                 detail);
        detail = why;
    }
    finish(c, GW_UE_RESET, detail);
}

/* True when the upstream has closed or reset an idle connection (or sent
 * bytes nobody asked for) and the loop has not seen it yet: a peek at the
 * socket, which reads nothing. */
static bool peer_gone(struct gw_upconn *c)
{
    uv_os_fd_t fd;
    char b;
    if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0)
        return true;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void gw_upconn_send(struct gw_upconn *c, const char *body, size_t blen, unsigned timeout_ms,
                    unsigned flags, gw_upconn_cb cb, void *ud)
{
    prepare(c, body, blen, timeout_ms, flags, cb, ud);
    if (c->state == GW_UC_IDLE) {
        uv_timer_stop(&c->timer);
        if (peer_gone(c)) { /* nothing sent yet: a fresh connection is always safe */
            reopen(c);
            return;
        }
        c->reused = true;
        begin_request(c);
        return;
    }
    c->reused = false;
    connect_now(c);
}
