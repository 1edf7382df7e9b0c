/* Internal to the event-loop HTTP client (hconn.c, hpool.c): a
 * connection and the calls between it and its pool. */
#ifndef NU_HCLIENT_INT_H
#define NU_HCLIENT_INT_H

#include <llhttp.h>
#include "hclient.h"

enum nu_hc_state {
    NU_HC_NEW,
    NU_HC_CONNECTING, /* TCP connect, then the TLS handshake */
    NU_HC_IDLE,
    NU_HC_BUSY,
    NU_HC_REOPENING, /* the socket is being replaced to send the request again */
    NU_HC_CLOSING
};

struct nu_hc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_write_t wreq;
    llhttp_t parser;
    struct nu_hc_pool *pool;
    struct nu_hc_conn *next; /* pool's idle list */
    enum nu_hc_state state;
    int open_handles;
    void *tls;           /* the TLS session, NULL for plain TCP */
    unsigned tls_writes; /* ciphertext writes in flight */
    /* the request in progress */
    nu_hc_cb cb;
    void *ud;
    char lenline[48]; /* "Content-Length: N\r\n\r\n" or "\r\n" */
    const char *body;
    size_t blen;
    unsigned timeout_ms;
    uint64_t deadline_ms; /* loop time the answer is due by; 0 until first sent */
    uint64_t parked_ns;   /* nu_mono_ns() when parked idle */
    bool reused, writing, got_bytes, complete, overflow, noreuse;
    bool replayable, sent_any, resent;
    int write_err; /* a write that failed inside send, reported from the timer */
    int status;
    struct nu_buf resp;
    struct nu_buf plain; /* TLS: what one read decrypted to */
};

/* hconn.c, for the pool */
struct nu_hc_conn *nu_hc_conn_new(struct nu_hc_pool *p); /* NULL when out of memory */
void nu_hc_conn_close(struct nu_hc_conn *c);
/* Idle: waits for reuse; closes itself after idle_ms or when the server
 * closes it. */
void nu_hc_conn_park(struct nu_hc_conn *c, unsigned idle_ms);

/* hpool.c, for the connections */
/* A request is over: keeps c idle when reusable, else closes it. */
void nu_hc_pool_done(struct nu_hc_pool *p, struct nu_hc_conn *c, bool reusable);
/* c is closed and freed; frees a retired, empty pool. */
void nu_hc_pool_conn_gone(struct nu_hc_pool *p);
/* An idle connection closes itself. */
void nu_hc_pool_idle_gone(struct nu_hc_pool *p, struct nu_hc_conn *c);

#endif
