/* Tests for log.c: logfmt line shape, quoting/escaping, levels, truncation,
 * the writer with a component. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

static int fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe2(fds, O_NONBLOCK) != 0)
        return -1;
    nu_log_set_fd(fds[1]);
    nu_log_set_level(NU_LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nu_log_set_fd(2);
    nu_log_set_level(NU_LOG_INFO);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

/* Everything logged since the last call; "" if nothing. */
static const char *drain(void)
{
    static char out[2 * NU_LOG_LINE_MAX];
    ssize_t n = read(fds[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

/* The line without its "ts=... " prefix, after checking the timestamp shape. */
static const char *after_ts(const char *line)
{
    regex_t re;
    assert_int_equal(
        regcomp(&re, "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ",
                REG_EXTENDED),
        0);
    int rc = regexec(&re, line, 0, NULL, 0);
    regfree(&re);
    assert_int_equal(rc, 0);
    return strchr(line, ' ') + 1;
}

static void test_line_shape(void **state)
{
    (void)state;
    nu_info("node started", "home", "/srv/near", "pid", "42");
    assert_string_equal(after_ts(drain()),
                        "level=info msg=\"node started\" home=/srv/near pid=42\n");
}

static void test_levels_filter(void **state)
{
    (void)state;
    nu_debug("hidden");
    assert_string_equal(drain(), "");
    nu_log_set_level(NU_LOG_DEBUG);
    nu_debug("shown");
    assert_string_equal(after_ts(drain()), "level=debug msg=shown\n");
    nu_log_set_level(NU_LOG_ERROR);
    nu_warn("hidden");
    assert_string_equal(drain(), "");
    nu_error("bad");
    assert_string_equal(after_ts(drain()), "level=error msg=bad\n");
    nu_log_set_level(NU_LOG_OFF);
    nu_error("hidden");
    assert_string_equal(drain(), "");
    assert_int_equal(nu_log_get_level(), NU_LOG_OFF);
}

static void test_quoting_and_escapes(void **state)
{
    (void)state;
    nu_warn("x", "empty", "", "eq", "a=b", "q", "say \"hi\"", "nl", "l1\nl2", "bs", "c:\\d e");
    assert_string_equal(after_ts(drain()), "level=warn msg=x empty=\"\" eq=\"a=b\" "
                                           "q=\"say \\\"hi\\\"\" nl=\"l1\\nl2\" "
                                           "bs=\"c:\\\\d e\"\n");
}

static void test_format_value(void **state)
{
    (void)state;
    char out[32];
    nu_log_format_value(out, sizeof(out), "plain");
    assert_string_equal(out, "plain");
    nu_log_format_value(out, sizeof(out), "tab\there");
    assert_string_equal(out, "\"tab\\there\"");
    nu_log_format_value(out, sizeof(out), "\x01");
    assert_string_equal(out, "\"\\u0001\"");
    nu_log_format_value(out, sizeof(out), NULL);
    assert_string_equal(out, "\"\"");
    /* Truncation keeps the closing quote and never splits an escape. */
    char small[8];
    nu_log_format_value(small, sizeof(small), "a b\"cdef");
    assert_string_equal(small, "\"a b\\\"\"");
    nu_log_format_value(small, 7, "a b\"cdef");
    assert_string_equal(small, "\"a b\"");
    nu_log_format_value(small, sizeof(small), "abcdefghijk");
    assert_string_equal(small, "abcdefg");
}

static void test_null_value_ends_list(void **state)
{
    (void)state;
    nu_info("m", "k", (const char *)NULL);
    assert_string_equal(after_ts(drain()), "level=info msg=m k=\"\"\n");
}

static void test_long_line_is_truncated_with_newline(void **state)
{
    (void)state;
    static char big[NU_LOG_VALUE_MAX + 100];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    nu_info("big", "a", big, "b", big, "c", big);
    const char *line = drain();
    size_t len = strlen(line);
    assert_int_equal(len, NU_LOG_LINE_MAX);
    assert_int_equal(line[len - 1], '\n');
    assert_ptr_equal(strchr(line, '\n'), line + len - 1);
}

static size_t vformat(char *out, size_t outsz, enum nu_log_level level, const char *component,
                      const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    size_t n = nu_log_vformat(out, outsz, level, component, msg, ap);
    va_end(ap);
    return n;
}

/* The writer behind nu_log and the supervisor's lines: the component
 * comes after the level; the level filter is the caller's business. */
static void test_vformat_with_component(void **state)
{
    (void)state;
    char line[256];
    nu_log_set_level(NU_LOG_ERROR);
    size_t n = vformat(line, sizeof(line), NU_LOG_WARN, "nearup", "neard exited", "pid", "42",
                       "how", "exit code 1", NULL);
    nu_log_set_level(NU_LOG_INFO);
    assert_string_equal(after_ts(line),
                        "level=warn component=nearup msg=\"neard exited\" pid=42 how=\"exit code "
                        "1\"\n");
    assert_int_equal(n, strlen(line));
    n = vformat(line, sizeof(line), NU_LOG_INFO, NULL, "stopping", "signal", "SIGTERM", NULL);
    assert_string_equal(after_ts(line), "level=info msg=stopping signal=SIGTERM\n");
    char tiny[40];
    n = vformat(tiny, sizeof(tiny), NU_LOG_ERROR, "nearup", "a long message", NULL);
    assert_int_equal(n, sizeof(tiny) - 1); /* cut, and still one line */
    assert_int_equal(tiny[n - 1], '\n');
    assert_int_equal(tiny[n], '\0');
    assert_int_equal(strncmp(tiny, "ts=", 3), 0);
}

static void test_parse_level(void **state)
{
    (void)state;
    enum nu_log_level l = NU_LOG_INFO;
    assert_int_equal(nu_log_parse_level("debug", &l), 0);
    assert_int_equal(l, NU_LOG_DEBUG);
    assert_int_equal(nu_log_parse_level("warn", &l), 0);
    assert_int_equal(l, NU_LOG_WARN);
    assert_int_equal(nu_log_parse_level("off", &l), 0);
    assert_int_equal(l, NU_LOG_OFF);
    assert_int_equal(nu_log_parse_level("WARN", &l), NU_EINVAL);
    assert_int_equal(nu_log_parse_level("verbose", &l), NU_EINVAL);
    assert_int_equal(nu_log_parse_level(NULL, &l), NU_EINVAL);
    assert_int_equal(l, NU_LOG_OFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoting_and_escapes, setup, teardown),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test_setup_teardown(test_null_value_ends_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_is_truncated_with_newline, setup, teardown),
        cmocka_unit_test(test_vformat_with_component),
        cmocka_unit_test(test_parse_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
