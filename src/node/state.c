/* Per-home state dir, the home lock, pid files with start times and
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
#define LOCK_RECORD_MAX 96 /* "<role> <pid> <start time>\n" in the home lock */
#define LOCK_WAIT_TRIES 20 /* a racing reader waits up to 1 s for a holder's record */
#define LOCK_WAIT_US (50 * 1000)

static int parse_pidfile(const char *text, struct node_pidfile *pf);

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
    for (int i = 0; i < LOCK_WAIT_TRIES; i++) {
        if (node_pidfile_alive(home, NODE_SUPERVISOR_PID, &pf))
            return pf.pid;
        usleep(LOCK_WAIT_US);
    }
    return 0;
}

static const char *const role_names[] = {
    [NODE_LOCK_SUPERVISOR] = "supervisor", [NODE_LOCK_RUN] = "run",
    [NODE_LOCK_RESTORE] = "restore",       [NODE_LOCK_VERIFY] = "verify",
    [NODE_LOCK_CHECKPOINT] = "checkpoint",
};

#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

static int lock_path(const char *home, char *out, size_t outsz, char *errbuf)
{
    if (node_state_path(home, NODE_HOME_LOCK, out, outsz) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    return 0;
}

int node_home_lock_relabel(int fd, enum node_lock_role role)
{
    char rec[LOCK_RECORD_MAX];
    uint64_t start = 0;
    if (fd < 0 || (size_t)role >= NROLES || nu_proc_start_time(getpid(), &start) < 0)
        return NU_EINVAL;
    int n = snprintf(rec, sizeof(rec), "%s %ld %llu\n", role_names[role], (long)getpid(),
                     (unsigned long long)start);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, rec, (size_t)n, 0) != n)
        return NU_EIO;
    return 0;
}

/* "<role> <pid> <start>\n" of a live process, else false. */
static bool read_owner(int fd, struct node_lock_owner *o)
{
    char rec[LOCK_RECORD_MAX];
    struct node_pidfile pf;
    ssize_t n = pread(fd, rec, sizeof(rec) - 1, 0);
    if (n <= 0)
        return false;
    rec[n] = '\0';
    char *sp = strchr(rec, ' ');
    if (sp == NULL)
        return false;
    *sp = '\0';
    if (parse_pidfile(sp + 1, &pf) < 0 || !nu_proc_is_same(pf.pid, pf.start_time))
        return false;
    for (size_t i = 0; i < NROLES; i++) {
        if (strcmp(rec, role_names[i]) == 0) {
            o->role = (enum node_lock_role)i;
            o->pid = pf.pid;
            return true;
        }
    }
    return false;
}

/* True while some process holds fd's lock (a shared probe would conflict). */
static bool held(int fd)
{
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

/* The home lock file, opened to look at (not to take); -1 without one. */
static int open_lock(const char *home)
{
    char path[PATH_MAX];
    if (lock_path(home, path, sizeof(path), NULL) < 0)
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

bool node_home_lock_owner(const char *home, struct node_lock_owner *o)
{
    struct node_lock_owner tmp;
    if (o == NULL)
        o = &tmp;
    o->role = NODE_LOCK_SUPERVISOR;
    o->pid = 0;
    int fd = open_lock(home);
    if (fd < 0)
        return false;
    bool locked = held(fd);
    /* The holder writes its record right after taking the lock. */
    for (int i = 0; locked && i < LOCK_WAIT_TRIES && !read_owner(fd, o); i++) {
        usleep(LOCK_WAIT_US);
        locked = held(fd);
    }
    close(fd);
    if (locked && o->pid == 0) /* a supervisor of a nearup that wrote no record */
        o->pid = node_state_lock_holder(home);
    return locked;
}

/* The error for a home whose lock o holds. */
static int busy_error(const char *home, const struct node_lock_owner *o, char *errbuf)
{
    long pid = (long)o->pid;
    switch (o->role) {
    case NODE_LOCK_RESTORE:
        return nu_err_set(errbuf, NU_ESTATE,
                          "a snapshot restore is running for %s (pid %ld); wait for it to "
                          "finish, or interrupt it with 'kill -INT %ld', then try again",
                          home, pid, pid);
    case NODE_LOCK_RUN:
        return nu_err_set(errbuf, NU_ESTATE,
                          "nearup (pid %ld) is preparing %s to start; wait for it, then try "
                          "again",
                          pid, home);
    case NODE_LOCK_VERIFY:
        return nu_err_set(errbuf, NU_ESTATE,
                          "nearup snapshot verify (pid %ld) is reading the data of %s; wait "
                          "for it, then try again",
                          pid, home);
    case NODE_LOCK_CHECKPOINT:
        return nu_err_set(errbuf, NU_ESTATE,
                          "nearup snapshot create (pid %ld) is taking a checkpoint of the data "
                          "of %s and starts the node again in a moment; wait for it, then try "
                          "again",
                          pid, home);
    case NODE_LOCK_SUPERVISOR:
        break;
    }
    if (pid > 0)
        return nu_err_set(errbuf, NU_EEXIST,
                          "a node is already running for %s (supervisor pid %ld)", home, pid);
    return nu_err_set(errbuf, NU_EEXIST, "a node is already running for %s", home);
}

int node_home_busy(const char *home, char *errbuf)
{
    struct node_lock_owner o;
    if (!node_home_lock_owner(home, &o) || o.role == NODE_LOCK_RUN)
        return 0; /* node_home_lock waits for a nearup run that prepares */
    return busy_error(home, &o, errbuf);
}

/* flock LOCK_EX|LOCK_NB, retried while its holder is a nearup run that
 * prepares the home (for at most NODE_HOME_LOCK_WAIT_MS). */
static int take_lock(const char *home, int lfd, const char *path, char *errbuf)
{
    struct node_lock_owner o;
    for (unsigned waited = 0;; waited += LOCK_WAIT_US / 1000) {
        if (flock(lfd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK)
            return nu_err_set(errbuf, NU_EIO, "lock %s: %s", path, strerror(errno));
        if (!node_home_lock_owner(home, &o))
            continue; /* released meanwhile */
        if (o.role != NODE_LOCK_RUN || waited >= NODE_HOME_LOCK_WAIT_MS)
            return busy_error(home, &o, errbuf);
        usleep(LOCK_WAIT_US);
    }
}

int node_home_lock(const char *home, enum node_lock_role role, int *fd, char *errbuf)
{
    char path[PATH_MAX];
    *fd = -1;
    int rc = lock_path(home, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    int lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    if ((rc = take_lock(home, lfd, path, errbuf)) < 0) {
        close(lfd);
        return rc;
    }
    if ((rc = node_home_lock_relabel(lfd, role)) < 0) {
        close(lfd);
        return nu_err_set(errbuf, rc, "write %s: %s", path, strerror(errno));
    }
    *fd = lfd;
    return 0;
}

int node_state_lock(const char *home, int *fd, char *errbuf)
{
    return node_home_lock(home, NODE_LOCK_SUPERVISOR, fd, errbuf);
}

void node_state_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the last descriptor releases the flock */
}

bool node_state_locked(const char *home)
{
    int fd = open_lock(home);
    if (fd < 0)
        return false;
    bool locked = held(fd);
    close(fd);
    return locked;
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

bool node_running(const char *home)
{
    return node_pidfile_alive(home, NODE_SUPERVISOR_PID, NULL) ||
           node_pidfile_alive(home, NODE_NEARD_PID, NULL);
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
