/* Connections of the event-loop HTTP client (see hclient.h).
 *
 * States: NEW -> CONNECTING (TCP, then the TLS handshake) -> BUSY (request
 * written, answer parsed) -> IDLE (parked in the pool, still reading to
 * notice a close) -> BUSY ...; a reused connection found closed before any
 * answer byte goes BUSY -> REOPENING (old socket closing) -> CONNECTING ->
 * BUSY once; any failure ends in CLOSING. One timer serves connect, answer
 * and idle timeouts. Failures found synchronously are reported from the
 * timer (0 ms) so a caller never sees its callback run inside nu_hc_send.
 *
 * With TLS, bytes from the socket go through the session (tls_input) and
 * the request through it on the way out (tls_flush); plaintext takes the
 * same paths as without. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "hclient-int.h"

#define RESP_KEEP_MAX (256 * 1024) /* larger buffers are freed when parked */
#define READ_BUF 65536
/* What one read's ciphertext (and a record left from the last) decrypts to. */
#define TLS_PLAIN_MAX (READ_BUF + 32 * 1024)

static void on_timer(uv_timer_t *t);
static void failed_early(struct nu_hc_conn *c, const char *detail);

/* One read buffer per thread, made on the first read: a static
 * _Thread_local array would be zeroed, and so resident, in every thread of
 * every program linking this file (64 KiB of the supervisor's 4 MB). */
static pthread_key_t read_buf_key;
static pthread_once_t read_buf_once = PTHREAD_ONCE_INIT;

static void make_read_buf_key(void)
{
    NU_BUG_ON(pthread_key_create(&read_buf_key, free) != 0);
}

static char *thread_read_buf(void)
{
    pthread_once(&read_buf_once, make_read_buf_key);
    char *b = pthread_getspecific(read_buf_key);
    if (!b && (b = malloc(READ_BUF)) != NULL && pthread_setspecific(read_buf_key, b) != 0) {
        free(b);
        b = NULL;
    }
    return b;
}

static const struct nu_hc_tls_ops *tls_ops(const struct nu_hc_conn *c)
{
    return c->pool->o.tls->ops;
}

static int on_headers_complete(llhttp_t *p)
{
    struct nu_hc_conn *c = p->data;
    c->status = llhttp_get_status_code(p);
    return c->status >= 100 ? 0 : -1; /* llhttp takes "HTTP/1.1 20 OK" */
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct nu_hc_conn *c = p->data;
    if (nu_buf_append(&c->resp, at, len) != 0) {
        c->overflow = true;
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct nu_hc_conn *c = p->data;
    c->complete = true;
    return HPE_PAUSED; /* one answer per request: stop at its end */
}

static const llhttp_settings_t parser_settings = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- lifetime ---- */

static void tls_end(struct nu_hc_conn *c)
{
    if (c->tls)
        tls_ops(c)->close(c->tls);
    c->tls = NULL;
}

static void on_closed(uv_handle_t *h)
{
    struct nu_hc_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct nu_hc_pool *p = c->pool;
    tls_end(c);
    nu_buf_release(&c->resp);
    nu_buf_release(&c->plain);
    free(c);
    nu_hc_pool_conn_gone(p);
}

void nu_hc_conn_close(struct nu_hc_conn *c)
{
    if (c->state == NU_HC_CLOSING)
        return;
    /* While reopening, the socket's close is under way already; its
     * callback sees CLOSING and counts it. */
    bool tcp_closing = c->state == NU_HC_REOPENING;
    c->state = NU_HC_CLOSING;
    c->cb = NULL;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    if (!tcp_closing)
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

struct nu_hc_conn *nu_hc_conn_new(struct nu_hc_pool *p)
{
    struct nu_hc_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pool = p;
    uv_tcp_init(p->loop, &c->tcp);
    uv_timer_init(p->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->state = NU_HC_NEW;
    nu_buf_init(&c->resp, p->o.max_response);
    nu_buf_init(&c->plain, TLS_PLAIN_MAX);
    p->nopen++;
    return c;
}

/* The request is over: report it, then hand the connection back. */
static void finish_ex(struct nu_hc_conn *c, int err, const char *detail, bool timed_out)
{
    uv_timer_stop(&c->timer);
    nu_hc_cb cb = c->cb;
    void *ud = c->ud;
    c->cb = NULL;
    bool reusable = err == NU_HC_OK && c->complete && !c->writing && c->tls_writes == 0 &&
                    !c->noreuse && llhttp_should_keep_alive(&c->parser);
    struct nu_hc_resp r = {
        .err = err,
        .status = err == NU_HC_OK ? c->status : 0,
        .body = c->resp.data ? c->resp.data : "",
        .len = c->resp.len,
        .reused = c->reused,
        .timed_out = timed_out,
        .detail = detail ? detail : "",
    };
    if (cb)
        cb(ud, &r);
    nu_hc_pool_done(c->pool, c, reusable);
}

static void finish(struct nu_hc_conn *c, int err, const char *detail)
{
    finish_ex(c, err, detail, false);
}

void nu_hc_cancel(struct nu_hc_conn *c)
{
    nu_hc_conn_close(c);
}

void nu_hc_conn_park(struct nu_hc_conn *c, unsigned idle_ms)
{
    c->state = NU_HC_IDLE;
    c->parked_ns = nu_mono_ns();
    c->body = NULL;
    if (c->resp.cap > RESP_KEEP_MAX)
        nu_buf_release(&c->resp);
    nu_buf_release(&c->plain);
    uv_timer_start(&c->timer, on_timer, idle_ms, 0);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    char *b = thread_read_buf();
    *buf = uv_buf_init(b, b ? READ_BUF : 0); /* none: the read fails with UV_ENOBUFS */
}

static void on_eof(struct nu_hc_conn *c, ssize_t nread)
{
    if (!c->got_bytes) {
        failed_early(c, nread == UV_EOF ? "closed before answering" : uv_strerror((int)nread));
        return;
    }
    llhttp_finish(&c->parser); /* completes an answer delimited by EOF */
    if (c->complete) {
        c->noreuse = true; /* the connection is gone anyway */
        finish(c, NU_HC_OK, NULL);
        return;
    }
    finish(c, NU_HC_TRUNCATED, "closed in the middle of the answer");
}

static void on_data(struct nu_hc_conn *c, const char *data, size_t len)
{
    c->got_bytes = true;
    llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
    if (e == HPE_OK)
        return;
    if (e == HPE_PAUSED && c->complete) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        if (pos && pos < data + len)
            c->noreuse = true; /* bytes beyond the answer: never reuse */
        finish(c, NU_HC_OK, NULL);
        return;
    }
    if (c->overflow) {
        finish(c, NU_HC_TOO_BIG, "answer larger than max_response");
        return;
    }
    char detail[160];
    if (e == HPE_CB_HEADERS_COMPLETE)
        snprintf(detail, sizeof(detail), "bad HTTP answer: status %d", c->status);
    else
        snprintf(detail, sizeof(detail), "bad HTTP answer: %s", llhttp_errno_name(e));
    finish(c, NU_HC_PROTOCOL, detail);
}

static void begin_request(struct nu_hc_conn *c);
static void tls_flush(struct nu_hc_conn *c);

/* One handshake step; the request goes out once it is done. */
static void tls_handshake(struct nu_hc_conn *c)
{
    char err[NU_ERRMSG_MAX], detail[NU_ERRMSG_MAX + 64];
    int rc = tls_ops(c)->handshake(c->tls, err);
    if (rc < 0) {
        snprintf(detail, sizeof(detail), "TLS handshake: %s", err);
        finish(c, NU_HC_CONNECT, detail);
        return;
    }
    tls_flush(c);
    if (rc == 1 && c->state == NU_HC_CONNECTING)
        begin_request(c);
}

/* Ciphertext from the server: the handshake's, or the answer's (one
 * on_data for all a read decrypts to, as without TLS). */
static void tls_input(struct nu_hc_conn *c, const char *data, size_t len)
{
    char err[NU_ERRMSG_MAX], detail[NU_ERRMSG_MAX + 16];
    const struct nu_hc_tls_ops *ops = tls_ops(c);
    int rc = ops->feed(c->tls, data, len, err);
    if (rc == 0 && c->state == NU_HC_CONNECTING) {
        tls_handshake(c);
        return;
    }
    nu_buf_reset(&c->plain);
    if (rc == 0)
        rc = ops->read(c->tls, &c->plain, err);
    if (rc < 0) {
        snprintf(detail, sizeof(detail), "TLS: %s", err);
        finish(c, NU_HC_PROTOCOL, detail);
        return;
    }
    if (c->plain.len > 0)
        on_data(c, c->plain.data, c->plain.len);
    if (rc == 1 && c->state == NU_HC_BUSY) /* close_notify */
        on_eof(c, UV_EOF);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct nu_hc_conn *c = s->data;
    if (nread == 0)
        return;
    if (c->state == NU_HC_IDLE) {
        /* closed by the server, or bytes nobody asked for: drop it */
        nu_hc_pool_idle_gone(c->pool, c);
        return;
    }
    if (c->state == NU_HC_CONNECTING && c->tls) { /* the handshake */
        if (nread < 0)
            finish(c, NU_HC_CONNECT, "TLS handshake: connection closed");
        else
            tls_input(c, buf->base, (size_t)nread);
        return;
    }
    if (c->state != NU_HC_BUSY)
        return;
    if (nread < 0)
        on_eof(c, nread);
    else if (c->tls)
        tls_input(c, buf->base, (size_t)nread);
    else
        on_data(c, buf->base, (size_t)nread);
}

/* ---- writing ---- */

static void on_write(uv_write_t *w, int status)
{
    struct nu_hc_conn *c = w->data;
    c->writing = false;
    if (c->state != NU_HC_BUSY || status == 0)
        return;
    if (!c->got_bytes)
        failed_early(c, uv_strerror(status));
}

/* A write that failed inside nu_hc_send: reported from the timer. */
static void write_failed(struct nu_hc_conn *c, int err)
{
    c->write_err = err;
    uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* The part of b[0..n) past its first off bytes, into rest; its count. */
static unsigned bufs_skip(const uv_buf_t *b, unsigned n, size_t off, uv_buf_t *rest)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (off >= b[i].len) {
            off -= b[i].len;
            continue;
        }
        rest[k++] = uv_buf_init(b[i].base + off, (unsigned)(b[i].len - off));
        off = 0;
    }
    return k;
}

/* Writes b[0..n): what the socket takes at once, the rest queued. */
static void write_bufs(struct nu_hc_conn *c, const uv_buf_t *b, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += b[i].len;
    int w = uv_try_write((uv_stream_t *)&c->tcp, b, n);
    if (w > 0)
        c->sent_any = true;
    if (w >= 0 && (size_t)w == total)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        write_failed(c, w); /* nothing of this request left */
        return;
    }
    uv_buf_t rest[3];
    unsigned nrest = bufs_skip(b, n, w > 0 ? (size_t)w : 0, rest);
    c->wreq.data = c;
    int r = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, rest, nrest, on_write);
    if (r != 0) {
        write_failed(c, r);
        return;
    }
    c->writing = true;
    c->sent_any = true; /* from here on, bytes may leave at any time */
}

struct tls_write {
    uv_write_t req;
    struct nu_hc_conn *c;
    char data[];
};

static void on_tls_write(uv_write_t *w, int status)
{
    struct tls_write *tw = w->data;
    struct nu_hc_conn *c = tw->c;
    free(tw);
    c->tls_writes--;
    if (c->state == NU_HC_BUSY && status != 0 && !c->got_bytes)
        failed_early(c, uv_strerror(status));
    else if (c->state == NU_HC_CONNECTING && status != 0)
        finish(c, NU_HC_CONNECT, uv_strerror(status));
}

/* Sends the ciphertext the session has for the server; each write owns
 * its bytes (handshake flights may overlap with a write in flight). */
static void tls_flush(struct nu_hc_conn *c)
{
    const struct nu_hc_tls_ops *ops = tls_ops(c);
    for (size_t n; (n = ops->pending(c->tls)) > 0;) {
        struct tls_write *tw = malloc(sizeof(*tw) + n);
        if (!tw) {
            write_failed(c, UV_ENOMEM);
            return;
        }
        tw->c = c;
        tw->req.data = tw;
        uv_buf_t b = uv_buf_init(tw->data, (unsigned)ops->take(c->tls, tw->data, n));
        int r = uv_write(&tw->req, (uv_stream_t *)&c->tcp, &b, 1, on_tls_write);
        if (r != 0) {
            free(tw);
            write_failed(c, r);
            return;
        }
        c->tls_writes++;
        if (c->state == NU_HC_BUSY)
            c->sent_any = true;
    }
}

static void start_write(struct nu_hc_conn *c)
{
    struct nu_hc_pool *p = c->pool;
    uv_buf_t b[3] = {uv_buf_init(p->prefix, (unsigned)p->prefix_len),
                     uv_buf_init(c->lenline, (unsigned)strlen(c->lenline)),
                     uv_buf_init((char *)c->body, (unsigned)c->blen)};
    unsigned n = c->blen > 0 ? 3 : 2;
    if (!c->tls) {
        write_bufs(c, b, n);
        return;
    }
    char err[NU_ERRMSG_MAX];
    for (unsigned i = 0; i < n; i++) {
        if (tls_ops(c)->write(c->tls, b[i].base, b[i].len, err) < 0) {
            write_failed(c, UV_EPROTO);
            return;
        }
    }
    tls_flush(c);
}

/* ---- timers and connecting ---- */

static void on_timer(uv_timer_t *t)
{
    struct nu_hc_conn *c = t->data;
    char detail[96];
    switch (c->state) {
    case NU_HC_NEW:
        finish(c, NU_HC_CONNECT, "cannot start connecting");
        break;
    case NU_HC_CONNECTING:
        if (c->write_err) { /* a handshake write that could not be queued */
            finish(c, NU_HC_CONNECT, uv_strerror(c->write_err));
            break;
        }
        snprintf(detail, sizeof(detail), "connect timeout after %u ms",
                 c->pool->o.connect_timeout_ms);
        finish_ex(c, NU_HC_CONNECT, detail, true);
        break;
    case NU_HC_BUSY:
        if (c->write_err) {
            int err = c->write_err;
            c->write_err = 0;
            failed_early(c, uv_strerror(err));
            break;
        }
        /* fall through */
    case NU_HC_REOPENING:
        snprintf(detail, sizeof(detail), "no answer within %u ms", c->timeout_ms);
        finish(c, NU_HC_TIMEOUT, detail);
        break;
    case NU_HC_IDLE:
        nu_hc_pool_idle_gone(c->pool, c);
        break;
    default:
        break;
    }
}

static void begin_request(struct nu_hc_conn *c)
{
    uint64_t now = uv_now(c->pool->loop);
    if (c->deadline_ms == 0)
        c->deadline_ms = now + c->timeout_ms;
    c->state = NU_HC_BUSY;
    uv_timer_start(&c->timer, on_timer, c->deadline_ms > now ? c->deadline_ms - now : 0, 0);
    start_write(c);
}

/* TCP is up: a TLS session starts its handshake, else the request goes. */
static void connected(struct nu_hc_conn *c)
{
    const struct nu_hc_tls *tls = c->pool->o.tls;
    if (!tls) {
        begin_request(c);
        return;
    }
    char err[NU_ERRMSG_MAX], detail[NU_ERRMSG_MAX + 16];
    c->tls = tls->ops->open(tls->ctx, c->pool->tls_name, err);
    if (!c->tls) {
        snprintf(detail, sizeof(detail), "TLS: %s", err);
        finish(c, NU_HC_CONNECT, detail);
        return;
    }
    tls_handshake(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct nu_hc_conn *c = req->data;
    if (c->state != NU_HC_CONNECTING)
        return;
    if (status < 0) {
        char detail[96];
        snprintf(detail, sizeof(detail), "connect: %s", uv_strerror(status));
        finish(c, NU_HC_CONNECT, detail);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        finish(c, NU_HC_CONNECT, "cannot read from the connection");
        return;
    }
    connected(c);
}

/* Forgets whatever an attempt at the request left: answer, parser, writes. */
static void reset_attempt(struct nu_hc_conn *c)
{
    c->got_bytes = c->complete = c->overflow = c->noreuse = c->sent_any = false;
    c->write_err = 0;
    c->status = 0;
    nu_buf_reset(&c->resp);
    llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
    c->parser.data = c;
}

static void prepare(struct nu_hc_conn *c, const char *body, size_t blen, unsigned timeout_ms,
                    unsigned flags, nu_hc_cb cb, void *ud)
{
    bool has_body = c->pool->has_body;
    c->cb = cb;
    c->ud = ud;
    c->body = has_body ? body : NULL;
    c->blen = has_body ? blen : 0;
    c->timeout_ms = timeout_ms;
    c->deadline_ms = 0;
    c->replayable = (flags & NU_HC_REPLAYABLE) != 0;
    c->resent = false;
    reset_attempt(c);
    if (has_body)
        snprintf(c->lenline, sizeof(c->lenline), "Content-Length: %zu\r\n\r\n", blen);
    else
        snprintf(c->lenline, sizeof(c->lenline), "\r\n");
}

static void connect_now(struct nu_hc_conn *c)
{
    c->creq.data = c;
    int r = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->pool->addr, on_connect);
    if (r != 0) {
        c->state = NU_HC_NEW; /* reported from the timer, never from inside send */
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return;
    }
    uint64_t ms = c->pool->o.connect_timeout_ms, now = uv_now(c->pool->loop);
    if (c->deadline_ms != 0) /* sending again: the answer is due by the first deadline */
        ms = c->deadline_ms <= now ? 0 : c->deadline_ms - now < ms ? c->deadline_ms - now : ms;
    c->state = NU_HC_CONNECTING;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- sending again on a fresh connection ---- */

static void on_reopen_closed(uv_handle_t *h)
{
    struct nu_hc_conn *c = h->data;
    if (c->state != NU_HC_REOPENING) { /* given up meanwhile (nu_hc_conn_close) */
        on_closed(h);
        return;
    }
    uv_tcp_init(c->pool->loop, &c->tcp);
    c->tcp.data = c;
    connect_now(c);
}

/* Closes the socket and sends the request on a new one to the same
 * server. The answer deadline keeps running. */
static void reopen(struct nu_hc_conn *c)
{
    c->state = NU_HC_REOPENING;
    c->reused = false;
    c->resent = true;
    reset_attempt(c);
    tls_end(c); /* a new socket, a new session */
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_reopen_closed);
}

/* The request failed before any byte of an answer (see hclient.h for
 * when it is sent again). */
static void failed_early(struct nu_hc_conn *c, const char *detail)
{
    char why[200];
    if (c->reused && !c->resent && (c->replayable || !c->sent_any)) {
        if (c->sent_any && c->pool->resends)
            atomic_fetch_add_explicit(c->pool->resends, 1, memory_order_relaxed);
        reopen(c);
        return;
    }
    if (c->reused && c->sent_any && !c->replayable) {
        snprintf(why, sizeof(why), "%s; not sent again, as the upstream may have received it",
                 detail);
        detail = why;
    }
    finish(c, NU_HC_RESET, detail);
}

/* True when the server has closed or reset an idle connection (or sent
 * bytes nobody asked for) and the loop has not seen it yet: a peek at the
 * socket, which reads nothing. */
static bool peer_gone(struct nu_hc_conn *c)
{
    uv_os_fd_t fd;
    char b;
    if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0)
        return true;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void nu_hc_send(struct nu_hc_conn *c, const char *body, size_t blen, unsigned timeout_ms,
                unsigned flags, nu_hc_cb cb, void *ud)
{
    prepare(c, body, blen, timeout_ms, flags, cb, ud);
    if (c->state == NU_HC_IDLE) {
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
