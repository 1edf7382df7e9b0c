/* Staging dirs and the swap (see staging.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "staging.h"
#include "state.h"

#define DEPTH_MAX SNAP_DEPTH_MAX

static bool node_running(const char *home, const struct snap_home_dirs *dirs)
{
    return node_pidfile_alive(home, "supervisor.pid", NULL) ||
           node_pidfile_alive(home, "neard.pid", NULL) || snap_rocksdb_locked(dirs->hot) ||
           (dirs->cold[0] != '\0' && snap_rocksdb_locked(dirs->cold));
}

static int check_target(const char *target, bool replace, char *errbuf)
{
    struct stat st;
    if (lstat(target, &st) < 0)
        return errno == ENOENT ? 0 : nu_err_set(errbuf, NU_EIO, "%s: %s", target, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return nu_err_set(errbuf, NU_EPERM,
                          "data dir %s is a symlink; point store.path at the real directory",
                          target);
    if (!S_ISDIR(st.st_mode))
        return nu_err_set(errbuf, NU_EEXIST, "%s exists and is not a directory", target);
    if (!replace && !snap_dir_empty(target))
        return nu_err_set(errbuf, NU_EEXIST,
                          "%s already holds data; pass --replace to replace it (the old data is "
                          "removed only after the restored data is in place)",
                          target);
    return 0;
}

static int open_staging(struct snap_staging *st, int d, const char *tag, char *errbuf)
{
    struct stat sb;
    if ((size_t)snprintf(st->path[d], PATH_MAX, "%s.restore-%s", st->target[d], tag) >= PATH_MAX ||
        (size_t)snprintf(st->old[d], PATH_MAX, "%s.replaced-%s", st->target[d], tag) >= PATH_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG, "data path too long");
    if (mkdir(st->path[d], 0755) < 0 && errno != EEXIST)
        return nu_err_set(errbuf, NU_EIO, "mkdir %s: %s", st->path[d], strerror(errno));
    if (lstat(st->path[d], &sb) < 0 || !S_ISDIR(sb.st_mode))
        return nu_err_set(errbuf, NU_EPERM, "staging dir %s is not a directory (a symlink?)",
                          st->path[d]);
    st->fd[d] = open(st->path[d], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (st->fd[d] < 0)
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", st->path[d], strerror(errno));
    return 0;
}

int snap_staging_open(struct snap_staging *st, const char *home, const struct snap_home_dirs *dirs,
                      const bool use[2], const char *tag, bool replace, char *errbuf)
{
    memset(st, 0, sizeof(*st));
    st->fd[0] = st->fd[1] = -1;
    snprintf(st->target[SNAP_DIR_HOT], PATH_MAX, "%s", dirs->hot);
    snprintf(st->target[SNAP_DIR_COLD], PATH_MAX, "%s", dirs->cold);
    if (node_running(home, dirs))
        return nu_err_set(errbuf, NU_ESTATE,
                          "the node of %s is running; stop it first with 'nearup stop --home %s'",
                          home, home);
    if (use[SNAP_DIR_COLD] && dirs->cold[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL,
                          "the snapshot has cold (split storage) data but %s/config.json has no "
                          "cold_store.path",
                          home);
    int rc = 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        if (use[d])
            rc = check_target(st->target[d], replace, errbuf);
    }
    for (int d = 0; d < 2 && rc == 0; d++) {
        st->used[d] = use[d];
        if (use[d])
            rc = open_staging(st, d, tag, errbuf);
    }
    if (rc < 0)
        snap_staging_close(st);
    return rc;
}

void snap_staging_close(struct snap_staging *st)
{
    for (int d = 0; d < 2; d++) {
        if (st->fd[d] >= 0)
            close(st->fd[d]);
        st->fd[d] = -1;
    }
}

/* ---- strays ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True if rel is one of sorted, or a directory leading to one. */
static bool wanted(const char *rel, bool is_dir, char *const *sorted, size_t n)
{
    if (!is_dir)
        return bsearch(&rel, sorted, n, sizeof(*sorted), cmp_str) != NULL;
    size_t len = strlen(rel), lo = 0, hi = n;
    while (lo < hi) { /* first entry >= rel */
        size_t mid = (lo + hi) / 2;
        if (strcmp(sorted[mid], rel) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && strncmp(sorted[i], rel, len) == 0; i++) {
        if (sorted[i][len] == '/')
            return true;
        if (sorted[i][len] > '/')
            break;
    }
    return false;
}

static int clean_at(int dfd, char *rel, size_t rellen, char *const *sorted, size_t n, int depth,
                    char *errbuf)
{
    int fd = dup(dfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return nu_err_set(errbuf, NU_EIO, "read staging dir: %s", strerror(errno));
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        struct stat st;
        size_t nlen = strlen(de->d_name);
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (rellen + nlen + 2 > SNAP_RELPATH_MAX + 2 ||
            fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = snap_rm_tree_at(dfd, de->d_name, errbuf);
            continue;
        }
        snprintf(rel + rellen, SNAP_RELPATH_MAX + 2 - rellen, "%s%s", rellen ? "/" : "",
                 de->d_name);
        bool dir_ok = S_ISDIR(st.st_mode) && depth < DEPTH_MAX && wanted(rel, true, sorted, n);
        if (dir_ok) {
            int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? nu_err_set(errbuf, NU_EIO, "open %s: %s", rel, strerror(errno))
                         : clean_at(sub, rel, strlen(rel), sorted, n, depth + 1, errbuf);
            if (sub >= 0)
                close(sub);
        } else if (!S_ISREG(st.st_mode) || !wanted(rel, false, sorted, n)) {
            rc = snap_rm_tree_at(dfd, de->d_name, errbuf);
        }
        rel[rellen] = '\0';
    }
    closedir(dir);
    return rc;
}

int snap_staging_clean(struct snap_staging *st, enum snap_dir d, char *const *sorted, size_t n,
                       char *errbuf)
{
    char rel[SNAP_RELPATH_MAX + 2] = "";
    if (!st->used[d])
        return 0;
    return clean_at(st->fd[d], rel, 0, sorted, n, 0, errbuf);
}

/* ---- durability and the swap ---- */

static int sync_at(int dfd, int depth, char *errbuf)
{
    int fd = dup(dfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return nu_err_set(errbuf, NU_EIO, "read staging dir: %s", strerror(errno));
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && depth < DEPTH_MAX && (de = readdir(dir)) != NULL) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            rc = sync_at(sub, depth + 1, errbuf);
            close(sub);
        }
    }
    closedir(dir);
    if (rc == 0 && fsync(dfd) < 0)
        rc = nu_err_set(errbuf, NU_EIO, "fsync staging dir: %s", strerror(errno));
    return rc;
}

int snap_staging_sync(struct snap_staging *st, char *errbuf)
{
    int rc = 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        if (st->used[d])
            rc = sync_at(st->fd[d], 0, errbuf);
    }
    return rc;
}

static int fsync_parent(const char *path, char *errbuf)
{
    char parent[PATH_MAX];
    snap_parent_dir(path, parent, sizeof(parent));
    return nu_fs_fsync_dir(parent, errbuf);
}

/* Swaps one dir; *moved tells whether old data went aside. */
static int swap_one(struct snap_staging *st, int d, bool *moved, char *errbuf)
{
    *moved = false;
    if (nu_fs_exists(st->target[d])) {
        if (snap_dir_empty(st->target[d])) {
            if (rmdir(st->target[d]) < 0)
                return nu_err_set(errbuf, NU_EIO, "rmdir %s: %s", st->target[d], strerror(errno));
        } else {
            (void)!snap_rm_tree(st->old[d], NULL); /* from an earlier interrupted swap */
            if (rename(st->target[d], st->old[d]) < 0)
                return nu_err_set(errbuf, NU_EIO, "rename %s: %s", st->target[d], strerror(errno));
            *moved = true;
        }
    }
    if (rename(st->path[d], st->target[d]) < 0) {
        int rc = nu_err_set(errbuf, NU_EIO, "rename %s to %s: %s", st->path[d], st->target[d],
                            strerror(errno));
        if (*moved && rename(st->old[d], st->target[d]) == 0)
            *moved = false;
        return rc;
    }
    return fsync_parent(st->target[d], errbuf);
}

int snap_staging_swap(struct snap_staging *st, bool *replaced, char *errbuf)
{
    bool moved[2] = {false, false}, swapped[2] = {false, false};
    int rc = 0;
    *replaced = false;
    for (int d = 0; d < 2 && rc == 0; d++) {
        if (st->used[d] && (rc = swap_one(st, d, &moved[d], errbuf)) == 0)
            swapped[d] = true;
    }
    if (rc < 0) {
        /* Put the first dir back, so hot and cold stay from one snapshot. */
        for (int d = 0; d < 2; d++) {
            if (swapped[d] && rename(st->target[d], st->path[d]) == 0 && moved[d])
                (void)(rename(st->old[d], st->target[d]) == 0);
        }
        return rc;
    }
    for (int d = 0; d < 2; d++) {
        if (moved[d]) {
            *replaced = true;
            char why[NU_ERRMSG_MAX];
            if ((rc = snap_rm_tree(st->old[d], why)) < 0)
                return nu_err_set(errbuf, rc,
                                  "the snapshot is in place, but removing the old "
                                  "data in %s failed: %.200s",
                                  st->old[d], why);
        }
    }
    return 0;
}
