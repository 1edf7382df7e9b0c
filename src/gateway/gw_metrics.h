/* The gateway's Prometheus metrics (prefix nearup_gateway_).
 *
 * Hot-path counters live in a per-worker struct gw_wstats that only its
 * worker writes (plain relaxed loads and stores, no locked instructions);
 * a scrape sums every worker's copy. Upstream counters and gauges come
 * from the shared upstream objects, control-plane counters from the
 * gateway. Label sets are bounded: methods come from the fixed method
 * table (unknown ones are "other"), status codes from a fixed list
 * (others are "other"), upstreams from the configuration. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"
#include "gw_rpcpeek.h"

/* Why a call was retried on another upstream. */
enum gw_retry_reason {
    GW_RR_CONNECT,       /* connect failed: the request never left */
    GW_RR_RESET,         /* connection reset or closed before a complete answer */
    GW_RR_HTTP_502,      /* upstream answered 502 */
    GW_RR_HTTP_503,      /* upstream answered 503 */
    GW_RR_INTERNAL,      /* upstream answered 500 INTERNAL_ERROR (overloaded) */
    GW_RR_NOT_SYNCED,    /* NOT_SYNCED_YET / NO_SYNCED_BLOCKS */
    GW_RR_UNKNOWN_BLOCK, /* UNKNOWN_BLOCK for a block another upstream has */
    GW_NRR
};

enum gw_shed_reason { GW_SHED_FULL, GW_SHED_NO_UPSTREAM, GW_NSHED };

#define GW_NCODES 16
#define GW_NBUCKETS 14 /* 1 ms ... 30 s, plus +Inf */

struct gw_wstats {
    atomic_uint_fast64_t req[GW_NMETHODS][GW_NCODES];
    atomic_uint_fast64_t lat[GW_NMETHODS][GW_NBUCKETS + 1]; /* per bucket, not cumulative */
    atomic_uint_fast64_t lat_sum_us[GW_NMETHODS];
    atomic_uint_fast64_t retries[GW_NRR];
    atomic_uint_fast64_t retry_budget_exhausted;
    atomic_uint_fast64_t shed[GW_NSHED];
    atomic_uint_fast64_t rate_limited, denied, batches, batch_calls, parse_errors;
    atomic_uint_fast64_t alog_dropped;
    /* copied from the worker's nu_httpd every second */
    atomic_uint_fast64_t http_accepted, http_rejected, http_bad, http_timeouts, http_too_large;
    atomic_uint_fast64_t http_open, http_unsent_drops, http_unsent_bytes, http_buffer_bytes;
};

/* Single-writer increment: the owning worker is the only writer. */
#define GW_STAT_ADD(var, n)                                                                        \
    atomic_store_explicit(&(var), atomic_load_explicit(&(var), memory_order_relaxed) + (n),        \
                          memory_order_relaxed)
#define GW_STAT_INC(var) GW_STAT_ADD(var, 1)

const char *gw_retry_reason_name(int r);

/* Records one finished call: method, HTTP status, latency. */
void gw_stats_call(struct gw_wstats *st, int method, int status, uint64_t latency_us);

struct gw_gateway;
struct gw_upset;

/* Renders every family. set is the upstream set to describe. */
NU_WUR int gw_metrics_render(struct gw_gateway *gw, const struct gw_upset *set, struct nu_buf *out);

#endif
