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

static int running_error(const char *home, char *errbuf)
{
    return nu_err_set(errbuf, NU_ESTATE,
                      "the node of %s is running; stop it first with 'nearup stop --home %s'", home,
                      home);
}

/* ---- locks and an interrupted swap ---- */

/* Running by its pid files, or a neard (ours or not) holding the data. */
bool snap_home_in_use(const char *home, const struct snap_home_dirs *dirs)
{
    return node_running(home) || node_data_locked(dirs->hot) ||
           (dirs->cold[0] != '\0' && node_data_locked(dirs->cold));
}

static int lock_home(const char *home, enum node_lock_role role, bool home_locked,
                     struct snap_restore_locks *l, char *errbuf)
{
    if (home_locked)
        return 0;
    int rc = node_state_init(home, errbuf);
    if (rc == 0)
        rc = node_home_lock(home, role, &l->home, errbuf);
    return rc == NU_EEXIST ? running_error(home, errbuf) : rc;
}

int snap_home_begin(const char *home, enum node_lock_role role, bool home_locked, snap_note_fn note,
                    void *note_ud, struct snap_restore_locks *l, struct node_swap_recovery *rec,
                    char *errbuf)
{
    struct node_swap_recovery local;
    if (rec == NULL)
        rec = &local;
    l->home = l->snap = -1;
    memset(rec, 0, sizeof(*rec));
    int rc = lock_home(home, role, home_locked, l, errbuf);
    if (rc == 0)
        rc = snap_home_lock(home, &l->snap, errbuf);
    if (rc == 0)
        rc = node_swap_recover(home, rec, errbuf);
    if (rc < 0)
        snap_restore_end(l);
    else if (rec->outcome != NODE_SWAP_NOTHING && note != NULL)
        note(note_ud, rec->note);
    return rc;
}

int snap_restore_begin(const struct snap_restore_opts *o, const char *tag,
                       struct snap_restore_locks *l, bool *done, struct node_swap_result *res,
                       char *errbuf)
{
    struct node_swap_recovery rec;
    *done = false;
    memset(res, 0, sizeof(*res));
    int rc = snap_home_begin(o->home, NODE_LOCK_RESTORE, o->home_locked, o->c.note, o->c.note_ud, l,
                             &rec, errbuf);
    if (rc == 0 && rec.outcome == NODE_SWAP_FINISHED && strcmp(rec.name, tag) == 0) {
        *done = true;
        *res = rec.res;
    }
    return rc;
}

void snap_restore_end(struct snap_restore_locks *l)
{
    snap_home_unlock(l->snap);
    node_state_unlock(l->home);
    l->home = l->snap = -1;
}

void snap_restore_take_swap(struct snap_restore_result *r, const struct node_swap_result *res)
{
    r->replaced = res->replaced;
    r->old_kept = res->kept;
    r->nold = res->nold;
    for (size_t i = 0; i < res->nold && i < 2; i++)
        snprintf(r->old_data[i], sizeof(r->old_data[i]), "%s", res->old[i]);
}

/* ---- opening ---- */

static int check_target(const struct node_swap_dir *d, bool replace, char *errbuf)
{
    struct stat st;
    if (lstat(d->target, &st) < 0)
        return errno == ENOENT ? 0
                               : nu_err_set(errbuf, NU_EIO, "%s: %s", d->target, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return nu_err_set(errbuf, NU_EPERM,
                          "data dir %s is a symlink; point store.path at the real directory",
                          d->target);
    if (!S_ISDIR(st.st_mode))
        return nu_err_set(errbuf, NU_EEXIST, "%s exists and is not a directory", d->target);
    if (nu_fs_dir_empty(d->target))
        return 0;
    if (!replace)
        return nu_err_set(errbuf, NU_EEXIST,
                          "%s already holds data; pass --replace to replace it (the old data is "
                          "kept as %s until the node has opened the restored data)",
                          d->target, d->old);
    if (lstat(d->old, &st) == 0 || errno != ENOENT)
        return nu_err_set(errbuf, NU_EEXIST,
                          "%s is in the way (old data an earlier restore kept); move it away or "
                          "remove it, then retry",
                          d->old);
    return 0;
}

static int open_staging(struct snap_staging *st, int d, char *errbuf)
{
    struct stat sb;
    const char *path = st->dir[d].staging;
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return nu_err_set(errbuf, NU_EIO, "mkdir %s: %s", path, strerror(errno));
    if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return nu_err_set(errbuf, NU_EPERM, "staging dir %s is not a directory (a symlink?)", path);
    st->fd[d] = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (st->fd[d] < 0)
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", path, strerror(errno));
    return 0;
}

int snap_staging_open(struct snap_staging *st, const char *home, const struct snap_home_dirs *dirs,
                      const bool use[2], const char *tag, bool replace, char *errbuf)
{
    memset(st, 0, sizeof(*st));
    st->fd[0] = st->fd[1] = -1;
    st->home = home;
    st->replace = replace;
    snprintf(st->tag, sizeof(st->tag), "%s", tag);
    if (snap_home_in_use(home, dirs))
        return running_error(home, errbuf);
    if (use[SNAP_DIR_COLD] && dirs->cold[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL,
                          "the snapshot has cold (split storage) data but %s/config.json has no "
                          "cold_store.path",
                          home);
    const char *targets[2] = {dirs->hot, dirs->cold};
    int rc = 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        if (use[d] && (rc = node_swap_dir_init(&st->dir[d], targets[d], tag, errbuf)) == 0)
            rc = check_target(&st->dir[d], replace, errbuf);
    }
    for (int d = 0; d < 2 && rc == 0; d++) {
        st->used[d] = use[d];
        if (use[d])
            rc = open_staging(st, d, errbuf);
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

/* A listing of dfd through a dup of it, so closedir leaves dfd open. */
static int list_dir(int dfd, DIR **dir, char *errbuf)
{
    int fd = dup(dfd);
    *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (*dir != NULL)
        return 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    return nu_err_set(errbuf, NU_EIO, "read staging dir: %s", strerror(e));
}

static int clean_at(int dfd, char *rel, size_t rellen, char *const *sorted, size_t n, int depth,
                    char *errbuf)
{
    DIR *dir;
    if (list_dir(dfd, &dir, errbuf) < 0)
        return NU_EIO;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        struct stat st;
        size_t nlen = strlen(de->d_name);
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (rellen + nlen + 2 > SNAP_RELPATH_MAX + 2 ||
            fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = nu_fs_rm_tree_at(dfd, de->d_name, errbuf);
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
            rc = nu_fs_rm_tree_at(dfd, de->d_name, errbuf);
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
    DIR *dir;
    if (list_dir(dfd, &dir, errbuf) < 0)
        return NU_EIO;
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

int snap_staging_swap(struct snap_staging *st, bool keep_old, struct node_swap_result *res,
                      char *errbuf)
{
    struct node_swap *sw = calloc(1, sizeof(*sw));
    if (sw == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    snprintf(sw->name, sizeof(sw->name), "%s", st->tag);
    sw->replace = st->replace;
    sw->keep_old = keep_old;
    for (int d = 0; d < 2; d++) {
        if (st->used[d])
            sw->dir[sw->ndirs++] = st->dir[d];
    }
    snap_staging_close(st);
    int rc = node_swap_run(st->home, sw, res, errbuf);
    free(sw);
    return rc;
}
