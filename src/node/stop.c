/* Controlling a home's supervisor from outside: starting one detached
 * (node_supervisor_start) and stopping it and neard (node_stop). Every
 * process is named by a pid file with its start time, so a recycled pid is
 * never signalled. */
#include "supervisor.h"

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

#include "json.h"
#include "proc.h"
#include "state.h"

#define READY_MAX 8192
#define READY_FD 3
#define STOP_POLL_MS 20
#define STUCK_SUPERVISOR_GRACE_MS 10000 /* after the timeout, before SIGKILLing a supervisor */
#define SUPERVISOR_KILL_MARGIN_MS 5000  /* let the supervisor's own SIGKILL timer act first */
#define KILLED_WAIT_MS 10000

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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
 * fd 3, then `nearup supervise` (this same program) for the home. */
static void exec_supervisor(const char *home, int wfd)
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
    char *argv[] = {"nearup", "supervise", "--home", (char *)home, "--ready-fd", "3", NULL};
    execv("/proc/self/exe", argv);
    int n = snprintf(msg, sizeof(msg), "error cannot run the supervisor: exec /proc/self/exe: %s\n",
                     strerror(errno));
    ssize_t w = write(READY_FD, msg, (size_t)n);
    (void)w;
    _exit(127);
}

/* Reads the supervisor's report until EOF or the deadline. */
static int read_report(int fd, unsigned timeout_s, char *buf, size_t bufsz, size_t *len)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000u;
    *len = 0;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return NU_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf + *len, bufsz - 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (*len += (size_t)n) >= bufsz - 1) {
            buf[*len] = '\0';
            return 0;
        }
        buf[*len] = '\0';
        if (strncmp(buf, "ok ", 3) == 0 && strchr(buf, '\n') != NULL)
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

int node_supervisor_start(const char *home, unsigned ready_timeout_s, char *errbuf)
{
    struct node_pidfile pf;
    int fds[2];
    if (node_state_locked(home)) {
        if (node_pidfile_alive(home, "supervisor.pid", &pf))
            return nu_err_set(errbuf, NU_EEXIST,
                              "a node is already running for %s (supervisor pid %ld)", home,
                              (long)pf.pid);
        return nu_err_set(errbuf, NU_EEXIST, "a node is already running for %s", home);
    }
    if (pipe2(fds, O_CLOEXEC) < 0)
        return nu_err_set(errbuf, NU_EIO, "pipe: %s", strerror(errno));
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        if (setsid() < 0 || fork() != 0)
            _exit(0); /* the intermediate exits: the supervisor is nobody's child */
        int wfd = fcntl(fds[1], F_DUPFD, READY_FD); /* without CLOEXEC: it must survive exec */
        exec_supervisor(home, wfd < 0 ? fds[1] : wfd);
    }
    close(fds[1]);
    if (child < 0) {
        close(fds[0]);
        return nu_err_set(errbuf, NU_ECHILD, "fork: %s", strerror(errno));
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    char buf[READY_MAX];
    size_t len = 0;
    int rc = read_report(fds[0], ready_timeout_s, buf, sizeof(buf), &len);
    close(fds[0]);
    if (rc == NU_ETIMEDOUT)
        return nu_err_set(errbuf, NU_ETIMEDOUT,
                          "neard did not answer /status within %u s; it keeps starting in the "
                          "background (see 'nearup logs --home %s')",
                          ready_timeout_s, home);
    return interpret_report(home, buf, len, errbuf);
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
    if (c->neard_alive && !c->res->killed && now_ms() >= c->neard_kill_at) {
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
        if (now_ms() >= deadline + STUCK_SUPERVISOR_GRACE_MS) {
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
        if (c->res->killed && now_ms() >= c->neard_kill_at + KILLED_WAIT_MS)
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
    c.sup_alive = node_pidfile_alive(home, "supervisor.pid", &c.sup);
    c.neard_alive = node_pidfile_alive(home, "neard.pid", &c.neard);
    c.res->was_running = c.sup_alive || c.neard_alive;
    c.res->supervisor_pid = c.sup_alive ? c.sup.pid : 0;
    c.res->neard_pid = c.neard_alive ? c.neard.pid : 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000u;
    c.neard_kill_at = deadline;
    if (c.sup_alive && timeout_s >= cfg_timeout)
        c.neard_kill_at += SUPERVISOR_KILL_MARGIN_MS;
    if (c.sup_alive) {
        wait_supervisor(&c, deadline);
        c.res->killed = c.res->killed || (c.res->neard_pid != 0 && status_says_killed(home));
        /* It may have started a neard we had not seen yet. */
        if (!c.neard_alive && node_pidfile_alive(home, "neard.pid", &c.neard))
            c.neard_alive = true;
    }
    stop_orphan(&c);
    if (c.neard_alive)
        return nu_err_set(errbuf, NU_ETIMEDOUT, "neard (pid %ld) is still alive after SIGKILL",
                          (long)c.neard.pid);
    if (c.sup_alive)
        return nu_err_set(errbuf, NU_ETIMEDOUT, "the supervisor (pid %ld) did not exit",
                          (long)c.sup.pid);
    if (!node_pidfile_alive(home, "supervisor.pid", NULL))
        node_pidfile_remove(home, "supervisor.pid");
    if (!node_pidfile_alive(home, "neard.pid", NULL))
        node_pidfile_remove(home, "neard.pid");
    return 0;
}

int node_stop(const char *home, unsigned timeout_s, char *errbuf)
{
    return node_stop_ex(home, timeout_s, NULL, errbuf);
}
