/* Tests for error.c: errno mapping, messages, NULL errbuf, truncation, nu_bug abort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

static void test_strerror_known_codes(void **state)
{
    (void)state;
    assert_string_equal(nu_strerror(NU_OK), "success");
    assert_string_equal(nu_strerror(NU_EINVAL), "invalid argument");
    assert_string_equal(nu_strerror(NU_ETOOBIG), "too big");
    assert_string_equal(nu_strerror(NU_ETIMEDOUT), "timed out");
    assert_string_equal(nu_strerror(NU_EVERIFY), "verification failed");
    assert_string_equal(nu_strerror(-999), "unknown error");
}

static void test_err_from_errno(void **state)
{
    (void)state;
    assert_int_equal(nu_err_from_errno(ENOENT), NU_ENOENT);
    assert_int_equal(nu_err_from_errno(ESRCH), NU_ENOENT);
    assert_int_equal(nu_err_from_errno(EEXIST), NU_EEXIST);
    assert_int_equal(nu_err_from_errno(EACCES), NU_EPERM);
    assert_int_equal(nu_err_from_errno(EPERM), NU_EPERM);
    assert_int_equal(nu_err_from_errno(ENOMEM), NU_ENOMEM);
    assert_int_equal(nu_err_from_errno(EINVAL), NU_EINVAL);
    assert_int_equal(nu_err_from_errno(ENOSPC), NU_EIO);
    assert_int_equal(nu_err_from_errno(ENOTDIR), NU_EIO);
    assert_int_equal(nu_err_from_errno(EIO), NU_EIO);
    assert_int_equal(nu_err_from_errno(0), NU_EIO); /* a failure with errno unset is still one */
}

static void test_err_set_formats_and_returns_code(void **state)
{
    (void)state;
    char errbuf[NU_ERRMSG_MAX];
    int rc = nu_err_set(errbuf, NU_EIO, "write %s: %s", "/x/y", "No space left on device");
    assert_int_equal(rc, NU_EIO);
    assert_string_equal(errbuf, "write /x/y: No space left on device");
}

static void test_err_set_null_errbuf(void **state)
{
    (void)state;
    assert_int_equal(nu_err_set(NULL, NU_ENOENT, "missing %d", 3), NU_ENOENT);
}

static void test_err_set_truncates(void **state)
{
    (void)state;
    char errbuf[NU_ERRMSG_MAX];
    char big[NU_ERRMSG_MAX * 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(nu_err_set(errbuf, NU_EINVAL, "%s", big), NU_EINVAL);
    assert_int_equal(strlen(errbuf), NU_ERRMSG_MAX - 1);
}

static void test_bug_on_aborts_with_location(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        NU_BUG_ON(1 + 1 == 2);
        _exit(0);
    }
    close(fds[1]);
    char out[256] = {0};
    ssize_t n = read(fds[0], out, sizeof(out) - 1);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_true(n > 0);
    assert_non_null(strstr(out, "BUG: "));
    assert_non_null(strstr(out, "test_error.c:"));
    assert_non_null(strstr(out, ": 1 + 1 == 2\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_known_codes),
        cmocka_unit_test(test_err_from_errno),
        cmocka_unit_test(test_err_set_formats_and_returns_code),
        cmocka_unit_test(test_err_set_null_errbuf),
        cmocka_unit_test(test_err_set_truncates),
        cmocka_unit_test(test_bug_on_aborts_with_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
