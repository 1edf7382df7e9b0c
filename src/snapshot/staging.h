/* Restores assemble files in a staging dir beside each data dir
 * (<dir>.restore-<tag>, same file system), which is swapped in by rename
 * only once every file is complete, verified and fsynced (the swap, its
 * journal and its recovery are node_swap_*, dataswap.h). Until then the
 * old data is untouched; with --replace it is moved aside
 * (<dir>.replaced-<tag>) and kept until the node has opened the new data.
 * A rerun with the same tag continues in the same staging dir. */
#ifndef SNAP_STAGING_H
#define SNAP_STAGING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "dataswap.h"
#include "error.h"
#include "manifest.h"
#include "paths.h"
#include "snap.h"
#include "state.h"

struct snap_staging {
    const char *home;
    char tag[SNAP_NAME_MAX];
    bool replace;
    bool used[2];                /* by enum snap_dir */
    struct node_swap_dir dir[2]; /* the data dirs, their staging and old names */
    int fd[2];                   /* the staging dirs */
};

/* What a restore holds from its first check to after the swap: the home
 * lock (state.h; unless the caller holds it) and snapshot.lock. */
struct snap_restore_locks {
    int home, snap;
};

/* Takes the home lock for role (unless home_locked: the caller holds it)
 * and snapshot.lock, then settles a swap a kill -9 interrupted, saying
 * what it did through note (may be NULL); rec (may be NULL) gets it. On
 * failure nothing is held. A supervisor holding the home is NU_ESTATE
 * "the node of HOME is running; stop it first ...". */
NU_WUR int snap_home_begin(const char *home, enum node_lock_role role, bool home_locked,
                           snap_note_fn note, void *note_ud, struct snap_restore_locks *l,
                           struct node_swap_recovery *rec, char *errbuf);
/* snap_home_begin for a restore of snapshot tag. *done: the swap it
 * settled was of tag, which is now in place as *res says; nothing is left
 * to do. */
NU_WUR int snap_restore_begin(const struct snap_restore_opts *o, const char *tag,
                              struct snap_restore_locks *l, bool *done,
                              struct node_swap_result *res, char *errbuf);
void snap_restore_end(struct snap_restore_locks *l);
/* True when a supervisor or neard of home runs, or a process holds the
 * RocksDB lock of one of its data dirs. */
bool snap_home_in_use(const char *home, const struct snap_home_dirs *dirs);

/* Checks the home can take the restore (node stopped, data absent or
 * replace set, no old data in the way) and opens (creating) the staging
 * dirs for the dirs marked in use[]. */
NU_WUR int snap_staging_open(struct snap_staging *st, const char *home,
                             const struct snap_home_dirs *dirs, const bool use[2], const char *tag,
                             bool replace, char *errbuf);
void snap_staging_close(struct snap_staging *st);

/* Removes from staging dir d every entry that is not one of the sorted
 * relative paths (or a directory leading to one), symlinks included, so
 * what is swapped in is exactly what was restored. */
NU_WUR int snap_staging_clean(struct snap_staging *st, enum snap_dir d, char *const *sorted,
                              size_t n, char *errbuf);
/* fsyncs every directory of the staging trees. */
NU_WUR int snap_staging_sync(struct snap_staging *st, char *errbuf);
/* Swaps the staging dirs in (node_swap_run); res says where old data went. */
NU_WUR int snap_staging_swap(struct snap_staging *st, bool keep_old, struct node_swap_result *res,
                             char *errbuf);
/* Copies a swap's result into a restore's. */
void snap_restore_take_swap(struct snap_restore_result *r, const struct node_swap_result *res);

#endif
