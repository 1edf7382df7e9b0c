/* Non-blocking HTTP/1.1 client connection to one upstream, over libuv and
 * llhttp (HTTP_RESPONSE mode). One request at a time; keep-alive; connect
 * and response timeouts; while idle it keeps reading so an upstream that
 * closes the connection is noticed at once (then the pool drops it).
 *
 * An upstream may still close a kept-alive connection just as a request
 * goes out on it (neard of the actix era closes idle ones after 5 s). So a
 * request on a reused connection that fails before any byte of an answer
 * is sent once more, on a fresh connection, when that cannot make the
 * upstream process it twice: the caller marked it GW_UPF_REPLAYABLE, or no
 * byte of it left (the connection was found closed before the write, or the
 * write itself failed). Otherwise the failure is reported.
 *
 * Connections belong to a struct gw_pool (pool.c), which creates, reuses
 * and closes them; everything runs on the pool's loop thread. */
#ifndef GW_UPCLIENT_H
#define GW_UPCLIENT_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"

struct gw_pool;
struct gw_upconn;

struct gw_upresp {
    int err;          /* enum gw_uperr; GW_UE_OK when a complete answer arrived */
    int status;       /* HTTP status (0 unless err is GW_UE_OK) */
    const char *body; /* valid only during the callback */
    size_t len;
    bool reused;        /* sent on a connection kept alive from an earlier request */
    const char *detail; /* what went wrong, for logs and /upstreams ("" when fine) */
};

/* Called once per gw_upconn_send, on the loop. The connection is handed
 * back to its pool right after the callback returns: do not keep it. */
typedef void (*gw_upconn_cb)(void *ud, const struct gw_upresp *r);

enum gw_upconn_flags {
    GW_UPF_REPLAYABLE = 1 << 0, /* safe to send again though the upstream may have got it */
};

enum gw_upconn_state {
    GW_UC_NEW,
    GW_UC_CONNECTING,
    GW_UC_IDLE,
    GW_UC_BUSY,
    GW_UC_REOPENING, /* the socket is being replaced to send the request again */
    GW_UC_CLOSING
};

struct gw_upconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_write_t wreq;
    llhttp_t parser;
    struct gw_pool *pool;
    struct gw_upconn *next; /* pool's idle list */
    enum gw_upconn_state state;
    int open_handles;
    /* the request in progress */
    gw_upconn_cb cb;
    void *ud;
    char head[640];
    size_t hlen;
    const char *body;
    size_t blen;
    unsigned timeout_ms;
    uint64_t deadline_ms; /* loop time the answer is due by; 0 until first sent */
    uint64_t parked_ns;   /* uv_hrtime() when parked idle */
    bool reused, writing, got_bytes, complete, overflow, noreuse;
    bool replayable, sent_any, resent;
    int write_err; /* a write that failed inside send, reported from the timer */
    int status;
    struct nu_buf resp;
};

/* A new, unconnected connection of pool p (which counts it). NULL when
 * out of memory. */
struct gw_upconn *gw_upconn_new(struct gw_pool *p);
/* Sends POST <path> with body (which must stay valid until the callback
 * or gw_upconn_cancel) and calls cb with the answer. Connects first when
 * the connection is new. timeout_ms bounds the wait for the whole answer
 * (a send again on a fresh connection included). flags: enum
 * gw_upconn_flags. */
void gw_upconn_send(struct gw_upconn *c, const char *body, size_t blen, unsigned timeout_ms,
                    unsigned flags, gw_upconn_cb cb, void *ud);
/* The requester gives up (its client went away): the connection is closed
 * and cb is not called. */
void gw_upconn_cancel(struct gw_upconn *c);
/* Closes a connection (idle, or being dropped by the pool). */
void gw_upconn_close(struct gw_upconn *c);
/* Idle: waits for reuse, closes itself after idle_ms or when the upstream
 * closes it. */
void gw_upconn_park(struct gw_upconn *c, unsigned idle_ms);

#endif
