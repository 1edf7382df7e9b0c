/* Types of the gateway runtime, shared by its modules:
 *
 *   gw_gateway  the process: control loop (main thread) with signals,
 *               health checks, DNS and reloads; the published snapshot
 *   gw_snap     an immutable, reference-counted (config, upstream set,
 *               access log) triple; a reload or DNS change publishes a new
 *               one and pokes every worker
 *   gw_worker   one thread: its own uv loop, nu_httpd (SO_REUSEPORT),
 *               connection pools, stats and access log buffer
 *   gw_view     a worker's hold on a snapshot; requests pin the view they
 *               started with (a worker-local count, no atomics), so a swap
 *               never pulls a config out from under a request. */
#ifndef GW_GATEWAY_INT_H
#define GW_GATEWAY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"
#include "httpd.h"
#include "sigs.h"
#include "gw_config.h"
#include "gw_metrics.h"
#include "gw_upstream.h"

struct gw_health;
struct gw_dns;
struct gw_ratelimit;
struct nu_hc_pool;
struct gw_exchange;

/* An open access log file (or stderr), shared by snapshots. */
struct gw_alog {
    atomic_int refs;
    int fd;
    bool close_fd;
};

struct gw_snap {
    atomic_int refs;
    struct gw_config *cfg;
    struct gw_upset *set;
    struct gw_alog *alog; /* NULL: no access log */
};

struct gw_view {
    struct gw_snap *snap;
    unsigned users;
    struct gw_view *next; /* worker's retired views still in use */
};

/* Buffered access log lines of one worker; flushed with uv_fs_write. */
struct gw_alogbuf {
    struct nu_buf buf;      /* lines being collected */
    struct nu_buf inflight; /* lines being written */
    uv_fs_t req;
    struct gw_alog *wlog; /* referenced while a write is in flight */
    bool writing;
};

struct gw_worker {
    struct gw_gateway *gw;
    unsigned idx;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t async;
    uv_timer_t tick;
    struct nu_httpd *httpd;
    struct gw_view *view;     /* current */
    struct gw_view *retired;  /* older views pinned by requests */
    struct nu_hc_pool *pools; /* every pool of this worker (owner_next list) */
    atomic_bool want_stop, want_snap;
    bool stopping;
    struct gw_wstats st;
    uint64_t rng;
    /* retry budget: two 5 s halves of a 10 s window */
    uint64_t win_start_ns;
    uint32_t win_req[2], win_retry[2];
    struct gw_exchange *free_ex;
    unsigned nfree;
    struct gw_alogbuf alog;
};

struct gw_gateway {
    uv_loop_t loop; /* control loop, main thread */
    struct gw_config *cfg;
    char file[GW_PATH_MAX]; /* -c FILE, "" when none */
    const struct gw_flag *flags;
    size_t nflags;
    pthread_mutex_t mu; /* guards snap, and workers_running with its wake-up */
    struct gw_snap *snap;
    struct gw_worker **w;
    unsigned nworkers;
    struct gw_health *health;
    struct gw_dns *dns;
    struct gw_ratelimit *rl;
    struct nu_sigs sigs;      /* open from start to the end of the drain */
    uv_async_t workers_done;  /* a worker thread finished its loop */
    unsigned workers_running; /* threads started and not finished (mu) */
    unsigned workers_draining; /* of those, the ones that took the stop (mu) */
    const char *stop_why;     /* the signal that began the drain */
    bool stop_logged;         /* "stopping" logged: every running worker drains */
    uint64_t stop_ms;         /* uv_now when the drain began */
    bool finished;            /* drain over: signals and workers_done closed */
    atomic_bool draining;
    atomic_uint_fast64_t reloads_ok, reloads_failed, dns_failures;
    atomic_uint_fast64_t checks_ok, checks_failed;
    atomic_int_fast64_t ref_head;
    atomic_int ok_count;
    int port; /* bound listen port */
    bool stopping;
};

/* Snapshot helpers (gw_gateway.c). */
struct gw_snap *gw_snap_ref(struct gw_snap *s);
void gw_snap_unref(struct gw_snap *s);
/* The published snapshot, with a reference for the caller. */
struct gw_snap *gw_gateway_snap(struct gw_gateway *gw);
/* Counts a worker thread about to start (control thread); undo with
 * gw_gateway_worker_exited when it could not start. */
void gw_gateway_worker_starting(struct gw_gateway *gw);
/* A worker thread's loop has ended (called on that thread, last thing);
 * drained: it had called gw_gateway_worker_draining. */
void gw_gateway_worker_exited(struct gw_gateway *gw, bool drained);
/* A worker has taken the stop: its server answers with Connection: close
 * and accepts nothing more (called on the worker's thread). */
void gw_gateway_worker_draining(struct gw_gateway *gw);

#endif
