/* Process helpers (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

extern char **environ;

#define KILL_WAIT_MS 10000 /* bound on waiting for a SIGKILLed child */

/* What the child reports through the CLOEXEC pipe when it cannot exec. */
struct exec_failure {
    int stage; /* STAGE_* below */
    int err;   /* errno */
};

enum { STAGE_DUP, STAGE_SETSID, STAGE_CHDIR, STAGE_EXEC };

void nu_spawn_opts_init(struct nu_spawn_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->stdin_fd = -1;
    o->stdout_fd = -1;
    o->stderr_fd = -1;
}

/* In the child: no signal handlers, ignores or blocks leak from the parent
 * into programs we start (a blocked SIGTERM would make neard unstoppable). */
static void reset_signals(void)
{
    sigset_t none;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL/SIGSTOP */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: moves the requested fds onto 0, 1, 2. Sources are first
 * copied above 2 so that swaps (stdout_fd = 2, stderr_fd = 1) work. */
static int setup_stdio(const int src[3])
{
    int tmp[3];
    for (int i = 0; i < 3; i++) {
        tmp[i] = src[i] < 0 ? -1 : fcntl(src[i], F_DUPFD_CLOEXEC, 3);
        if (src[i] >= 0 && tmp[i] < 0)
            return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (tmp[i] >= 0 && dup2(tmp[i], i) < 0)
            return -1;
    }
    return 0;
}

static void child_fail(int fd, int stage)
{
    struct exec_failure f = {stage, errno};
    ssize_t w = write(fd, &f, sizeof(f));
    (void)w; /* the parent treats a short report like a successful exec */
    _exit(127);
}

/* Runs in the forked child; only async-signal-safe calls from here on,
 * since the parent may have other threads. */
static void child_exec(char *const argv[], const struct nu_spawn_opts *o, int devnull, int errfd)
{
    int src[3] = {o->stdin_fd >= 0 ? o->stdin_fd : devnull, o->stdout_fd, o->stderr_fd};
    reset_signals();
    if (o->new_session && setsid() < 0)
        child_fail(errfd, STAGE_SETSID);
    if (setup_stdio(src) < 0)
        child_fail(errfd, STAGE_DUP);
    if (o->cwd != NULL && chdir(o->cwd) < 0)
        child_fail(errfd, STAGE_CHDIR);
    execve(argv[0], argv, o->envp != NULL ? o->envp : environ);
    child_fail(errfd, STAGE_EXEC);
}

static int report_failure(const struct exec_failure *f, char *const argv[],
                          const struct nu_spawn_opts *o, char *errbuf)
{
    const char *why = strerror(f->err);
    switch (f->stage) {
    case STAGE_CHDIR:
        return nu_err_set(errbuf, NU_ECHILD, "chdir %s: %s", o->cwd, why);
    case STAGE_SETSID:
        return nu_err_set(errbuf, NU_ECHILD, "setsid for %s: %s", argv[0], why);
    case STAGE_DUP:
        return nu_err_set(errbuf, NU_ECHILD, "redirect stdio for %s: %s", argv[0], why);
    default:
        return nu_err_set(errbuf, NU_ECHILD, "exec %s: %s", argv[0], why);
    }
}

/* Reads the child's exec report: 0 bytes means execve succeeded (the
 * CLOEXEC pipe closed on exec). */
static int read_report(int fd, struct exec_failure *f)
{
    ssize_t r;
    do
        r = read(fd, f, sizeof(*f));
    while (r < 0 && errno == EINTR);
    return r == (ssize_t)sizeof(*f);
}

static int cloexec_pipe(int fds[2])
{
#ifdef __linux__
    return pipe2(fds, O_CLOEXEC);
#else
    /* No pipe2 on macOS; the window before FD_CLOEXEC only matters to
     * other threads forking at the same moment. */
    if (pipe(fds) < 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int nu_proc_spawn(char *const argv[], const struct nu_spawn_opts *o, pid_t *pid, char *errbuf)
{
    struct nu_spawn_opts defaults;
    if (argv == NULL || argv[0] == NULL)
        return nu_err_set(errbuf, NU_EINVAL, "spawn: empty argv");
    if (o == NULL) {
        nu_spawn_opts_init(&defaults);
        o = &defaults;
    }
    int pfd[2], devnull = -1;
    if (cloexec_pipe(pfd) < 0)
        return nu_err_set(errbuf, NU_ECHILD, "spawn %s: pipe: %s", argv[0], strerror(errno));
    if (o->stdin_fd < 0 && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return nu_err_set(errbuf, NU_ECHILD, "spawn %s: /dev/null: %s", argv[0], strerror(e));
    }
    pid_t child = fork();
    if (child == 0)
        child_exec(argv, o, devnull, pfd[1]);
    int fork_errno = errno;
    close(pfd[1]);
    if (devnull >= 0)
        close(devnull);
    if (child < 0) {
        close(pfd[0]);
        return nu_err_set(errbuf, NU_ECHILD, "fork for %s: %s", argv[0], strerror(fork_errno));
    }
    struct exec_failure f;
    int failed = read_report(pfd[0], &f);
    close(pfd[0]);
    if (failed) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        return report_failure(&f, argv, o, errbuf);
    }
    *pid = child;
    return 0;
}

/* waitpid(WNOHANG): 1 when reaped, 0 while running, <0 on error. */
static int try_reap(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return NU_ECHILD;
    }
}

/* Sleeps until pid may have exited or ms pass: poll on a pidfd when the
 * kernel has them, else a short nap (the caller re-checks either way). */
static void nap(pid_t pid, int ms)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, ms);
        close(fd);
        return;
    }
#endif
    struct timespec ts = {0, (long)(ms < 10 ? ms : 10) * 1000000L};
    nanosleep(&ts, NULL);
}

int nu_proc_wait(pid_t pid, int timeout_ms, int *status)
{
    int st = 0;
    if (timeout_ms < 0) {
        while (waitpid(pid, &st, 0) < 0) {
            if (errno != EINTR)
                return NU_ECHILD;
        }
        *status = st;
        return 0;
    }
    int64_t deadline = (int64_t)nu_mono_ms() + timeout_ms;
    for (;;) {
        int rc = try_reap(pid, &st);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *status = st;
            return 0;
        }
        int64_t left = deadline - (int64_t)nu_mono_ms();
        if (left <= 0)
            return NU_ETIMEDOUT;
        nap(pid, left > INT_MAX ? INT_MAX : (int)left);
    }
}

/* Reads fd until EOF or deadline_ms into out; the rest is dropped. */
static size_t read_until(int fd, char *out, size_t outsz, int64_t deadline_ms)
{
    char drain[256];
    size_t n = 0;
    for (int64_t now; (now = (int64_t)nu_mono_ms()) < deadline_ms;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline_ms - now;
        int ready = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        bool full = n + 1 >= outsz;
        ssize_t r = full ? read(fd, drain, sizeof(drain)) : read(fd, out + n, outsz - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += full ? 0 : (size_t)r;
    }
    out[n] = '\0';
    return n;
}

int nu_proc_run(char *const argv[], int timeout_ms, char *out, size_t outsz, size_t *outlen,
                int *status, char *errbuf)
{
    int fds[2];
    NU_BUG_ON(outsz == 0);
    *outlen = 0;
    out[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) < 0)
        return nu_err_set(errbuf, NU_EIO, "pipe: %s", strerror(errno));
    struct nu_spawn_opts o;
    nu_spawn_opts_init(&o);
    o.stdout_fd = fds[1];
    pid_t pid;
    int64_t deadline = (int64_t)nu_mono_ms() + timeout_ms;
    int rc = nu_proc_spawn(argv, &o, &pid, errbuf);
    close(fds[1]);
    if (rc == 0)
        *outlen = read_until(fds[0], out, outsz, deadline);
    close(fds[0]);
    if (rc < 0)
        return rc;
    int64_t left = deadline - (int64_t)nu_mono_ms();
    rc = nu_proc_wait(pid, left > 0 ? (int)left : 0, status);
    if (rc != NU_ETIMEDOUT)
        return rc;
    (void)!nu_proc_stop(pid, SIGKILL, KILL_WAIT_MS, status);
    return nu_err_set(errbuf, NU_ETIMEDOUT, "%s did not finish in %d ms", argv[0], timeout_ms);
}

int nu_proc_parse_stat(const char *stat, char *state, uint64_t *start)
{
    /* comm (field 2) may contain spaces and parentheses; it ends at the
     * last ')' of the line. Fields 3.. follow, space separated. */
    const char *p = strrchr(stat, ')');
    if (p == NULL)
        return NU_EPARSE;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return NU_EPARSE;
        if (field == 3)
            *state = *p;
        if (field == 22) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (errno != 0 || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
                return NU_EPARSE;
            *start = v;
            return 0;
        }
        while (*p != ' ' && *p != '\0')
            p++;
    }
    return NU_EPARSE;
}

static int read_stat(pid_t pid, char *state, uint64_t *start)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_from_errno(errno);
    ssize_t n;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return nu_err_from_errno(e);
    buf[n] = '\0';
    return nu_proc_parse_stat(buf, state, start);
}

int nu_proc_start_time(pid_t pid, uint64_t *start)
{
    char state;
    if (pid <= 0)
        return NU_ENOENT;
    return read_stat(pid, &state, start);
}

bool nu_proc_is_same(pid_t pid, uint64_t start)
{
    char state = '?';
    uint64_t actual = 0;
    if (pid <= 0 || read_stat(pid, &state, &actual) < 0)
        return false;
    /* A zombie has finished; it only waits for its parent to reap it. */
    return actual == start && state != 'Z' && state != 'X';
}

int nu_proc_stop(pid_t pid, int sig, int timeout_ms, int *status)
{
    if (pid <= 0)
        return NU_EINVAL;
    /* ESRCH is fine: it may already be a zombie waiting to be reaped. */
    if (kill(pid, sig) < 0 && errno != ESRCH)
        return nu_err_from_errno(errno);
    int rc = nu_proc_wait(pid, timeout_ms, status);
    if (rc != NU_ETIMEDOUT)
        return rc;
    kill(pid, SIGKILL);
    return nu_proc_wait(pid, KILL_WAIT_MS, status);
}

int nu_proc_raise_nofile(uint64_t want, uint64_t *got)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return NU_EIO;
    *got = rl.rlim_cur;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return NU_EIO;
        *got = rl.rlim_cur;
    }
    return *got < want ? NU_ETOOBIG : 0;
}
