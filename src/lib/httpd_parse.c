/* Request parsing for the HTTP server: llhttp callbacks that copy the head
 * and body into bounded per-connection buffers and enforce the size and
 * count limits, plus the framing checks of httpd_strict.c. No sockets
 * here, so the fuzzer can drive it directly. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>
#include "clock.h"
#include "httpd-int.h"

/* Buffers above this are freed between requests so that thousands of idle
 * keep-alive connections do not each pin their largest request. */
#define KEEP_BUF_MAX (64 * 1024)
#define BODY_BUF_MIN 4096
#define HEAD_BUF_MIN 1024

static struct nu_hparser *P(llhttp_t *lp)
{
    return lp->data;
}

static int fail(struct nu_hparser *p, int status)
{
    if (!p->err_status)
        p->err_status = status;
    return -1;
}

/* llhttp's reasons read "Invalid header token": lower a capitalised first
 * word, but not a header name ("Content-Length can't be ..."). */
static void lower_first_word(char *s)
{
    size_t i = 1;
    while (islower((unsigned char)s[i]))
        i++;
    if (isupper((unsigned char)s[0]) && (s[i] == ' ' || s[i] == '\0'))
        s[0] = (char)tolower((unsigned char)s[0]);
}

/* Fails with a detail for the answer's body. */
static int fail_why(struct nu_hparser *p, int status, const char *detail)
{
    if (p->err_status)
        return -1;
    p->err_status = status;
    snprintf(p->err_detail, sizeof(p->err_detail), "%s", detail);
    return -1;
}

/* Grows *buf to hold need bytes; cap is never above limit. */
static int grow(char **buf, size_t *cap, size_t need, size_t min, size_t limit)
{
    if (need <= *cap)
        return 0;
    if (need > limit)
        return -1;
    size_t n = *cap ? *cap : min;
    while (n < need)
        n = n > limit / 2 ? limit : n * 2;
    char *nb = realloc(*buf, n);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = n;
    return 0;
}

/* Head bytes so far, counting this feed up to end. */
static int check_head_bytes(struct nu_hparser *p, const char *end)
{
    if (p->head_bytes + (size_t)(end - p->feed_base) > p->max_header_bytes)
        return fail(p, 431);
    return 0;
}

static int head_append(struct nu_hparser *p, const char *at, size_t len)
{
    if (check_head_bytes(p, at + len))
        return -1;
    /* + 1 for the NUL, and room for the path copy made in fill */
    if (grow(&p->hbuf, &p->hcap, p->hlen + len + 1, HEAD_BUF_MIN, 2 * p->max_header_bytes + 2))
        return fail(p, 431);
    memcpy(p->hbuf + p->hlen, at, len);
    p->hlen += len;
    return 0;
}

static int head_nul(struct nu_hparser *p)
{
    if (grow(&p->hbuf, &p->hcap, p->hlen + 1, HEAD_BUF_MIN, 2 * p->max_header_bytes + 2))
        return fail(p, 431);
    p->hbuf[p->hlen++] = '\0';
    return 0;
}

static int on_message_begin(llhttp_t *lp)
{
    struct nu_hparser *p = P(lp);
    p->started = true;
    p->in_head = true;
    p->start_ns = nu_mono_ns();
    if (p->ops && p->ops->on_begin)
        p->ops->on_begin(p->owner);
    return 0;
}

static int on_url(llhttp_t *lp, const char *at, size_t len)
{
    return head_append(P(lp), at, len);
}

static int on_url_complete(llhttp_t *lp)
{
    return head_nul(P(lp));
}

/* Trailers and chunk extensions are not kept but count against the body
 * limit, so a client cannot stream them forever. */
static int extra_bytes(struct nu_hparser *p, size_t len)
{
    p->extra_bytes += len;
    if (p->blen + p->extra_bytes > p->max_body_bytes)
        return fail(p, 413);
    return 0;
}

static int start_header(struct nu_hparser *p)
{
    if (p->hstate == 2 && head_nul(p))
        return -1;
    if (p->nhdr >= p->max_headers)
        return fail(p, 431);
    if (p->nhdr * 2 + 2 > p->hoff_cap) {
        size_t n = p->hoff_cap ? p->hoff_cap * 2 : 32;
        uint32_t *no = realloc(p->hoff, n * sizeof(*no));
        if (!no)
            return fail(p, 431);
        p->hoff = no;
        p->hoff_cap = n;
    }
    p->hoff[p->nhdr * 2] = (uint32_t)p->hlen;
    p->hoff[p->nhdr * 2 + 1] = 0;
    p->nhdr++;
    p->hstate = 1;
    return 0;
}

static int on_header_field(llhttp_t *lp, const char *at, size_t len)
{
    struct nu_hparser *p = P(lp);
    if (!p->in_head)
        return extra_bytes(p, len);
    if (p->hstate != 1 && start_header(p))
        return -1;
    return head_append(p, at, len);
}

static int on_header_field_complete(llhttp_t *lp)
{
    struct nu_hparser *p = P(lp);
    if (!p->in_head)
        return 0;
    /* nu_hlines_check refuses ": x" first; this keeps hoff in bounds. */
    if (p->hstate != 1)
        return fail_why(p, 400, "header line has no name before the colon");
    if (head_nul(p))
        return -1;
    p->hoff[(p->nhdr - 1) * 2 + 1] = (uint32_t)p->hlen;
    p->hstate = 2;
    return 0;
}

static int on_header_value(llhttp_t *lp, const char *at, size_t len)
{
    struct nu_hparser *p = P(lp);
    if (!p->in_head)
        return extra_bytes(p, len);
    return head_append(p, at, len);
}

static int on_header_value_complete(llhttp_t *lp)
{
    struct nu_hparser *p = P(lp);
    if (!p->in_head || p->hstate != 2)
        return 0;
    p->hstate = 0;
    /* llhttp keeps trailing whitespace; it is not part of the value. */
    size_t start = p->hoff[(p->nhdr - 1) * 2 + 1];
    while (p->hlen > start && (p->hbuf[p->hlen - 1] == ' ' || p->hbuf[p->hlen - 1] == '\t'))
        p->hlen--;
    return head_nul(p);
}

static bool wants_continue(struct nu_hparser *p)
{
    for (size_t i = 0; i < p->nhdr; i++) {
        const char *name = p->hbuf + p->hoff[i * 2];
        if (strcasecmp(name, "expect") == 0)
            return strcasecmp(p->hbuf + p->hoff[i * 2 + 1], "100-continue") == 0;
    }
    return false;
}

static int on_headers_complete(llhttp_t *lp)
{
    struct nu_hparser *p = P(lp);
    if (p->hstate == 2 && head_nul(p))
        return -1;
    p->hstate = 0;
    p->in_head = false;
    const char *why;
    int status = nu_hhead_check(p, &why);
    if (status)
        return fail_why(p, status, why);
    if ((lp->flags & F_CONTENT_LENGTH) && lp->content_length > p->max_body_bytes)
        return fail(p, 413);
    bool has_body = (lp->flags & F_CHUNKED) || lp->content_length > 0;
    if (p->ops && p->ops->on_head)
        p->ops->on_head(p->owner, has_body);
    if (has_body && lp->http_major == 1 && lp->http_minor >= 1 && wants_continue(p) && p->ops &&
        p->ops->on_continue)
        p->ops->on_continue(p->owner);
    return 0;
}

static int on_chunk_header(llhttp_t *lp)
{
    struct nu_hparser *p = P(lp);
    /* Refuse an announced chunk that cannot fit before reading it. */
    if (lp->content_length > p->max_body_bytes - p->blen)
        return fail(p, 413);
    /* The last chunk: stop so nu_hparser_feed checks the trailer lines. */
    if (lp->content_length == 0) {
        p->trailers_next = true;
        return HPE_PAUSED;
    }
    return 0;
}

static int on_chunk_ext(llhttp_t *lp, const char *at, size_t len)
{
    return extra_bytes(P(lp), len);
}

static int on_body(llhttp_t *lp, const char *at, size_t len)
{
    struct nu_hparser *p = P(lp);
    if (len > p->max_body_bytes - p->blen)
        return fail(p, 413);
    if (grow(&p->body, &p->bcap, p->blen + len + 1, BODY_BUF_MIN, p->max_body_bytes + 1))
        return fail(p, 413);
    memcpy(p->body + p->blen, at, len);
    p->blen += len;
    return 0;
}

static int on_message_complete(llhttp_t *lp)
{
    struct nu_hparser *p = P(lp);
    p->complete = true;
    p->keep_alive = llhttp_should_keep_alive(lp);
    p->upgrade = lp->upgrade;
    /* One request at a time: stop here until the answer is written. */
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_ext,
    .on_chunk_extension_value = on_chunk_ext,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void nu_httpd_opts_fill(struct nu_httpd_opts *dst, const struct nu_httpd_opts *src)
{
    struct nu_httpd_opts d;
    nu_httpd_opts_init(&d);
    *dst = src ? *src : d;
#define DEF(f)                                                                                     \
    if (!dst->f)                                                                                   \
    dst->f = d.f
    DEF(host);
    DEF(max_header_bytes);
    DEF(max_body_bytes);
    DEF(header_timeout_ms);
    DEF(body_timeout_ms);
    DEF(keepalive_ms);
    DEF(write_timeout_ms);
    DEF(max_unsent_bytes);
    DEF(max_connections);
    DEF(max_headers);
    DEF(backlog);
#undef DEF
    /* Offsets into the head buffer are 32-bit. */
    if (dst->max_header_bytes > (1u << 30))
        dst->max_header_bytes = 1u << 30;
}

void nu_hparser_init(struct nu_hparser *p, const struct nu_httpd_opts *o,
                     const struct nu_hparser_ops *ops, void *owner)
{
    memset(p, 0, sizeof(*p));
    llhttp_init(&p->lp, HTTP_REQUEST, &settings);
    /* Off by default; said here so nobody turns one on in passing. */
    llhttp_set_lenient_headers(&p->lp, 0);
    llhttp_set_lenient_chunked_length(&p->lp, 0);
    llhttp_set_lenient_keep_alive(&p->lp, 0);
    llhttp_set_lenient_transfer_encoding(&p->lp, 0);
    nu_hlines_begin(&p->lines);
    p->lp.data = p;
    p->max_header_bytes = o->max_header_bytes;
    p->max_body_bytes = o->max_body_bytes;
    p->max_headers = o->max_headers;
    p->ops = ops;
    p->owner = owner;
}

void nu_hparser_release(struct nu_hparser *p)
{
    if (!p)
        return;
    free(p->hbuf);
    free(p->hoff);
    free(p->hdrs);
    free(p->body);
    p->hbuf = p->body = NULL;
    p->hoff = NULL;
    p->hdrs = NULL;
    p->hcap = p->bcap = p->hoff_cap = p->hdrs_cap = 0;
}

/* Runs llhttp over [data, end) after the line checks; returns at the
 * end, at a complete request, at an error, or past the last chunk's size
 * line (then *at says where to go on, with the trailer lines checked). */
static llhttp_errno_t execute(struct nu_hparser *p, const char *data, const char *end,
                              const char **at)
{
    const char *why = nu_hlines_check(&p->lines, data, end);
    if (why) {
        fail_why(p, 400, why);
        return HPE_USER;
    }
    p->feed_base = data;
    llhttp_errno_t err = llhttp_execute(&p->lp, data, (size_t)(end - data));
    if (err == HPE_PAUSED && p->trailers_next) {
        p->trailers_next = false;
        *at = llhttp_get_error_pos(&p->lp);
        llhttp_resume(&p->lp);
        nu_hlines_trailers(&p->lines);
    }
    return err;
}

size_t nu_hparser_buffer_bytes(const struct nu_hparser *p)
{
    return p->hcap + p->bcap + p->hoff_cap * sizeof(*p->hoff) + p->hdrs_cap * sizeof(*p->hdrs);
}

enum nu_hparse_ev nu_hparser_feed(struct nu_hparser *p, const char *data, size_t len,
                                  size_t *consumed)
{
    const char *from = data, *next = NULL, *end = data + len;
    llhttp_errno_t err = execute(p, from, end, &next);
    while (next) { /* past the head: head_bytes needs no update */
        from = next;
        next = NULL;
        err = execute(p, from, end, &next);
    }
    *consumed = len;
    if (err == HPE_OK) {
        if (p->in_head) {
            p->head_bytes += len;
            if (p->head_bytes > p->max_header_bytes) {
                fail(p, 431);
                return NU_HP_ERROR;
            }
        }
        return NU_HP_MORE;
    }
    if ((err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) && p->complete) {
        *consumed = (size_t)(llhttp_get_error_pos(&p->lp) - data);
        return NU_HP_REQUEST;
    }
    if (!p->err_status) {
        const char *why = llhttp_get_error_reason(&p->lp);
        fail_why(p, 400, why ? why : "malformed request");
        lower_first_word(p->err_detail);
    }
    return NU_HP_ERROR;
}

int nu_hparser_fill(struct nu_hparser *p, struct nu_http_req *req)
{
    /* The url is the first string in hbuf; path is a copy without the query. */
    size_t ulen = strlen(p->hbuf);
    const char *q = memchr(p->hbuf, '?', ulen);
    p->path_off = 0;
    if (q) {
        size_t plen = (size_t)(q - p->hbuf);
        if (grow(&p->hbuf, &p->hcap, p->hlen + plen + 1, HEAD_BUF_MIN, SIZE_MAX))
            return NU_ENOMEM;
        memcpy(p->hbuf + p->hlen, p->hbuf, plen);
        p->hbuf[p->hlen + plen] = '\0';
        p->path_off = (uint32_t)p->hlen;
        p->hlen += plen + 1;
    }
    if (p->nhdr > p->hdrs_cap) {
        struct nu_http_header *nh = realloc(p->hdrs, p->nhdr * sizeof(*nh));
        if (!nh)
            return NU_ENOMEM;
        p->hdrs = nh;
        p->hdrs_cap = p->nhdr;
    }
    for (size_t i = 0; i < p->nhdr; i++) {
        p->hdrs[i].name = p->hbuf + p->hoff[i * 2];
        p->hdrs[i].value = p->hbuf + p->hoff[i * 2 + 1];
    }
    if (p->body)
        p->body[p->blen] = '\0';
    req->method = llhttp_method_name((llhttp_method_t)p->lp.method);
    req->url = p->hbuf;
    req->path = p->hbuf + p->path_off;
    req->http_major = p->lp.http_major;
    req->http_minor = p->lp.http_minor;
    req->headers = p->hdrs;
    req->nheaders = p->nhdr;
    req->body = p->body ? p->body : "";
    req->body_len = p->blen;
    req->keep_alive = p->keep_alive;
    req->start_ns = p->start_ns;
    req->ud = NULL;
    return 0;
}

void nu_hparser_next(struct nu_hparser *p)
{
    if (p->hcap > KEEP_BUF_MAX) {
        free(p->hbuf);
        p->hbuf = NULL;
        p->hcap = 0;
    }
    if (p->bcap > KEEP_BUF_MAX) {
        free(p->body);
        p->body = NULL;
        p->bcap = 0;
    }
    p->hlen = p->nhdr = p->blen = p->extra_bytes = p->head_bytes = 0;
    p->hstate = 0;
    p->path_off = 0;
    p->err_status = 0;
    p->err_detail[0] = '\0';
    nu_hlines_begin(&p->lines);
    p->in_head = p->started = p->complete = p->keep_alive = p->upgrade = p->trailers_next = false;
    if (llhttp_get_errno(&p->lp) == HPE_PAUSED)
        llhttp_resume(&p->lp);
}

bool nu_hparser_midrequest(const struct nu_hparser *p)
{
    return p->started && !p->complete;
}

const char *nu_http_req_header(const struct nu_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}
