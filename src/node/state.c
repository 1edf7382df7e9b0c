/* Per-home state dir, supervisor lock, pid files with start times and
 * path helpers (see state.h); the registry of homes is in registry.c. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"

#define PIDFILE_MAX 128

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

/* The supervisor writes its pid file right after taking the lock, so a
 * racing reader may wait a moment for it. */
pid_t node_state_lock_holder(const char *home)
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
        pid_t holder = node_state_lock_holder(home);
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
