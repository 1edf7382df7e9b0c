/* Controlling a home's supervisor from outside: finding and running the
 * nearup-supervisor program, starting one detached (node_supervisor_start)
 * and stopping it and neard (node_stop). Every process is named by a pid
 * file with its start time, so a recycled pid is never signalled. */
#include "supctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "json.h"
#include "legacy.h"
#include "proc.h"
#include "runcfg.h"
#include "settings.h"
#include "state.h"

#define READY_MAX 8192
#define READY_FD 3
#define STOP_POLL_MS 20
#define STUCK_SUPERVISOR_GRACE_MS 10000 /* after the timeout, before SIGKILLing a supervisor */
#define SUPERVISOR_KILL_MARGIN_MS 5000  /* let the supervisor's own SIGKILL timer act first */
#define KILLED_WAIT_MS 10000

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the supervisor program ---- */

#define SUPERVISOR_PROGRAM "nearup-supervisor"
#define BUILD_CLI_DIR "/src/cli"
#define SUPERVISOR_ARGS_MAX 16

/* The directory of the running program (symlinks resolved by the kernel). */
static int exe_dir(char *out, size_t outsz, char *errbuf)
{
    ssize_t n = readlink("/proc/self/exe", out, outsz - 1);
    if (n <= 0 || (size_t)n >= outsz - 1)
        return nu_err_set(errbuf, NU_EIO,
                          "cannot find the nearup program: readlink /proc/self/exe: %s",
                          n < 0 ? strerror(errno) : "path too long");
    out[n] = '\0';
    /* A nearup replaced on disk while it runs reads "<path> (deleted)". */
    size_t len = (size_t)n;
    if (len > 10 && strcmp(out + len - 10, " (deleted)") == 0)
        out[len - 10] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        return nu_err_set(errbuf, NU_EIO, "cannot find the nearup program: %s", out);
    *slash = '\0';
    return 0;
}

int node_supervisor_path(char *out, size_t outsz, char *errbuf)
{
    char dir[PATH_MAX];
    int rc = exe_dir(dir, sizeof(dir), errbuf);
    if (rc < 0)
        return rc;
    int n = snprintf(out, outsz, "%s/" SUPERVISOR_PROGRAM, dir);
    if (n > 0 && (size_t)n < outsz && access(out, X_OK) == 0)
        return 0;
    /* A build tree: <build>/src/cli/nearup and <build>/src/node/nearup-supervisor. */
    size_t len = strlen(dir), cli = strlen(BUILD_CLI_DIR);
    if (len > cli && strcmp(dir + len - cli, BUILD_CLI_DIR) == 0) {
        n = snprintf(out, outsz, "%.*s/src/node/" SUPERVISOR_PROGRAM, (int)(len - cli), dir);
        if (n > 0 && (size_t)n < outsz && access(out, X_OK) == 0)
            return 0;
    }
    return nu_err_set(errbuf, NU_ENOENT,
                      "cannot find " SUPERVISOR_PROGRAM " in %s, beside nearup; install it "
                      "there (it is built and installed with nearup)",
                      dir);
}

int node_supervisor_exec(const char *cmd, char *const args[], char *errbuf)
{
    char path[PATH_MAX];
    char *argv[SUPERVISOR_ARGS_MAX + 4];
    size_t n = 0;
    int rc = node_supervisor_path(path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    argv[n++] = SUPERVISOR_PROGRAM;
    argv[n++] = "--cmd";
    argv[n++] = (char *)cmd;
    for (size_t i = 0; args[i] != NULL; i++) {
        if (i >= SUPERVISOR_ARGS_MAX)
            return nu_err_set(errbuf, NU_ETOOBIG, "too many arguments for the supervisor");
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    execv(path, argv);
    return nu_err_set(errbuf, NU_ECHILD, "cannot run the supervisor: exec %s: %s", path,
                      strerror(errno));
}

/* ---- starting a detached supervisor ---- */

static void close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = lowfd; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
        close(fd);
}

/* The grandchild: a new session, no inherited fds but the ready pipe on
 * fd 3, then nearup-supervisor for the home. It first tells the starter
 * its pid ("pid N\n"), so that an interrupted start can stop it. */
static void exec_supervisor(const char *prog, const char *home, int wfd)
{
    char msg[256];
    int devnull = open("/dev/null", O_RDWR);
    if (wfd != READY_FD && (dup2(wfd, READY_FD) < 0 || close(wfd) < 0))
        _exit(127);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        _exit(127);
    close_from(READY_FD + 1);
    if (chdir("/") < 0)
        _exit(127);
    int n = snprintf(msg, sizeof(msg), "pid %ld\n", (long)getpid());
    if (write(READY_FD, msg, (size_t)n) != n)
        _exit(127);
    char *argv[] = {SUPERVISOR_PROGRAM, "--home", (char *)home, "--ready-fd", "3", NULL};
    execv(prog, argv);
    n = snprintf(msg, sizeof(msg), "error cannot run the supervisor: exec %s: %s\n", prog,
                 strerror(errno));
    ssize_t w = write(READY_FD, msg, (size_t)n);
    (void)w;
    _exit(127);
}

struct report {
    char buf[READY_MAX];
    size_t len;
    pid_t supervisor; /* from its "pid N" line; 0 until then */
    bool eof;
};

/* Takes a leading "pid N\n" line out of r->buf. */
static void take_pid_line(struct report *r)
{
    char *nl = memchr(r->buf, '\n', r->len);
    uint64_t pid;
    if (strncmp(r->buf, "pid ", 4) != 0 || nl == NULL)
        return;
    *nl = '\0';
    if (nu_parse_uint(r->buf + 4, INT32_MAX, &pid) == 0)
        r->supervisor = (pid_t)pid;
    size_t line = (size_t)(nl + 1 - r->buf);
    memmove(r->buf, nl + 1, r->len - line);
    r->len -= line;
    r->buf[r->len] = '\0';
}

/* Reads the supervisor's report until EOF, an "ok" line, the deadline
 * (NU_ETIMEDOUT) or *cancel (NU_ESTATE). SIGINT and SIGTERM are blocked
 * by the caller and let through only inside ppoll, so a signal between
 * the check of *cancel and the wait cannot be missed. */
static int read_report(int fd, unsigned timeout_s, const volatile sig_atomic_t *cancel,
                       const sigset_t *waitmask, struct report *r)
{
    uint64_t deadline = nu_mono_ms() + (uint64_t)timeout_s * 1000u;
    r->len = 0;
    r->buf[0] = '\0';
    for (;;) {
        uint64_t now = nu_mono_ms();
        if (cancel != NULL && *cancel)
            return NU_ESTATE;
        if (now >= deadline)
            return NU_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000u), (long)(left % 1000u) * 1000000L};
        if (ppoll(&p, 1, &ts, waitmask) <= 0)
            continue;
        ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (r->len += (size_t)n) >= sizeof(r->buf) - 1) {
            r->buf[r->len] = '\0';
            r->eof = n <= 0;
            take_pid_line(r);
            return 0;
        }
        r->buf[r->len] = '\0';
        take_pid_line(r);
        if (strncmp(r->buf, "ok ", 3) == 0 && strchr(r->buf, '\n') != NULL)
            return 0;
    }
}

static int interpret_report(const char *home, char *buf, size_t len, char *errbuf)
{
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (strncmp(buf, "ok ", 3) == 0)
        return 0;
    if (strncmp(buf, "error ", 6) == 0) {
        int err = strstr(buf, "already running") != NULL ? NU_EEXIST : NU_ECHILD;
        return nu_err_set(errbuf, err, "%s", buf + 6);
    }
    return nu_err_set(errbuf, NU_ECHILD,
                      "the supervisor exited without reporting; see %s/" NODE_STATE_DIRNAME
                      "/logs/neard.log",
                      home);
}

/* An interrupted start: the supervisor still holds the pipe (no EOF yet),
 * so its pid is still its own. SIGTERM stops it in order once its
 * handlers are in place (its pid file is written before), or ends it
 * before it started neard; node_stop then waits for whatever runs. */
static int stop_started(const char *home, int fd, const struct report *r, char *errbuf)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    bool gone = r->eof || (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0);
    if (r->supervisor > 0 && !gone)
        kill(r->supervisor, SIGTERM);
    int rc = node_stop_ex(home, 0, NULL, errbuf);
    if (rc < 0)
        return rc;
    return nu_err_set(errbuf, NU_ESTATE,
                      "interrupted before neard answered /status; the node of %s was stopped",
                      home);
}

/* Forks the detached supervisor; *fd gets the read end of its pipe. */
static int spawn_detached(const char *prog, const char *home, int *fd, char *errbuf)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return nu_err_set(errbuf, NU_EIO, "pipe: %s", strerror(errno));
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        if (setsid() < 0 || fork() != 0)
            _exit(0); /* the intermediate exits: the supervisor is nobody's child */
        int wfd = fcntl(fds[1], F_DUPFD, READY_FD); /* without CLOEXEC: it must survive exec */
        exec_supervisor(prog, home, wfd < 0 ? fds[1] : wfd);
    }
    close(fds[1]);
    if (child < 0) {
        close(fds[0]);
        return nu_err_set(errbuf, NU_ECHILD, "fork: %s", strerror(errno));
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    *fd = fds[0];
    return 0;
}

int node_supervisor_start_ex(const char *home, unsigned ready_timeout_s,
                             const volatile sig_atomic_t *cancel, char *errbuf)
{
    char prog[PATH_MAX];
    int fd = -1;
    int rc = node_home_busy(home, errbuf); /* a supervisor, or a restore that must finish */
    if (rc == 0)
        rc = node_supervisor_path(prog, sizeof(prog), errbuf);
    if (rc == 0)
        rc = spawn_detached(prog, home, &fd, errbuf);
    if (rc < 0)
        return rc;
    struct report *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        close(fd);
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    }
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    rc = read_report(fd, ready_timeout_s, cancel, &waitmask, r);
    sigprocmask(SIG_SETMASK, &waitmask, NULL);
    if (rc == NU_ESTATE)
        rc = stop_started(home, fd, r, errbuf);
    else if (rc == NU_ETIMEDOUT)
        rc = nu_err_set(errbuf, NU_ETIMEDOUT,
                        "neard did not answer /status within %u s; it keeps starting in the "
                        "background (see 'nearup logs --home %s')",
                        ready_timeout_s, home);
    else
        rc = interpret_report(home, r->buf, r->len, errbuf);
    close(fd);
    free(r);
    return rc;
}

int node_supervisor_start(const char *home, unsigned ready_timeout_s, char *errbuf)
{
    return node_supervisor_start_ex(home, ready_timeout_s, NULL, errbuf);
}

/* ---- stopping ---- */

static unsigned default_timeout(const char *home)
{
    struct node_run_config c;
    unsigned t = NODE_DEFAULT_STOP_TIMEOUT_S;
    if (node_runcfg_load(home, &c, NULL) == 0) {
        t = c.stop_timeout_s;
        node_runcfg_release(&c);
    }
    return t;
}

/* The supervisor records neard's last exit; SIGKILL there means its stop
 * timer fired. */
static bool status_says_killed(const char *home)
{
    char path[PATH_MAX];
    json_t *st = NULL;
    int64_t sig = 0;
    if (node_state_path(home, "status.json", path, sizeof(path)) < 0 ||
        nu_json_load_file(path, false, &st, NULL) < 0)
        return false;
    bool killed = nu_json_get_int(st, "last_exit.signal", &sig) == 0 && sig == SIGKILL;
    json_decref(st);
    return killed;
}

struct stop_ctx {
    const char *home;
    struct node_pidfile sup, neard;
    bool sup_alive, neard_alive;
    bool neard_termed;
    uint64_t neard_kill_at;
    struct node_stop_result *res;
};

static void refresh(struct stop_ctx *c)
{
    c->sup_alive = c->sup_alive && nu_proc_is_same(c->sup.pid, c->sup.start_time);
    c->neard_alive = c->neard_alive && nu_proc_is_same(c->neard.pid, c->neard.start_time);
}

static void kill_neard_if_due(struct stop_ctx *c)
{
    if (c->neard_alive && !c->res->killed && nu_mono_ms() >= c->neard_kill_at) {
        kill(c->neard.pid, SIGKILL);
        c->res->killed = true;
    }
}

/* Waits for the supervisor, which stops neard; kills neard itself when the
 * timeout passes first, and the supervisor when it hangs. */
static void wait_supervisor(struct stop_ctx *c, uint64_t deadline)
{
    kill(c->sup.pid, SIGTERM);
    for (refresh(c); c->sup_alive; refresh(c)) {
        kill_neard_if_due(c);
        if (nu_mono_ms() >= deadline + STUCK_SUPERVISOR_GRACE_MS) {
            kill(c->sup.pid, SIGKILL);
            for (int i = 0; i < KILLED_WAIT_MS / STOP_POLL_MS && c->sup_alive; i++, refresh(c))
                nap(STOP_POLL_MS);
            break;
        }
        nap(STOP_POLL_MS);
    }
}

/* neard without a supervisor (kill -9 of the supervisor): stop it directly. */
static void stop_orphan(struct stop_ctx *c)
{
    for (refresh(c); c->neard_alive; refresh(c)) {
        if (!c->neard_termed) {
            kill(c->neard.pid, SIGTERM);
            c->neard_termed = true;
        }
        kill_neard_if_due(c);
        if (c->res->killed && nu_mono_ms() >= c->neard_kill_at + KILLED_WAIT_MS)
            break;
        nap(STOP_POLL_MS);
    }
}

int node_stop_ex(const char *home, unsigned timeout_s, struct node_stop_result *res, char *errbuf)
{
    struct node_stop_result local;
    struct stop_ctx c = {.home = home, .res = res != NULL ? res : &local};
    memset(c.res, 0, sizeof(*c.res));
    unsigned cfg_timeout = default_timeout(home);
    if (timeout_s == 0)
        timeout_s = cfg_timeout;
    c.sup_alive = node_pidfile_alive(home, NODE_SUPERVISOR_PID, &c.sup);
    c.neard_alive = node_pidfile_alive(home, NODE_NEARD_PID, &c.neard);
    /* A neard the Python nearup started has no supervisor: stopped as one
     * whose supervisor is gone, then its line leaves the Python nearup's
     * pid file. */
    struct node_legacy_node legacy;
    bool python = !c.sup_alive && !c.neard_alive && node_legacy_find(home, &legacy);
    if (python) {
        c.neard = (struct node_pidfile){.pid = legacy.pid, .start_time = legacy.start_time};
        c.neard_alive = true;
    }
    c.res->was_running = c.sup_alive || c.neard_alive;
    c.res->supervisor_pid = c.sup_alive ? c.sup.pid : 0;
    c.res->neard_pid = c.neard_alive ? c.neard.pid : 0;
    uint64_t deadline = nu_mono_ms() + (uint64_t)timeout_s * 1000u;
    c.neard_kill_at = deadline;
    if (c.sup_alive && timeout_s >= cfg_timeout)
        c.neard_kill_at += SUPERVISOR_KILL_MARGIN_MS;
    if (c.sup_alive) {
        wait_supervisor(&c, deadline);
        c.res->killed = c.res->killed || (c.res->neard_pid != 0 && status_says_killed(home));
        /* It may have started a neard we had not seen yet. */
        if (!c.neard_alive && node_pidfile_alive(home, NODE_NEARD_PID, &c.neard))
            c.neard_alive = true;
    }
    stop_orphan(&c);
    if (c.neard_alive)
        return nu_err_set(errbuf, NU_ETIMEDOUT, "neard (pid %ld) is still alive after SIGKILL",
                          (long)c.neard.pid);
    if (c.sup_alive)
        return nu_err_set(errbuf, NU_ETIMEDOUT, "the supervisor (pid %ld) did not exit",
                          (long)c.sup.pid);
    if (!node_pidfile_alive(home, NODE_SUPERVISOR_PID, NULL))
        node_pidfile_remove(home, NODE_SUPERVISOR_PID);
    if (!node_pidfile_alive(home, NODE_NEARD_PID, NULL))
        node_pidfile_remove(home, NODE_NEARD_PID);
    return python ? node_legacy_forget(legacy.pid, errbuf) : 0;
}

int node_stop(const char *home, unsigned timeout_s, char *errbuf)
{
    return node_stop_ex(home, timeout_s, NULL, errbuf);
}
