/* Swapping restored data into a home's data dirs, and what a swap leaves
 * to do later. A restore assembles each data dir's new contents in a
 * staging dir beside it (<dir>.restore-<name>, complete and fsynced);
 * the swap puts them in place by rename, under the home lock
 * (state.h). Old data, when --replace allows it, goes aside to
 * <dir>.replaced-<name> and stays there until the node has opened the
 * new data (the supervisor's first good /status, or `snapshot verify
 * --home`), or for good with --keep-old.
 *
 * <home>/.nearup/restore.json is the journal: written (atomically,
 * fsynced) before the first rename, so a swap killed between its renames
 * is finished, or put back when a staging dir is gone, by the next
 * restore, `nearup run` or supervisor of the home (node_swap_recover);
 * none of them starts neard before. After the swap it lists the old data
 * dirs awaiting removal; it is gone when there is nothing left to do.
 *
 * This is node_core: the supervisor links it. */
#ifndef NODE_DATASWAP_H
#define NODE_DATASWAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define NODE_SWAP_FILE "restore.json"
#define NODE_SWAP_DIRS_MAX 2    /* hot and cold (split storage) */
#define NODE_SWAP_NAME_MAX 128  /* a snapshot name, as SNAP_NAME_MAX */
#define NODE_SWAP_REMOVE_MAX 16 /* old data dirs awaiting removal at once */
#define NODE_SWAP_STAGING_INFIX ".restore-"
#define NODE_SWAP_OLD_INFIX ".replaced-"
#define NODE_SWAP_REJECTED_INFIX ".rejected-"
#define NODE_SWAP_REJECTED_MAX 16 /* <dir>.rejected-<name>, then .2 ... .16 */
/* Test hook: the process kills itself (SIGKILL) right after the named
 * step of a swap: "journal" (written, nothing renamed), "aside" (a data
 * dir moved to its .replaced- name), "in" (a staging dir renamed in),
 * "done" (journal says swapped). */
#define NODE_SWAP_KILL_ENV "NEARUP_RESTORE_TEST_KILL_AT"

struct node_swap_dir {
    char target[PATH_MAX];  /* the data dir (absolute) */
    char staging[PATH_MAX]; /* <target>.restore-<name> */
    char old[PATH_MAX];     /* <target>.replaced-<name> */
    bool had_data;          /* target held data when the swap began */
};

struct node_swap {
    char name[NODE_SWAP_NAME_MAX];
    bool replace;  /* a data dir with data may be moved aside */
    bool keep_old; /* and then kept for good */
    size_t ndirs;
    struct node_swap_dir dir[NODE_SWAP_DIRS_MAX];
};

struct node_swap_result {
    bool replaced; /* old data was moved aside */
    bool kept;     /* for good (keep_old); else until the node opens the new data */
    size_t nold;
    char old[NODE_SWAP_DIRS_MAX][PATH_MAX]; /* where it is */
};

/* Fills d's paths for data dir target (absolute) and snapshot name
 * ([A-Za-z0-9._-], not starting with '.'). NU_EINVAL / NU_ETOOBIG. */
NU_WUR int node_swap_dir_init(struct node_swap_dir *d, const char *target, const char *name,
                              char *errbuf);

/* The swap; the caller holds the home lock and every staging dir is
 * complete. At the moment of the renames it checks again that no neard
 * runs on the home (pid files, and RocksDB's lock on each data dir, which
 * it holds itself through the renames so a neard started by hand cannot
 * open the database meanwhile) and that a data dir with data is moved
 * only with replace; else nothing is renamed (NU_ESTATE, NU_EEXIST) and
 * the staging dirs are kept for a rerun. A failed rename puts back what
 * was moved. */
NU_WUR int node_swap_run(const char *home, struct node_swap *sw, struct node_swap_result *res,
                         char *errbuf);

enum node_swap_outcome {
    NODE_SWAP_NOTHING,     /* no interrupted swap */
    NODE_SWAP_FINISHED,    /* every staging dir was there: the swap was completed */
    NODE_SWAP_ROLLED_BACK, /* a staging dir was gone: every data dir holds its old data again */
};

struct node_swap_recovery {
    enum node_swap_outcome outcome;
    char name[NODE_SWAP_NAME_MAX]; /* the snapshot of that swap */
    char note[NU_ERRMSG_MAX];      /* one line saying what was done */
    struct node_swap_result res;   /* FINISHED: as node_swap_run's */
};

/* Settles a swap a kill -9 interrupted (caller holds the home lock).
 * Fails, and nothing may start neard, when the journal cannot be read or
 * the dirs are in a state no swap leaves (old data gone). */
NU_WUR int node_swap_recover(const char *home, struct node_swap_recovery *rec, char *errbuf);

/* True when the journal lists old data dirs awaiting removal and no chain
 * check of the home keeps them (chaincheck.h: pending, failed or
 * unreadable); name (may be NULL) gets the snapshot the last swap put in
 * place. */
bool node_swap_removal_pending(const char *home, char *name, size_t namesz);
/* Removes the old data dirs the journal lists, after the node has opened
 * the new data (caller holds the home lock). *removed counts them.
 * NU_ESTATE while a chain check keeps them. */
NU_WUR int node_swap_remove_old(const char *home, size_t *removed, char *errbuf);
/* True when the journal says a swap is under way (a kill -9 interrupted
 * it, or it runs now). */
bool node_swap_in_progress(const char *home);

/* Restored data that failed its chain check goes aside and the old data
 * the restore kept (<dir>.replaced-<name>) comes back. */
struct node_swap_rejection {
    size_t ndirs;
    char target[NODE_SWAP_DIRS_MAX][PATH_MAX];
    char rejected[NODE_SWAP_DIRS_MAX][PATH_MAX]; /* <dir>.rejected-<name>[.N]; "" if no data */
    char old[NODE_SWAP_DIRS_MAX][PATH_MAX];      /* <dir>.replaced-<name> */
    bool old_back[NODE_SWAP_DIRS_MAX];           /* it was there and is in place again */
};

/* Picks, for each data dir (absolute) of snapshot name, the first free
 * <dir>.rejected-<name>[.N]; NU_EEXIST when all NODE_SWAP_REJECTED_MAX
 * are taken. Nothing is moved. */
NU_WUR int node_swap_reject_plan(const char (*targets)[PATH_MAX], size_t n, const char *name,
                                 struct node_swap_rejection *r, char *errbuf);
/* Moves each data dir to its rejected name, then its old data back in
 * (caller holds the home lock, neard is stopped), fsyncs the parents and
 * drops the old dirs from the journal's removals. Never deletes. */
NU_WUR int node_swap_reject(const char *home, struct node_swap_rejection *r, char *errbuf);

/* True when some process holds RocksDB's lock on <dir>/LOCK (fcntl), as
 * neard does while its database is open. */
bool node_data_locked(const char *dir);

#endif
