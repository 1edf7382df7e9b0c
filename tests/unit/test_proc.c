/* Tests for proc.c: spawn (exec failures, stdio, env, cwd, session,
 * signal state), wait timeouts, stop escalation, process identity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"
#include "unit_tmp.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads everything from fd until EOF into out. */
static void read_all(int fd, char *out, size_t outsz)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, out + n, outsz - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
}

static void assert_no_children_left(void)
{
    int st;
    assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void test_true_exits_zero(void **state)
{
    (void)state;
    char *argv[] = {"/bin/true", NULL};
    pid_t pid = 0;
    int st = -1;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_proc_spawn(argv, NULL, &pid, err), 0);
    assert_true(pid > 0);
    assert_int_equal(nu_proc_wait(pid, 2000, &st), 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(nu_proc_wait(pid, 0, &st), NU_ECHILD); /* already reaped */
}

static void test_exec_failures_are_errors(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX];
    pid_t pid = 0;
    char *missing[] = {"/nonexistent/neard", "run", NULL};
    assert_int_equal(nu_proc_spawn(missing, NULL, &pid, err), NU_ECHILD);
    assert_string_equal(err, "exec /nonexistent/neard: No such file or directory");
    /* No PATH search: a bare name is relative to the cwd. */
    struct nu_spawn_opts o;
    nu_spawn_opts_init(&o);
    o.cwd = "/";
    char *bare[] = {"true", NULL};
    assert_int_equal(nu_proc_spawn(bare, &o, &pid, err), NU_ECHILD);
    assert_string_equal(err, "exec true: No such file or directory");
    /* Not executable (even root needs an x bit). */
    char dir[256], file[300], want[NU_ERRMSG_MAX];
    assert_int_equal(unit_tmp_make(dir, sizeof(dir), "test_proc"), 0);
    snprintf(file, sizeof(file), "%s/plain", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    close(fd);
    char *notexec[] = {file, NULL};
    int rc = nu_proc_spawn(notexec, NULL, &pid, err);
    assert_int_equal(unit_tmp_remove(dir), 0);
    assert_int_equal(rc, NU_ECHILD);
    snprintf(want, sizeof(want), "exec %s: Permission denied", file);
    assert_string_equal(err, want);
    o.cwd = "/nonexistent/dir";
    char *t[] = {"/bin/true", NULL};
    assert_int_equal(nu_proc_spawn(t, &o, &pid, err), NU_ECHILD);
    assert_string_equal(err, "chdir /nonexistent/dir: No such file or directory");
    char *empty[] = {NULL};
    assert_int_equal(nu_proc_spawn(empty, NULL, &pid, err), NU_EINVAL);
    assert_no_children_left(); /* failed children were reaped */
}

static void test_stdio_env_cwd(void **state)
{
    (void)state;
    int out[2];
    assert_int_equal(pipe(out), 0);
    struct nu_spawn_opts o;
    nu_spawn_opts_init(&o);
    char *envp[] = {"FOO=bar baz", NULL};
    o.envp = envp;
    o.cwd = "/usr";
    o.stdout_fd = out[1];
    o.stderr_fd = out[1];
    /* cat reads stdin: it must be /dev/null, not the test's own stdin. */
    char *argv[] = {"/bin/sh", "-c", "echo \"$FOO\"; pwd; cat; echo err >&2", NULL};
    pid_t pid;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_proc_spawn(argv, &o, &pid, err), 0);
    close(out[1]);
    char buf[256];
    read_all(out[0], buf, sizeof(buf));
    close(out[0]);
    int st;
    assert_int_equal(nu_proc_wait(pid, 2000, &st), 0);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(buf, "bar baz\n/usr\nerr\n");
}

static void test_swapped_stdout_stderr(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    /* Put the pipes' write ends at 1 and 2 in a helper child so the swap
     * case (stdout_fd = 2, stderr_fd = 1) is exercised for real. */
    pid_t helper = fork();
    assert_true(helper >= 0);
    if (helper == 0) {
        dup2(a[1], 1);
        dup2(b[1], 2);
        struct nu_spawn_opts o;
        nu_spawn_opts_init(&o);
        o.stdout_fd = 2;
        o.stderr_fd = 1;
        char *argv[] = {"/bin/sh", "-c", "echo to-out; echo to-err >&2", NULL};
        pid_t pid;
        int st;
        if (nu_proc_spawn(argv, &o, &pid, NULL) != 0 || nu_proc_wait(pid, 2000, &st) != 0)
            _exit(1);
        _exit(0);
    }
    close(a[1]);
    close(b[1]);
    char outa[64], outb[64];
    read_all(a[0], outa, sizeof(outa));
    read_all(b[0], outb, sizeof(outb));
    close(a[0]);
    close(b[0]);
    int st;
    assert_int_equal(waitpid(helper, &st, 0), helper);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(outa, "to-err\n");
    assert_string_equal(outb, "to-out\n");
}

static void test_wait_timeout_then_stop(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sleep", "5", NULL};
    pid_t pid;
    int st = 0;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_proc_spawn(argv, NULL, &pid, err), 0);
    int64_t t0 = (int64_t)nu_mono_ms();
    assert_int_equal(nu_proc_wait(pid, 100, &st), NU_ETIMEDOUT);
    int64_t took = (int64_t)nu_mono_ms() - t0;
    assert_true(took >= 100);
    assert_true(took < 1000);
    assert_int_equal(nu_proc_wait(pid, 0, &st), NU_ETIMEDOUT);
    assert_int_equal(nu_proc_stop(pid, SIGTERM, 1000, &st), 0);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGTERM);
}

static void test_run_captures_stdout_and_status(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "printf 'hello\\n'; exit 3", NULL};
    char out[64], err[NU_ERRMSG_MAX];
    size_t len = 99;
    int st = 0;
    assert_int_equal(nu_proc_run(argv, 5000, out, sizeof(out), &len, &st, err), 0);
    assert_string_equal(out, "hello\n");
    assert_int_equal(len, 6);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
}

/* More output than fits: the rest is read and dropped, so the child is
 * not left blocked on a full pipe until the deadline. */
static void test_run_drops_what_does_not_fit(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x", NULL};
    char out[16];
    size_t len = 0;
    int st = -1;
    int64_t t0 = (int64_t)nu_mono_ms();
    assert_int_equal(nu_proc_run(argv, 20000, out, sizeof(out), &len, &st, NULL), 0);
    assert_true((int64_t)nu_mono_ms() - t0 < 10000);
    assert_int_equal(len, 15);
    assert_string_equal(out, "xxxxxxxxxxxxxxx");
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_run_kills_at_the_deadline(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "printf partial; exec sleep 30", NULL};
    char out[64], err[NU_ERRMSG_MAX];
    size_t len = 0;
    int st = 0;
    int64_t t0 = (int64_t)nu_mono_ms();
    assert_int_equal(nu_proc_run(argv, 300, out, sizeof(out), &len, &st, err), NU_ETIMEDOUT);
    int64_t took = (int64_t)nu_mono_ms() - t0;
    assert_true(took >= 300 && took < 5000);
    assert_string_equal(out, "partial");
    assert_int_equal(len, 7);
    assert_string_equal(err, "/bin/sh did not finish in 300 ms");
    assert_true(WIFSIGNALED(st)); /* killed and reaped */
    assert_int_equal(WTERMSIG(st), SIGKILL);
    char *missing[] = {"/nonexistent/nearup-test-binary", NULL};
    assert_int_equal(nu_proc_run(missing, 300, out, sizeof(out), &len, &st, err), NU_ECHILD);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
}

static void test_blocked_signal_not_inherited(void **state)
{
    (void)state;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old), 0);
    signal(SIGINT, SIG_IGN);
    char *argv[] = {"/bin/sleep", "5", NULL};
    pid_t pid;
    int st = 0;
    int rc = nu_proc_spawn(argv, NULL, &pid, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGINT, SIG_DFL);
    assert_int_equal(rc, 0);
    assert_int_equal(nu_proc_stop(pid, SIGTERM, 1000, &st), 0);
    assert_int_equal(WTERMSIG(st), SIGTERM); /* not the SIGKILL fallback */
    assert_int_equal(nu_proc_spawn(argv, NULL, &pid, NULL), 0);
    assert_int_equal(nu_proc_stop(pid, SIGINT, 1000, &st), 0);
    assert_int_equal(WTERMSIG(st), SIGINT);
}

static void test_stop_escalates_to_sigkill(void **state)
{
    (void)state;
    int out[2];
    assert_int_equal(pipe(out), 0);
    struct nu_spawn_opts o;
    nu_spawn_opts_init(&o);
    o.stdout_fd = out[1];
    /* The ignored TERM survives exec into sleep. */
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; exec /bin/sleep 5", NULL};
    pid_t pid;
    assert_int_equal(nu_proc_spawn(argv, &o, &pid, NULL), 0);
    close(out[1]);
    char buf[16] = {0};
    assert_int_equal(read(out[0], buf, 6), 6);
    close(out[0]);
    assert_string_equal(buf, "ready\n");
    int st = 0;
    int64_t t0 = (int64_t)nu_mono_ms();
    assert_int_equal(nu_proc_stop(pid, SIGTERM, 200, &st), 0);
    assert_true((int64_t)nu_mono_ms() - t0 >= 200);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_new_session(void **state)
{
    (void)state;
    struct nu_spawn_opts o;
    nu_spawn_opts_init(&o);
    o.new_session = true;
    char *argv[] = {"/bin/sleep", "5", NULL};
    pid_t pid;
    assert_int_equal(nu_proc_spawn(argv, &o, &pid, NULL), 0);
    assert_int_equal(getsid(pid), pid);
    int st;
    assert_int_equal(nu_proc_stop(pid, SIGTERM, 1000, &st), 0);
    o.new_session = false;
    assert_int_equal(nu_proc_spawn(argv, &o, &pid, NULL), 0);
    assert_int_equal(getsid(pid), getsid(0));
    assert_int_equal(nu_proc_stop(pid, SIGTERM, 1000, &st), 0);
}

static void test_parse_stat(void **state)
{
    (void)state;
    char st = 0;
    uint64_t start = 0;
    /* comm "a) R 1 2 (b" would fool a parser that stops at the first ')'. */
    const char *tricky = "4242 (a) R 1 2 (b) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 "
                         "1 0 987654321 1000 10 18446744073709551615\n";
    assert_int_equal(nu_proc_parse_stat(tricky, &st, &start), 0);
    assert_int_equal(st, 'S');
    assert_int_equal(start, 987654321);
    assert_int_equal(nu_proc_parse_stat("1 (x) S 1 2 3", &st, &start), NU_EPARSE);
    assert_int_equal(nu_proc_parse_stat("no paren", &st, &start), NU_EPARSE);
    assert_int_equal(
        nu_proc_parse_stat("1 (x) Z 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 x1", &st, &start),
        NU_EPARSE);
}

static pid_t fork_sleeper(const char *comm)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (comm != NULL)
            prctl(PR_SET_NAME, comm);
        sleep_ms(5000);
        _exit(0);
    }
    return pid;
}

static void test_start_time_identity(void **state)
{
    (void)state;
    uint64_t self = 0, a_start = 0, b_start = 0;
    assert_int_equal(nu_proc_start_time(getpid(), &self), 0);
    assert_true(self > 0);
    pid_t a = fork_sleeper("x) S 1 2 3 (y");
    assert_true(a > 0);
    sleep_ms(30); /* start times have clock-tick (10 ms) resolution */
    pid_t b = fork_sleeper(NULL);
    assert_true(b > 0);
    sleep_ms(20); /* let a set its odd comm */
    assert_int_equal(nu_proc_start_time(a, &a_start), 0);
    assert_int_equal(nu_proc_start_time(b, &b_start), 0);
    assert_true(a_start >= self);
    assert_true(b_start > a_start);
    assert_true(nu_proc_is_same(a, a_start));
    assert_false(nu_proc_is_same(a, b_start));
    assert_false(nu_proc_is_same(b, a_start));
    int st;
    assert_int_equal(nu_proc_stop(b, SIGKILL, 1000, &st), 0);
    kill(a, SIGKILL);
    sleep_ms(50);
    assert_false(nu_proc_is_same(a, a_start)); /* zombie: not alive */
    assert_int_equal(nu_proc_wait(a, 1000, &st), 0);
    assert_false(nu_proc_is_same(a, a_start));
    assert_int_equal(nu_proc_start_time(a, &a_start), NU_ENOENT);
    assert_int_equal(nu_proc_start_time(0, &a_start), NU_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_true_exits_zero),
        cmocka_unit_test(test_exec_failures_are_errors),
        cmocka_unit_test(test_stdio_env_cwd),
        cmocka_unit_test(test_swapped_stdout_stderr),
        cmocka_unit_test(test_wait_timeout_then_stop),
        cmocka_unit_test(test_run_captures_stdout_and_status),
        cmocka_unit_test(test_run_drops_what_does_not_fit),
        cmocka_unit_test(test_run_kills_at_the_deadline),
        cmocka_unit_test(test_blocked_signal_not_inherited),
        cmocka_unit_test(test_stop_escalates_to_sigkill),
        cmocka_unit_test(test_new_session),
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_start_time_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
