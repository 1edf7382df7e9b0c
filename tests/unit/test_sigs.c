/* Tests for sigs.c: a signal that comes before the loop runs is kept and
 * handed over by the first uv_run; after nu_sigs_close the three signals
 * are ignored (a late one no longer kills the process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "sigs.h"

struct seen {
    int sig[8];
    int n;
};

static void record(void *data, int signum)
{
    struct seen *s = data;
    if (s->n < 8)
        s->sig[s->n++] = signum;
}

/* Runs the loop until n signals were handed over (bounded). */
static void run_until(uv_loop_t *loop, struct seen *s, int n)
{
    for (int i = 0; i < 1000 && s->n < n; i++)
        uv_run(loop, UV_RUN_NOWAIT);
}

static void test_signals_before_the_loop_runs_are_kept(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct nu_sigs sigs;
    struct seen seen = {{0}, 0};
    char err[NU_ERRMSG_MAX];
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(nu_sigs_start(&sigs, &loop, record, &seen, err), 0);
    /* the loop is not running: these wait, they do not kill */
    assert_int_equal(kill(getpid(), SIGHUP), 0);
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    assert_int_equal(seen.n, 0);
    run_until(&loop, &seen, 2);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.sig[0], SIGHUP);
    assert_int_equal(seen.sig[1], SIGTERM);
    assert_int_equal(kill(getpid(), SIGINT), 0);
    run_until(&loop, &seen, 3);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.sig[2], SIGINT);
    nu_sigs_close(&sigs);
    nu_sigs_close(&sigs); /* twice is fine */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_after_close_the_signals_are_ignored(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct nu_sigs sigs;
    struct seen seen = {{0}, 0};
    char err[NU_ERRMSG_MAX];
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(nu_sigs_start(&sigs, &loop, record, &seen, err), 0);
    nu_sigs_close(&sigs);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    const int nums[] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        struct sigaction sa;
        assert_int_equal(sigaction(nums[i], NULL, &sa), 0);
        assert_true(sa.sa_handler == SIG_IGN);
        assert_int_equal(kill(getpid(), nums[i]), 0); /* still alive after it */
    }
    assert_int_equal(seen.n, 0);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int i = 0; i < 3; i++)
        sigaction(nums[i], &dfl, NULL);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(nu_sig_name(SIGHUP), "SIGHUP");
    assert_string_equal(nu_sig_name(SIGTERM), "SIGTERM");
    assert_string_equal(nu_sig_name(SIGINT), "SIGINT");
    assert_string_equal(nu_sig_name(SIGUSR1), "signal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_before_the_loop_runs_are_kept),
        cmocka_unit_test(test_after_close_the_signals_are_ignored),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
