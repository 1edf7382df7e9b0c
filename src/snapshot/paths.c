/* Data dirs of a home, relative-path checks and symlink-proof file work
 * (see paths.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "json.h"
#include "paths.h"
#include "state.h"

static int resolve(const char *home, const char *p, char *out, size_t outsz, char *errbuf)
{
    int rc = p[0] == '/' ? (snprintf(out, outsz, "%s", p) < (int)outsz ? 0 : NU_ETOOBIG)
                         : nu_fs_join(out, outsz, home, p);
    if (rc < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "data path %s is too long", p);
    size_t len = strlen(out);
    while (len > 1 && out[len - 1] == '/')
        out[--len] = '\0';
    return 0;
}

int snap_home_dirs(const char *home, struct snap_home_dirs *d, char *errbuf)
{
    char path[PATH_MAX];
    json_t *cfg = NULL;
    const char *hot = "data", *cold = NULL;
    memset(d, 0, sizeof(*d));
    if (nu_fs_join(path, sizeof(path), home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "home path is too long");
    int rc = nu_json_load_file(path, true, &cfg, errbuf);
    if (rc == NU_ENOENT)
        return nu_err_set(errbuf, rc, "%s has no config.json; is it a neard home?", home);
    if (rc < 0)
        return rc;
    if (nu_json_get_str(cfg, "store.path", &hot) == NU_EINVAL ||
        nu_json_get_str(cfg, "cold_store.path", &cold) == NU_EINVAL)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: store.path and cold_store.path must be strings",
                        path);
    if (rc == 0 && (hot == NULL || *hot == '\0'))
        hot = "data";
    if (rc == 0)
        rc = resolve(home, hot, d->hot, sizeof(d->hot), errbuf);
    if (rc == 0 && cold != NULL && *cold != '\0')
        rc = resolve(home, cold, d->cold, sizeof(d->cold), errbuf);
    if (rc == 0 && strcmp(d->hot, d->cold) == 0)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: store.path and cold_store.path are the same", path);
    json_decref(cfg);
    return rc;
}

bool snap_relpath_valid(const char *path)
{
    size_t len = strlen(path), seg = 0, depth = 0;
    if (len == 0 || len > SNAP_RELPATH_MAX || path[0] == '/')
        return false;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '/' || c == '\0') {
            if (seg == 0 || (seg == 1 && path[i - 1] == '.') ||
                (seg == 2 && path[i - 1] == '.' && path[i - 2] == '.'))
                return false;
            if (++depth > SNAP_DEPTH_MAX)
                return false;
            seg = 0;
            continue;
        }
        if (c <= 0x20 || c >= 0x7f || c == '\\')
            return false;
        seg++;
    }
    return true;
}

static int symlink_err(const char *path, char *errbuf)
{
    return nu_err_set(errbuf, NU_EPERM, "refusing %s: a symlink or non-directory is in the way",
                      path);
}

/* Opens directory comp under fd, creating it when create is set. */
static int open_dir_at(int fd, const char *comp, bool create, const char *path, char *errbuf)
{
    int d = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0 && errno == ENOENT && create) {
        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
            return nu_err_set(errbuf, NU_EIO, "mkdir %s: %s", path, strerror(errno));
        d = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (d >= 0)
        return d;
    if (errno == ELOOP || errno == ENOTDIR)
        return symlink_err(path, errbuf);
    return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
}

int snap_openat_safe(int root_fd, const char *path, int flags, mode_t mode, char *errbuf)
{
    char comp[SNAP_RELPATH_MAX + 1];
    const char *p = path;
    int fd = root_fd;
    if (!snap_relpath_valid(path))
        return nu_err_set(errbuf, NU_EINVAL, "bad relative path %.200s", path);
    for (const char *slash; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
        memcpy(comp, p, (size_t)(slash - p));
        comp[slash - p] = '\0';
        int d = open_dir_at(fd, comp, (flags & O_CREAT) != 0, path, errbuf);
        if (fd != root_fd)
            close(fd);
        if (d < 0)
            return d;
        fd = d;
    }
    int f = openat(fd, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int e = errno;
    if (fd != root_fd)
        close(fd);
    if (f >= 0)
        return f;
    if (e == ELOOP)
        return symlink_err(path, errbuf);
    return nu_err_set(errbuf, nu_err_from_errno(e), "open %s: %s", path, strerror(e));
}

void snap_parent_dir(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, outsz, ".");
    else if (slash == path)
        snprintf(out, outsz, "/");
    else
        snprintf(out, outsz, "%.*s", (int)(slash - path), path);
}

int snap_home_lock(const char *home, int *fd, char *errbuf)
{
    char path[PATH_MAX];
    *fd = -1;
    int rc = node_state_init(home, errbuf);
    if (rc == 0)
        rc = node_state_path(home, "snapshot.lock", path, sizeof(path));
    if (rc < 0)
        return rc;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0)
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", path, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        close(f);
        return nu_err_set(errbuf, NU_EEXIST, "another snapshot create or restore is running for %s",
                          home);
    }
    *fd = f;
    return 0;
}

void snap_home_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
