/* Tests for fs.c: the write-all loop, atomic writes (including failure
 * paths), reads with a cap, mkdir -p, join, removing trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lzma.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "xz.h"
#include "unit_tmp.h"

static char tmpdir[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    return unit_tmp_make(tmpdir, sizeof(tmpdir), "test_fs");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_remove(tmpdir) == 0 ? 0 : -1;
}

static void path_in(char *out, const char *name)
{
    assert_int_equal(nu_fs_join(out, PATH_MAX, tmpdir, name), 0);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_write_all_and_pwrite_all(void **state)
{
    (void)state;
    char p[PATH_MAX], *text = NULL;
    size_t len = 0;
    path_in(p, "w");
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(nu_write_all(fd, "hello world", 11), 0);
    assert_int_equal(nu_pwrite_all(fd, "W", 1, 6), 0);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 11); /* pwrite leaves the position */
    assert_int_equal(nu_write_all(fd, "!", 1), 0);
    assert_int_equal(nu_pwrite_all(fd, "", 0, 100), 0);
    close(fd);
    assert_int_equal(nu_fs_read_file(p, 100, &text, &len, NULL), 0);
    assert_int_equal(len, 12);
    assert_string_equal(text, "hello World!");
    free(text);
}

static void test_write_all_reports_errno(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    errno = 0;
    assert_int_equal(nu_write_all(fds[1], "x", 1), NU_EIO);
    assert_int_equal(errno, EPIPE);
    signal(SIGPIPE, old);
    close(fds[1]);
    errno = 0;
    assert_int_equal(nu_write_all(fds[1], "x", 1), NU_EIO);
    assert_int_equal(errno, EBADF);
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* Reads a pipe slowly and exits 0 when it got exactly n bytes of i % 251. */
static void slow_reader(int fd, size_t n)
{
    unsigned char buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0)
            _exit(r == 0 && got == n ? 0 : 1);
        for (ssize_t i = 0; i < r; i++, got++) {
            if (buf[i] != got % 251)
                _exit(2);
        }
        usleep(200);
    }
}

/* A write interrupted by a signal after part of it went out returns a
 * short count (no SA_RESTART): the loop goes on with the rest. */
static void test_write_all_after_short_writes(void **state)
{
    (void)state;
    enum { N = 1u << 20 };
    unsigned char *data = malloc(N);
    assert_non_null(data);
    for (size_t i = 0; i < N; i++)
        data[i] = (unsigned char)(i % 251);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        slow_reader(fds[0], N);
    }
    close(fds[0]);
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 500}, {0, 500}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    int rc = nu_write_all(fds[1], data, N);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    close(fds[1]);
    int st = -1;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    free(data);
}

/* p holds exactly want (a string) with mode bits mode. */
static void expect_file(const char *p, const char *want, mode_t mode)
{
    char *data = NULL, err[NU_ERRMSG_MAX];
    assert_int_equal(nu_fs_read_file(p, 100, &data, NULL, err), 0);
    assert_string_equal(data, want);
    free(data);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
}

/* A directory with an entry at p: no file can be renamed over it. */
static void dir_in_the_way(const char *p)
{
    char inner[PATH_MAX], err[NU_ERRMSG_MAX];
    assert_int_equal(nu_fs_mkdir_p(p, 0755, err), 0);
    assert_int_equal(nu_fs_join(inner, sizeof(inner), p, "child"), 0);
    assert_int_equal(nu_fs_mkdir_p(inner, 0755, err), 0);
}

static void test_write_then_read(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "a.json");
    assert_int_equal(nu_fs_write_atomic(p, "hello\n", 6, 0640, err), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(nu_fs_read_file(p, 100, &data, &len, err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "hello\n");
    free(data);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_entries(tmpdir), 1);
}

static void test_replace_sets_mode(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "key");
    assert_int_equal(nu_fs_write_atomic(p, "old", 3, 0644, err), 0);
    assert_int_equal(nu_fs_write_atomic(p, "new!", 4, 0600, err), 0);
    expect_file(p, "new!", 0600);
}

static void test_failed_write_keeps_old_file(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "config.json");
    assert_int_equal(nu_fs_write_atomic(p, "old content", 11, 0644, err), 0);
    /* A file size limit makes the temp file's write fail part way. */
    static char big[1 << 16];
    memset(big, 'x', sizeof(big));
    struct rlimit saved, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = nu_fs_write_atomic(p, big, sizeof(big), 0644, err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, NU_EIO);
    assert_non_null(strstr(err, "write "));
    assert_non_null(strstr(err, "config.json: File too large"));
    char *data = NULL;
    assert_int_equal(nu_fs_read_file(p, 100, &data, NULL, err), 0);
    assert_string_equal(data, "old content");
    free(data);
    assert_int_equal(count_entries(tmpdir), 1); /* temp file removed */
}

static void test_failed_rename_removes_temp(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "isdir");
    dir_in_the_way(p);
    assert_int_equal(nu_fs_write_atomic(p, "x", 1, 0644, err), NU_EIO);
    assert_non_null(strstr(err, "rename "));
    assert_true(nu_fs_is_dir(p));
    assert_int_equal(count_entries(tmpdir), 1);
}

/* The streamed replace: the old file stays whole until commit, an abort
 * leaves it and no temp file, and commit sets the mode. */
static void test_streamed_replace(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "bundle.tar.zst");
    assert_int_equal(nu_fs_write_atomic(p, "old", 3, 0644, err), 0);
    struct nu_fs_atomic a;
    assert_int_equal(nu_fs_atomic_open(&a, p, 0600, err), 0);
    assert_int_equal(write(a.fd, "part one, ", 10), 10);
    assert_int_equal(count_entries(tmpdir), 2);
    nu_fs_atomic_abort(&a);
    assert_int_equal(a.fd, -1);
    nu_fs_atomic_abort(&a); /* twice is harmless */
    nu_fs_atomic_abort(NULL);
    assert_int_equal(count_entries(tmpdir), 1);
    expect_file(p, "old", 0644);

    assert_int_equal(nu_fs_atomic_open(&a, p, 0600, err), 0);
    assert_int_equal(write(a.fd, "part one, ", 10), 10);
    assert_int_equal(write(a.fd, "part two", 8), 8);
    assert_int_equal(nu_fs_atomic_commit(&a, err), 0);
    assert_int_equal(a.fd, -1);
    assert_int_equal(count_entries(tmpdir), 1);
    expect_file(p, "part one, part two", 0600);
}

/* A commit that cannot rename (a directory is in the way) removes the
 * temp file and says which step failed. */
static void test_streamed_commit_failure_removes_temp(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "isdir");
    dir_in_the_way(p);
    struct nu_fs_atomic a;
    assert_int_equal(nu_fs_atomic_open(&a, p, 0600, err), 0);
    assert_int_equal(write(a.fd, "x", 1), 1);
    assert_int_equal(nu_fs_atomic_commit(&a, err), NU_EIO);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "rename %s: Is a directory", p);
    assert_string_equal(err, want);
    assert_int_equal(a.fd, -1);
    assert_int_equal(count_entries(tmpdir), 1);
}

static void test_write_into_missing_dir(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "nope/file");
    assert_int_equal(nu_fs_write_atomic(p, "x", 1, 0644, err), NU_ENOENT);
    assert_non_null(strstr(err, "create temp file for "));
}

static void test_read_limits(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "ten");
    assert_int_equal(nu_fs_write_atomic(p, "0123456789", 10, 0644, err), 0);
    char *data = (char *)"sentinel";
    size_t len = 0;
    assert_int_equal(nu_fs_read_file(p, 9, &data, &len, err), NU_ETOOBIG);
    assert_null(data);
    assert_non_null(strstr(err, "ten: larger than 9 bytes"));
    assert_int_equal(nu_fs_read_file(p, 10, &data, &len, err), 0);
    assert_int_equal(len, 10);
    free(data);
    path_in(p, "missing");
    assert_int_equal(nu_fs_read_file(p, 10, &data, &len, err), NU_ENOENT);
    assert_non_null(strstr(err, "missing: No such file or directory"));
}

static void test_read_empty_file(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "empty");
    assert_int_equal(nu_fs_write_atomic(p, "", 0, 0644, err), 0);
    char *data = NULL;
    size_t len = 99;
    assert_int_equal(nu_fs_read_file(p, 0, &data, &len, err), 0);
    assert_non_null(data);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
}

static void test_mkdir_p(void **state)
{
    (void)state;
    char p[PATH_MAX], file[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "a/b//c/");
    assert_int_equal(nu_fs_mkdir_p(p, 0700, err), 0);
    assert_int_equal(nu_fs_mkdir_p(p, 0700, err), 0); /* idempotent */
    path_in(p, "a/b/c");
    assert_true(nu_fs_is_dir(p));
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    path_in(file, "a/f");
    assert_int_equal(nu_fs_write_atomic(file, "x", 1, 0644, err), 0);
    assert_true(nu_fs_exists(file));
    assert_false(nu_fs_is_dir(file));
    path_in(p, "a/f/g");
    assert_int_equal(nu_fs_mkdir_p(p, 0700, err), NU_EIO);
    assert_non_null(strstr(err, "a/f: Not a directory"));
}

static void test_opendir_absent_is_empty(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX], want[PATH_MAX + 64];
    DIR *d = (DIR *)&d;
    path_in(p, "absent");
    assert_int_equal(nu_fs_opendir(p, &d, err), 0);
    assert_null(d);
    assert_int_equal(nu_fs_opendir(tmpdir, &d, err), 0);
    assert_non_null(d);
    closedir(d);
    path_in(p, "file");
    assert_int_equal(nu_fs_write_atomic(p, "x", 1, 0644, NULL), 0);
    assert_int_equal(nu_fs_opendir(p, &d, err), NU_EIO);
    assert_null(d);
    snprintf(want, sizeof(want), "open %s: Not a directory", p);
    assert_string_equal(err, want);
}

static void test_join(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(nu_fs_join(out, sizeof(out), "/home", "data"), 0);
    assert_string_equal(out, "/home/data");
    assert_int_equal(nu_fs_join(out, sizeof(out), "/home//", "/data"), 0);
    assert_string_equal(out, "/home/data");
    assert_int_equal(nu_fs_join(out, sizeof(out), "/", "etc"), 0);
    assert_string_equal(out, "/etc");
    assert_int_equal(nu_fs_join(out, sizeof(out), "", "rel"), 0);
    assert_string_equal(out, "rel");
    assert_int_equal(nu_fs_join(out, sizeof(out), "dir", ""), 0);
    assert_string_equal(out, "dir");
    assert_int_equal(nu_fs_join(out, sizeof(out), "0123456789", "abcde"), NU_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(nu_fs_join(out, sizeof(out), "0123456789", "abcd"), 0);
    assert_string_equal(out, "0123456789/abcd");
    assert_false(nu_fs_exists("/nonexistent/nearup/path"));
}

/* xz-compresses text with liblzma's encoder; caller frees. */
static uint8_t *xz_encode(const char *text, size_t len, size_t *outlen)
{
    size_t cap = lzma_stream_buffer_bound(len);
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    *outlen = 0;
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)text, len,
                                             out, outlen, cap),
                     LZMA_OK);
    return out;
}

static void test_xz_round_trip(void **state)
{
    (void)state;
    const char *genesis = "{\n  \"chain_id\": \"testnet\",\n  \"genesis_height\": 42376888\n}\n";
    size_t zlen = 0, len = 0;
    uint8_t *z = xz_encode(genesis, strlen(genesis), &zlen);
    assert_true(nu_xz_is_xz(z, zlen));
    assert_false(nu_xz_is_xz(genesis, strlen(genesis)));
    assert_false(nu_xz_is_xz(z, 5));
    char *out = NULL, err[NU_ERRMSG_MAX];
    assert_int_equal(nu_xz_decompress(z, zlen, 1 << 20, &out, &len, err), 0);
    assert_int_equal(len, strlen(genesis));
    assert_string_equal(out, genesis);
    free(out);
    /* Exactly at the limit passes; one byte less fails. */
    assert_int_equal(nu_xz_decompress(z, zlen, strlen(genesis), &out, &len, err), 0);
    free(out);
    assert_int_equal(nu_xz_decompress(z, zlen, strlen(genesis) - 1, &out, &len, err), NU_ETOOBIG);
    assert_null(out);
    char want[128];
    snprintf(want, sizeof(want), "xz: output larger than %zu bytes", strlen(genesis) - 1);
    assert_string_equal(err, want);
    free(z);
}

static void test_xz_large_output_and_errors(void **state)
{
    (void)state;
    /* Bigger than the decoder's 64 KiB chunk, to cover the output loop. */
    size_t big = 300000, zlen = 0, len = 0;
    char *text = malloc(big + 1);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + (i * 7 % 26));
    text[big] = '\0';
    uint8_t *z = xz_encode(text, big, &zlen);
    char *out = NULL, err[NU_ERRMSG_MAX];
    assert_int_equal(nu_xz_decompress(z, zlen, big, &out, &len, err), 0);
    assert_int_equal(len, big);
    assert_memory_equal(out, text, big);
    free(out);
    assert_int_equal(nu_xz_decompress(z, zlen / 2, big, &out, &len, err), NU_EPARSE);
    assert_string_equal(err, "xz: truncated input");
    assert_null(out);
    z[zlen / 2] ^= 0x55;
    assert_int_equal(nu_xz_decompress(z, zlen, big, &out, &len, err), NU_EPARSE);
    assert_null(out);
    assert_int_equal(nu_xz_decompress("plain text", 10, big, &out, &len, err), NU_EPARSE);
    assert_string_equal(err, "xz: not an xz stream");
    free(z);
    free(text);
}

static void join(char *out, const char *a, const char *b)
{
    assert_int_equal(nu_fs_join(out, PATH_MAX, a, b), 0);
}

static void write_file(const char *path, const char *text)
{
    assert_int_equal(nu_fs_write_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static void assert_file_is(const char *path, const char *text)
{
    char *got = NULL;
    assert_int_equal(nu_fs_read_file(path, 1024, &got, NULL, NULL), 0);
    assert_string_equal(got, text);
    free(got);
}

/* Links inside the tree to a directory and a file outside it: the links
 * go, what they point to stays as it was. */
static void test_rm_tree_never_follows_symlinks(void **state)
{
    (void)state;
    char tree[PATH_MAX], out[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
    path_in(tree, "tree");
    path_in(out, "outside");
    assert_int_equal(nu_fs_mkdir_p(out, 0755, NULL), 0);
    join(p, out, "keep");
    write_file(p, "outside data");
    join(p, tree, "a/b");
    assert_int_equal(nu_fs_mkdir_p(p, 0755, NULL), 0);
    join(p, tree, "a/b/file");
    write_file(p, "inside");
    join(p, tree, "a/to_dir");
    assert_int_equal(symlink(out, p), 0);
    join(p, tree, "a/b/to_file");
    join(q, out, "keep");
    assert_int_equal(symlink(q, p), 0);
    join(p, tree, "dangling");
    assert_int_equal(symlink("/nonexistent/nearup-test", p), 0);

    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(nu_fs_rm_tree(tree, err), 0);
    assert_string_equal(err, "");
    assert_false(nu_fs_exists(tree));
    assert_int_equal(count_entries(out), 1);
    assert_file_is(q, "outside data");
    assert_int_equal(count_entries(tmpdir), 1); /* only "outside" */
}

/* The path itself a symlink to a directory: the link is removed, not the
 * directory's contents. */
static void test_rm_tree_of_a_symlink_removes_the_link(void **state)
{
    (void)state;
    char out[PATH_MAX], link[PATH_MAX], p[PATH_MAX];
    struct stat st;
    path_in(out, "outside");
    path_in(link, "link");
    assert_int_equal(nu_fs_mkdir_p(out, 0755, NULL), 0);
    join(p, out, "keep");
    write_file(p, "x");
    assert_int_equal(symlink(out, link), 0);
    assert_int_equal(nu_fs_rm_tree(link, NULL), 0);
    assert_int_equal(lstat(link, &st), -1);
    assert_file_is(p, "x");
}

static void test_rm_tree_absent_and_too_deep(void **state)
{
    (void)state;
    char p[PATH_MAX], tree[PATH_MAX], err[NU_ERRMSG_MAX];
    path_in(p, "absent");
    assert_int_equal(nu_fs_rm_tree(p, err), 0);
    path_in(tree, "deep");
    size_t n = (size_t)snprintf(p, sizeof(p), "%s", tree);
    for (int i = 0; i < 66; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n, "/d");
    assert_int_equal(nu_fs_mkdir_p(p, 0755, NULL), 0);
    assert_int_equal(nu_fs_rm_tree(tree, err), NU_ETOOBIG);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "remove %s: d: directories nested too deep", tree);
    assert_string_equal(err, want);
    assert_true(nu_fs_is_dir(tree)); /* nothing above the limit was touched */
    snprintf(p + strlen(tree) + 2 * 60, sizeof(p) - strlen(tree) - 2 * 60, "%s", "");
    assert_int_equal(nu_fs_rm_tree(p, err), 0); /* the bottom 6 levels, then the rest */
    assert_int_equal(nu_fs_rm_tree(tree, err), 0);
    assert_false(nu_fs_exists(tree));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_all_and_pwrite_all, setup, teardown),
        cmocka_unit_test(test_write_all_reports_errno),
        cmocka_unit_test(test_write_all_after_short_writes),
        cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_sets_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename_removes_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_into_missing_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_commit_failure_removes_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opendir_absent_is_empty, setup, teardown),
        cmocka_unit_test(test_join),
        cmocka_unit_test_setup_teardown(test_rm_tree_never_follows_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rm_tree_of_a_symlink_removes_the_link, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rm_tree_absent_and_too_deep, setup, teardown),
        cmocka_unit_test(test_xz_round_trip),
        cmocka_unit_test(test_xz_large_output_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
