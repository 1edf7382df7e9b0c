/* HTTP server connections: reading, handing requests to the handler one at
 * a time, timeouts and closing. The listener and graceful close are in
 * httpd.c, the parser in httpd_parse.c (framing checks in httpd_strict.c),
 * writing answers in httpd_write.c.
 *
 * A connection is a small state machine:
 *   READING  parsing a request (keep-alive idle when no byte of it arrived)
 *   HANDLER  request handed to the handler, waiting for nu_httpd_respond
 *   WRITING  answer queued on the socket
 *   LINGER   final answer sent, write side shut down; reading and
 *            discarding until the peer closes so unread input does not turn
 *            our close into a reset that destroys the answer
 *   CLOSING  uv_close called; freed when both handles are closed
 * While HANDLER/WRITING the socket is still read (into a bounded pending
 * buffer, no parsing) so a peer that goes away is noticed and the request
 * cancelled; pipelined requests wait in that buffer. Back in READING with
 * nothing pending, every buffer is freed (conn_trim) once the connection
 * has been idle for idle_trim_ms: an idle connection is its struct and
 * nothing more, and a busy one reuses its buffers request after request. */
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "clock.h"
#include "httpd-int.h"

/* Read-ahead kept while a request is answered; reading pauses beyond it. */
#define PENDING_MAX (64 * 1024)
/* How long a closing connection waits for the peer to close first. */
#define LINGER_MS 1000

static void conn_run(struct nu_httpd_conn *c, const char *data, size_t len, bool from_pend);

/* ---- connection lifetime ---- */

static void conn_free(struct nu_httpd_conn *c)
{
    nu_httpd_conn_release_write(c);
    nu_hparser_release(&c->hp);
    free(c->pend);
    free(c);
}

/* Idle between requests: nothing of a request or an answer is kept, so a
 * kept-alive connection costs only its struct (and the kernel's socket). */
static void conn_trim(struct nu_httpd_conn *c)
{
    c->trimmed = true;
    free(c->pend);
    c->pend = NULL;
    c->pend_off = c->pend_len = c->pend_cap = 0;
    if (!nu_hparser_midrequest(&c->hp))
        nu_hparser_release(&c->hp);
}

size_t nu_httpd_conn_buffer_bytes(const struct nu_httpd_conn *c)
{
    return nu_hparser_buffer_bytes(&c->hp) + c->pend_cap + c->wheld;
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct nu_httpd_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct nu_httpd *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->st.open_connections--;
    /* The handler still holds req: it is freed when the handler answers. */
    if (c->rq == RQ_ORPHAN)
        c->srv = NULL;
    else
        conn_free(c);
    nu_httpd_srv_maybe_done(s);
}

void nu_httpd_conn_close(struct nu_httpd_conn *c, bool reset)
{
    if (c->state == CS_CLOSING)
        return;
    c->state = CS_CLOSING;
    if (c->rq == RQ_OUT) {
        if (c->cancel) {
            c->rq = RQ_CANCELLING;
            c->cancel(&c->req, c->cancel_ud);
            c->rq = RQ_NONE;
        } else {
            c->rq = RQ_ORPHAN;
        }
    }
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    if (!reset || uv_tcp_close_reset(&c->tcp, on_conn_handle_closed) != 0)
        uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

/* A req whose connection died: release it once the handles are closed too. */
void nu_httpd_conn_orphan_release(struct nu_httpd_conn *c)
{
    if (c->open_handles == 0)
        conn_free(c);
    else
        c->rq = RQ_NONE;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct nu_httpd_conn *c = h->data;
    *buf = uv_buf_init(c->srv->rbuf, NU_HTTPD_READ_BUF);
}

static int pend_append(struct nu_httpd_conn *c, const char *data, size_t len)
{
    if (c->pend_off == c->pend_len)
        c->pend_off = c->pend_len = 0;
    if (c->pend_len + len > c->pend_cap && c->pend_off > 0) {
        memmove(c->pend, c->pend + c->pend_off, c->pend_len - c->pend_off);
        c->pend_len -= c->pend_off;
        c->pend_off = 0;
    }
    if (c->pend_len + len > c->pend_cap) {
        size_t n = c->pend_cap ? c->pend_cap : 4096;
        while (n < c->pend_len + len)
            n *= 2;
        char *np = realloc(c->pend, n);
        if (!np)
            return NU_ENOMEM;
        c->pend = np;
        c->pend_cap = n;
    }
    memcpy(c->pend + c->pend_len, data, len);
    c->pend_len += len;
    return 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void start_reading(struct nu_httpd_conn *c)
{
    if (c->reading || c->state == CS_CLOSING)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        nu_httpd_conn_close(c, false);
        return;
    }
    c->reading = true;
}

static void stop_reading(struct nu_httpd_conn *c)
{
    if (!c->reading)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct nu_httpd_conn *c = st->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* EOF or error: the peer is gone (or half-closed, which we treat
         * the same, as Go's server does), so an unanswered request is
         * cancelled. */
        nu_httpd_conn_close(c, false);
        return;
    }
    switch (c->state) {
    case CS_READING:
        conn_run(c, buf->base, (size_t)nread, false);
        break;
    case CS_HANDLER:
    case CS_WRITING:
        if (pend_append(c, buf->base, (size_t)nread) != 0) {
            nu_httpd_conn_close(c, false);
            break;
        }
        if (c->pend_len - c->pend_off >= PENDING_MAX)
            stop_reading(c);
        break;
    default:
        break; /* LINGER: discard */
    }
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t);

void nu_httpd_conn_arm(struct nu_httpd_conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, on_timer, ms ? ms : 1, 0);
}

static void hook_begin(void *owner)
{
    struct nu_httpd_conn *c = owner;
    nu_httpd_conn_arm(c, c->srv->o.header_timeout_ms);
}

static void hook_head(void *owner, bool has_body)
{
    struct nu_httpd_conn *c = owner;
    if (!has_body)
        return;
    uint64_t spent = (nu_mono_ns() - c->hp.start_ns) / 1000000;
    uint64_t limit = c->srv->o.body_timeout_ms;
    nu_httpd_conn_arm(c, spent < limit ? limit - spent : 1);
}

static void on_creq_done(uv_write_t *w, int status)
{
    struct nu_httpd_conn *c = w->data;
    c->creq_busy = false;
}

static void hook_continue(void *owner)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct nu_httpd_conn *c = owner;
    if (c->creq_busy)
        return;
    uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
    c->creq.data = c;
    if (uv_write(&c->creq, (uv_stream_t *)&c->tcp, &b, 1, on_creq_done) == 0)
        c->creq_busy = true;
}

static const struct nu_hparser_ops hp_ops = {hook_begin, hook_head, hook_continue};

/* ---- answers ---- */

static void conn_continue(struct nu_httpd_conn *c)
{
    if (c->pend_len > c->pend_off) {
        conn_run(c, c->pend + c->pend_off, c->pend_len - c->pend_off, true);
        return;
    }
    if (c->srv->o.idle_trim_ms == 0)
        conn_trim(c);
    start_reading(c);
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    struct nu_httpd_conn *c = r->data;
    if (status < 0)
        nu_httpd_conn_close(c, false);
}

/* Final answer written: half-close and wait for the peer's FIN. */
static void begin_close(struct nu_httpd_conn *c)
{
    c->state = CS_LINGER;
    conn_trim(c);
    if (c->srv->closing) {
        nu_httpd_conn_close(c, false);
        return;
    }
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        nu_httpd_conn_close(c, false);
        return;
    }
    nu_httpd_conn_arm(c, LINGER_MS);
    start_reading(c);
}

void nu_httpd_conn_written(struct nu_httpd_conn *c)
{
    uv_timer_stop(&c->timer);
    if (c->close_after || c->srv->closing) {
        begin_close(c);
        return;
    }
    nu_hparser_next(&c->hp);
    c->state = CS_READING;
    /* The timer frees the buffers after idle_trim_ms, then waits out the
     * rest of keepalive_ms (on_timer). */
    const struct nu_httpd_opts *o = &c->srv->o;
    c->idle_since = uv_now(c->srv->loop);
    c->trimmed = false;
    nu_httpd_conn_arm(c, o->idle_trim_ms > 0 && o->idle_trim_ms < o->keepalive_ms
                             ? o->idle_trim_ms
                             : o->keepalive_ms);
    /* When answered inside the handler, conn_run's loop carries on. */
    if (!c->in_run)
        conn_continue(c);
}

void nu_httpd_abort(struct nu_http_req *req)
{
    struct nu_httpd_conn *c = req ? req->conn : NULL;
    if (!c || req != &c->req)
        return;
    if (c->rq == RQ_ORPHAN) {
        nu_httpd_conn_orphan_release(c);
        return;
    }
    if (c->rq != RQ_OUT)
        return;
    c->rq = RQ_NONE;
    nu_httpd_conn_close(c, false);
}

void nu_httpd_on_cancel(struct nu_http_req *req, nu_httpd_cancel_fn fn, void *ud)
{
    struct nu_httpd_conn *c = req ? req->conn : NULL;
    if (!c || req != &c->req || c->rq != RQ_OUT)
        return;
    c->cancel = fn;
    c->cancel_ud = ud;
}

/* Answers a request the parser refused, then closes. The body is the
 * reason phrase, or with a detail "<reason in lower case>: <detail>". */
static void conn_fail(struct nu_httpd_conn *c, int status, const char *detail)
{
    struct nu_httpd *s = c->srv;
    if (status == 408)
        s->st.timeouts++;
    else if (status == 413 || status == 431)
        s->st.too_large++;
    else
        s->st.bad_requests++;
    const char *reason = nu_http_reason(status);
    char body[64 + NU_HPARSE_DETAIL_MAX];
    int n = snprintf(body, sizeof(body), "%s\n", reason);
    if (detail && *detail) {
        n = snprintf(body, sizeof(body), "%s: %s\n", reason, detail);
        for (char *p = body; *p != ':'; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    if (nu_httpd_conn_answer(c, status, "text/plain", body, (size_t)n) != 0)
        nu_httpd_conn_close(c, false);
}

static void dispatch(struct nu_httpd_conn *c)
{
    struct nu_httpd *s = c->srv;
    uv_timer_stop(&c->timer);
    if (nu_hparser_fill(&c->hp, &c->req) != 0) {
        conn_fail(c, 500, NULL);
        return;
    }
    c->req.peer = c->peer;
    c->req.conn = c;
    c->state = CS_HANDLER;
    c->rq = RQ_OUT;
    c->cancel = NULL;
    c->cancel_ud = NULL;
    s->st.requests++;
    s->handler(&c->req, s->ud);
}

/* Parses data; runs the handler for each complete request as long as it
 * answers synchronously. The unparsed rest is kept in pend. */
static void conn_run(struct nu_httpd_conn *c, const char *data, size_t len, bool from_pend)
{
    c->in_run = true;
    while (c->state == CS_READING && len > 0) {
        size_t used = 0;
        enum nu_hparse_ev ev = nu_hparser_feed(&c->hp, data, len, &used);
        data += used;
        len -= used;
        if (ev == NU_HP_ERROR) {
            conn_fail(c, c->hp.err_status, c->hp.err_detail);
            break;
        }
        if (ev == NU_HP_MORE)
            continue;
        if (from_pend) {
            c->pend_off = (size_t)(data - c->pend);
        } else if (len && pend_append(c, data, len) != 0) {
            nu_httpd_conn_close(c, false);
            break;
        }
        from_pend = true;
        dispatch(c);
        /* The answer may have closed the connection and freed pend. */
        len = c->pend_len - c->pend_off;
        data = len ? c->pend + c->pend_off : NULL;
    }
    c->in_run = false;
    if (c->state == CS_READING) {
        if (c->srv->o.idle_trim_ms == 0)
            conn_trim(c);
        start_reading(c);
    }
}

/* idle_trim_ms after the last answer: free the buffers, then wait for the
 * rest of keepalive_ms. */
static void idle_trim(struct nu_httpd_conn *c)
{
    uint64_t idle = uv_now(c->srv->loop) - c->idle_since, ka = c->srv->o.keepalive_ms;
    conn_trim(c);
    if (idle >= ka)
        nu_httpd_conn_close(c, false);
    else
        nu_httpd_conn_arm(c, ka - idle);
}

static void on_timer(uv_timer_t *t)
{
    struct nu_httpd_conn *c = t->data;
    switch (c->state) {
    case CS_READING:
        if (nu_hparser_midrequest(&c->hp)) {
            stop_reading(c);
            conn_fail(c, 408, NULL);
        } else if (!c->trimmed) {
            idle_trim(c);
        } else {
            nu_httpd_conn_close(c, false); /* idle keep-alive */
        }
        break;
    case CS_WRITING:
        nu_httpd_conn_close(c, true); /* the peer does not read */
        break;
    case CS_LINGER:
        nu_httpd_conn_close(c, false);
        break;
    default:
        break;
    }
}

static void format_peer(struct nu_httpd_conn *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
            snprintf(c->peer, sizeof(c->peer), "[%s]:%d", ip, port);
            return;
        }
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
}

/* Takes the next connection from the listener. */
int nu_httpd_conn_accept(struct nu_httpd *s)
{
    struct nu_httpd_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NU_ENOMEM;
    c->srv = s;
    c->trimmed = true; /* nothing to free before its first answer */
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.open_connections++;
    nu_hparser_init(&c->hp, &s->o, &hp_ops, c);
    c->state = CS_READING;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0) {
        nu_httpd_conn_close(c, false);
        return 0;
    }
    s->st.accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    format_peer(c);
    nu_httpd_conn_arm(c, s->o.header_timeout_ms);
    start_reading(c);
    return 0;
}

/* Idle: no request in progress, or only lingering after the last answer. */
bool nu_httpd_conn_idle(const struct nu_httpd_conn *c)
{
    return (c->state == CS_READING && !nu_hparser_midrequest(&c->hp)) || c->state == CS_LINGER;
}
