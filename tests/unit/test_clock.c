/* Tests for clock.c: the UTC text of log lines, and which clock is which. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "clock.h"

static void test_utc_text(void **state)
{
    (void)state;
    char out[NU_UTC_TEXT_MAX];
    nu_utc_text(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    nu_utc_text(1795907407123, out, sizeof(out)); /* 2026-11-28T23:10:07.123Z */
    assert_string_equal(out, "2026-11-28T23:10:07.123Z");
    nu_utc_text(951782400999, out, sizeof(out)); /* a leap day, last millisecond digit */
    assert_string_equal(out, "2000-02-29T00:00:00.999Z");
    assert_int_equal(strlen(out) + 1, 25);
}

static void test_utc_text_truncates(void **state)
{
    (void)state;
    char out[11];
    nu_utc_text(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01");
}

/* Real time is the wall clock: it agrees with time(2) to the second. */
static void test_real_is_the_wall_clock(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL);
    int64_t ms = nu_real_ms(), ns = nu_real_ns();
    int64_t after = (int64_t)time(NULL);
    assert_true(ms / 1000 >= before && ms / 1000 <= after);
    assert_true(ns / 1000000000 >= before && ns / 1000000000 <= after);
}

/* Monotonic time is CLOCK_MONOTONIC: not the wall clock, never backwards. */
static void test_mono_is_monotonic(void **state)
{
    (void)state;
    struct timespec ts;
    uint64_t a = nu_mono_ns();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t b = nu_mono_ns(), ms = nu_mono_ms();
    uint64_t sys = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    assert_true(a <= sys && sys <= b);
    assert_true(ms >= b / 1000000u && ms - b / 1000000u < 1000);
    assert_true((int64_t)(b / 1000000000u) < nu_real_ms() / 1000 - 86400); /* not since 1970 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_text),
        cmocka_unit_test(test_utc_text_truncates),
        cmocka_unit_test(test_real_is_the_wall_clock),
        cmocka_unit_test(test_mono_is_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
