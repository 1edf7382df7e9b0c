/* Restores assemble files in a staging dir beside each data dir
 * (<dir>.restore-<tag>, same file system), which is swapped in by rename
 * only once every file is complete, verified and fsynced. Until then the
 * old data is untouched; it is moved aside (<dir>.replaced-<tag>) and
 * removed only after the new data is in place. A rerun with the same tag
 * continues in the same staging dir. */
#ifndef SNAP_STAGING_H
#define SNAP_STAGING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "manifest.h"
#include "paths.h"

struct snap_staging {
    bool used[2];             /* by enum snap_dir */
    char target[2][PATH_MAX]; /* the data dirs */
    char path[2][PATH_MAX];   /* their staging dirs */
    char old[2][PATH_MAX];    /* where old data is moved aside */
    int fd[2];
};

/* Checks the home can take the restore (node stopped, data absent or
 * replace set) and opens (creating) the staging dirs for the dirs marked
 * in use[]. */
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
/* Swaps the staging dirs in; *replaced tells whether old data was moved
 * aside and removed. */
NU_WUR int snap_staging_swap(struct snap_staging *st, bool *replaced, char *errbuf);

#endif
