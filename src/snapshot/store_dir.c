/* A store in a local directory: one file per key. Writes go to a temp file
 * in the target's directory, are fsynced, then link()ed into place for
 * put-if-absent (atomic: exactly one writer wins) or rename()d over for a
 * plain put, so a reader never sees a partial object. Chunk directories
 * are fsynced in one go by snap_store_sync before a manifest is written;
 * every other key's directory is fsynced at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "store.h"

#define DIRTY_MAX 300 /* chunk dirs remembered for sync (256 exist); more are fsynced at once */
#define TMP_PREFIX ".tmp-"
#define LIST_DEPTH_MAX 8

struct dir_store {
    char dirty[DIRTY_MAX][SNAP_KEY_MAX]; /* key of each directory, relative to the root */
    size_t ndirty;
};

static atomic_uint tmp_counter;

static int key_path(struct snap_store *s, const char *key, char *out, size_t outsz, char *errbuf)
{
    if (nu_fs_join(out, outsz, s->spec->root, key) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "path too long for key %s", key);
    return 0;
}

static int io_err(char *errbuf, const char *what, const char *path)
{
    int e = errno;
    int code = nu_err_from_errno(e);
    return nu_err_set(errbuf, code, "%s %s: %s", what, path, strerror(e));
}

/* dir is the absolute directory of key; remembers the key's directory. */
static void remember_dir(struct dir_store *d, const char *key, const char *dir)
{
    int len = (int)(strrchr(key, '/') - key);
    for (size_t i = 0; i < d->ndirty; i++) {
        if (strncmp(d->dirty[i], key, (size_t)len) == 0 && d->dirty[i][len] == '\0')
            return;
    }
    if (d->ndirty < DIRTY_MAX)
        snprintf(d->dirty[d->ndirty++], SNAP_KEY_MAX, "%.*s", len, key);
    else if (nu_fs_fsync_dir(dir, NULL) < 0)
        d->ndirty = DIRTY_MAX; /* a failure shows again in the next sync, which fsyncs root */
}

/* Writes data to a fresh temp file beside path; tmp gets its name. */
static int write_tmp(const char *dir, const char *path, const void *data, size_t len, char *tmp,
                     size_t tmpsz, char *errbuf)
{
    const char *base = strrchr(path, '/') + 1;
    int n = snprintf(tmp, tmpsz, "%s/" TMP_PREFIX "%ld-%u-%s", dir, (long)getpid(),
                     atomic_fetch_add(&tmp_counter, 1), base);
    if (n < 0 || (size_t)n >= tmpsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "temporary name for %s is too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_err(errbuf, "create", tmp);
    if (nu_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int rc = io_err(errbuf, "write", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0) {
        int rc = io_err(errbuf, "close", tmp);
        unlink(tmp);
        return rc;
    }
    return 0;
}

static int dir_put(struct snap_store *s, const char *key, const void *data, size_t len,
                   unsigned flags, char *errbuf)
{
    struct dir_store *d = s->impl;
    char path[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
    int rc = key_path(s, key, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    s->requests++;
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    if (!nu_fs_is_dir(dir) && (rc = nu_fs_mkdir_p(dir, 0755, errbuf)) < 0)
        return rc;
    if ((rc = write_tmp(dir, path, data, len, tmp, sizeof(tmp), errbuf)) < 0)
        return rc;
    if (flags & SNAP_PUT_IF_ABSENT) {
        if (link(tmp, path) < 0) {
            rc = errno == EEXIST ? NU_EEXIST : io_err(errbuf, "link", path);
            if (rc == NU_EEXIST)
                nu_err_set(errbuf, rc, "%s already exists in the store", key);
        }
        unlink(tmp);
    } else if (rename(tmp, path) < 0) {
        rc = io_err(errbuf, "rename", path);
        unlink(tmp);
    }
    if (rc < 0)
        return rc;
    if (strncmp(key, "chunks/", 7) == 0) {
        remember_dir(d, key, dir);
        return 0;
    }
    return nu_fs_fsync_dir(dir, errbuf);
}

static int open_key(struct snap_store *s, const char *key, int *fd, struct stat *st, char *errbuf)
{
    char path[PATH_MAX];
    int rc = key_path(s, key, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    s->requests++;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return io_err(errbuf, "open", path);
    if (fstat(*fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(*fd);
        return nu_err_set(errbuf, NU_EIO, "%s is not a regular file", path);
    }
    return 0;
}

/* Reads len bytes at off into out; fewer only at end of file. */
static int read_into(int fd, uint64_t off, size_t len, struct nu_buf *out, const char *key,
                     char *errbuf)
{
    size_t start = out->len;
    if (nu_buf_append(out, NULL, 0) < 0)
        return NU_ENOMEM;
    while (out->len - start < len) {
        char tmp[65536];
        size_t want = len - (out->len - start);
        ssize_t r = pread(fd, tmp, want < sizeof(tmp) ? want : sizeof(tmp),
                          (off_t)(off + (out->len - start)));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return nu_err_set(errbuf, NU_EIO, "read %s: %s", key, strerror(errno));
        if (r == 0)
            break;
        if (nu_buf_append(out, tmp, (size_t)r) < 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "%s is larger than expected", key);
    }
    return 0;
}

static int dir_get(struct snap_store *s, const char *key, size_t max, struct nu_buf *out,
                   char *errbuf)
{
    struct stat st;
    int fd;
    int rc = open_key(s, key, &fd, &st, errbuf);
    if (rc < 0)
        return rc;
    if ((uint64_t)st.st_size > max)
        rc = nu_err_set(errbuf, NU_ETOOBIG, "%s is %lld bytes, more than the limit of %zu", key,
                        (long long)st.st_size, max);
    else
        rc = read_into(fd, 0, (size_t)st.st_size, out, key, errbuf);
    close(fd);
    return rc;
}

static int dir_peek(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
                    uint64_t *size, char *errbuf)
{
    struct stat st;
    int fd;
    int rc = open_key(s, key, &fd, &st, errbuf);
    if (rc < 0)
        return rc;
    *size = (uint64_t)st.st_size;
    rc = read_into(fd, 0, len, out, key, errbuf);
    close(fd);
    return rc;
}

static int dir_head(struct snap_store *s, const char *key, uint64_t *size, char *errbuf)
{
    char path[PATH_MAX];
    struct stat st;
    int rc = key_path(s, key, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    s->requests++;
    if (stat(path, &st) < 0)
        return io_err(errbuf, "stat", path);
    *size = (uint64_t)st.st_size;
    return 0;
}

struct walk {
    struct snap_store *s;
    const char *prefix;
    snap_list_fn fn;
    void *ud;
    char *errbuf;
};

static int walk_dir(struct walk *w, char *key, size_t keylen, int depth)
{
    char path[PATH_MAX];
    if (key_path(w->s, keylen > 0 ? key : ".", path, sizeof(path), w->errbuf) < 0)
        return NU_ETOOBIG;
    DIR *dir = opendir(path);
    if (dir == NULL)
        return errno == ENOENT || errno == ENOTDIR ? 0 : io_err(w->errbuf, "opendir", path);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0 ||
                                     strncmp(de->d_name, TMP_PREFIX, 5) == 0))
            continue;
        size_t nlen = strlen(de->d_name);
        if (keylen + nlen + 2 >= SNAP_KEY_MAX)
            continue;
        memcpy(key + keylen, de->d_name, nlen + 1);
        struct stat st;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        size_t plen = strlen(w->prefix), cmp = keylen + nlen < plen ? keylen + nlen : plen;
        if (strncmp(key, w->prefix, cmp) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < LIST_DEPTH_MAX) {
            key[keylen + nlen] = '/';
            key[keylen + nlen + 1] = '\0';
            rc = walk_dir(w, key, keylen + nlen + 1, depth + 1);
        } else if (S_ISREG(st.st_mode) && keylen + nlen >= plen) {
            struct snap_obj_info info = {key, (uint64_t)st.st_size, (int64_t)st.st_mtime, ""};
            rc = w->fn(w->ud, &info);
        }
        key[keylen] = '\0';
    }
    closedir(dir);
    return rc;
}

static int dir_list(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud,
                    char *errbuf)
{
    char key[SNAP_KEY_MAX] = "";
    struct walk w = {s, prefix, fn, ud, errbuf};
    s->requests++;
    if (!nu_fs_is_dir(s->spec->root))
        return nu_err_set(errbuf, NU_ENOENT, "store %s: no such directory", s->spec->root);
    return walk_dir(&w, key, 0, 0);
}

static int dir_del(struct snap_store *s, const char *key, char *errbuf)
{
    char path[PATH_MAX];
    int rc = key_path(s, key, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    s->requests++;
    if (unlink(path) < 0 && errno != ENOENT)
        return io_err(errbuf, "unlink", path);
    return 0;
}

/* The remembered chunk dirs, then "chunks" and the root, which gained
 * entries when those were created. */
static int dir_sync(struct snap_store *s, char *errbuf)
{
    struct dir_store *d = s->impl;
    char path[PATH_MAX];
    int rc = 0;
    if (d->ndirty == 0)
        return 0;
    for (size_t i = 0; i < d->ndirty && rc == 0; i++) {
        if ((rc = key_path(s, d->dirty[i], path, sizeof(path), errbuf)) == 0)
            rc = nu_fs_fsync_dir(path, errbuf);
    }
    if (rc == 0 && (rc = key_path(s, "chunks", path, sizeof(path), errbuf)) == 0 &&
        nu_fs_is_dir(path))
        rc = nu_fs_fsync_dir(path, errbuf);
    if (rc == 0)
        rc = nu_fs_fsync_dir(s->spec->root, errbuf);
    d->ndirty = 0;
    return rc;
}

static void dir_free(struct snap_store *s)
{
    free(s->impl);
    s->impl = NULL;
}

static const struct snap_store_ops dir_ops = {
    .put = dir_put,
    .get = dir_get,
    .peek = dir_peek,
    .head = dir_head,
    .list = dir_list,
    .del = dir_del,
    .sync = dir_sync,
    .free = dir_free,
};

int snap_store_dir_open(struct snap_store *s, char *errbuf)
{
    s->impl = calloc(1, sizeof(struct dir_store));
    if (s->impl == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    s->ops = &dir_ops;
    return 0;
}
