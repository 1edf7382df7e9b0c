/* The supervisor's neard child: fork+execve with PR_SET_PDEATHSIG, its
 * output through a pipe into the rotated log, reaping on SIGCHLD, and the
 * tail of its output kept for error reports. */
#include "sup-int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "clock.h"
#include "proc.h"
#include "state.h"

extern char **environ;

#define ENV_MAX 1024 /* entries of the environment we pass on */

/* Variables of the supervisor's own service manager that neard must not see. */
static bool env_dropped(const char *kv)
{
    static const char *const drop[] = {
        "NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=", "LISTEN_FDS=", "LISTEN_PID="};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (strncmp(kv, drop[i], strlen(drop[i])) == 0)
            return true;
    }
    return false;
}

static bool env_overridden(char *const *over, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t n = eq != NULL ? (size_t)(eq - kv) + 1 : strlen(kv);
    for (size_t i = 0; over[i] != NULL; i++) {
        if (strncmp(over[i], kv, n) == 0)
            return true;
    }
    return false;
}

/* environ minus the dropped names, plus RUST_BACKTRACE=1 unless set, plus
 * run.json's env (which wins). Pointers are borrowed; free only the array. */
static char **build_env(const struct node_run_config *c)
{
    char **env = calloc(ENV_MAX + NODE_MAX_ENV + 2, sizeof(char *));
    size_t n = 0;
    bool backtrace = false;
    if (env == NULL)
        return NULL;
    for (size_t i = 0; environ[i] != NULL && n < ENV_MAX; i++) {
        if (env_dropped(environ[i]) || env_overridden(c->env, environ[i]))
            continue;
        backtrace |= strncmp(environ[i], "RUST_BACKTRACE=", 15) == 0;
        env[n++] = environ[i];
    }
    for (size_t i = 0; i < NODE_MAX_ENV && c->env[i] != NULL; i++) {
        backtrace |= strncmp(c->env[i], "RUST_BACKTRACE=", 15) == 0;
        env[n++] = c->env[i];
    }
    if (!backtrace)
        env[n++] = "RUST_BACKTRACE=1";
    env[n] = NULL;
    return env;
}

/* argv: <binary> --home <home> run <args...>. Borrowed pointers. */
static char **build_argv(struct sup *s)
{
    char **argv = calloc(NODE_MAX_ARGS + 5, sizeof(char *));
    if (argv == NULL)
        return NULL;
    size_t n = 0;
    argv[n++] = s->cfg.binary;
    argv[n++] = "--home";
    argv[n++] = (char *)s->home;
    argv[n++] = "run";
    for (size_t i = 0; i < NODE_MAX_ARGS && s->cfg.args[i] != NULL; i++)
        argv[n++] = s->cfg.args[i];
    argv[n] = NULL;
    return argv;
}

/* What the child reports instead of an errno when the binary at the path
 * is no longer the file whose sha256 was checked. */
#define EXEC_CHANGED (-1)

/* In the forked child: async-signal-safe calls only. id: the file the
 * binary must still be (NULL: no check). */
static void child_exec(char **argv, char **envp, int outfd, int errfd, pid_t parent,
                       const char *cwd, const struct sup_file_id *id)
{
    sigset_t none;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
#ifdef __linux__
    /* neard must never outlive a killed supervisor: two neards on one home
     * is what the old nearup's watcher produced. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != parent)
        _exit(127);
    setpgid(0, 0); /* a terminal's ^C reaches the supervisor only; it stops neard */
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
        goto fail;
    if (chdir(cwd) < 0)
        goto fail;
    if (id != NULL && !sup_verify_same_file(argv[0], id)) {
        errno = EXEC_CHANGED;
        goto fail;
    }
    execve(argv[0], argv, envp);
fail:;
    int e = errno;
    ssize_t w = write(errfd, &e, sizeof(e));
    (void)w;
    _exit(127);
}

static void on_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char chunk[65536]; /* one loop thread; consumed before the next read */
    buf->base = chunk;
    buf->len = sizeof(chunk);
}

static void tail_append(struct sup *s, const char *data, size_t len)
{
    if (len >= SUP_TAIL_MAX) {
        data += len - SUP_TAIL_MAX / 2;
        len = SUP_TAIL_MAX / 2;
    }
    if (s->tail.len + len > SUP_TAIL_MAX) {
        size_t drop = s->tail.len + len - SUP_TAIL_MAX / 2;
        drop = drop > s->tail.len ? s->tail.len : drop;
        memmove(s->tail.data, s->tail.data + drop, s->tail.len - drop);
        s->tail.len -= drop;
        s->tail.data[s->tail.len] = '\0';
    }
    if (nu_buf_append(&s->tail, data, len) < 0)
        nu_buf_reset(&s->tail);
}

static void on_out_closed(uv_handle_t *h)
{
    free(h);
}

void sup_child_close_output(struct sup *s)
{
    if (s->child.out != NULL) {
        uv_close((uv_handle_t *)s->child.out, on_out_closed);
        s->child.out = NULL;
    }
}

/* Both the exit and the end of output are needed before judging the exit:
 * the last lines explain it. */
static void maybe_exited(struct sup *s)
{
    if (s->child.exited && s->child.out == NULL) {
        uv_timer_stop(&s->t_drain);
        sup_on_neard_exit(s);
    }
}

static void on_out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct sup *s = st->data;
    char err[NU_ERRMSG_MAX];
    if (n > 0) {
        tail_append(s, buf->base, (size_t)n);
        if (s->log != NULL && node_log_write(s->log, buf->base, (size_t)n, err) < 0)
            sup_log(s, NU_LOG_ERROR, "cannot write neard.log", "error", err, NULL);
        return;
    }
    if (n < 0) {
        sup_child_close_output(s);
        maybe_exited(s);
    }
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct sup *s = t->data;
    /* A grandchild of neard still holds the pipe; stop waiting for it. */
    sup_child_close_output(s);
    maybe_exited(s);
}

static int open_output(struct sup *s, int rfd, char *errbuf)
{
    uv_pipe_t *p = malloc(sizeof(*p));
    if (p == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int rc = uv_pipe_init(&s->loop, p, 0);
    if (rc == 0)
        rc = uv_pipe_open(p, rfd);
    if (rc < 0) {
        free(p);
        return nu_err_set(errbuf, NU_EIO, "output pipe: %s", uv_strerror(rc));
    }
    p->data = s;
    s->child.out = p;
    uv_read_start((uv_stream_t *)p, on_out_alloc, on_out_read);
    return 0;
}

static int fork_exec(struct sup *s, char **argv, char **envp, int outfd, int *errfds, pid_t *pid,
                     char *errbuf)
{
    pid_t parent = getpid();
    const struct sup_file_id *id = sup_verify_exec_id(s, argv[0]);
    pid_t child = fork();
    if (child == 0)
        child_exec(argv, envp, outfd, errfds[1], parent, s->home, id);
    if (child < 0)
        return nu_err_set(errbuf, NU_ECHILD, "fork: %s", strerror(errno));
    close(errfds[1]);
    errfds[1] = -1;
    int e = 0;
    ssize_t r;
    do
        r = read(errfds[0], &e, sizeof(e));
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)sizeof(e)) {
        int st;
        waitpid(child, &st, 0);
        if (e == EXEC_CHANGED)
            return nu_err_set(errbuf, NU_EVERIFY,
                              "neard binary %s changed after its sha256 was checked; it was not "
                              "executed",
                              argv[0]);
        return nu_err_set(errbuf, NU_ECHILD, "exec %s: %s", argv[0], strerror(e));
    }
    *pid = child;
    return 0;
}

int sup_child_spawn(struct sup *s, char *errbuf)
{
    int out[2] = {-1, -1}, errfds[2] = {-1, -1};
    char **argv = build_argv(s), **envp = build_env(&s->cfg);
    int rc = argv != NULL && envp != NULL ? 0 : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (rc == 0 && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errfds, O_CLOEXEC) < 0))
        rc = nu_err_set(errbuf, NU_EIO, "pipe: %s", strerror(errno));
    pid_t pid = 0;
    if (rc == 0)
        rc = fork_exec(s, argv, envp, out[1], errfds, &pid, errbuf);
    for (int i = 0; i < 2; i++) {
        if (errfds[i] >= 0)
            close(errfds[i]);
    }
    if (out[1] >= 0)
        close(out[1]);
    if (rc == 0) {
        memset(&s->child, 0, sizeof(s->child));
        rc = open_output(s, out[0], errbuf);
    } else if (out[0] >= 0)
        close(out[0]);
    free(argv);
    free(envp);
    if (rc < 0) {
        if (pid > 0) {
            int st;
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        return rc;
    }
    s->child.pid = pid;
    s->child.started_ms = nu_mono_ms();
    s->child.started_at = (int64_t)time(NULL);
    nu_buf_reset(&s->tail);
    return 0;
}

void sup_child_reap(struct sup *s)
{
    int st;
    if (s->child.pid <= 0 || s->child.exited)
        return;
    pid_t r;
    do
        r = waitpid(s->child.pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r != s->child.pid)
        return;
    s->child.exited = true;
    s->child.wstatus = st;
    if (s->child.out != NULL)
        uv_timer_start(&s->t_drain, on_drain_timeout, SUP_DRAIN_MS, 0);
    maybe_exited(s);
}

void sup_child_tail(struct sup *s, unsigned n, char *out, size_t outsz)
{
    const char *data = s->tail.data != NULL ? s->tail.data : "";
    size_t len = s->tail.len;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    size_t start = len;
    for (unsigned lines = 0; start > 0; start--) {
        if (data[start - 1] == '\n' && ++lines == n)
            break;
    }
    size_t take = len - start;
    if (take >= outsz) {
        start = len - (outsz - 1);
        take = outsz - 1;
    }
    memcpy(out, data + start, take);
    out[take] = '\0';
}
