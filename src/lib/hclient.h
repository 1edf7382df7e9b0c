/* The event-loop HTTP/1.1 client: non-blocking, over libuv and llhttp
 * (HTTP_RESPONSE mode), for code that runs on a loop (the gateway's
 * upstreams and health checks, the health sidecar, the supervisor's
 * readiness probe). Blocking transfers (downloads, S3) use libcurl through
 * httpc.h instead.
 *
 * A struct nu_hc_pool is a keep-alive pool to one server on one loop: it
 * creates, reuses and closes connections. A connection carries one
 * request at a time: connect (and TLS handshake) and answer timeouts;
 * keep-alive; while idle it keeps reading so a server that closes the
 * connection is noticed at once (the pool then drops it). Idle connections
 * are reused newest first, at most idle_max are kept, each for less than
 * idle_timeout_ms (keep that below the server's own keep-alive timeout, so
 * the pool never sends on a connection the server is closing).
 *
 * A server may still close a kept-alive connection just as a request goes
 * out on it (neard of the actix era closes idle ones after 5 s). So a
 * request on a reused connection that fails before any byte of an answer
 * is sent once more, on a fresh connection, when that cannot make the
 * server process it twice: the caller marked it NU_HC_REPLAYABLE, or no
 * byte of it left (the connection was found closed before the write, or the
 * write itself failed). Otherwise the failure is reported.
 *
 * With a TLS layer in the options (nu_hc_tls_client, hclient_tls.c) every
 * connection speaks TLS: the server's certificate must verify against the
 * system's trust store and name the target's tls_name. The pool itself
 * never links OpenSSL: the layer comes in as a table of functions, so a
 * program without TLS (nearup-supervisor) does not map it.
 *
 * Everything runs on the pool's loop thread; no callback runs inside
 * nu_hc_send. */
#ifndef NU_HCLIENT_H
#define NU_HCLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "buf.h"
#include "error.h"

#define NU_HC_HEAD_MAX 4096 /* request line and headers the pool sends (without Content-Length) */

/* Outcomes of one exchange. */
enum nu_hc_err {
    NU_HC_OK,
    NU_HC_CONNECT,   /* connect (or TLS handshake) failed or timed out: the request never left */
    NU_HC_RESET,     /* connection closed or reset before any answer byte */
    NU_HC_TRUNCATED, /* closed in the middle of the answer */
    NU_HC_TIMEOUT,   /* no complete answer within the request's timeout */
    NU_HC_PROTOCOL,  /* not a valid HTTP/1.x answer (or a broken TLS stream) */
    NU_HC_TOO_BIG,   /* answer over max_response */
    NU_HC_NERR
};

struct nu_hc_resp {
    int err;          /* enum nu_hc_err; NU_HC_OK when a complete answer arrived */
    int status;       /* HTTP status (0 unless err is NU_HC_OK) */
    const char *body; /* valid only during the callback */
    size_t len;
    bool reused;        /* sent on a connection kept alive from an earlier request */
    bool timed_out;     /* NU_HC_CONNECT: the connect timeout, not a refusal */
    const char *detail; /* what went wrong, for logs ("" when fine) */
};

/* Called once per nu_hc_send, on the loop. The connection goes back to
 * its pool right after the callback returns: do not keep it. */
typedef void (*nu_hc_cb)(void *ud, const struct nu_hc_resp *r);

enum nu_hc_flags {
    NU_HC_REPLAYABLE = 1 << 0, /* safe to send again though the server may have got it */
};

/* A TLS layer (hclient_tls.c): ciphertext in and out, plaintext in and
 * out, per connection. Errors are one line into errbuf (NU_ERRMSG_MAX). */
struct nu_hc_tls_ops {
    void *(*open)(void *ctx, const char *name, char *errbuf); /* a client session, or NULL */
    void (*close)(void *sess);
    int (*handshake)(void *sess, char *errbuf); /* 1 done, 0 needs input, < 0 failed */
    int (*feed)(void *sess, const char *data, size_t len, char *errbuf); /* ciphertext in */
    /* Plaintext out into out (appended): 0, 1 when the peer closed the
     * session (close_notify), < 0 on a broken stream. */
    int (*read)(void *sess, struct nu_buf *out, char *errbuf);
    int (*write)(void *sess, const void *data, size_t len, char *errbuf); /* plaintext in */
    size_t (*pending)(void *sess);                                        /* ciphertext to send */
    size_t (*take)(void *sess, char *out, size_t outsz);
};

struct nu_hc_tls {
    const struct nu_hc_tls_ops *ops;
    void *ctx;
};

/* What every request of a pool looks like. Strings are copied. */
struct nu_hc_target {
    const char *method;   /* "POST" (the body's Content-Length is sent) or "GET" */
    const char *path;     /* "/" */
    const char *host;     /* the Host header: "ip:port" or "name:port" */
    const char *headers;  /* extra header lines, each ending "\r\n" (Authorization); or NULL */
    const char *tls_name; /* with a TLS layer: the name the certificate must have (SNI too) */
};

struct nu_hc_pool_opts {
    unsigned idle_max;        /* idle connections kept (0: close after each answer) */
    unsigned idle_timeout_ms; /* an idle connection is closed after this */
    unsigned connect_timeout_ms;
    size_t max_response;         /* body bytes; more is NU_HC_TOO_BIG */
    const struct nu_hc_tls *tls; /* NULL: plain TCP; must outlive the pool */
};

struct nu_hc_conn;

struct nu_hc_pool {
    uv_loop_t *loop;
    struct nu_hc_pool_opts o;
    struct sockaddr_storage addr;
    char *prefix; /* request line and headers, without the final CRLF */
    size_t prefix_len;
    bool has_body; /* POST: Content-Length is sent */
    char *tls_name;
    struct nu_hc_conn *idle; /* newest first */
    unsigned nidle, nopen;
    bool retired;
    /* The owner's: a counter of requests sent again (or NULL), and what
     * to call when a retired pool is freed (or NULL). */
    atomic_uint_fast64_t *resends;
    void (*on_free)(void *owner);
    void *owner;
    struct nu_hc_pool *owner_next; /* the owner's list of its pools */
};

/* A pool for requests shaped like t to addr, on loop. NULL when out of
 * memory or t does not fit NU_HC_HEAD_MAX (errbuf says which). */
struct nu_hc_pool *nu_hc_pool_new(uv_loop_t *loop, const struct sockaddr *addr,
                                  const struct nu_hc_target *t, const struct nu_hc_pool_opts *o,
                                  char *errbuf);
/* Applies new options (reload); extra idle connections are closed. */
void nu_hc_pool_set_opts(struct nu_hc_pool *p, const struct nu_hc_pool_opts *o);
/* New connections go to addr (a name resolved again); idle ones to the
 * old address are closed. */
void nu_hc_pool_set_addr(struct nu_hc_pool *p, const struct sockaddr *addr);
/* An idle connection, or a new one (connected by nu_hc_send). NULL when
 * out of memory. */
struct nu_hc_conn *nu_hc_pool_get(struct nu_hc_pool *p);
/* The pool closes its idle connections, closes busy ones when they
 * finish, and frees itself (calling on_free) when the last one is gone.
 * p must not be used afterwards; accepts NULL. */
void nu_hc_pool_retire(struct nu_hc_pool *p);

/* Sends a request on c with body (POST; ignored for GET), which must stay
 * valid until the callback or nu_hc_cancel, and calls cb with the answer.
 * Connects first when the connection is new. timeout_ms bounds the wait
 * for the whole answer (a send again on a fresh connection included).
 * flags: enum nu_hc_flags. */
void nu_hc_send(struct nu_hc_conn *c, const char *body, size_t blen, unsigned timeout_ms,
                unsigned flags, nu_hc_cb cb, void *ud);
/* The requester gives up: the connection is closed and cb is not called. */
void nu_hc_cancel(struct nu_hc_conn *c);

/* "ok", "connect", "reset", "truncated", "timeout", "protocol", "too_big". */
const char *nu_hc_err_name(int e);

/* ---- TLS (hclient_tls.c, in libnu: links OpenSSL) ---- */

/* A TLS layer that verifies servers against the system's trust store
 * (OpenSSL's default paths; SSL_CERT_FILE and SSL_CERT_DIR override them).
 * *out is freed with nu_hc_tls_free once no pool uses it. */
NU_WUR int nu_hc_tls_client(struct nu_hc_tls **out, char *errbuf);
void nu_hc_tls_free(struct nu_hc_tls *t); /* accepts NULL */

#endif
