/* Keep-alive connection pool to one upstream on one loop: a worker has one
 * per upstream it sends to (and the health checker one per upstream on the
 * control loop). Idle connections are reused newest first, at most
 * idle_max are kept, each for less than idle_timeout_ms (pool_idle_timeout:
 * below the upstream's own keep-alive timeout, so the pool never sends on a
 * connection the upstream is closing).
 *
 * A retired pool (upstream removed, or shutdown) closes its idle
 * connections, closes busy ones when they finish, and frees itself (and its
 * upstream reference) when the last one is gone. */
#ifndef GW_POOL_H
#define GW_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "gw_upclient.h"
#include "gw_upstream.h"

struct gw_pool_opts {
    unsigned idle_max;
    unsigned idle_timeout_ms;
    unsigned connect_timeout_ms;
    size_t max_response;
};

struct gw_pool {
    uv_loop_t *loop;
    struct gw_upstream *up; /* reference */
    struct gw_pool_opts o;
    struct gw_upconn *idle; /* newest first */
    unsigned nidle, nopen;
    bool retired;
    struct gw_pool *owner_next;                   /* the owner's list of its pools */
    char prefix[GW_PATH_MAX + GW_HOST_MAX + 128]; /* request head up to Content-Length's value */
    size_t prefix_len;
};

/* New pool for u (takes a reference) on loop. NULL when out of memory. */
struct gw_pool *gw_pool_new(uv_loop_t *loop, struct gw_upstream *u, const struct gw_pool_opts *o);
/* Applies new options (reload); extra idle connections are closed. */
void gw_pool_set_opts(struct gw_pool *p, const struct gw_pool_opts *o);
/* An idle connection, or a new one (connected by gw_upconn_send). NULL when
 * out of memory. */
struct gw_upconn *gw_pool_get(struct gw_pool *p);
/* Called by upclient when a request is over: keeps c idle when reusable,
 * else closes it. */
void gw_pool_done(struct gw_pool *p, struct gw_upconn *c, bool reusable);
/* Called by upclient when c is closed and freed; frees a retired, empty pool. */
void gw_pool_conn_gone(struct gw_pool *p);
/* Called by upclient when an idle connection closes itself. */
void gw_pool_idle_gone(struct gw_pool *p, struct gw_upconn *c);
/* See above; p must not be used afterwards. */
void gw_pool_retire(struct gw_pool *p);

#endif
