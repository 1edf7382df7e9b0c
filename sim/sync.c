/* The sync state machine, run every SIM_TICK_MS on the loop:
 *
 *   AwaitingPeers --(peers >= min_num_peers or skip_sync_wait)--> decide
 *   decide: gap <= 1 -> NoSync; gap > 2 epochs and not archival -> StateSync; else BlockSync
 *   StateSync (SIM_STATE_SYNC_MS) -> jump to the start of the current epoch -> BlockSync
 *   BlockSync: head += sim.sync_blocks_per_sec * dt until one block behind -> NoSync
 *   NoSync: store each block as the clock produces it; a gap > SIM_FOLLOW_MAX_GAP
 *           (e.g. after a stall) goes back to decide.
 *
 * Non-archival nodes then move earliest to the start of the oldest kept
 * epoch and delete blocks below it, SIM_GC_BLOCKS_PER_TICK at a time. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "node-int.h"

/* neard's client checks this on every tick, not only when the head moves:
 * a SIGHUP may lower the target below a head that is not moving. */
static void check_expected_shutdown(struct sim_core *c)
{
    struct sim_node *n = &c->n;
    if (!n->cfg.has_expected_shutdown || n->head < n->cfg.expected_shutdown || n->stopping)
        return;
    sim_log("INFO", "client", "Expected shutdown triggered: head block(%llu) >= (%llu)",
            (unsigned long long)n->head, (unsigned long long)n->cfg.expected_shutdown);
    /* neard's client signals the crash channel, which main reports so. */
    sim_node_request_stop(n, "ClientActor died");
}

static void on_head_moved(struct sim_core *c)
{
    sim_rpc_on_head(&c->n);
    check_expected_shutdown(c);
}

void sim_sync_save_meta(struct sim_core *c)
{
    char err[NU_ERRMSG_MAX];
    struct sim_store_meta m = {.found = true,
                               .head = c->n.head,
                               .earliest = c->n.earliest,
                               .tail = c->tail,
                               .archive = c->archive_db,
                               .fork_from = c->n.fork_from};
    if (sim_store_write_meta(c->n.store, &m, err) < 0)
        sim_node_fail(c, "write metadata", err);
}

static bool append(struct sim_core *c, uint64_t to)
{
    char err[NU_ERRMSG_MAX];
    struct sim_node *n = &c->n;
    if (to <= n->head)
        return true;
    if (sim_store_append(n->store, n->head + 1, to, err) < 0) {
        sim_node_fail(c, "store blocks", err);
        return false;
    }
    n->head = to;
    on_head_moved(c);
    return true;
}

static bool peers_missing(const struct sim_node *n)
{
    return !n->cfg.skip_sync_wait && n->npeers < n->cfg.min_num_peers;
}

static void begin_sync(struct sim_core *c, uint64_t target, uint64_t now_ms)
{
    struct sim_node *n = &c->n;
    uint64_t gap = target - n->head;
    n->sync_target = target;
    n->sync_start = n->head;
    c->credit_milli = 0;
    if (gap <= 1) {
        n->sync_status = SIM_SYNC_NO_SYNC;
        append(c, target);
    } else if (!n->cfg.archive && gap > 2 * n->gen.epoch_length) {
        n->sync_status = SIM_SYNC_STATE_SYNC;
        c->state_sync_until = now_ms + SIM_STATE_SYNC_MS;
    } else {
        n->sync_status = SIM_SYNC_BLOCK_SYNC;
    }
}

/* State sync lands on the first block of the current epoch: that block is
 * stored and becomes earliest; older blocks are left to GC. */
static void finish_state_sync(struct sim_core *c, uint64_t target)
{
    char err[NU_ERRMSG_MAX];
    struct sim_node *n = &c->n;
    uint64_t start = sim_chain_epoch_start(n, target);
    if (start > n->head) {
        if (sim_store_append(n->store, start, start, err) < 0) {
            sim_node_fail(c, "store blocks", err);
            return;
        }
        n->head = start;
        n->earliest = start;
        sim_sync_save_meta(c);
        on_head_moved(c);
    }
    n->sync_status = SIM_SYNC_BLOCK_SYNC;
    n->sync_start = n->head;
    c->credit_milli = 0;
}

static void block_sync_step(struct sim_core *c, uint64_t target, uint64_t dt_ms)
{
    struct sim_node *n = &c->n;
    c->credit_milli += n->cfg.sim_sync_rate * dt_ms;
    uint64_t blocks = c->credit_milli / 1000;
    uint64_t per_block = n->cfg.sim_block_payload_bytes + 64;
    uint64_t cap = SIM_SYNC_BYTES_PER_TICK / per_block;
    if (cap == 0)
        cap = 1;
    if (cap > SIM_SYNC_BLOCKS_PER_TICK)
        cap = SIM_SYNC_BLOCKS_PER_TICK;
    if (blocks > cap)
        blocks = cap;
    c->credit_milli -= blocks * 1000;
    if (c->credit_milli > 1000 * cap)
        c->credit_milli = 0; /* do not bank progress while the write cap throttles */
    uint64_t to = n->head + blocks;
    if (to + 1 >= target)
        to = target; /* the last block arrives as it is produced: NoSync */
    if (!append(c, to))
        return;
    n->sync_target = target;
    if (n->head >= target)
        n->sync_status = SIM_SYNC_NO_SYNC;
}

static void gc_step(struct sim_core *c)
{
    char err[NU_ERRMSG_MAX];
    struct sim_node *n = &c->n;
    if (n->cfg.archive || c->archive_db)
        return;
    uint64_t keep = n->cfg.gc_num_epochs_to_keep < 3 ? 3 : n->cfg.gc_num_epochs_to_keep;
    uint64_t e = sim_chain_epoch_index(n, n->head);
    if (e + 1 > keep) {
        uint64_t e0 = e + 1 - keep;
        uint64_t stop = n->gen.genesis_height + 1 + e0 * n->gen.epoch_length;
        if (stop > n->earliest && stop <= n->head) {
            n->earliest = stop;
            sim_sync_save_meta(c);
        }
    }
    if (c->tail >= n->earliest)
        return;
    if (sim_store_gc(n->store, n->earliest, SIM_GC_BLOCKS_PER_TICK, &c->tail, err) < 0)
        sim_node_fail(c, "garbage collection", err);
}

void sim_sync_tick(struct sim_core *c)
{
    struct sim_node *n = &c->n;
    uint64_t now_ms = uv_now(&c->loop);
    uint64_t dt = now_ms - c->last_tick_ms;
    c->last_tick_ms = now_ms;
    /* The clock is the chain: peers' announced heads only confirm it, so a
     * peer claiming a height from the future cannot drag the node there. A
     * node waiting alone knows no header beyond its own head. */
    uint64_t net = sim_chain_network_head(n, nu_real_ns());
    bool alone = n->npeers == 0 && n->sync_status == SIM_SYNC_AWAITING_PEERS;
    n->header_head = alone ? n->head : net;
    check_expected_shutdown(c);
    if (n->stopping || n->stalled)
        return;
    uint64_t target = net > n->head ? net : n->head;
    enum sim_sync_status before = n->sync_status;
    switch (n->sync_status) {
    case SIM_SYNC_NO_SYNC:
        if (target - n->head <= SIM_FOLLOW_MAX_GAP)
            append(c, target);
        else if (peers_missing(n))
            n->sync_status = SIM_SYNC_AWAITING_PEERS;
        else
            begin_sync(c, target, now_ms);
        break;
    case SIM_SYNC_STATE_SYNC:
        if (now_ms >= c->state_sync_until)
            finish_state_sync(c, target);
        break;
    case SIM_SYNC_BLOCK_SYNC:
        if (peers_missing(n))
            n->sync_status = SIM_SYNC_AWAITING_PEERS;
        else
            block_sync_step(c, target, dt);
        break;
    default: /* AwaitingPeers and the states the simulator never enters */
        if (!peers_missing(n))
            begin_sync(c, target, now_ms);
        break;
    }
    if (n->sync_status != before)
        sim_rpc_on_head(n); /* the RPC's cached status carries `syncing` */
    if (!n->stopping)
        gc_step(c);
}

void sim_node_set_stalled(struct sim_node *n, bool stalled)
{
    n->stalled = stalled;
}

int sim_node_resync_from(struct sim_node *n, uint64_t height)
{
    char err[NU_ERRMSG_MAX];
    struct sim_core *c = sim_core_of(n);
    if (height > n->head || height < n->earliest)
        return NU_EINVAL;
    if (height < n->head) {
        if (sim_store_truncate_above(n->store, height, n->head, err) < 0) {
            sim_node_fail(c, "truncate", err);
            return NU_EIO;
        }
        n->head = height;
        sim_rpc_on_head(n);
    }
    /* Back through decide: AwaitingPeers first, as a restarted sync would. */
    n->sync_status = SIM_SYNC_AWAITING_PEERS;
    n->sync_start = height;
    return 0;
}

/* The lowest height whose hash differs between fork points a and b (0: none). */
static uint64_t first_changed(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return a > b ? a : b;
    return a < b ? a : b;
}

int sim_node_fork_check(const struct sim_node *n, uint64_t height, char *err, size_t errsz)
{
    uint64_t low = first_changed(n->fork_from, height);
    if (height != 0 && height <= n->gen.genesis_height) {
        snprintf(err, errsz, "fork_from %llu: must be above the genesis height %llu",
                 (unsigned long long)height, (unsigned long long)n->gen.genesis_height);
        return NU_EINVAL;
    }
    if (height != n->fork_from && low <= n->head && low <= n->earliest) {
        snprintf(err, errsz,
                 "fork_from %llu: block %llu would change, but the earliest block still stored "
                 "is %llu",
                 (unsigned long long)height, (unsigned long long)low,
                 (unsigned long long)n->earliest);
        return NU_EINVAL;
    }
    return 0;
}

int sim_node_fork_from(struct sim_node *n, uint64_t height, char *err, size_t errsz)
{
    char e[NU_ERRMSG_MAX];
    struct sim_core *c = sim_core_of(n);
    uint64_t low = first_changed(n->fork_from, height);
    int rc = sim_node_fork_check(n, height, err, errsz);
    if (rc < 0 || height == n->fork_from)
        return rc;
    if (low <= n->head && n->store != NULL) {
        /* Blocks that change are dropped under their old hashes, then synced again. */
        if (sim_store_truncate_above(n->store, low - 1, n->head, e) < 0) {
            sim_node_fail(c, "truncate", e);
            snprintf(err, errsz, "fork_from: %s", e);
            return NU_EIO;
        }
        n->head = low - 1;
        n->sync_status = SIM_SYNC_AWAITING_PEERS;
        n->sync_start = n->head;
    }
    n->fork_from = height;
    if (n->store != NULL)
        sim_sync_save_meta(c);
    sim_rpc_on_head(n);
    return 0;
}
