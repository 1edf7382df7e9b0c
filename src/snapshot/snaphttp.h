/* The HTTP layer under the S3 and HTTP stores and the public layouts: one
 * reusable curl handle per store handle (keep-alive), bounded bodies into
 * memory or streamed to a file descriptor, Range requests, and SigV4 by
 * libcurl (CURLOPT_AWS_SIGV4) when credentials are set. */
#ifndef SNAP_SNAPHTTP_H
#define SNAP_SNAPHTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"

#define SNAP_HTTP_CONNECT_MS 10000
#define SNAP_HTTP_LOW_SPEED_S 60 /* abort a transfer below 1 KiB/s for this long */
#define SNAP_HTTP_ERRBODY_MAX 4096
#define SNAP_SECRET_LINE_MAX 2200 /* "x-amz-security-token: " + token */

struct snap_http; /* opaque: a curl easy handle and scratch */

NU_WUR int snap_http_new(struct snap_http **out, char *errbuf);
void snap_http_free(struct snap_http *h);

struct snap_http_req {
    const char *method; /* "GET", "HEAD", "PUT", "DELETE" */
    const char *url;
    const void *body; /* PUT */
    size_t body_len;
    uint64_t range_from; /* with has_range: "Range: bytes=from-to" */
    uint64_t range_to;
    bool has_range;
    /* Response body: into out (max bytes; more is NU_ETOOBIG unless
     * truncate_ok, then the rest is dropped), or written to fd at fd_off. */
    struct nu_buf *out;
    size_t max;
    bool truncate_ok;
    int fd;          /* -1: not used */
    uint64_t fd_off; /* where the body goes; a 200 to a Range request restarts at 0 */
    atomic_uint_fast64_t *progress; /* body bytes are added here as they arrive (or NULL) */
    /* S3: sign with these (NULL/"" access key: unsigned). */
    const char *region;
    const char *access_key, *secret_key, *session_token;
};

struct snap_http_resp {
    long status;
    uint64_t content_length; /* -1 as UINT64_MAX when absent */
    uint64_t range_total;    /* from Content-Range, UINT64_MAX when absent */
    uint64_t received;       /* body bytes received */
    char etag[80];
    char s3_code[64]; /* <Code> of an S3 error body */
    char s3_message[256];
};

/* Performs one request. Returns 0 for any HTTP status (the caller maps
 * it), NU_ENET for transport failures, NU_ETOOBIG past max, NU_EIO when
 * writing to fd fails. */
NU_WUR int snap_http_do(struct snap_http *h, const struct snap_http_req *rq,
                        struct snap_http_resp *rs, char *errbuf);

/* Maps a response to an NU_E* code with a message naming what: 404
 * NU_ENOENT, 401/403 NU_EPERM, other non-2xx NU_EHTTP (S3's code and
 * message included). */
int snap_http_status_err(const struct snap_http_resp *rs, const char *what, char *errbuf);

/* Percent-encodes s (RFC 3986 unreserved characters pass; with
 * keep_slash '/' too) into out. NU_ETOOBIG when it does not fit. */
NU_WUR int snap_url_encode(const char *s, bool keep_slash, char *out, size_t outsz);

/* ---- S3 ListObjectsV2 (s3xml.c) ---- */

typedef int (*snap_s3_obj_fn)(void *ud, const char *key, uint64_t size, int64_t mtime,
                              const char *etag);

struct snap_s3_page {
    bool truncated;
    char next_token[1024];
    size_t count;
};

#define SNAP_S3_LIST_MAX (8u << 20) /* bytes of one ListObjectsV2 page we accept */

/* Parses one ListObjectsV2 result page, calling fn for each <Contents>.
 * Keys are entity-decoded; a malformed page is NU_EPARSE. */
NU_WUR int snap_s3_parse_list(const char *xml, size_t len, snap_s3_obj_fn fn, void *ud,
                              struct snap_s3_page *page, char *errbuf);
/* "2026-11-29T00:05:34.000Z" to unix seconds; -1 when malformed. */
int64_t snap_s3_parse_time(const char *s);

#endif
