/* Private state of a running node, shared by node.c (lifecycle), sync.c
 * (sync state machine, GC) and stats.c (the stats log line). */
#ifndef SIM_NODE_INT_H
#define SIM_NODE_INT_H

#include <uv.h>
#include "core.h"
#include "sigs.h"

#define SIM_TICK_MS 50                      /* sync/follow step */
#define SIM_STATE_SYNC_MS 1000              /* how long StateSync is reported */
#define SIM_FOLLOW_MAX_GAP 5                /* a followed head further behind re-enters sync */
#define SIM_GC_BLOCKS_PER_TICK 500          /* bounds loop-thread time spent deleting */
#define SIM_SYNC_BYTES_PER_TICK (64u << 20) /* bounds one catch-up write batch */
#define SIM_SYNC_BLOCKS_PER_TICK 20000

struct sim_core {
    struct sim_node n; /* first: sim_node pointers convert to sim_core */
    uv_loop_t loop;
    uv_timer_t tick, stats;
    struct nu_sigs sigs;   /* from the start of run until the loop's last turn */
    int open_handles;      /* closed by the stop sequence before uv_run returns */
    uint64_t tail;         /* lowest height possibly still stored (GC cursor) */
    bool archive_db;       /* database was created archival */
    uint64_t credit_milli; /* catch-up progress in 1/1000 blocks */
    uint64_t last_tick_ms;
    uint64_t state_sync_until;        /* uv_now() when StateSync ends */
    char reload_error[NU_ERRMSG_MAX]; /* last failed SIGHUP reload, "" when fine */
    /* stats line deltas */
    uint64_t st_head, st_sent, st_recv, st_time_ms, st_cpu_us;
    int exit_code;
};

static inline struct sim_core *sim_core_of(struct sim_node *n)
{
    return (struct sim_core *)n;
}

/* sync.c */
void sim_sync_tick(struct sim_core *c);
/* Persists earliest/tail/head (after state sync, GC or resync). */
void sim_sync_save_meta(struct sim_core *c);

/* stats.c */
void sim_stats_log(struct sim_core *c);

/* node.c */
/* Logs a fatal storage error and stops the node with exit code 1. */
void sim_node_fail(struct sim_core *c, const char *what, const char *err);

#endif
