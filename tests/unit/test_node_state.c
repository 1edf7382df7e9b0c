/* Tests for state.c and registry.c: pid files with start times (identity,
 * stale files, malformed files), the home lock across processes (and who
 * holds it in which role), node_homes_expand's natural order, and
 * node_abspath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "state.h"
#include "unit_tmp.h"

static char tmpdir[PATH_MAX / 2]; /* room for the names put in it */
static char home[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_make(tmpdir, sizeof(tmpdir), "test_node_state") != 0)
        return -1;
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    return node_state_init(home, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_remove(tmpdir) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(nu_fs_write_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static void state_file(const char *name, const char *text)
{
    char path[PATH_MAX];
    assert_int_equal(node_state_path(home, name, path, sizeof(path)), 0);
    write_text(path, text);
}

/* ---- pid files ---- */

static void test_state_dir_layout(void **state)
{
    (void)state;
    char path[PATH_MAX];
    struct stat st;
    assert_int_equal(node_state_path(home, "neard.pid", path, sizeof(path)), 0);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof(want), "%s/.nearup/neard.pid", home);
    assert_string_equal(path, want);
    snprintf(want, sizeof(want), "%s/.nearup/logs", home);
    assert_int_equal(stat(want, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(node_state_path(home, "neard.pid", path, 10), NU_ETOOBIG);
}

static void test_pidfile_names_this_process_with_its_start_time(void **state)
{
    (void)state;
    struct node_pidfile pf;
    uint64_t start = 0;
    char path[PATH_MAX], *text = NULL, want[64];
    size_t len = 0;
    assert_int_equal(node_pidfile_write(home, "neard.pid", getpid(), NULL), 0);
    assert_int_equal(nu_proc_start_time(getpid(), &start), 0);
    assert_int_equal(node_state_path(home, "neard.pid", path, sizeof(path)), 0);
    assert_int_equal(nu_fs_read_file(path, 128, &text, &len, NULL), 0);
    snprintf(want, sizeof(want), "%ld %llu\n", (long)getpid(), (unsigned long long)start);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(node_pidfile_read(home, "neard.pid", &pf, NULL), 0);
    assert_int_equal(pf.pid, getpid());
    assert_int_equal(pf.start_time, start);
    assert_true(node_pidfile_alive(home, "neard.pid", &pf));
    assert_true(node_pidfile_alive(home, "neard.pid", NULL));
    node_pidfile_remove(home, "neard.pid");
    assert_int_equal(node_pidfile_read(home, "neard.pid", &pf, NULL), NU_ENOENT);
    assert_false(node_pidfile_alive(home, "neard.pid", NULL));
}

static void test_pidfile_of_a_recycled_pid_is_stale(void **state)
{
    (void)state;
    char text[64];
    uint64_t start = 0;
    assert_int_equal(nu_proc_start_time(getpid(), &start), 0);
    /* Our pid, but another start time: a process from before a reboot. */
    snprintf(text, sizeof(text), "%ld %llu\n", (long)getpid(), (unsigned long long)start + 1);
    state_file("neard.pid", text);
    struct node_pidfile pf;
    assert_false(node_pidfile_alive(home, "neard.pid", &pf));
    assert_int_equal(pf.pid, getpid());
    assert_int_equal(pf.start_time, start + 1);
}

static void test_pidfile_of_a_dead_process_is_stale(void **state)
{
    (void)state;
    int st;
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_true(child > 0);
    char text[64];
    snprintf(text, sizeof(text), "%ld 12345\n", (long)child);
    state_file("neard.pid", text);
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_false(node_pidfile_alive(home, "neard.pid", NULL)); /* reaped: no such process */
    /* A pid that cannot exist on Linux (pid_max is at most 2^22). */
    state_file("neard.pid", "2147483647 1\n");
    assert_false(node_pidfile_alive(home, "neard.pid", NULL));
}

/* Running: a live supervisor or a live neard, by their pid files. The
 * names on disk are what older nearups wrote and read. */
static void test_node_running_by_either_pid_file(void **state)
{
    (void)state;
    assert_string_equal(NODE_SUPERVISOR_PID, "supervisor.pid");
    assert_string_equal(NODE_NEARD_PID, "neard.pid");
    assert_false(node_running(home));
    assert_int_equal(node_pidfile_write(home, "neard.pid", getpid(), NULL), 0);
    assert_true(node_running(home));
    node_pidfile_remove(home, "neard.pid");
    assert_int_equal(node_pidfile_write(home, "supervisor.pid", getpid(), NULL), 0);
    assert_true(node_running(home));
    state_file("supervisor.pid", "2147483647 1\n"); /* stale */
    state_file("neard.pid", "2147483647 1\n");
    assert_false(node_running(home));
}

static void test_malformed_pidfiles_are_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"",      "42",     "42 ",      "x 1\n",   "-5 1\n",
                                      "0 1\n", "42 x\n", "42 1 2\n", "42 1x\n", "99999999999 1\n"};
    struct node_pidfile pf;
    char err[NU_ERRMSG_MAX], want[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        state_file("neard.pid", bad[i]);
        assert_int_equal(node_pidfile_read(home, "neard.pid", &pf, err), NU_EPARSE);
        snprintf(want, sizeof(want), "%s/.nearup/neard.pid: malformed pid file", home);
        assert_string_equal(err, want);
        assert_false(node_pidfile_alive(home, "neard.pid", NULL));
    }
    state_file("neard.pid", "42 7"); /* no final newline is fine */
    assert_int_equal(node_pidfile_read(home, "neard.pid", &pf, NULL), 0);
    assert_int_equal(pf.pid, 42);
    assert_int_equal(pf.start_time, 7);
}

/* ---- the supervisor lock ---- */

/* In a child: 0 if it got the lock, 1 if NU_EEXIST with the message
 * naming holder, 2 otherwise. */
static int try_lock_in_child(pid_t holder)
{
    pid_t child = fork();
    if (child == 0) {
        char err[NU_ERRMSG_MAX], want[PATH_MAX + 128];
        int fd = -1;
        int rc = node_state_lock(home, &fd, err);
        if (rc == 0)
            _exit(node_state_locked(home) ? 0 : 2); /* held, by us */
        snprintf(want, sizeof(want), "a node is already running for %s (supervisor pid %ld)", home,
                 (long)holder);
        _exit(rc == NU_EEXIST && strcmp(err, want) == 0 && node_state_locked(home) ? 1 : 2);
    }
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_lock_is_exclusive_across_processes(void **state)
{
    (void)state;
    int fd = -1;
    assert_false(node_state_locked(home));
    assert_int_equal(node_state_lock(home, &fd, NULL), 0);
    assert_true(fd >= 0);
    assert_int_equal(node_pidfile_write(home, "supervisor.pid", getpid(), NULL), 0);
    assert_int_equal(try_lock_in_child(getpid()), 1);
    /* flock is per open file: even this process cannot take it twice. */
    int fd2 = -1;
    assert_int_equal(node_state_lock(home, &fd2, NULL), NU_EEXIST);
    assert_int_equal(fd2, -1);
    node_state_unlock(fd);
    assert_false(node_state_locked(home));
    assert_int_equal(try_lock_in_child(0), 0);
}

static void test_lock_dies_with_its_holder(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    if (child == 0) {
        int fd = -1;
        char c = node_state_lock(home, &fd, NULL) == 0 ? 'y' : 'n';
        if (write(pfd[1], &c, 1) != 1)
            _exit(3);
        pause(); /* killed with the lock held */
        _exit(0);
    }
    close(pfd[1]);
    char c = 0;
    assert_int_equal(read(pfd[0], &c, 1), 1);
    close(pfd[0]);
    assert_int_equal(c, 'y');
    assert_true(node_state_locked(home));
    int fd = -1;
    assert_int_equal(node_state_lock(home, &fd, NULL), NU_EEXIST);
    kill(child, SIGKILL);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_false(node_state_locked(home));
    assert_int_equal(node_state_lock(home, &fd, NULL), 0);
    node_state_unlock(fd);
}

/* ---- homes behind --home ---- */

static void make_node(const char *root, const char *name)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    assert_true(snprintf(dir, sizeof(dir), "%s/%s", root, name) < (int)sizeof(dir));
    assert_int_equal(node_state_init(dir, NULL), 0);
    int n = snprintf(path, sizeof(path), "%s/.nearup/run.json", dir);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    write_text(path, "{}\n");
}

/* A restore holding the home lock: everything that would start neard is
 * told who holds it and what to do; a supervisor is told its pid. */
static void test_lock_names_its_holder_and_role(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX], want[PATH_MAX + 256];
    struct node_lock_owner o;
    int fd = -1, fd2 = -1, pfd[2];
    assert_int_equal(node_home_busy(home, err), 0);
    assert_false(node_home_lock_owner(home, &o));
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    if (child == 0) {
        char c = node_home_lock(home, NODE_LOCK_RESTORE, &fd, NULL) == 0 ? 'y' : 'n';
        if (write(pfd[1], &c, 1) != 1)
            _exit(3);
        pause();
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(pfd[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    assert_true(node_home_lock_owner(home, &o));
    assert_int_equal(o.role, NODE_LOCK_RESTORE);
    assert_int_equal(o.pid, child);
    snprintf(want, sizeof(want),
             "a snapshot restore is running for %s (pid %ld); wait for it to finish, or "
             "interrupt it with 'kill -INT %ld', then try again",
             home, (long)child, (long)child);
    assert_int_equal(node_home_busy(home, err), NU_ESTATE);
    assert_string_equal(err, want);
    assert_int_equal(node_state_lock(home, &fd2, err), NU_ESTATE); /* the supervisor's way in */
    assert_string_equal(err, want);
    assert_int_equal(fd2, -1);
    assert_int_equal(node_home_lock(home, NODE_LOCK_RUN, &fd2, err), NU_ESTATE);
    kill(child, SIGKILL);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    close(pfd[0]);
    close(pfd[1]);
    /* the record names the role a holder relabels itself to */
    assert_int_equal(node_home_lock(home, NODE_LOCK_RUN, &fd, err), 0);
    assert_true(node_home_lock_owner(home, &o));
    assert_int_equal(o.role, NODE_LOCK_RUN);
    assert_int_equal(o.pid, getpid());
    assert_int_equal(node_home_lock_relabel(fd, NODE_LOCK_RESTORE), 0);
    assert_true(node_home_lock_owner(home, &o));
    assert_int_equal(o.role, NODE_LOCK_RESTORE);
    node_state_unlock(fd);
    assert_false(node_home_lock_owner(home, &o));
    assert_int_equal(node_home_busy(home, err), 0);
}

static void test_homes_expand_in_natural_order(void **state)
{
    (void)state;
    char root[PATH_MAX], out[8][PATH_MAX], want[PATH_MAX + 16], path[PATH_MAX + 16];
    size_t n = 0;
    snprintf(root, sizeof(root), "%s/ln", tmpdir);
    const char *names[] = {"node10", "node2", "node1", "node0", "node9"};
    for (size_t i = 0; i < 5; i++)
        make_node(root, names[i]);
    snprintf(path, sizeof(path), "%s/other", root); /* no run.json: not a node */
    assert_int_equal(nu_fs_mkdir_p(path, 0755, NULL), 0);
    assert_int_equal(node_homes_expand(root, out, 8, &n, NULL), 0);
    assert_int_equal(n, 5);
    const char *order[] = {"node0", "node1", "node2", "node9", "node10"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "%s/%s", root, order[i]);
        assert_string_equal(out[i], want);
    }
    /* At most max of them. */
    assert_int_equal(node_homes_expand(root, out, 2, &n, NULL), 0);
    assert_int_equal(n, 2);
}

static void test_homes_expand_of_a_home_is_the_home(void **state)
{
    (void)state;
    char out[2][PATH_MAX], path[PATH_MAX + 16], err[NU_ERRMSG_MAX], want[PATH_MAX + 64];
    size_t n = 9;
    snprintf(path, sizeof(path), "%s/config.json", home);
    write_text(path, "{}\n");
    assert_int_equal(node_homes_expand(home, out, 2, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0], home);
    assert_int_equal(node_homes_expand(tmpdir, out, 2, &n, err), NU_ENOENT);
    assert_int_equal(n, 0);
    snprintf(want, sizeof(want), "%s is not a node home (no config.json)", tmpdir);
    assert_string_equal(err, want);
    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    assert_int_equal(node_homes_expand(path, out, 2, &n, err), NU_ENOENT);
}

static void test_abspath(void **state)
{
    (void)state;
    char out[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX + 16];
    assert_int_equal(node_abspath("/a/./b//c/../d/", out, sizeof(out), NULL), 0);
    assert_string_equal(out, "/a/b/d");
    assert_int_equal(node_abspath("/..", out, sizeof(out), NULL), 0);
    assert_string_equal(out, "/");
    setenv("HOME", "/home/near", 1);
    assert_int_equal(node_abspath("~/.near/testnet", out, sizeof(out), NULL), 0);
    assert_string_equal(out, "/home/near/.near/testnet");
    assert_int_equal(node_abspath("~", out, sizeof(out), NULL), 0);
    assert_string_equal(out, "/home/near");
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(node_abspath("x/y", out, sizeof(out), NULL), 0);
    snprintf(want, sizeof(want), "%s/x/y", strcmp(cwd, "/") == 0 ? "" : cwd);
    assert_string_equal(out, want);
    assert_int_equal(node_abspath("", out, sizeof(out), NULL), NU_EINVAL);
    assert_int_equal(node_abspath("/abc", out, 4, NULL), NU_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_dir_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pidfile_names_this_process_with_its_start_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pidfile_of_a_recycled_pid_is_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_running_by_either_pid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pidfile_of_a_dead_process_is_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_pidfiles_are_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_is_exclusive_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_dies_with_its_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_names_its_holder_and_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_homes_expand_in_natural_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_homes_expand_of_a_home_is_the_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abspath, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
