/* The blocking HTTP client over libcurl's easy interface (see httpc.h):
 * nu_http_get/post/download make one curl handle per call, nu_httpc_do
 * uses the caller's kept handle; calls from several threads are
 * independent once nu_httpc_global_init has run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include "fs.h"
#include "httpc.h"
#include "lazylib.h"

#ifndef NU_VERSION
#define NU_VERSION "dev"
#endif

/* State shared with curl's callbacks during one transfer. */
struct xfer {
    CURL *curl;
    const struct nu_httpc_opts *o;
    struct nu_buf *buf; /* memory transfers */
    int fd;             /* downloads */
    uint64_t base;      /* bytes already in the file before this transfer */
    uint64_t got;       /* bytes received in this transfer */
    uint64_t max;
    long status;
    CURLcode rc;
    bool checked, toobig, http_err, io_err, aborted;
    int io_errno;
};

void nu_httpc_opts_init(struct nu_httpc_opts *o)
{
    *o = (struct nu_httpc_opts){
        .connect_timeout_ms = 10000,
        .low_speed_bytes = 1,
        .low_speed_secs = 60,
        .max_bytes = 64ull * 1024 * 1024,
    };
}

/* The CA certificates TLS trusts: libcurl's built-in bundle, or the file
 * and directory named by SSL_CERT_FILE / SSL_CERT_DIR (OpenSSL's variables,
 * which the event-loop client honours through OpenSSL itself; libcurl does
 * not read them). Read when libcurl is initialised, before any thread. */
static const char *ca_file, *ca_dir;

static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int nu_httpc_global_init(void)
{
    if (nu_lazylib_load(&nu_libcurl, NULL) != 0) /* libcurl is loaded on first use */
        return NU_EIO;
    ca_file = env_path("SSL_CERT_FILE");
    ca_dir = env_path("SSL_CERT_DIR");
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : NU_ENET;
}

void nu_httpc_global_cleanup(void)
{
    curl_global_cleanup();
}

/* The first body byte is where the final status is known: a non-2xx body
 * is not stored in a download, and should a 200 to a Range request get
 * through (curl normally refuses it, see nu_http_download) the file restarts. */
static int check_status(struct xfer *x)
{
    if (x->checked)
        return 0;
    x->checked = true;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->fd < 0)
        return 0;
    if (x->status < 200 || x->status > 299) {
        x->http_err = true;
        return -1;
    }
    if (x->base > 0 && x->status != 206) {
        if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0) {
            x->io_err = true;
            x->io_errno = errno;
            return -1;
        }
        x->base = 0;
    }
    return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (check_status(x) != 0)
        return 0;
    if (x->max && x->base + x->got + n > x->max) {
        x->toobig = true;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (x->fd >= 0) {
        if (nu_pwrite_all(x->fd, ptr, n, x->base + x->got) != 0) {
            x->io_err = true;
            x->io_errno = errno;
            return 0;
        }
    } else {
        int err = nu_buf_append(x->buf, ptr, n);
        if (err) {
            x->toobig = err == NU_ETOOBIG;
            x->io_err = err != NU_ETOOBIG;
            return 0;
        }
    }
    x->got += n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = ud;
    uint64_t total = dltotal > 0 ? x->base + (uint64_t)dltotal : 0;
    if (x->o->progress(x->o->progress_ud, x->base + (uint64_t)dlnow, total) != 0) {
        x->aborted = true;
        return 1;
    }
    return 0;
}

/* Appends "Name: value" lines to *hdrs. */
static int add_headers(struct curl_slist **hdrs, const char *const *lines)
{
    for (size_t i = 0; lines && lines[i]; i++) {
        struct curl_slist *n = curl_slist_append(*hdrs, lines[i]);
        if (!n)
            return NU_ENOMEM;
        *hdrs = n;
    }
    return 0;
}

/* What every request sets: http(s) only (redirects too), no signals, the
 * timeouts, the user agent, the CA certificates. */
static int base_setup(CURL *c, const char *url, long connect_ms, long low_bytes, long low_secs,
                      bool follow)
{
    int rc = curl_easy_setopt(c, CURLOPT_URL, url);
    rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    rc |= curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)NU_HTTPC_MAX_REDIRS);
    rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    rc |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, low_bytes);
    rc |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_secs);
    rc |= curl_easy_setopt(c, CURLOPT_USERAGENT, "nearup/" NU_VERSION);
    if (ca_file != NULL)
        rc |= curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    if (ca_dir != NULL)
        rc |= curl_easy_setopt(c, CURLOPT_CAPATH, ca_dir);
    return rc == CURLE_OK ? 0 : NU_EINVAL;
}

static int setup(struct xfer *x, const char *url, struct curl_slist **hdrs, char *curlerr)
{
    const struct nu_httpc_opts *o = x->o;
    CURL *c = x->curl;
    if (add_headers(hdrs, o->headers) != 0)
        return NU_ENOMEM;
    curlerr[0] = '\0';
    int rc = base_setup(c, url, o->connect_timeout_ms, o->low_speed_bytes, o->low_speed_secs, true);
    rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (*hdrs)
        rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    if (x->max)
        rc |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
    if (o->progress) {
        rc |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        rc |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
        rc |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    return rc == CURLE_OK ? 0 : NU_EINVAL;
}

/* Maps the outcome of one transfer to an NU_E* code and message. */
static int outcome(struct xfer *x, CURLcode rc, const char *what, const char *url,
                   const char *curlerr, char *errbuf)
{
    if (!x->checked)
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->toobig || rc == CURLE_FILESIZE_EXCEEDED)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s %s: response larger than %llu bytes", what, url,
                          (unsigned long long)x->max);
    if (x->io_err)
        return nu_err_set(errbuf, NU_EIO, "%s %s: write: %s", what, url,
                          x->io_errno ? strerror(x->io_errno) : "out of memory");
    if (x->aborted)
        return nu_err_set(errbuf, NU_ENET, "%s %s: aborted by the progress callback", what, url);
    if (rc != CURLE_OK && !x->http_err)
        return nu_err_set(errbuf, NU_ENET, "%s %s: %s", what, url,
                          curlerr[0] ? curlerr : curl_easy_strerror(rc));
    if (x->status < 200 || x->status > 299)
        return nu_err_set(errbuf, NU_EHTTP, "%s %s: HTTP %ld", what, url, x->status);
    return 0;
}

/* Final progress report, so the caller always sees done == total. */
static int report_done(struct xfer *x)
{
    if (!x->o->progress)
        return 0;
    uint64_t n = x->base + x->got;
    return x->o->progress(x->o->progress_ud, n, n);
}

static int transfer(const char *what, const char *url, const struct nu_httpc_opts *o,
                    struct xfer *x, const char *ctype, const void *data, size_t len, char *errbuf)
{
    char curlerr[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    int err;
    x->curl = curl_easy_init();
    if (!x->curl)
        return nu_err_set(errbuf, NU_ENOMEM, "%s %s: cannot create a curl handle", what, url);
    if (ctype) {
        char h[256];
        snprintf(h, sizeof(h), "Content-Type: %s", ctype);
        struct curl_slist *n = curl_slist_append(NULL, h);
        if (!n) {
            err = nu_err_set(errbuf, NU_ENOMEM, "%s %s: out of memory", what, url);
            goto out;
        }
        hdrs = n;
    }
    if ((err = setup(x, url, &hdrs, curlerr)) != 0) {
        err = nu_err_set(errbuf, err, "%s %s: cannot set up the request", what, url);
        goto out;
    }
    if (data) {
        curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (x->base > 0)
        curl_easy_setopt(x->curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->base);
    x->rc = curl_easy_perform(x->curl);
    err = outcome(x, x->rc, what, url, curlerr, errbuf);
    if (!err && report_done(x) != 0)
        err = nu_err_set(errbuf, NU_ENET, "%s %s: aborted by the progress callback", what, url);
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(x->curl);
    x->curl = NULL;
    return err;
}

int nu_http_get(const char *url, const struct nu_httpc_opts *o, struct nu_buf *body, long *status,
                char *errbuf)
{
    struct nu_httpc_opts def;
    if (!o) {
        nu_httpc_opts_init(&def);
        o = &def;
    }
    struct xfer x = {.o = o, .buf = body, .fd = -1, .max = o->max_bytes};
    int err = transfer("GET", url, o, &x, NULL, NULL, 0, errbuf);
    if (status)
        *status = x.status;
    return err;
}

int nu_http_post(const char *url, const struct nu_httpc_opts *o, const char *content_type,
                 const void *data, size_t len, struct nu_buf *resp, long *status, char *errbuf)
{
    struct nu_httpc_opts def;
    if (!o) {
        nu_httpc_opts_init(&def);
        o = &def;
    }
    struct xfer x = {.o = o, .buf = resp, .fd = -1, .max = o->max_bytes};
    int err = transfer("POST", url, o, &x, content_type, data ? data : "", len, errbuf);
    if (status)
        *status = x.status;
    return err;
}

/* Durably moves the finished .part into place. */
static int commit_part(int fd, const char *part, const char *dest, char *errbuf)
{
    if (fsync(fd) != 0)
        return nu_err_set(errbuf, NU_EIO, "fsync %s: %s", part, strerror(errno));
    if (rename(part, dest) != 0)
        return nu_err_set(errbuf, NU_EIO, "rename %s: %s", part, strerror(errno));
    char dir[4096];
    const char *slash = strrchr(dest, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dest)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dest), dest);
    return nu_fs_fsync_dir(dir, errbuf);
}

int nu_http_download(const char *url, const char *dest, const struct nu_httpc_opts *o, char *errbuf)
{
    struct nu_httpc_opts def;
    if (!o) {
        nu_httpc_opts_init(&def);
        o = &def;
    }
    char part[4096];
    if ((size_t)snprintf(part, sizeof(part), "%s.part", dest) >= sizeof(part))
        return nu_err_set(errbuf, NU_EINVAL, "download: path too long: %s", dest);
    int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC | (o->resume ? 0 : O_TRUNC), 0644);
    if (fd < 0)
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", part, strerror(errno));
    int err = 0;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0) {
        err = nu_err_set(errbuf, NU_EIO, "seek %s: %s", part, strerror(errno));
        goto out;
    }
    struct xfer x = {.o = o, .fd = fd, .base = (uint64_t)end, .max = o->max_download_bytes};
    err = transfer("GET", url, o, &x, NULL, NULL, 0, errbuf);
    /* curl refuses a 200 to a Range request, and 416 means the part is not
     * a prefix of what the server has now: start over from zero, once. */
    if (end > 0 && (x.rc == CURLE_RANGE_ERROR || (err == NU_EHTTP && x.status == 416))) {
        struct xfer y = {.o = o, .fd = fd, .max = o->max_download_bytes};
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
            err = nu_err_set(errbuf, NU_EIO, "truncate %s: %s", part, strerror(errno));
            goto out;
        }
        err = transfer("GET", url, o, &y, NULL, NULL, 0, errbuf);
    }
    if (!err)
        err = commit_part(fd, part, dest, errbuf);
out:
    close(fd);
    return err;
}

/* ---- requests on a kept handle ---- */

struct nu_httpc {
    CURL *curl;
};

/* State shared with curl's callbacks during one nu_httpc_do. */
struct rxfer {
    CURL *curl;
    const struct nu_httpc_req *rq;
    struct nu_httpc_resp *rs;
    const uint8_t *up; /* what is left of the body to send */
    size_t up_left;
    uint64_t base; /* file offset of the first body byte */
    bool checked, ok_status, toobig, io_err;
    int io_errno;
};

int nu_httpc_new(struct nu_httpc **out, char *errbuf)
{
    struct nu_httpc *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
        free(h);
        return nu_err_set(errbuf, NU_ENOMEM, "cannot create a curl handle");
    }
    *out = h;
    return 0;
}

void nu_httpc_free(struct nu_httpc *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

static bool rx_status_ok(struct rxfer *x)
{
    if (!x->checked) {
        x->checked = true;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->rs->status);
        x->ok_status = x->rs->status >= 200 && x->rs->status < 300;
    }
    return x->ok_status;
}

static int rx_write_fd(struct rxfer *x, const char *data, size_t n)
{
    /* A server that ignores Range sends the whole object: start over. */
    if (x->rs->received == 0 && x->rq->has_range && x->rs->status == 200) {
        x->base = 0;
        if (ftruncate(x->rq->fd, 0) < 0)
            return -1;
    }
    return nu_pwrite_all(x->rq->fd, data, n, x->base + x->rs->received);
}

static void keep_err_body(struct nu_httpc_resp *rs, const char *data, size_t n)
{
    size_t room = NU_HTTPC_ERRBODY_MAX - rs->err_len;
    size_t k = n < room ? n : room;
    memcpy(rs->err_body + rs->err_len, data, k);
    rs->err_len += k;
    rs->err_body[rs->err_len] = '\0';
}

static size_t rx_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct rxfer *x = ud;
    size_t n = size * nmemb;
    if (!rx_status_ok(x)) {
        keep_err_body(x->rs, data, n);
        return n;
    }
    if (x->rq->fd >= 0) {
        if (rx_write_fd(x, data, n) < 0) {
            x->io_err = true;
            x->io_errno = errno;
            return 0;
        }
    } else if (x->rq->out != NULL) {
        size_t have = x->rs->received, room = x->rq->max > have ? x->rq->max - have : 0;
        if ((n > room && !x->rq->truncate_ok) ||
            nu_buf_append(x->rq->out, data, n < room ? n : room) < 0) {
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

/* Content-Length, Content-Range's total and ETag of the last answer. */
static size_t rx_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct rxfer *x = ud;
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

static size_t rx_upload(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct rxfer *x = ud;
    size_t n = size * nmemb < x->up_left ? size * nmemb : x->up_left;
    memcpy(buf, x->up, n);
    x->up += n;
    x->up_left -= n;
    return n;
}

/* The method's options: no body for HEAD, an upload for PUT. */
static int rx_method(CURL *c, const struct nu_httpc_req *rq, struct rxfer *x,
                     struct curl_slist **hdrs)
{
    int rc = 0;
    if (strcmp(rq->method, "HEAD") == 0) {
        rc |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "PUT") == 0) {
        rc |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        rc |= curl_easy_setopt(c, CURLOPT_READFUNCTION, rx_upload);
        rc |= curl_easy_setopt(c, CURLOPT_READDATA, x);
        rc |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        if ((*hdrs = curl_slist_append(*hdrs, "Expect:")) == NULL)
            return NU_ENOMEM;
    } else if (strcmp(rq->method, "POST") == 0) {
        rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "GET") != 0) {
        rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    return rc == CURLE_OK ? 0 : NU_EINVAL;
}

static int rx_setup(CURL *c, const struct nu_httpc_req *rq, struct rxfer *x,
                    struct curl_slist **hdrs, char *range, size_t rangesz)
{
    bool signed_req = rq->sigv4 != NULL && rq->sigv4[0] != '\0';
    int rc = base_setup(c, rq->url, NU_HTTPC_CONNECT_MS, NU_HTTPC_LOW_SPEED, NU_HTTPC_LOW_SPEED_S,
                        !signed_req);
    rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rx_body);
    rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    rc |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, rx_header);
    rc |= curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    rc |= curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)NU_HTTPC_RECV_BUFFER);
    rc |= curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, (long)NU_HTTPC_SEND_BUFFER);
    if (rc == 0)
        rc = rx_method(c, rq, x, hdrs);
    if (rc == 0 && rq->has_range) {
        snprintf(range, rangesz, "%llu-%llu", (unsigned long long)rq->range_from,
                 (unsigned long long)rq->range_to);
        rc |= curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    if (rc == 0 && signed_req) {
        rc |= curl_easy_setopt(c, CURLOPT_AWS_SIGV4, rq->sigv4);
        rc |= curl_easy_setopt(c, CURLOPT_USERNAME, rq->user ? rq->user : "");
        rc |= curl_easy_setopt(c, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (rc == 0 && add_headers(hdrs, rq->headers) != 0)
        return NU_ENOMEM;
    if (rc == 0)
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs) == CURLE_OK ? 0 : NU_EINVAL;
    return rc == 0 ? 0 : rc < 0 ? rc : NU_EINVAL;
}

int nu_httpc_do(struct nu_httpc *h, const struct nu_httpc_req *rq, struct nu_httpc_resp *rs,
                char *errbuf)
{
    struct rxfer x = {.curl = h->curl,
                      .rq = rq,
                      .rs = rs,
                      .up = rq->body,
                      .up_left = rq->body_len,
                      .base = rq->fd_off};
    struct curl_slist *hdrs = NULL;
    char range[64];
    memset(rs, 0, sizeof(*rs));
    rs->content_length = rs->range_total = UINT64_MAX;
    curl_easy_reset(h->curl); /* options only: the connection stays open */
    int rc = rx_setup(h->curl, rq, &x, &hdrs, range, sizeof(range));
    CURLcode cc = rc == 0 ? curl_easy_perform(h->curl) : CURLE_OK;
    (void)rx_status_ok(&x);
    if (rc == NU_ENOMEM)
        rc = nu_err_set(errbuf, rc, "out of memory");
    else if (rc < 0)
        rc = nu_err_set(errbuf, rc, "%s %s: libcurl refused the request", rq->method, rq->url);
    else if (x.io_err)
        rc = nu_err_set(errbuf, NU_EIO, "%s: write: %s", rq->url, strerror(x.io_errno));
    else if (x.toobig)
        rc = nu_err_set(errbuf, NU_ETOOBIG, "%s: answer larger than %zu bytes", rq->url, rq->max);
    else if (cc != CURLE_OK)
        rc = nu_err_set(errbuf, NU_ENET, "%s %s: %s", rq->method, rq->url, curl_easy_strerror(cc));
    curl_slist_free_all(hdrs);
    return rc;
}
