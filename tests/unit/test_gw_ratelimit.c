/* Tests for the gateway's admission checks (gw_ratelimit.c, gw_limits.c): token
 * buckets that start full, refill at the rate and stop at the burst, the
 * wait until a call would fit, buckets per client IP with the least
 * recently seen client forgotten when its stripe is full; method costs and
 * allow/deny lists as the config sets them; Retry-After in whole seconds.
 * Time is the caller's now_ns, so every value is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gw_config.h"
#include "gw_limits.h"

#define MS 1000000ull /* ns */
#define SEC (1000 * MS)

static struct gw_ratelimit *rl;

static int setup(void **state)
{
    (void)state;
    rl = gw_ratelimit_new(64);
    return rl ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gw_ratelimit_free(rl);
    rl = NULL;
    return 0;
}

/* One take of cost from key at now; *wait_s is -1 when it succeeded. */
static bool take(const char *key, double cost, double rate, double burst, uint64_t now,
                 double *wait_s)
{
    *wait_s = -1;
    return gw_ratelimit_take(rl, key, strlen(key), cost, rate, burst, now, wait_s);
}

static void test_bucket_starts_full_and_empties(void **state)
{
    (void)state;
    double w;
    /* rate 4/s, burst 3: three calls at once, the fourth waits 1/4 s */
    for (int i = 0; i < 3; i++)
        assert_true(take("10.0.0.1", 1, 4, 3, 1 * SEC, &w));
    assert_false(take("10.0.0.1", 1, 4, 3, 1 * SEC, &w));
    assert_true(w == 0.25);
    /* a refused call takes nothing: still 0 tokens, the same wait */
    assert_false(take("10.0.0.1", 1, 4, 3, 1 * SEC, &w));
    assert_true(w == 0.25);
}

static void test_refill_at_rate_capped_at_burst(void **state)
{
    (void)state;
    double w;
    uint64_t t = 5 * SEC;
    assert_true(take("a", 3, 4, 3, t, &w)); /* 3 -> 0 */
    /* 125 ms at 4/s is half a token: not enough for 1, 0.125 s to go */
    assert_false(take("a", 1, 4, 3, t + 125 * MS, &w));
    assert_true(w == 0.125);
    assert_true(take("a", 1, 4, 3, t + 250 * MS, &w)); /* 1 token: taken */
    assert_false(take("a", 1, 4, 3, t + 250 * MS, &w));
    assert_true(w == 0.25);
    /* a second idle brings 4 tokens, the burst keeps 3 of them */
    t += 250 * MS + SEC;
    for (int i = 0; i < 3; i++)
        assert_true(take("a", 1, 4, 3, t, &w));
    assert_false(take("a", 1, 4, 3, t, &w));
    assert_true(w == 0.25);
    /* an hour idle: 3 calls, not 14400 */
    t += 3600 * SEC;
    for (int i = 0; i < 3; i++)
        assert_true(take("a", 1, 4, 3, t, &w));
    assert_false(take("a", 1, 4, 3, t, &w));
    assert_true(w == 0.25);
}

static void test_costs_and_waits(void **state)
{
    (void)state;
    double w;
    /* a cost of 5 against burst 8, rate 2/s */
    assert_true(take("c", 5, 2, 8, SEC, &w)); /* 8 -> 3 */
    assert_false(take("c", 5, 2, 8, SEC, &w));
    assert_true(w == 1.0);                    /* 2 tokens short at 2/s */
    assert_true(take("c", 3, 2, 8, SEC, &w)); /* the 3 left fit a cheaper call */
    /* more than the burst never fits; the wait says how far off it is */
    assert_false(take("c", 10, 2, 8, 100 * SEC, &w));
    assert_true(w == 1.0); /* full at 8, 2 short */
    /* rate 0: nothing comes back, the wait is capped at an hour */
    assert_true(take("z", 1, 0, 1, SEC, &w));
    assert_false(take("z", 1, 0, 1, 1000 * SEC, &w));
    assert_true(w == 3600);
}

static void test_clock_going_back_refills_nothing(void **state)
{
    (void)state;
    double w;
    assert_true(take("b", 2, 4, 2, 10 * SEC, &w)); /* empty at t=10 s */
    assert_false(take("b", 1, 4, 2, 9 * SEC, &w)); /* earlier: no refill */
    assert_true(w == 0.25);
    /* the bucket still counts from t=10 s, not from 9 s */
    assert_false(take("b", 1, 4, 2, 10 * SEC + 125 * MS, &w));
    assert_true(w == 0.125);
    assert_true(take("b", 1, 4, 2, 10 * SEC + 250 * MS, &w));
}

static void test_keys_are_separate(void **state)
{
    (void)state;
    double w;
    char long_a[80], long_b[80];
    assert_true(take("10.0.0.1", 1, 1, 1, SEC, &w));
    assert_false(take("10.0.0.1", 1, 1, 1, SEC, &w));
    assert_true(take("10.0.0.2", 1, 1, 1, SEC, &w)); /* its own bucket */
    assert_true(take("10.0.0.10", 1, 1, 1, SEC, &w));
    /* an empty key is one bucket, "?" */
    assert_true(gw_ratelimit_take(rl, "", 0, 1, 1, 1, SEC, &w));
    assert_false(gw_ratelimit_take(rl, "", 0, 1, 1, 1, SEC, &w));
    assert_false(take("?", 1, 1, 1, SEC, &w));
    /* keys are compared on their first 47 bytes */
    memset(long_a, 'x', 47);
    snprintf(long_a + 47, sizeof(long_a) - 47, "-one");
    memset(long_b, 'x', 47);
    snprintf(long_b + 47, sizeof(long_b) - 47, "-two");
    assert_true(take(long_a, 1, 1, 1, SEC, &w));
    assert_false(take(long_b, 1, 1, 1, SEC, &w));
    long_b[46] = 'y';
    assert_true(take(long_b, 1, 1, 1, SEC, &w));
}

static void test_least_recently_seen_is_forgotten(void **state)
{
    (void)state;
    double w;
    char key[32];
    uint64_t t = SEC;
    /* rate 1e-3/s: no bucket refills a whole token within this test */
    assert_true(take("kept", 1, 1e-3, 1, t++, &w));
    assert_true(take("forgotten", 1, 1e-3, 1, t++, &w));
    /* 64 clients per stripe of 8 slots would keep them all; 4096 new
     * clients (64 per stripe on average) push out whoever is not seen */
    for (int i = 0; i < 4096; i++) {
        snprintf(key, sizeof(key), "192.0.2.%d/%d", i % 256, i);
        assert_true(take(key, 1, 1e-3, 1, t++, &w));     /* each new one starts full */
        assert_false(take("kept", 1, 1e-3, 1, t++, &w)); /* seen again: stays empty */
    }
    assert_false(take("kept", 1, 1e-3, 1, t++, &w));
    /* forgotten, so back with a full bucket of 1 */
    assert_true(take("forgotten", 1, 1e-3, 1, t++, &w));
    assert_false(take("forgotten", 1, 1e-3, 1, t++, &w));
}

static void test_client_key(void **state)
{
    (void)state;
    char k[64], tiny[5];
    assert_int_equal(gw_client_key("203.0.113.7:51234", k, sizeof(k)), 11);
    assert_string_equal(k, "203.0.113.7");
    assert_int_equal(gw_client_key("[2001:db8::1]:443", k, sizeof(k)), 11);
    assert_string_equal(k, "2001:db8::1");
    assert_int_equal(gw_client_key("[::1]:8080", k, sizeof(k)), 3);
    assert_string_equal(k, "::1");
    assert_int_equal(gw_client_key("unix", k, sizeof(k)), 4);
    assert_string_equal(k, "unix");
    assert_int_equal(gw_client_key("", k, sizeof(k)), 0);
    assert_string_equal(k, "");
    assert_int_equal(gw_client_key("203.0.113.7:1", tiny, sizeof(tiny)), 4);
    assert_string_equal(tiny, "203.");
}

/* A config with one upstream and extra, or fails the test. */
static struct gw_config *config(const char *extra)
{
    char text[2048];
    struct gw_config *c = NULL;
    struct nu_buf errs;
    nu_buf_init(&errs, 4096);
    snprintf(text, sizeof(text), "[upstream a]\nurl = http://127.0.0.1:3030\n%s", extra);
    int rc = gw_config_load_string(text, "gw.ini", NULL, 0, &c, &errs);
    if (rc != 0)
        fail_msg("config: %s", errs.data ? errs.data : "");
    nu_buf_release(&errs);
    return c;
}

static void test_charge_by_ip_with_retry_after(void **state)
{
    (void)state;
    unsigned ra = 0;
    struct gw_config *c = config("[ratelimit]\nrate_limit = 2\n"); /* burst 0: 2 */
    assert_int_equal(c->rate_burst, 2);
    assert_true(gw_limits_charge(rl, c, "10.1.1.1:1000", 1, SEC, &ra));
    assert_true(gw_limits_charge(rl, c, "10.1.1.1:1001", 1, SEC, &ra)); /* same IP */
    assert_false(gw_limits_charge(rl, c, "10.1.1.1:1002", 1, SEC, &ra));
    assert_int_equal(ra, 1);                                            /* 0.5 s rounds up to 1 */
    assert_true(gw_limits_charge(rl, c, "10.1.1.2:1000", 1, SEC, &ra)); /* another IP */
    /* a cost of 2 with 1 token back after 0.5 s: 0.5 s to go, 1 s */
    assert_false(gw_limits_charge(rl, c, "10.1.1.1:1003", 2, SEC + 500 * MS, &ra));
    assert_int_equal(ra, 1);
    /* a cost of 7 from empty needs 3.5 s: Retry-After 4 */
    assert_true(gw_limits_charge(rl, c, "10.9.9.9:1", 2, SEC, &ra));
    assert_false(gw_limits_charge(rl, c, "10.9.9.9:1", 7, SEC, &ra));
    assert_int_equal(ra, 4);
    /* cost 0 and no table are never limited */
    ra = 99;
    assert_true(gw_limits_charge(rl, c, "10.1.1.1:1", 0, SEC, &ra));
    assert_true(gw_limits_charge(NULL, c, "10.1.1.1:1", 5, SEC, &ra));
    assert_int_equal(ra, 99);
    gw_config_unref(c);

    c = config("[ratelimit]\nrate_limit = 1\nrate_burst = 1\n");
    /* far beyond the burst: the wait is capped at an hour */
    assert_false(gw_limits_charge(rl, c, "10.2.2.2:1", 100000, SEC, &ra));
    assert_int_equal(ra, 3600);
    gw_config_unref(c);

    c = config(""); /* rate_limit 0: off */
    for (int i = 0; i < 100; i++)
        assert_true(gw_limits_charge(rl, c, "10.1.1.1:1", 1000, SEC, &ra));
    gw_config_unref(c);
}

static void test_method_costs(void **state)
{
    (void)state;
    struct gw_config *c = config("[method_cost]\nquery = 5\nEXPERIMENTAL_tx_status = 3\n"
                                 "other = 0\n");
    assert_int_equal(gw_method_cost(c, GW_M_QUERY), 5);
    assert_int_equal(gw_method_cost(c, GW_M_X_TX_STATUS), 3);
    assert_int_equal(gw_method_cost(c, GW_M_STATUS), 1); /* default */
    assert_int_equal(gw_method_cost(c, GW_M_OTHER), 0);
    assert_int_equal(gw_method_cost(c, -1), 0); /* out of range is "other" */
    assert_int_equal(gw_method_cost(c, GW_NMETHODS), 0);
    gw_config_unref(c);
}

static void test_method_lists(void **state)
{
    (void)state;
    struct gw_config *c = config("");
    for (int m = 0; m < GW_NMETHODS; m++)
        assert_true(gw_method_allowed(c, m)); /* no lists: everything */
    gw_config_unref(c);

    c = config("[limits]\nallow_methods = status, block,query\n");
    assert_true(gw_method_allowed(c, GW_M_STATUS));
    assert_true(gw_method_allowed(c, GW_M_BLOCK));
    assert_true(gw_method_allowed(c, GW_M_QUERY));
    assert_false(gw_method_allowed(c, GW_M_TX));
    assert_false(gw_method_allowed(c, GW_M_OTHER));
    assert_false(gw_method_allowed(c, 1000)); /* "other" */
    gw_config_unref(c);

    /* deny wins over allow; "other" names unknown methods */
    c = config("[limits]\nallow_methods = status,query,other\ndeny_methods = query\n");
    assert_true(gw_method_allowed(c, GW_M_STATUS));
    assert_false(gw_method_allowed(c, GW_M_QUERY));
    assert_true(gw_method_allowed(c, GW_M_OTHER));
    assert_true(gw_method_allowed(c, -3));
    assert_false(gw_method_allowed(c, GW_M_BLOCK));
    gw_config_unref(c);

    c = config("[limits]\ndeny_methods = other,broadcast_tx_commit\n");
    assert_false(gw_method_allowed(c, GW_M_OTHER));
    assert_false(gw_method_allowed(c, GW_M_BROADCAST_TX_COMMIT));
    assert_true(gw_method_allowed(c, GW_M_BROADCAST_TX_ASYNC));
    gw_config_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bucket_starts_full_and_empties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refill_at_rate_capped_at_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_costs_and_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_going_back_refills_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_are_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_least_recently_seen_is_forgotten, setup, teardown),
        cmocka_unit_test(test_client_key),
        cmocka_unit_test_setup_teardown(test_charge_by_ip_with_retry_after, setup, teardown),
        cmocka_unit_test(test_method_costs),
        cmocka_unit_test(test_method_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
