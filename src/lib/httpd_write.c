/* HTTP server answers: the head is formatted on the stack, head and body go
 * to the socket in one try_write straight from the handler's memory, and
 * only what the socket did not take is kept until the client reads it: a
 * copy of the rest, or the body itself when the handler handed it over
 * (nu_httpd_respond_take). Nothing is kept for an idle connection.
 *
 * The bytes kept for all connections of a server are capped by
 * max_unsent_bytes: a connection whose answer would go beyond is reset
 * (counted in unsent_drops). Its client is not reading, and the cap keeps a
 * crowd of slow readers from pinning answers until write_timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd-int.h"

#define HEAD_STACK 1024 /* most heads fit; larger ones (many extra headers) are allocated */

struct answer {
    int status;
    const char *ctype;
    const char *const *extra;
    const char *body;
    size_t len;  /* Content-Length */
    char *owned; /* body handed over by the handler (freed here), or NULL */
    bool closing, truncate;
};

/* ---- write completion ---- */

void nu_httpd_conn_release_write(struct nu_httpd_conn *c)
{
    free(c->whead);
    free(c->wbody);
    c->whead = c->wbody = NULL;
    if (c->srv)
        c->srv->unsent -= c->wheld;
    c->wheld = 0;
}

static void on_write(uv_write_t *w, int status)
{
    struct nu_httpd_conn *c = w->data;
    nu_httpd_conn_release_write(c);
    if (c->state == CS_CLOSING)
        return;
    if (status < 0 || c->truncate) {
        nu_httpd_conn_close(c, c->truncate);
        return;
    }
    nu_httpd_conn_written(c);
}

/* ---- formatting ---- */

static void put(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

static size_t head_size(const struct answer *a)
{
    size_t need = 128 + strlen(nu_http_reason(a->status)) + (a->ctype ? strlen(a->ctype) : 0);
    for (size_t i = 0; a->extra && a->extra[i]; i++)
        need += strlen(a->extra[i]) + 2;
    return need;
}

/* Formats the head into out (head_size bytes); returns its length. */
static size_t format_head(const struct nu_httpd_conn *c, const struct answer *a, char *out)
{
    char *p = out, num[64];
    const char *reason = nu_http_reason(a->status);
    int n = snprintf(num, sizeof(num), "HTTP/1.1 %d ", a->status);
    put(&p, num, (size_t)n);
    put(&p, reason, strlen(reason));
    put(&p, "\r\n", 2);
    if (a->ctype) {
        put(&p, "Content-Type: ", 14);
        put(&p, a->ctype, strlen(a->ctype));
        put(&p, "\r\n", 2);
    }
    if (a->status != 204 && a->status != 304) {
        n = snprintf(num, sizeof(num), "Content-Length: %zu\r\n", a->len);
        put(&p, num, (size_t)n);
    }
    for (size_t i = 0; a->extra && a->extra[i]; i++) {
        put(&p, a->extra[i], strlen(a->extra[i]));
        put(&p, "\r\n", 2);
    }
    if (a->closing)
        put(&p, "Connection: close\r\n", 19);
    else if (c->hp.lp.http_major == 1 && c->hp.lp.http_minor == 0)
        put(&p, "Connection: keep-alive\r\n", 24);
    put(&p, "\r\n", 2);
    return (size_t)(p - out);
}

/* ---- sending ---- */

static char *copy_of(const char *s, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

/* Keeps what the socket did not take (bufs[0] head, bufs[1] body, sent
 * bytes already gone) and queues it; false when the connection must go. */
static bool hold_rest(struct nu_httpd_conn *c, uv_buf_t *bufs, size_t sent, struct answer *a)
{
    size_t hrest = sent < bufs[0].len ? bufs[0].len - sent : 0;
    size_t boff = sent > bufs[0].len ? sent - bufs[0].len : 0;
    size_t brest = bufs[1].len - boff;
    size_t held = hrest + (a->owned ? a->len : brest);
    struct nu_httpd *s = c->srv;
    if (held > s->o.max_unsent_bytes - s->unsent) {
        s->st.unsent_drops++;
        return false;
    }
    c->whead = hrest ? copy_of(bufs[0].base + sent, hrest) : NULL;
    /* A handed-over body is kept whole; of a borrowed one, the rest is copied. */
    size_t keep_off = a->owned ? boff : 0;
    c->wbody = a->owned ? a->owned : (brest ? copy_of(bufs[1].base + boff, brest) : NULL);
    a->owned = NULL;
    if ((hrest && !c->whead) || (brest && !c->wbody)) {
        nu_httpd_conn_release_write(c);
        return false;
    }
    c->wheld = held;
    s->unsent += held;
    uv_buf_t rest[2] = {uv_buf_init(c->whead, (unsigned)hrest),
                        uv_buf_init(c->wbody ? c->wbody + keep_off : NULL, (unsigned)brest)};
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, hrest ? rest : rest + 1, hrest ? 2 : 1,
                 on_write) != 0) {
        nu_httpd_conn_release_write(c);
        return false;
    }
    nu_httpd_conn_arm(c, s->o.write_timeout_ms);
    return true;
}

/* Writes the answer; the connection goes on (or closes) when it is taken. */
static void send_answer(struct nu_httpd_conn *c, struct answer *a, const char *head, size_t hlen)
{
    bool with_body = a->status != 204 && a->status != 304 && c->hp.lp.method != HTTP_HEAD;
    size_t blen = with_body ? a->len : 0;
    if (a->truncate)
        blen /= 2; /* failure injection: half the body, then a reset */
    uv_buf_t bufs[2] = {uv_buf_init((char *)head, (unsigned)hlen),
                        uv_buf_init((char *)a->body, (unsigned)blen)};
    c->state = CS_WRITING;
    c->close_after = a->closing;
    c->truncate = a->truncate;
    size_t sent = 0;
    if (!a->truncate) {
        int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, blen ? 2 : 1);
        if (n >= 0 && (size_t)n == hlen + blen) {
            nu_httpd_conn_written(c);
            return;
        }
        if (n < 0 && n != UV_EAGAIN) {
            nu_httpd_conn_close(c, false);
            return;
        }
        sent = n > 0 ? (size_t)n : 0;
    }
    if (!hold_rest(c, bufs, sent, a))
        nu_httpd_conn_close(c, true);
}

/* Formats and sends a; frees a->owned in every case. */
static int answer(struct nu_httpd_conn *c, struct answer *a)
{
    char stack[HEAD_STACK];
    size_t need = head_size(a);
    char *head = need <= sizeof(stack) ? stack : malloc(need);
    if (!head) {
        free(a->owned);
        return NU_ENOMEM;
    }
    size_t hlen = format_head(c, a, head);
    send_answer(c, a, head, hlen);
    if (head != stack)
        free(head);
    free(a->owned); /* NULL unless the socket took the whole answer */
    return 0;
}

int nu_httpd_conn_answer(struct nu_httpd_conn *c, int status, const char *ctype, const char *body,
                         size_t len)
{
    struct answer a = {.status = status, .ctype = ctype, .body = body, .len = len, .closing = true};
    return answer(c, &a);
}

/* ---- the handler's side ---- */

static bool has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* Checks req and the answer's fields; 0 when it may be answered. */
static int check(struct nu_http_req *req, int status, const char *ctype, const char *const *extra,
                 const void *body, size_t len)
{
    struct nu_httpd_conn *c = req ? req->conn : NULL;
    if (!c || req != &c->req)
        return NU_EINVAL;
    if (c->rq == RQ_ORPHAN) {
        nu_httpd_conn_orphan_release(c);
        return NU_ESTATE;
    }
    if (c->rq != RQ_OUT)
        return NU_ESTATE;
    if (status < 200 || status > 999 || has_crlf(ctype) || (len && !body))
        return NU_EINVAL;
    for (size_t i = 0; extra && extra[i]; i++)
        if (has_crlf(extra[i]))
            return NU_EINVAL;
    return 0;
}

static int respond(struct nu_http_req *req, struct answer *a, unsigned flags)
{
    int err = check(req, a->status, a->ctype, a->extra, a->body, a->len);
    if (err) {
        free(a->owned);
        return err;
    }
    struct nu_httpd_conn *c = req->conn;
    a->closing = (flags & NU_HTTPD_CLOSE) || !c->hp.keep_alive || c->hp.upgrade || c->srv->closing;
    a->truncate = flags & NU_HTTPD_TRUNCATE;
    c->rq = RQ_NONE;
    c->srv->st.responses++;
    if (answer(c, a) != 0)
        nu_httpd_conn_close(c, false);
    return 0;
}

int nu_httpd_respond_ex(struct nu_http_req *req, int status, const char *content_type,
                        const char *const *extra_headers, const void *body, size_t len,
                        unsigned flags)
{
    struct answer a = {status, content_type, extra_headers, body, len, NULL, false, false};
    return respond(req, &a, flags);
}

int nu_httpd_respond(struct nu_http_req *req, int status, const char *content_type,
                     const void *body, size_t len)
{
    return nu_httpd_respond_ex(req, status, content_type, NULL, body, len, 0);
}

int nu_httpd_respond_take(struct nu_http_req *req, int status, const char *content_type,
                          const char *const *extra_headers, char *body, size_t len, unsigned flags)
{
    struct answer a = {status, content_type, extra_headers, body, len, body, false, false};
    return respond(req, &a, flags);
}
