/* Paths: where a home keeps its data, relative paths from manifests and
 * public listings checked against escapes, and file-system work that never
 * follows a symlink (openat with O_NOFOLLOW at every component). */
#ifndef SNAP_PATHS_H
#define SNAP_PATHS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define SNAP_RELPATH_MAX 1024
#define SNAP_DEPTH_MAX 16

/* The data dirs of a home: config.json's store.path (default "data") and,
 * with split storage, cold_store.path. Relative paths are under home. */
struct snap_home_dirs {
    char hot[PATH_MAX];
    char cold[PATH_MAX]; /* "" without split storage */
};

NU_WUR int snap_home_dirs(const char *home, struct snap_home_dirs *d, char *errbuf);

/* A relative path from outside: segments of printable ASCII other than
 * '/' and '\\', none empty, "." or "..", not absolute, at most
 * SNAP_RELPATH_MAX bytes and SNAP_DEPTH_MAX segments. */
bool snap_relpath_valid(const char *path);

/* Opens (creating with mode when flags has O_CREAT) root_fd-relative path,
 * creating missing parent directories (0755); no component may be a
 * symlink (NU_EPERM "... is a symlink"). Returns an fd or a negative
 * NU_E* code. */
NU_WUR int snap_openat_safe(int root_fd, const char *path, int flags, mode_t mode, char *errbuf);

/* Takes <home>/.nearup/snapshot.lock (flock): one create or restore per
 * home at a time. NU_EEXIST when another holds it. */
NU_WUR int snap_home_lock(const char *home, int *fd, char *errbuf);
void snap_home_unlock(int fd);
/* Parent directory of path into out. */
void snap_parent_dir(const char *path, char *out, size_t outsz);

#endif
