/* HTTP client over libcurl: small GET/POST into memory and resumable
 * downloads to a file. Blocking; call from worker threads or CLI code,
 * never from an event-loop callback. */
#ifndef NU_HTTPC_H
#define NU_HTTPC_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"

/* Progress callback: return non-zero to abort the transfer. */
typedef int (*nu_httpc_progress_fn)(void *ud, uint64_t done, uint64_t total);

struct nu_httpc_opts {
    long connect_timeout_ms; /* default 10000 */
    long timeout_ms;         /* whole transfer; 0 = none. default 0 */
    long low_speed_bytes;    /* abort when below this rate ... */
    long low_speed_secs;     /* ... for this long (default 1 byte/s for 60 s) */
    uint64_t max_bytes;      /* NU_ETOOBIG beyond; default 64 MiB for memory GETs */
    uint64_t max_download_bytes; /* download: NU_ETOOBIG when the file would grow beyond;
                                    0 = no limit (default; max_bytes is for memory only) */
    bool resume;             /* download: continue a partial file with Range */
    nu_httpc_progress_fn progress;
    void *progress_ud;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
};

void nu_httpc_opts_init(struct nu_httpc_opts *o);

/* One-time global init/cleanup (curl_global_init); init loads libcurl
 * first (lazylib.h): NU_EIO when it cannot. */
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

#endif
