/* The blocking HTTP client, over libcurl: small GET/POST into memory,
 * resumable downloads to a file, and requests of any method on a kept
 * handle (keep-alive, ranges, bodies streamed to a file descriptor, SigV4
 * by libcurl) for the snapshot stores. Blocking; call from worker threads
 * or CLI code, never from an event-loop callback (that is hclient.h). */
#ifndef NU_HTTPC_H
#define NU_HTTPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"

/* Progress callback: return non-zero to abort the transfer. */
typedef int (*nu_httpc_progress_fn)(void *ud, uint64_t done, uint64_t total);

struct nu_httpc_opts {
    long connect_timeout_ms;     /* default 10000 */
    long timeout_ms;             /* whole transfer; 0 = none. default 0 */
    long low_speed_bytes;        /* abort when below this rate ... */
    long low_speed_secs;         /* ... for this long (default 1 byte/s for 60 s) */
    uint64_t max_bytes;          /* NU_ETOOBIG beyond; default 64 MiB for memory GETs */
    uint64_t max_download_bytes; /* download: NU_ETOOBIG when the file would grow beyond;
                                    0 = no limit (default; max_bytes is for memory only) */
    bool resume;                 /* download: continue a partial file with Range */
    nu_httpc_progress_fn progress;
    void *progress_ud;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
};

void nu_httpc_opts_init(struct nu_httpc_opts *o);

/* One-time global init/cleanup (curl_global_init); init loads libcurl
 * first (lazylib.h): NU_EIO when it cannot. It also reads SSL_CERT_FILE and
 * SSL_CERT_DIR: when set, TLS trusts those CA certificates instead of
 * libcurl's built-in bundle (as OpenSSL, and so hclient, does). */
NU_WUR int nu_httpc_global_init(void);
void nu_httpc_global_cleanup(void);

/* GET url into body (appended). *status gets the HTTP status (0 when no
 * answer); a non-2xx status is returned as NU_EHTTP with "GET <url>: HTTP
 * <status>" in errbuf, and its body is still appended. Transport failures
 * (connect, reset, timeouts, too many redirects, a protocol other than
 * http/https) are NU_ENET with curl's text; more than max_bytes (or body's
 * own max) is NU_ETOOBIG; a progress callback that aborts gives NU_ENET.
 * Redirects are followed (at most 5). The progress callback gets the body
 * bytes received and the announced total (0 when unknown), and a last call
 * with done == total on success. */
NU_WUR int nu_http_get(const char *url, const struct nu_httpc_opts *o, struct nu_buf *body,
                       long *status, char *errbuf);
/* POST body with content_type; reply into resp. */
NU_WUR int nu_http_post(const char *url, const struct nu_httpc_opts *o, const char *content_type,
                        const void *data, size_t len, struct nu_buf *resp, long *status,
                        char *errbuf);
/* Downloads url to dest. Data goes to dest + ".part"; with o->resume an
 * existing .part is continued with a Range request (a server that ignores
 * Range restarts from zero; 416 restarts from zero once). On success .part
 * is fsynced, renamed to dest and the directory fsynced; on failure .part
 * is left for a later resume. NU_EHTTP for non-2xx (nothing is written),
 * NU_EIO for local file errors. Progress counts the whole file, including
 * the resumed part. */
NU_WUR int nu_http_download(const char *url, const char *dest, const struct nu_httpc_opts *o,
                            char *errbuf);

/* ---- requests on a kept handle ---- */

#define NU_HTTPC_CONNECT_MS 10000 /* a request's connect timeout */
#define NU_HTTPC_LOW_SPEED 1024   /* a transfer below this many bytes/s ... */
#define NU_HTTPC_LOW_SPEED_S 60   /* ... for this long is aborted */
#define NU_HTTPC_ERRBODY_MAX 4096 /* what a non-2xx answer's body keeps */
#define NU_HTTPC_MAX_REDIRS 5
/* What a kept handle receives and sends per system call (libcurl's
 * defaults are 16 KiB and 64 KiB: a 4 MiB snapshot chunk took 256 reads). */
#define NU_HTTPC_RECV_BUFFER (512 * 1024)
#define NU_HTTPC_SEND_BUFFER (512 * 1024)

/* One curl handle (and its connections) for one thread at a time. */
struct nu_httpc;

NU_WUR int nu_httpc_new(struct nu_httpc **out, char *errbuf);
void nu_httpc_free(struct nu_httpc *h); /* accepts NULL */

struct nu_httpc_req {
    const char *method; /* "GET", "HEAD", "PUT", "POST", "DELETE" */
    const char *url;
    const void *body; /* PUT, POST */
    size_t body_len;
    uint64_t range_from; /* with has_range: "Range: bytes=from-to" */
    uint64_t range_to;
    bool has_range;
    /* The body of a 2xx answer: into out (max bytes; more is NU_ETOOBIG
     * unless truncate_ok, then the rest is dropped), or written to fd at
     * fd_off (a 200 to a Range request restarts the file at 0). */
    struct nu_buf *out;
    size_t max;
    bool truncate_ok;
    int fd; /* -1: not used */
    uint64_t fd_off;
    atomic_uint_fast64_t *progress; /* body bytes are added here as they arrive (or NULL) */
    const char *const *headers;     /* extra "Name: value" lines, NULL-terminated (or NULL) */
    /* libcurl signs with AWS SigV4 when set ("aws:amz:REGION:SERVICE"),
     * with user and password as the key pair; a signed request does not
     * follow redirects (it would not survive one), others follow 5. */
    const char *sigv4;
    const char *user, *password;
};

struct nu_httpc_resp {
    long status;
    uint64_t content_length;                 /* UINT64_MAX when absent */
    uint64_t range_total;                    /* Content-Range's total, UINT64_MAX when absent */
    uint64_t received;                       /* body bytes of a 2xx answer received */
    char etag[80];                           /* without quotes */
    char err_body[NU_HTTPC_ERRBODY_MAX + 1]; /* the start of a non-2xx body, NUL-terminated */
    size_t err_len;
};

/* Performs one request. Returns 0 for any HTTP status (the caller maps
 * it), NU_ENET for transport failures ("METHOD URL: curl's text"),
 * NU_ETOOBIG past max, NU_EIO when writing to fd fails, NU_ENOMEM. */
NU_WUR int nu_httpc_do(struct nu_httpc *h, const struct nu_httpc_req *rq, struct nu_httpc_resp *rs,
                       char *errbuf);

#endif
