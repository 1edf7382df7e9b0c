/* HTTP/1.1 server core over libuv + llhttp, shared by neard-sim and the
 * gateway. One server per uv loop; with reuseport several loops (threads)
 * can serve one port.
 *
 * Requests on a connection are handled one at a time (pipelined requests
 * wait, unparsed, in a read-ahead buffer of at most 64 KiB, then in the
 * socket buffer) and answered in order. The handler may answer at once or later from
 * any callback on the same loop: the request stays valid until it is
 * answered with nu_httpd_respond*() or aborted, or until the connection
 * dies, in which case the cancel callback (if set) runs instead.
 *
 * Request lifetime, exactly:
 *  - req and everything it points to (headers, body) stay valid from the
 *    handler call until the handler calls nu_httpd_respond*() or
 *    nu_httpd_abort() on it, or until its cancel callback returns.
 *  - The peer is considered gone when the connection reads EOF (also a
 *    half-close) or fails, when the server's drain time runs out, or when
 *    the write fails. Then, if a cancel callback is set, it runs once; after
 *    it returns req is freed: do not touch it again (a respond from inside
 *    the cancel callback is refused with NU_ESTATE). Stop any timer or
 *    upstream work holding req in the callback.
 *  - Without a cancel callback the req is kept (orphaned) until the handler
 *    answers or aborts it; that answer returns NU_ESTATE and frees it. So a
 *    handler must always answer or abort every req, or set a cancel fn.
 *  - Everything runs on the server's loop thread only. */
#ifndef NU_HTTPD_H
#define NU_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "error.h"

struct nu_httpd;
struct nu_httpd_conn;

struct nu_httpd_opts {
    const char *host;           /* default "127.0.0.1" */
    int port;                   /* 0: ephemeral (see nu_httpd_port) */
    size_t max_header_bytes;    /* request line + headers; 431 beyond. default 16 KiB */
    size_t max_body_bytes;      /* 413 beyond. default 10 MiB */
    unsigned header_timeout_ms; /* whole head must arrive within; 408. default 10 s */
    unsigned body_timeout_ms;   /* whole request must arrive within; 408. default 60 s */
    unsigned keepalive_ms;      /* idle time between requests before close. default 75 s */
    unsigned idle_trim_ms;      /* a kept-alive connection frees its request buffers after
                                   this long idle, so a busy client does not pay allocations
                                   on every request; 0: at once. default 1 s */
    unsigned max_connections;   /* further accepts are closed at once. default 10000 */
    unsigned max_headers;       /* header count limit; 431 beyond. default 100 */
    bool reuseport;             /* SO_REUSEPORT on the listener */
    int backlog;                /* default 511 */
    unsigned write_timeout_ms;  /* an answer must be taken by the client within; else reset.
                                   default 60 s */
    size_t max_unsent_bytes;    /* answer bytes this server holds for clients that have not
                                   taken them yet (all connections together); a connection
                                   whose answer would go beyond is reset. default 128 MiB */
};

void nu_httpd_opts_init(struct nu_httpd_opts *o);
/* The defaults for a daemon's status pages (/metrics, /healthcheck) on
 * host:port: requests take no body (4 KiB at most), 1000 connections. */
void nu_httpd_opts_status(struct nu_httpd_opts *o, const char *host, int port);

struct nu_http_header {
    const char *name; /* NUL-terminated, as received */
    const char *value;
};

struct nu_http_req {
    const char *method; /* "GET", "POST", "HEAD", ... */
    const char *url;    /* request target as received ("/status?x=1") */
    const char *path;   /* url without the query string */
    int http_major, http_minor;
    const struct nu_http_header *headers;
    size_t nheaders;
    const char *body; /* NUL-terminated (NUL not counted) */
    size_t body_len;
    bool keep_alive;            /* client wants the connection kept */
    uint64_t start_ns;          /* nu_mono_ns() when the first byte arrived */
    const char *peer;           /* "ip:port" of the client */
    void *ud;                   /* free for the handler */
    struct nu_httpd_conn *conn; /* private */
};

typedef void (*nu_httpd_handler_fn)(struct nu_http_req *req, void *ud);
typedef void (*nu_httpd_cancel_fn)(struct nu_http_req *req, void *ud);
typedef void (*nu_httpd_closed_fn)(void *ud);

/* Binds and listens. handler runs on loop for every complete request.
 * host must be a numeric IPv4/IPv6 address (or "localhost"); no DNS. On
 * failure *out is NULL; when it failed after handles were set up, memory is
 * released once the loop runs. Sets SIGPIPE to ignored if it still has the
 * default action (a peer resetting during a write must not kill us). */
NU_WUR int nu_httpd_new(uv_loop_t *loop, const struct nu_httpd_opts *o, nu_httpd_handler_fn handler,
                        void *ud, struct nu_httpd **out, char *errbuf);
/* Port actually bound (useful with port 0). */
int nu_httpd_port(const struct nu_httpd *s);
/* Graceful close: stop accepting, close idle connections at once, let
 * in-flight requests finish for up to drain_ms, then close the rest and
 * free s. done (may be NULL) runs once everything is closed. */
void nu_httpd_close(struct nu_httpd *s, unsigned drain_ms, nu_httpd_closed_fn done, void *ud);

/* Case-insensitive header lookup; NULL when absent. */
const char *nu_http_req_header(const struct nu_http_req *r, const char *name);

enum nu_httpd_resp_flags {
    NU_HTTPD_CLOSE = 1 << 0,    /* send "Connection: close" and close after */
    NU_HTTPD_TRUNCATE = 1 << 1, /* failure injection: send the head and half the body, then reset */
};

/* Answers req and invalidates it. body is not kept: what the socket does
 * not take at once is copied. For HEAD requests the
 * body is not sent but Content-Length is its length; 204 and 304 carry
 * neither. content_type may be NULL (no Content-Type header).
 * extra_headers is a NULL-terminated list of "Name: value" strings or NULL. Returns 0; NU_EINVAL
 * (req still valid, answer again) for a status outside 200..999 or CR/LF in content_type or a
 * header; NU_ESTATE when req was already answered or its connection died (see above). */
int nu_httpd_respond_ex(struct nu_http_req *req, int status, const char *content_type,
                        const char *const *extra_headers, const void *body, size_t len,
                        unsigned flags);
int nu_httpd_respond(struct nu_http_req *req, int status, const char *content_type,
                     const void *body, size_t len);
/* Same, but takes ownership of body (malloc'd; freed by the server in every
 * case, also on error): a large answer is then never copied. */
int nu_httpd_respond_take(struct nu_http_req *req, int status, const char *content_type,
                          const char *const *extra_headers, char *body, size_t len, unsigned flags);
/* Drops the connection without an answer; invalidates req. */
void nu_httpd_abort(struct nu_http_req *req);
/* Called instead of nothing if the connection dies before req is answered. */
void nu_httpd_on_cancel(struct nu_http_req *req, nu_httpd_cancel_fn fn, void *ud);

/* accepted: connections served (rejected ones not included); requests:
 * handed to the handler; responses: answers from the handler; bad_requests
 * (400, 505), timeouts (408) and too_large (413, 431): answers made by the
 * server itself; unsent_drops: connections reset because max_unsent_bytes
 * was reached. Gauges: unsent_bytes held for slow readers, buffer_bytes of
 * all connections' buffers (parsing, read-ahead and unsent answers; an
 * idle keep-alive connection has none). */
struct nu_httpd_stats {
    uint64_t accepted, rejected_max_conns, requests, responses;
    uint64_t bad_requests, timeouts, too_large, unsent_drops;
    uint64_t unsent_bytes, buffer_bytes;
    unsigned open_connections;
};
void nu_httpd_get_stats(const struct nu_httpd *s, struct nu_httpd_stats *st);

/* Standard reason phrase ("Not Found"); "Unknown" for others. */
const char *nu_http_reason(int status);

#endif
