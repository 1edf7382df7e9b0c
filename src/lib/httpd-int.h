/* Internal to the HTTP server: the request parser (llhttp + limits) without
 * any sockets. httpd.c drives one per connection; fuzz/fuzz_http.c drives it
 * directly so the fuzzer exercises exactly the server's parsing path. */
#ifndef NU_HTTPD_INT_H
#define NU_HTTPD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <llhttp.h>
#include "httpd.h"

/* Line structure of a request head or trailer section (httpd_strict.c):
 * checked on the raw bytes before llhttp sees them. */
struct nu_hlines {
    unsigned char state;
};

/* Starts checking a new message (its request line comes next). */
void nu_hlines_begin(struct nu_hlines *l);
/* The trailer section comes next (after the last chunk's size line). */
void nu_hlines_trailers(struct nu_hlines *l);
/* Checks the bytes [at, end) of the section, carrying state between
 * calls; stops looking at the empty line that ends it. Returns NULL, or
 * what is wrong (one lowercase line: obs-fold, bare LF or CR, no name). */
const char *nu_hlines_check(struct nu_hlines *l, const char *at, const char *end);

#define NU_HPARSE_DETAIL_MAX 128

/* Hooks into the owner (the connection): used to re-arm timers. */
struct nu_hparser_ops {
    void (*on_begin)(void *owner);               /* first byte of a request */
    void (*on_head)(void *owner, bool has_body); /* head complete, limits passed */
    void (*on_continue)(void *owner);            /* client sent Expect: 100-continue */
};

struct nu_hparser {
    llhttp_t lp;
    size_t max_header_bytes, max_body_bytes, max_headers;
    const struct nu_hparser_ops *ops;
    void *owner;

    /* Head storage: url, then name\0value\0 pairs; offsets because it grows. */
    char *hbuf;
    size_t hlen, hcap;
    uint32_t *hoff; /* 2 per header: name, value */
    size_t nhdr, hoff_cap;
    int hstate; /* 0 none, 1 in a name, 2 name done and value not yet terminated */
    struct nu_http_header *hdrs;
    size_t hdrs_cap;
    uint32_t path_off;

    char *body;
    size_t blen, bcap;
    size_t extra_bytes; /* chunk extensions and trailers, counted against the body limit */

    size_t head_bytes;                     /* head bytes in earlier feeds */
    const char *feed_base;                 /* start of the current feed, to place callback data */
    int err_status;                        /* HTTP status to answer with when feeding fails */
    char err_detail[NU_HPARSE_DETAIL_MAX]; /* what was wrong ("" when only err_status) */
    struct nu_hlines lines;
    bool in_head, started, complete, keep_alive, upgrade, trailers_next;
    uint64_t start_ns;
};

enum nu_hparse_ev {
    NU_HP_MORE,    /* everything consumed, request not complete */
    NU_HP_REQUEST, /* a complete request; parser paused until nu_hparser_next() */
    NU_HP_ERROR,   /* malformed or over a limit; err_status says how to answer */
};

/* Limits come from o (defaults already applied). Never fails: buffers grow lazily. */
void nu_hparser_init(struct nu_hparser *p, const struct nu_httpd_opts *o,
                     const struct nu_hparser_ops *ops, void *owner);
/* Frees the buffers (the parser stays usable: they grow again lazily). */
void nu_hparser_release(struct nu_hparser *p);
/* Bytes the parser's buffers hold. */
size_t nu_hparser_buffer_bytes(const struct nu_hparser *p);

/* Parses up to len bytes; *consumed says how many were used (the rest
 * belongs to a later request when NU_HP_REQUEST is returned). */
enum nu_hparse_ev nu_hparser_feed(struct nu_hparser *p, const char *data, size_t len,
                                  size_t *consumed);
/* Fills req from the completed request; pointers stay valid until
 * nu_hparser_next() or release. Returns NU_ENOMEM when out of memory. */
NU_WUR int nu_hparser_fill(struct nu_hparser *p, struct nu_http_req *req);
/* Forgets the completed request and resumes parsing. Large buffers are
 * freed so idle keep-alive connections stay small. */
void nu_hparser_next(struct nu_hparser *p);
/* True when the peer sent some bytes of a request not yet complete. */
bool nu_hparser_midrequest(const struct nu_hparser *p);
/* Checks a complete head (headers stored, values NUL-terminated): HTTP
 * version, Host, Transfer-Encoding in HTTP/1.0. Returns 0, or the status to
 * refuse it with and *detail what is wrong (static text). */
int nu_hhead_check(const struct nu_hparser *p, const char **detail);

/* Applies defaults for zero fields (shared by the server and the fuzzer). */
void nu_httpd_opts_fill(struct nu_httpd_opts *dst, const struct nu_httpd_opts *src);

/* ---- server and connections (httpd.c, httpd_conn.c) ---- */

#define NU_HTTPD_READ_BUF (64 * 1024)

enum nu_httpd_conn_state { CS_READING, CS_HANDLER, CS_WRITING, CS_LINGER, CS_CLOSING };
/* Where the connection's request is: with the handler (OUT), inside the
 * cancel callback, or orphaned (peer gone, no cancel callback: the memory
 * waits for the handler's answer, which is then dropped). */
enum nu_httpd_req_state { RQ_NONE, RQ_OUT, RQ_CANCELLING, RQ_ORPHAN };

struct nu_httpd_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_write_t creq; /* "100 Continue" */
    uv_shutdown_t sreq;
    struct nu_httpd *srv; /* NULL once orphaned */
    struct nu_httpd_conn *prev, *next;
    struct nu_hparser hp;
    struct nu_http_req req;
    nu_httpd_cancel_fn cancel;
    void *cancel_ud;
    char *pend; /* read-ahead: bytes [pend_off, pend_len) not parsed yet */
    size_t pend_off, pend_len, pend_cap;
    char *whead, *wbody; /* the unsent rest of an answer (httpd_write.c) */
    size_t wheld;        /* bytes they hold, counted in srv->unsent */
    enum nu_httpd_conn_state state;
    enum nu_httpd_req_state rq;
    int open_handles;
    uint64_t idle_since; /* loop time the last answer was written */
    bool reading, in_run, close_after, truncate, creq_busy;
    bool trimmed; /* no buffers since it went idle (conn_trim) */
    char peer[64];
};

struct nu_httpd {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t drain;
    struct nu_httpd_opts o;
    nu_httpd_handler_fn handler;
    void *ud;
    struct nu_httpd_conn *conns;
    struct nu_httpd_stats st;
    int port;
    int open_handles; /* listener and drain timer */
    size_t unsent;    /* answer bytes held for clients, at most o.max_unsent_bytes */
    bool closing, drain_closing;
    nu_httpd_closed_fn done;
    void *done_ud;
    char rbuf[NU_HTTPD_READ_BUF]; /* shared: each read is consumed or copied before the next */
};

/* Accepts one connection from s->listener; NU_ENOMEM when none could be set up. */
int nu_httpd_conn_accept(struct nu_httpd *s);
/* Closes c (with a reset when asked); an unanswered request is cancelled. */
void nu_httpd_conn_close(struct nu_httpd_conn *c, bool reset);
bool nu_httpd_conn_idle(const struct nu_httpd_conn *c);
/* Frees s once closing and everything is closed; then calls done. */
void nu_httpd_srv_maybe_done(struct nu_httpd *s);
/* Bytes of c's buffers (parser, read-ahead, unsent answer). */
size_t nu_httpd_conn_buffer_bytes(const struct nu_httpd_conn *c);
/* (Re)starts c's one timer. */
void nu_httpd_conn_arm(struct nu_httpd_conn *c, uint64_t ms);
/* The answer was taken by the socket: next request, or close. */
void nu_httpd_conn_written(struct nu_httpd_conn *c);
/* A req whose connection died was answered: free what is left. */
void nu_httpd_conn_orphan_release(struct nu_httpd_conn *c);

/* ---- answers (httpd_write.c) ---- */

/* Answers with status and a copied body, then closes (for refusals). */
NU_WUR int nu_httpd_conn_answer(struct nu_httpd_conn *c, int status, const char *ctype,
                                const char *body, size_t len);
/* Frees the unsent rest of an answer and uncounts it (write done or dead). */
void nu_httpd_conn_release_write(struct nu_httpd_conn *c);

#endif
