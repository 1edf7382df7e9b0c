/* File helpers (see fs.h). Atomic replace: temp file in the same directory,
 * write, fchmod, fsync, rename, fsync the directory — so a crash leaves
 * either the old file or the new one, never a torn mix. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#define TMP_SUFFIX ".tmp.XXXXXX"
#define RM_DEPTH_MAX 64 /* directory levels nu_fs_rm_tree descends */

/* Directory part of path into out ("." when there is none). */
static int dir_of(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    int n;
    if (slash == NULL)
        n = snprintf(out, outsz, ".");
    else if (slash == path)
        n = snprintf(out, outsz, "/");
    else
        n = snprintf(out, outsz, "%.*s", (int)(slash - path), path);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

/* The one write loop: at offset off, or at fd's position when off < 0. */
static int write_loop(int fd, const char *p, size_t len, int64_t off)
{
    while (len > 0) {
        ssize_t w = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO; /* no progress and no error: do not spin */
            return NU_EIO;
        }
        p += w;
        len -= (size_t)w;
        off = off < 0 ? off : off + w;
    }
    return 0;
}

int nu_write_all(int fd, const void *buf, size_t len)
{
    return write_loop(fd, buf, len, -1);
}

int nu_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    return write_loop(fd, buf, len, (int64_t)off);
}

int nu_fs_atomic_open(struct nu_fs_atomic *a, const char *path, mode_t mode, char *errbuf)
{
    a->fd = -1;
    a->mode = mode;
    int n = snprintf(a->tmp, sizeof(a->tmp), "%s" TMP_SUFFIX, path);
    int m = snprintf(a->path, sizeof(a->path), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(a->tmp) || m < 0 || (size_t)m >= sizeof(a->path))
        return nu_err_set(errbuf, NU_EINVAL, "%s: path too long", path);
    a->fd = mkostemp(a->tmp, O_CLOEXEC);
    if (a->fd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "create temp file for %s: %s", path,
                          strerror(errno));
    return 0;
}

void nu_fs_atomic_abort(struct nu_fs_atomic *a)
{
    if (a == NULL || a->fd < 0)
        return;
    close(a->fd);
    unlink(a->tmp);
    a->fd = -1;
}

/* Makes the temp file durable and renames it over the path; errno is
 * kept on failure. */
static int atomic_finish(struct nu_fs_atomic *a, const char **what)
{
    *what = "chmod";
    if (fchmod(a->fd, a->mode) < 0)
        return -1;
    *what = "fsync";
    if (fsync(a->fd) < 0)
        return -1;
    *what = "close";
    int rc = close(a->fd);
    a->fd = -1;
    if (rc < 0)
        return -1;
    *what = "rename";
    return rename(a->tmp, a->path);
}

int nu_fs_atomic_commit(struct nu_fs_atomic *a, char *errbuf)
{
    char dir[PATH_MAX];
    const char *what;
    if (atomic_finish(a, &what) < 0) {
        int saved = errno;
        if (a->fd >= 0)
            close(a->fd);
        a->fd = -1;
        unlink(a->tmp);
        return nu_err_set(errbuf, nu_err_from_errno(saved), "%s %s: %s", what, a->path,
                          strerror(saved));
    }
    if (dir_of(a->path, dir, sizeof(dir)) < 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: path too long", a->path);
    return nu_fs_fsync_dir(dir, errbuf);
}

int nu_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *errbuf)
{
    struct nu_fs_atomic a;
    int rc = nu_fs_atomic_open(&a, path, mode, errbuf);
    if (rc < 0)
        return rc;
    if (nu_write_all(a.fd, data, len) < 0) {
        int saved = errno;
        nu_fs_atomic_abort(&a);
        return nu_err_set(errbuf, nu_err_from_errno(saved), "write %s: %s", path, strerror(saved));
    }
    return nu_fs_atomic_commit(&a, errbuf);
}

int nu_fs_fsync_dir(const char *dir, char *errbuf)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    /* Some filesystems cannot fsync directories; that is not our failure. */
    if (rc < 0 && saved != EINVAL && saved != EROFS)
        return nu_err_set(errbuf, NU_EIO, "fsync %s: %s", dir, strerror(saved));
    return 0;
}

static int read_fd(int fd, const char *path, size_t max, struct nu_buf *b, char *errbuf)
{
    char chunk[16384];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return nu_err_set(errbuf, NU_EIO, "read %s: %s", path, strerror(errno));
        if (r == 0)
            return 0;
        int rc = nu_buf_append(b, chunk, (size_t)r);
        if (rc == NU_ETOOBIG)
            return nu_err_set(errbuf, rc, "%s: larger than %zu bytes", path, max);
        if (rc < 0)
            return nu_err_set(errbuf, rc, "read %s: %s", path, nu_strerror(rc));
    }
}

int nu_fs_read_file(const char *path, size_t max, char **out, size_t *outlen, char *errbuf)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    struct nu_buf b;
    nu_buf_init(&b, max);
    int rc = read_fd(fd, path, max, &b, errbuf);
    close(fd);
    if (rc < 0) {
        nu_buf_release(&b);
        return rc;
    }
    size_t len = b.len;
    *out = nu_buf_take(&b);
    if (*out == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "read %s: out of memory", path);
    if (outlen != NULL)
        *outlen = len;
    return 0;
}

static int mkdir_one(const char *path, mode_t mode, char *errbuf)
{
    if (mkdir(path, mode) == 0)
        return 0;
    int saved = errno;
    if (saved == EEXIST && nu_fs_is_dir(path))
        return 0;
    if (saved == EEXIST)
        saved = ENOTDIR;
    return nu_err_set(errbuf, nu_err_from_errno(saved), "mkdir %s: %s", path, strerror(saved));
}

int nu_fs_mkdir_p(const char *path, mode_t mode, char *errbuf)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof(p), "%s", path);
    if (n <= 0 || (size_t)n >= sizeof(p))
        return nu_err_set(errbuf, NU_EINVAL, "mkdir '%s': bad path length", path);
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *s = p + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        int rc = mkdir_one(p, mode, errbuf);
        *s = '/';
        if (rc < 0)
            return rc;
    }
    return mkdir_one(p, mode, errbuf);
}

bool nu_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool nu_fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int nu_fs_opendir(const char *path, DIR **d, char *errbuf)
{
    *d = opendir(path);
    if (*d == NULL && errno != ENOENT)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    return 0;
}

bool nu_fs_dir_empty(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return errno == ENOENT;
    struct dirent *de;
    bool empty = true;
    while (empty && (de = readdir(dir)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(dir);
    return empty;
}

int nu_fs_join(char *out, size_t outsz, const char *a, const char *b)
{
    size_t alen = strlen(a);
    while (alen > 0 && a[alen - 1] == '/')
        alen--;
    while (*b == '/')
        b++;
    int n;
    if (*a == '\0')
        n = snprintf(out, outsz, "%s", b);
    else if (*b == '\0')
        n = snprintf(out, outsz, "%s", a);
    else
        n = snprintf(out, outsz, "%.*s/%s", (int)alen, a, b);
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz > 0)
            out[0] = '\0';
        return NU_ETOOBIG;
    }
    return 0;
}

/* ---- removing trees ---- */

static int rm_at(int parent, const char *name, int depth, char *errbuf)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0
                               : nu_err_set(errbuf, NU_EIO, "stat %s: %s", name, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return nu_err_set(errbuf, NU_EIO, "unlink %s: %s", name, strerror(errno));
        return 0;
    }
    if (depth > RM_DEPTH_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: directories nested too deep", name);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", name, strerror(errno));
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = rm_at(dirfd(dir), de->d_name, depth + 1, errbuf);
    }
    closedir(dir);
    if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = nu_err_set(errbuf, NU_EIO, "rmdir %s: %s", name, strerror(errno));
    return rc;
}

int nu_fs_rm_tree_at(int dirfd, const char *name, char *errbuf)
{
    return rm_at(dirfd, name, 0, errbuf);
}

int nu_fs_rm_tree(const char *path, char *errbuf)
{
    char parent[PATH_MAX];
    if (dir_of(path, parent, sizeof(parent)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", path);
    const char *base = strrchr(path, '/');
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : nu_err_set(errbuf, NU_EIO, "open %s: %s", parent, strerror(errno));
    char why[NU_ERRMSG_MAX];
    int rc = rm_at(fd, base != NULL ? base + 1 : path, 0, why);
    close(fd);
    return rc < 0 ? nu_err_set(errbuf, rc, "remove %s: %s", path, why) : 0;
}
