/* Per-home state dir, supervisor lock, pid files with start times, the
 * registry of homes and path helpers (see state.h). */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fs.h"
#include "proc.h"

#define PIDFILE_MAX 128
#define REGISTRY_ENTRY_MAX (PATH_MAX + 16)

int node_state_path(const char *home, const char *name, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/" NODE_STATE_DIRNAME "/%s", home, name);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

int node_state_init(const char *home, char *errbuf)
{
    char dir[PATH_MAX];
    if (node_state_path(home, "logs", dir, sizeof(dir)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    return nu_fs_mkdir_p(dir, 0700, errbuf);
}

/* The holder of a busy lock: the supervisor writes its pid file right after
 * taking the lock, so a racing reader may wait a moment for it. */
static pid_t lock_holder(const char *home)
{
    struct node_pidfile pf;
    for (int i = 0; i < 20; i++) {
        if (node_pidfile_alive(home, "supervisor.pid", &pf))
            return pf.pid;
        usleep(50 * 1000);
    }
    return 0;
}

int node_state_lock(const char *home, int *fd, char *errbuf)
{
    char path[PATH_MAX];
    *fd = -1;
    if (node_state_path(home, "supervisor.lock", path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return nu_err_set(errbuf, errno == EACCES ? NU_EPERM : NU_EIO, "open %s: %s", path,
                          strerror(errno));
    if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(lfd);
        if (e != EWOULDBLOCK)
            return nu_err_set(errbuf, NU_EIO, "lock %s: %s", path, strerror(e));
        pid_t holder = lock_holder(home);
        if (holder > 0)
            return nu_err_set(errbuf, NU_EEXIST,
                              "a node is already running for %s (supervisor pid %ld)", home,
                              (long)holder);
        return nu_err_set(errbuf, NU_EEXIST, "a node is already running for %s", home);
    }
    *fd = lfd;
    return 0;
}

void node_state_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the last descriptor releases the flock */
}

bool node_state_locked(const char *home)
{
    char path[PATH_MAX];
    if (node_state_path(home, "supervisor.lock", path, sizeof(path)) < 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

int node_pidfile_write(const char *home, const char *name, pid_t pid, char *errbuf)
{
    char path[PATH_MAX], text[PIDFILE_MAX];
    uint64_t start = 0;
    if (node_state_path(home, name, path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_proc_start_time(pid, &start);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "start time of pid %ld: %s", (long)pid, nu_strerror(rc));
    int n = snprintf(text, sizeof(text), "%ld %llu\n", (long)pid, (unsigned long long)start);
    return nu_fs_write_atomic(path, text, (size_t)n, 0644, errbuf);
}

static int parse_pidfile(const char *text, struct node_pidfile *pf)
{
    char *end;
    errno = 0;
    long pid = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != ' ' || pid <= 0 || pid > INT32_MAX)
        return NU_EPARSE;
    const char *p = end + 1;
    errno = 0;
    unsigned long long start = strtoull(p, &end, 10);
    if (errno != 0 || end == p || (*end != '\n' && *end != '\0'))
        return NU_EPARSE;
    pf->pid = (pid_t)pid;
    pf->start_time = start;
    return 0;
}

int node_pidfile_read(const char *home, const char *name, struct node_pidfile *pf, char *errbuf)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    memset(pf, 0, sizeof(*pf));
    if (node_state_path(home, name, path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_fs_read_file(path, PIDFILE_MAX, &text, &len, errbuf);
    if (rc < 0)
        return rc;
    rc = parse_pidfile(text, pf);
    free(text);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "%s: malformed pid file", path);
    return 0;
}

bool node_pidfile_alive(const char *home, const char *name, struct node_pidfile *pf)
{
    struct node_pidfile tmp;
    if (pf == NULL)
        pf = &tmp;
    if (node_pidfile_read(home, name, pf, NULL) < 0)
        return false;
    return nu_proc_is_same(pf->pid, pf->start_time);
}

void node_pidfile_remove(const char *home, const char *name)
{
    char path[PATH_MAX];
    if (node_state_path(home, name, path, sizeof(path)) == 0)
        unlink(path);
}

/* ---- registry ---- */

static int registry_dir(char *out, size_t outsz, char *errbuf)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, outsz, "%s/nearup/homes", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, outsz, "%s/.local/state/nearup/homes", home);
    else
        return nu_err_set(errbuf, NU_ENOENT, "neither XDG_STATE_HOME nor HOME is set");
    if (n < 0 || (size_t)n >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "registry path too long");
    return 0;
}

/* Entry file name: sha256 of the home's path, so any path fits in a name. */
static int registry_entry(const char *home, char *out, size_t outsz, char *errbuf)
{
    char dir[PATH_MAX];
    unsigned char md[32];
    unsigned int mdlen = 0;
    int rc = registry_dir(dir, sizeof(dir), errbuf);
    if (rc < 0)
        return rc;
    if (EVP_Digest(home, strlen(home), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return nu_err_set(errbuf, NU_ECRYPTO, "sha256 failed");
    size_t n = (size_t)snprintf(out, outsz, "%s/", dir);
    for (unsigned i = 0; i < 16 && n + 2 < outsz; i++, n += 2)
        snprintf(out + n, outsz - n, "%02x", md[i]);
    if (n + 1 >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "registry path too long");
    return 0;
}

int node_registry_add(const char *home, char *errbuf)
{
    char dir[PATH_MAX], entry[PATH_MAX], text[REGISTRY_ENTRY_MAX];
    int rc = registry_dir(dir, sizeof(dir), errbuf);
    if (rc == 0)
        rc = nu_fs_mkdir_p(dir, 0700, errbuf);
    if (rc == 0)
        rc = registry_entry(home, entry, sizeof(entry), errbuf);
    if (rc < 0)
        return rc;
    int n = snprintf(text, sizeof(text), "%s\n", home);
    return nu_fs_write_atomic(entry, text, (size_t)n, 0600, errbuf);
}

int node_registry_remove(const char *home, char *errbuf)
{
    char entry[PATH_MAX];
    int rc = registry_entry(home, entry, sizeof(entry), errbuf);
    if (rc < 0)
        return rc;
    if (unlink(entry) < 0 && errno != ENOENT)
        return nu_err_set(errbuf, NU_EIO, "remove %s: %s", entry, strerror(errno));
    return 0;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Reads one registry entry into out; false when unusable. */
static bool read_entry(const char *dir, const char *name, char *out, size_t outsz)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    if (nu_fs_join(path, sizeof(path), dir, name) < 0 ||
        nu_fs_read_file(path, REGISTRY_ENTRY_MAX, &text, &len, NULL) < 0)
        return false;
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    bool ok = len > 0 && len < outsz && text[0] == '/';
    if (ok)
        memcpy(out, text, len + 1);
    free(text);
    return ok;
}

int node_registry_list(char (*homes)[PATH_MAX], size_t max, size_t *n, char *errbuf)
{
    char dir[PATH_MAX];
    *n = 0;
    int rc = registry_dir(dir, sizeof(dir), errbuf);
    if (rc < 0)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0
                               : nu_err_set(errbuf, NU_EIO, "open %s: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < max) {
        if (de->d_name[0] == '.')
            continue;
        if (read_entry(dir, de->d_name, homes[*n], PATH_MAX) && nu_fs_is_dir(homes[*n]))
            (*n)++;
    }
    closedir(d);
    qsort(homes, *n, PATH_MAX, cmp_paths);
    return 0;
}

/* ---- homes behind a --home argument ---- */

/* Natural order: digit runs compare as numbers (node2 < node10). */
static int cmp_natural(const void *pa, const void *pb)
{
    const char *a = pa, *b = pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            unsigned long long x = strtoull(a, (char **)&a, 10);
            unsigned long long y = strtoull(b, (char **)&b, 10);
            if (x != y)
                return x < y ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static bool child_has_runcfg(const char *root, const char *name, char *out, size_t outsz)
{
    char path[PATH_MAX];
    if (nu_fs_join(out, outsz, root, name) < 0 ||
        node_state_path(out, "run.json", path, sizeof(path)) < 0)
        return false;
    return nu_fs_exists(path);
}

int node_homes_expand(const char *home, char (*out)[PATH_MAX], size_t max, size_t *n, char *errbuf)
{
    char cfg[PATH_MAX];
    *n = 0;
    if (nu_fs_join(cfg, sizeof(cfg), home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    if (nu_fs_exists(cfg) && max > 0) {
        snprintf(out[0], PATH_MAX, "%s", home);
        *n = 1;
        return 0;
    }
    DIR *d = opendir(home);
    if (d == NULL)
        return nu_err_set(errbuf, errno == EACCES ? NU_EPERM : NU_ENOENT, "%s: %s", home,
                          strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < max) {
        if (de->d_name[0] != '.' && child_has_runcfg(home, de->d_name, out[*n], PATH_MAX))
            (*n)++;
    }
    closedir(d);
    if (*n == 0)
        return nu_err_set(errbuf, NU_ENOENT, "%s is not a node home (no config.json)", home);
    qsort(out, *n, PATH_MAX, cmp_natural);
    return 0;
}

/* ---- paths ---- */

/* Lexically removes ".", "..", repeated and trailing slashes of an absolute
 * path in place (the home may not exist yet, so no realpath). */
static void normalize(char *p)
{
    char *out = p;
    const char *in = p;
    while (*in != '\0') {
        while (*in == '/')
            in++;
        const char *seg = in;
        while (*in != '\0' && *in != '/')
            in++;
        size_t len = (size_t)(in - seg);
        if (len == 0 || (len == 1 && seg[0] == '.'))
            continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > p && *--out != '/')
                ;
            continue;
        }
        *out++ = '/';
        memmove(out, seg, len);
        out += len;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

int node_abspath(const char *path, char *out, size_t outsz, char *errbuf)
{
    char cwd[PATH_MAX];
    const char *home = getenv("HOME");
    int n;
    if (path == NULL || path[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL, "empty path");
    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
        if (home == NULL || home[0] == '\0')
            return nu_err_set(errbuf, NU_EINVAL, "%s: HOME is not set", path);
        n = snprintf(out, outsz, "%s/%s", home, path + 1);
    } else if (path[0] == '/') {
        n = snprintf(out, outsz, "%s", path);
    } else {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return nu_err_set(errbuf, NU_EIO, "getcwd: %s", strerror(errno));
        n = snprintf(out, outsz, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", path);
    normalize(out);
    return 0;
}
