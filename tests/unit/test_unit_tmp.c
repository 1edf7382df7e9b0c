/* Tests for unit_tmp.c, the unit tests' temporary directories: where they
 * go, their names and modes, removal that never follows a symlink, and the
 * check for files a test left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_tmp.h"

static char saved_base[PATH_MAX]; /* NU_TEST_TMP as meson set it */
static char scratch[PATH_MAX];    /* this test's own directory */

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("NU_TEST_TMP");
    snprintf(saved_base, sizeof(saved_base), "%s", b ? b : "");
    return unit_tmp_make(scratch, sizeof(scratch), "test_unit_tmp");
}

static int teardown(void **state)
{
    (void)state;
    if (saved_base[0])
        setenv("NU_TEST_TMP", saved_base, 1);
    else
        unsetenv("NU_TEST_TMP");
    return unit_tmp_remove(scratch);
}

/* dir/name into out (PATH_MAX bytes). */
static void join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

static void touch(const char *dir, const char *name)
{
    char p[PATH_MAX];
    join(p, dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    assert_int_equal(close(fd), 0);
}

static void subdir(char *out, const char *dir, const char *name)
{
    join(out, dir, name);
    assert_int_equal(mkdir(out, 0700), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_base_follows_nu_test_tmp(void **state)
{
    (void)state;
    assert_int_equal(setenv("NU_TEST_TMP", "/srv/build/tests/unit", 1), 0);
    assert_string_equal(unit_tmp_base(), "/srv/build/tests/unit");
    assert_int_equal(setenv("NU_TEST_TMP", "", 1), 0);
    assert_string_equal(unit_tmp_base(), "/tmp");
    assert_int_equal(unsetenv("NU_TEST_TMP"), 0);
    assert_string_equal(unit_tmp_base(), "/tmp");
}

static void test_make_names_and_modes(void **state)
{
    (void)state;
    char a[PATH_MAX], b[PATH_MAX], prefix[PATH_MAX];
    struct stat st;
    assert_int_equal(setenv("NU_TEST_TMP", scratch, 1), 0);
    assert_int_equal(unit_tmp_make(a, sizeof(a), "test_x"), 0);
    assert_int_equal(unit_tmp_make(b, sizeof(b), "test_x"), 0);
    join(prefix, scratch, "test_x.");
    assert_int_equal(strncmp(a, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(a), strlen(prefix) + 6);
    assert_string_not_equal(a, b);
    assert_int_equal(stat(a, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(unit_tmp_remove(a), 0);
    assert_int_equal(unit_tmp_remove(b), 0);
    assert_false(exists(a));
    assert_false(exists(b));
}

static void test_make_errors(void **state)
{
    (void)state;
    char d[PATH_MAX];
    size_t need = strlen(scratch) + strlen("/t.XXXXXX") + 1; /* with the NUL */
    assert_int_equal(setenv("NU_TEST_TMP", scratch, 1), 0);
    snprintf(d, sizeof(d), "junk");
    errno = 0;
    assert_int_equal(unit_tmp_make(d, need - 1, "t"), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_string_equal(d, "");
    assert_int_equal(unit_tmp_make(d, need, "t"), 0);
    assert_int_equal(strlen(d), need - 1);
    assert_int_equal(unit_tmp_remove(d), 0);
    join(d, scratch, "missing");
    assert_int_equal(setenv("NU_TEST_TMP", d, 1), 0);
    errno = 0;
    assert_int_equal(unit_tmp_make(d, sizeof(d), "t"), -1);
    assert_int_equal(errno, ENOENT);
    assert_string_equal(d, "");
}

static void test_remove_keeps_symlink_targets(void **state)
{
    (void)state;
    char outside[PATH_MAX], victim[PATH_MAX], tree[PATH_MAX], a[PATH_MAX], ab[PATH_MAX];
    char link[PATH_MAX];
    subdir(outside, scratch, "outside");
    touch(outside, "keep");
    join(victim, outside, "keep");
    subdir(tree, scratch, "tree");
    subdir(a, tree, "a");
    subdir(ab, a, "b");
    touch(tree, "f");
    touch(ab, "g");
    join(link, a, "to-outside");
    assert_int_equal(symlink(outside, link), 0);
    join(link, tree, "to-file");
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(unit_tmp_remove(tree), 0);
    assert_false(exists(tree));
    assert_true(exists(victim));
    assert_true(exists(outside));
    assert_int_equal(unit_tmp_remove(tree), -1); /* gone already */
}

static void test_remove_expecting(void **state)
{
    (void)state;
    char d[PATH_MAX], sub[PATH_MAX];
    static const char *const only_out[] = {"out.json", NULL};
    static const char *const both[] = {"out.json", "other", NULL};
    subdir(d, scratch, "exact");
    touch(d, "out.json");
    assert_int_equal(unit_tmp_remove_expecting(d, only_out), 0);
    assert_false(exists(d));

    subdir(d, scratch, "empty");
    assert_int_equal(unit_tmp_remove_expecting(d, only_out), 0); /* allowed, not required */
    subdir(d, scratch, "none");
    assert_int_equal(unit_tmp_remove_expecting(d, NULL), 0);

    subdir(d, scratch, "stray");
    touch(d, "out.json");
    touch(d, "out.json.tmp");
    assert_int_equal(unit_tmp_remove_expecting(d, only_out), -1);
    assert_false(exists(d)); /* removed even so */

    subdir(d, scratch, "nested");
    subdir(sub, d, "other");
    touch(sub, "deep"); /* only the top level is checked */
    assert_int_equal(unit_tmp_remove_expecting(d, both), 0);
    assert_false(exists(d));

    subdir(d, scratch, "nolist");
    touch(d, "x");
    assert_int_equal(unit_tmp_remove_expecting(d, NULL), -1);
    assert_false(exists(d));
    assert_int_equal(unit_tmp_remove_expecting(d, NULL), -1); /* no such dir */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base_follows_nu_test_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_make_names_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_make_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_keeps_symlink_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_expecting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
