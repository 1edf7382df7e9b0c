/* HTTP requests for the stores (see snaphttp.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <curl/curl.h>

#include "chunker.h"
#include "snaphttp.h"

#ifndef NU_VERSION
#define NU_VERSION "dev"
#endif

struct snap_http {
    CURL *curl;
};

struct xfer {
    CURL *curl;
    const struct snap_http_req *rq;
    struct snap_http_resp *rs;
    struct nu_buf err; /* error bodies */
    const uint8_t *up;
    size_t up_left;
    uint64_t base; /* file offset of the first body byte */
    bool checked, ok_status, toobig, io_err;
};

int snap_http_new(struct snap_http **out, char *errbuf)
{
    struct snap_http *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
        free(h);
        return nu_err_set(errbuf, NU_ENOMEM, "cannot create a curl handle");
    }
    *out = h;
    return 0;
}

void snap_http_free(struct snap_http *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int snap_url_encode(const char *s, bool keep_slash, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            if (n + 1 >= outsz)
                return NU_ETOOBIG;
            out[n++] = (char)c;
        } else {
            if (n + 3 >= outsz)
                return NU_ETOOBIG;
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (n >= outsz)
        return NU_ETOOBIG;
    out[n] = '\0';
    return 0;
}

static bool status_ok(struct xfer *x)
{
    if (!x->checked) {
        x->checked = true;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->rs->status);
        x->ok_status = x->rs->status >= 200 && x->rs->status < 300;
    }
    return x->ok_status;
}

static int write_fd(struct xfer *x, const char *data, size_t n)
{
    /* A server that ignores Range sends the whole object: start over. */
    if (x->rs->received == 0 && x->rq->has_range && x->rs->status == 200) {
        x->base = 0;
        if (ftruncate(x->rq->fd, 0) < 0)
            return -1;
    }
    uint64_t off = x->base + x->rs->received;
    while (n > 0) {
        ssize_t w = pwrite(x->rq->fd, data, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        data += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!status_ok(x)) {
        size_t room = x->err.max > x->err.len ? x->err.max - x->err.len : 0;
        if (nu_buf_append(&x->err, data, n < room ? n : room) < 0)
            return 0;
        return n;
    }
    if (x->rq->fd >= 0) {
        if (write_fd(x, data, n) < 0) {
            x->io_err = true;
            return 0;
        }
    } else if (x->rq->out != NULL) {
        size_t have = x->rs->received, room = x->rq->max > have ? x->rq->max - have : 0;
        if (n > room && !x->rq->truncate_ok) {
            x->toobig = true;
            return 0;
        }
        if (nu_buf_append(x->rq->out, data, n < room ? n : room) < 0) {
            x->toobig = true;
            return 0;
        }
    }
    x->rs->received += n;
    if (x->rq->progress != NULL)
        atomic_fetch_add(x->rq->progress, n);
    return n;
}

static uint64_t parse_u64(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    return errno != 0 || end == s ? UINT64_MAX : (uint64_t)v;
}

/* Content-Length, Content-Range's total and ETag. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    char line[256];
    size_t len = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, data, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "HTTP/", 5) == 0) {
        x->rs->content_length = x->rs->range_total = UINT64_MAX;
        x->rs->etag[0] = '\0';
    } else if (strncasecmp(line, "content-length:", 15) == 0) {
        x->rs->content_length = parse_u64(line + 15 + strspn(line + 15, " "));
    } else if (strncasecmp(line, "content-range:", 14) == 0) {
        const char *slash = strrchr(line, '/');
        if (slash != NULL)
            x->rs->range_total = parse_u64(slash + 1);
    } else if (strncasecmp(line, "etag:", 5) == 0) {
        const char *v = line + 5 + strspn(line + 5, " \"");
        snprintf(x->rs->etag, sizeof(x->rs->etag), "%.*s", (int)strcspn(v, "\""), v);
    }
    return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb < x->up_left ? size * nmemb : x->up_left;
    memcpy(buf, x->up, n);
    x->up += n;
    x->up_left -= n;
    return n;
}

/* SigV4 by libcurl. The payload hash header is ours: curl 7.88 does not
 * add x-amz-content-sha256, which S3 requires. */
static int sign(CURL *c, const struct snap_http_req *rq, struct curl_slist **hdrs)
{
    char line[SNAP_SECRET_LINE_MAX], hex[SNAP_SHA256_HEX], provider[128];
    uint8_t sha[SNAP_SHA256_LEN];
    nu_sha256(rq->body != NULL ? rq->body : "", rq->body != NULL ? rq->body_len : 0, sha);
    snap_hex(sha, sizeof(sha), hex);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hex);
    struct curl_slist *n = curl_slist_append(*hdrs, line);
    if (n == NULL)
        return NU_ENOMEM;
    *hdrs = n;
    if (rq->session_token != NULL && rq->session_token[0] != '\0') {
        snprintf(line, sizeof(line), "x-amz-security-token: %s", rq->session_token);
        if ((n = curl_slist_append(*hdrs, line)) == NULL)
            return NU_ENOMEM;
        *hdrs = n;
    }
    snprintf(provider, sizeof(provider), "aws:amz:%s:s3", rq->region);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, provider);
    curl_easy_setopt(c, CURLOPT_USERNAME, rq->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, rq->secret_key);
    return 0;
}

static int setup(CURL *c, const struct snap_http_req *rq, struct xfer *x, struct curl_slist **hdrs,
                 char *range, size_t rangesz)
{
    bool signed_req = rq->access_key != NULL && rq->access_key[0] != '\0';
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)SNAP_HTTP_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)SNAP_HTTP_LOW_SPEED_S);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "nearup/" NU_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    /* A CDN may redirect; a signed request would not survive one. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, signed_req ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        if ((*hdrs = curl_slist_append(*hdrs, "Expect:")) == NULL)
            return NU_ENOMEM;
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    if (rq->has_range) {
        snprintf(range, rangesz, "%llu-%llu", (unsigned long long)rq->range_from,
                 (unsigned long long)rq->range_to);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    if (signed_req && sign(c, rq, hdrs) < 0)
        return NU_ENOMEM;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return 0;
}

static void s3_error(struct xfer *x)
{
    const char *b = x->err.data, *e = b ? b + x->err.len : NULL;
    const char *s, *t;
    if (b == NULL)
        return;
    if ((s = strstr(b, "<Code>")) != NULL && (t = strstr(s, "</Code>")) != NULL && t < e)
        snprintf(x->rs->s3_code, sizeof(x->rs->s3_code), "%.*s", (int)(t - s - 6), s + 6);
    if ((s = strstr(b, "<Message>")) != NULL && (t = strstr(s, "</Message>")) != NULL && t < e)
        snprintf(x->rs->s3_message, sizeof(x->rs->s3_message), "%.*s", (int)(t - s - 9), s + 9);
}

int snap_http_do(struct snap_http *h, const struct snap_http_req *rq, struct snap_http_resp *rs,
                 char *errbuf)
{
    struct xfer x = {.curl = h->curl, .rq = rq, .rs = rs, .up = rq->body, .up_left = rq->body_len};
    struct curl_slist *hdrs = NULL;
    char range[64];
    memset(rs, 0, sizeof(*rs));
    rs->content_length = rs->range_total = UINT64_MAX;
    nu_buf_init(&x.err, SNAP_HTTP_ERRBODY_MAX);
    curl_easy_reset(h->curl); /* options only: the connection stays open */
    int rc = setup(h->curl, rq, &x, &hdrs, range, sizeof(range));
    CURLcode cc = rc == 0 ? curl_easy_perform(h->curl) : CURLE_OUT_OF_MEMORY;
    (void)status_ok(&x);
    if (rc < 0)
        rc = nu_err_set(errbuf, rc, "out of memory");
    else if (x.io_err)
        rc = nu_err_set(errbuf, NU_EIO, "%s: write: %s", rq->url, strerror(errno));
    else if (x.toobig)
        rc = nu_err_set(errbuf, NU_ETOOBIG, "%s: answer larger than %zu bytes", rq->url, rq->max);
    else if (cc != CURLE_OK)
        rc = nu_err_set(errbuf, NU_ENET, "%s %s: %s", rq->method, rq->url, curl_easy_strerror(cc));
    if (rc == 0 && !x.ok_status)
        s3_error(&x);
    curl_slist_free_all(hdrs);
    nu_buf_release(&x.err);
    return rc;
}

int snap_http_status_err(const struct snap_http_resp *rs, const char *what, char *errbuf)
{
    if (rs->status >= 200 && rs->status < 300)
        return 0;
    int code = rs->status == 404                        ? NU_ENOENT
               : rs->status == 401 || rs->status == 403 ? NU_EPERM
                                                        : NU_EHTTP;
    if (rs->s3_code[0] != '\0')
        return nu_err_set(errbuf, code, "%s: HTTP %ld %s: %s", what, rs->status, rs->s3_code,
                          rs->s3_message);
    if (code == NU_EPERM)
        return nu_err_set(errbuf, code,
                          "%s: HTTP %ld: access denied (check the credentials and "
                          "the bucket's policy)",
                          what, rs->status);
    return nu_err_set(errbuf, code, "%s: HTTP %ld", what, rs->status);
}
