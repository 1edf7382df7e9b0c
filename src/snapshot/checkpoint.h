/* A consistent copy of a home's data dirs for the seconds the node is
 * stopped: RocksDB's immutable files (*.sst, *.blob) are hard-linked, the
 * small mutable ones (CURRENT, MANIFEST-*, OPTIONS-*, *.log WAL, IDENTITY)
 * copied, LOCK and the info LOGs left out. The checkpoint sits beside each
 * data dir (<dir>.nearup-checkpoint), on the same file system, and is
 * uploaded after the node runs again. */
#ifndef SNAP_CHECKPOINT_H
#define SNAP_CHECKPOINT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include "paths.h"
#include "snap.h"

#define SNAP_CHECKPOINT_SUFFIX ".nearup-checkpoint"
#define SNAP_STATUS_TIMEOUT_MS 5000

/* What the node said about itself before it was stopped. */
struct snap_node_info {
    int64_t height; /* -1 unknown */
    char block_hash[SNAP_TEXT_MAX];
    char version[SNAP_TEXT_MAX];
    char chain_id[SNAP_CHAIN_MAX];
};

struct snap_checkpoint {
    char hot[PATH_MAX];  /* checkpoint of the hot dir */
    char cold[PATH_MAX]; /* "" without split storage */
};

/* Stops the node of home through its supervisor (when running), takes the
 * checkpoint of dirs, and starts the node again (only if it was running).
 * Timings and link/copy counts go to r; the node's status to info. On
 * failure the node is still restarted and no checkpoint is left. */
NU_WUR int snap_checkpoint_take(const struct snap_create_opts *o, const struct snap_home_dirs *dirs,
                                struct snap_checkpoint *cp, struct snap_node_info *info,
                                struct snap_create_result *r, char *errbuf);
/* Deletes the checkpoint dirs (hard links and copies only). */
void snap_checkpoint_remove(const struct snap_checkpoint *cp);
/* Deletes a checkpoint a killed create left behind for dirs. */
NU_WUR int snap_checkpoint_clean(const struct snap_home_dirs *dirs, char *errbuf);

#endif
