/* A fixed pool of worker threads over a numbered list of jobs, with a
 * progress line drawn by the calling thread. Each worker gets its own
 * state (its store handle, so its own curl handle, and its buffers). The
 * first failing job stops the others; its message is the pool's. */
#ifndef SNAP_WORKERS_H
#define SNAP_WORKERS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "progress_snap.h"

#define SNAP_PARALLEL_MAX 64
#define SNAP_PARALLEL_DEFAULT 8

struct snap_pool_def {
    size_t nworkers; /* clamped to 1..SNAP_PARALLEL_MAX and to njobs */
    size_t njobs;
    void *ctx;
    /* Makes a worker's state (may be NULL). */
    int (*init)(void *ctx, size_t worker, void **state, char *errbuf);
    int (*job)(void *ctx, void *state, size_t job, char *errbuf);
    /* Ends a worker (also after a failure): flushes and frees its state.
     * ok is false when the pool is stopping on an error. */
    int (*fini)(void *ctx, void *state, bool ok, char *errbuf);
    /* Called about every 50 ms on the calling thread while jobs run (may be NULL). */
    void (*tick)(void *ctx);
    struct snap_progress *progress;      /* may be NULL */
    const volatile sig_atomic_t *cancel; /* non-zero: stop taking jobs (NU_ESTATE) */
};

/* Runs every job once across the workers; returns the first error. */
NU_WUR int snap_pool_run(const struct snap_pool_def *d, char *errbuf);

#endif
