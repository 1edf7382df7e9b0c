/* Worker threads: each runs its own uv loop with a nu_httpd listener
 * (SO_REUSEPORT) and its own keep-alive pools to the upstreams. The
 * control thread talks to a worker only through atomics plus uv_async:
 * "a new snapshot is published" and "stop". */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include "gw_gateway-int.h"

/* Starts worker idx: loop, listener, thread. Worker 0 binds the
 * configured port (0: ephemeral) and stores the bound one in gw->port;
 * the others bind gw->port (SO_REUSEPORT). On failure errbuf says why and
 * *out is NULL. */
NU_WUR int gw_worker_start(struct gw_gateway *gw, unsigned idx, struct gw_worker **out,
                           char *errbuf);
/* Asks the worker to pick up the published snapshot (any thread). */
void gw_worker_poke(struct gw_worker *w);
/* Asks the worker to stop: stop accepting, drain for drain_timeout, close
 * everything; the thread then ends (any thread). */
void gw_worker_stop(struct gw_worker *w);
/* Joins the thread and frees the worker (control thread). */
void gw_worker_join(struct gw_worker *w);

/* Worker-thread helpers for the request path. */
struct gw_view *gw_worker_view_pin(struct gw_worker *w);
void gw_worker_view_unpin(struct gw_worker *w, struct gw_view *v);
/* This worker's pool to u, created on first use; NULL when out of memory. */
struct nu_hc_pool *gw_worker_pool(struct gw_worker *w, struct gw_upstream *u);
/* The access log finished a write (lets a stopping worker close). */
void gw_worker_alog_done(struct gw_worker *w);

#endif
