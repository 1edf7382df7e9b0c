/* Tests for src/health: the RFC 3339 parser it reads block times with
 * (src/lib/rfc3339.c, shared with the S3 listing), status replies (JSON-RPC and
 * bare, malformed ones), classification (syncing, stale, lagging, clock
 * skew, what is not judgeable), the fleet reference head and rise/fall
 * sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "health.h"
#include "rfc3339.h"

/* ---- RFC 3339 ---- */

static int64_t ms_of(const char *s)
{
    int64_t ms = 12345;
    if (nu_parse_rfc3339_ms(s, &ms) != 0)
        fail_msg("refused: %s", s);
    return ms;
}

static void test_rfc3339_values(void **state)
{
    (void)state;
    assert_int_equal(ms_of("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ms_of("1969-12-31T23:59:59Z"), -1000);
    /* neard's form: nanoseconds, cut to milliseconds */
    assert_int_equal(ms_of("2025-02-12T22:10:10.530341781Z"), 1739398210530LL);
    assert_int_equal(ms_of("2025-02-12t22:10:10.5z"), 1739398210500LL);
    assert_int_equal(ms_of("2025-02-12T22:10:10.05Z"), 1739398210050LL);
    assert_int_equal(ms_of("2025-02-12T22:10:10.0009Z"), 1739398210000LL);
    /* offsets: local time minus the offset is UTC */
    assert_int_equal(ms_of("2000-01-01T02:00:00+02:00"), 946684800000LL);
    assert_int_equal(ms_of("2000-01-01T00:00:00-05:30"), 946704600000LL);
    assert_int_equal(ms_of("2000-01-01T00:00:00+00:00"), 946684800000LL);
    /* leap days and a leap second (counted as the next second) */
    assert_int_equal(ms_of("2024-02-29T12:00:00Z"), 1709208000000LL);
    assert_int_equal(ms_of("2000-02-29T00:00:00Z"), 951782400000LL);
    assert_int_equal(ms_of("2016-12-31T23:59:60Z"), 1483228800000LL);
    assert_int_equal(ms_of("0001-01-01T00:00:00Z"), -62135596800000LL);
    assert_int_equal(ms_of("9999-12-31T23:59:59Z"), 253402300799000LL);
}

static void test_rfc3339_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "yesterday",
        "2025-02-12",
        "2025-02-12T22:10:10",          /* no zone */
        "2025-02-12T22:10:10Zjunk",     /* trailing bytes */
        "2025-02-12T22:10:10Z ",        /* trailing space */
        " 2025-02-12T22:10:10Z",        /* leading space */
        "2025-02-12 22:10:10Z",         /* space for T */
        "2025-2-12T22:10:10Z",          /* one-digit month */
        "2025-00-12T22:10:10Z",         /* month 0 */
        "2025-13-01T22:10:10Z",         /* month 13 */
        "2025-02-00T22:10:10Z",         /* day 0 */
        "2025-04-31T22:10:10Z",         /* April has 30 */
        "2023-02-29T00:00:00Z",         /* not a leap year */
        "1900-02-29T00:00:00Z",         /* centuries are not, unless by 400 */
        "2025-02-12T24:00:00Z",         /* hour 24 */
        "2025-02-12T22:60:00Z",         /* minute 60 */
        "2025-02-12T22:10:61Z",         /* second 61 */
        "2025-02-12T22:10:10.Z",        /* a point without digits */
        "2025-02-12T22:10:10+0200",     /* offset without a colon */
        "2025-02-12T22:10:10+2:00",     /* one-digit offset hour */
        "2025-02-12T22:10:10+24:00",    /* offset hour 24 */
        "2025-02-12T22:10:10+02:60",    /* offset minute 60 */
        "2025-02-12T22:10:10+02:00:00", /* seconds in the offset */
        "+2025-02-12T22:10:10Z",
        "2025-02-12T22:10:1aZ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 777;
        if (nu_parse_rfc3339_ms(bad[i], &ms) != NU_EPARSE)
            fail_msg("accepted: '%s'", bad[i]);
        assert_int_equal(ms, 777); /* untouched */
    }
}

/* ---- status replies ---- */

static const char full_reply[] =
    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"chain_id\":\"testnet\","
    "\"protocol_version\":73,\"version\":{\"version\":\"2.4.0\",\"build\":\"2.4.0-abc\"},"
    "\"sync_info\":{\"latest_block_height\":190000123,\"earliest_block_height\":189000000,"
    "\"syncing\":false,\"latest_block_time\":\"2025-02-12T22:10:10.530341781Z\"}}}";

static int parse(const char *body, enum health_reply form, struct health_status *st, char *errbuf)
{
    return health_status_parse(body, strlen(body), form, st, errbuf);
}

static void test_status_full(void **state)
{
    (void)state;
    struct health_status st;
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(parse(full_reply, HEALTH_REPLY_JSONRPC, &st, err), 0);
    assert_int_equal(st.head, 190000123);
    assert_int_equal(st.earliest, 189000000);
    assert_int_equal(st.protocol, 73);
    assert_int_equal(st.syncing, 0);
    assert_true(st.has_time);
    assert_true(st.time_ok);
    assert_int_equal(st.block_time_ms, 1739398210530LL);
    assert_string_equal(st.time_text, "2025-02-12T22:10:10.530341781Z");
    assert_string_equal(st.chain_id, "testnet");
    assert_string_equal(st.version, "2.4.0");
    assert_string_equal(st.build, "2.4.0-abc");
    assert_int_equal(health_status_judgeable(&st, err), 0);
}

static void test_status_bare(void **state)
{
    (void)state;
    struct health_status st;
    char err[NU_ERRMSG_MAX] = "";
    /* GET /status as a minimal neard stand-in answers it: no block time */
    const char *bare = "{\"sync_info\":{\"latest_block_height\":42,\"syncing\":true}}";
    assert_int_equal(parse(bare, HEALTH_REPLY_BARE, &st, err), 0);
    assert_int_equal(st.head, 42);
    assert_int_equal(st.syncing, 1);
    assert_int_equal(st.earliest, -1);
    assert_int_equal(st.protocol, -1);
    assert_false(st.has_time);
    assert_string_equal(st.chain_id, "");
    assert_string_equal(st.version, "");
    assert_int_equal(health_status_judgeable(&st, err), NU_EPARSE);
    assert_string_equal(err, "status result lacks sync_info.latest_block_height, syncing or "
                             "latest_block_time");
    /* the same object as a JSON-RPC reply has no result */
    assert_int_equal(parse(bare, HEALTH_REPLY_JSONRPC, &st, err), NU_EPARSE);
    assert_string_equal(err, "status reply has no result object");
    assert_int_equal(parse("[1]", HEALTH_REPLY_BARE, &st, err), NU_EPARSE);
    assert_string_equal(err, "status reply is not an object");
    assert_int_equal(st.head, -1);
}

static void test_status_malformed(void **state)
{
    (void)state;
    struct health_status st;
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(parse("{\"jsonrpc\":", HEALTH_REPLY_JSONRPC, &st, err), NU_EPARSE);
    assert_string_equal(err, "malformed status reply: status reply:1:11: unexpected token near "
                             "end of file");
    assert_int_equal(parse("", HEALTH_REPLY_BARE, &st, err), NU_EPARSE);
    assert_int_equal(strncmp(err, "malformed status reply: ", 24), 0);
    /* duplicate keys are refused, as serde refuses duplicate fields */
    assert_int_equal(parse("{\"result\":{},\"result\":{}}", HEALTH_REPLY_JSONRPC, &st, err),
                     NU_EPARSE);
    assert_int_equal(strncmp(err, "malformed status reply: ", 24), 0);
    assert_int_equal(
        parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", HEALTH_REPLY_JSONRPC, &st, err),
        NU_EPARSE);
    assert_string_equal(err, "status reply has no result object");
    assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"name\":\"HANDLER_ERROR\","
                           "\"cause\":{\"name\":\"INTERNAL_ERROR\"}}}",
                           HEALTH_REPLY_JSONRPC, &st, err),
                     NU_EPARSE);
    assert_string_equal(err, "status answered with JSON-RPC error INTERNAL_ERROR");
    assert_int_equal(parse("{\"error\":{\"name\":\"REQUEST_VALIDATION_ERROR\"},\"result\":{}}",
                           HEALTH_REPLY_JSONRPC, &st, err),
                     NU_EPARSE);
    assert_string_equal(err, "status answered with JSON-RPC error REQUEST_VALIDATION_ERROR");
    assert_int_equal(parse("{\"error\":{\"code\":-32000}}", HEALTH_REPLY_JSONRPC, &st, err),
                     NU_EPARSE);
    assert_string_equal(err, "status answered with JSON-RPC error (unnamed)");
}

static void test_status_fields_unknown(void **state)
{
    (void)state;
    struct health_status st;
    char err[NU_ERRMSG_MAX] = "";
    /* wrong types and negative heights are unknown, not zero */
    const char *odd = "{\"result\":{\"chain_id\":7,\"sync_info\":{\"latest_block_height\":-3,"
                      "\"earliest_block_height\":\"1\",\"syncing\":\"no\","
                      "\"latest_block_time\":\"yesterday\"}}}";
    assert_int_equal(parse(odd, HEALTH_REPLY_JSONRPC, &st, err), 0);
    assert_int_equal(st.head, -1);
    assert_int_equal(st.earliest, -1);
    assert_int_equal(st.syncing, -1);
    assert_true(st.has_time);
    assert_false(st.time_ok);
    assert_string_equal(st.chain_id, "");
    assert_int_equal(health_status_judgeable(&st, err), NU_EPARSE);
    assert_string_equal(err, "status result lacks sync_info.latest_block_height, syncing or "
                             "latest_block_time");
    /* everything there but the time is bad */
    const char *badtime = "{\"result\":{\"sync_info\":{\"latest_block_height\":7,\"syncing\":false,"
                          "\"latest_block_time\":\"yesterday\"}}}";
    assert_int_equal(parse(badtime, HEALTH_REPLY_JSONRPC, &st, err), 0);
    assert_int_equal(health_status_judgeable(&st, err), NU_EPARSE);
    assert_string_equal(err, "status result has a bad latest_block_time yesterday");
    /* a long bad time is shown cut to 64 bytes */
    char longtime[300];
    snprintf(longtime, sizeof(longtime),
             "{\"result\":{\"sync_info\":{\"latest_block_height\":7,\"syncing\":false,"
             "\"latest_block_time\":\"%0100d\"}}}",
             0);
    assert_int_equal(parse(longtime, HEALTH_REPLY_JSONRPC, &st, err), 0);
    assert_int_equal(strlen(st.time_text), 64);
}

/* ---- classification ---- */

static const struct health_limits limits = {.max_lag = 20, .stale_ms = 30000};
#define T0 1739398210530LL /* block time of the status below */

static struct health_status good_status(void)
{
    struct health_status st;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(parse(full_reply, HEALTH_REPLY_JSONRPC, &st, err), 0);
    return st;
}

static void test_classify_ok_and_skew(void **state)
{
    (void)state;
    struct health_status st = good_status();
    struct health_check c;
    health_classify(&st, -1, T0 + 1500, &limits, &c);
    assert_int_equal(c.state, HEALTH_OK);
    assert_string_equal(c.reason, "");
    assert_int_equal(c.head, 190000123);
    assert_int_equal(c.age_ms, 1500);
    assert_int_equal(c.lag, -1);
    /* a block time 5 s in the future (a producer's clock, or ours, is
     * off): age 0, not -5000, and fresh */
    health_classify(&st, -1, T0 - 5000, &limits, &c);
    assert_int_equal(c.state, HEALTH_OK);
    assert_int_equal(c.age_ms, 0);
    /* even with a zero stale limit a skewed head is not stale */
    struct health_limits zero = {.max_lag = 0, .stale_ms = 0};
    health_classify(&st, -1, T0 - 5000, &zero, &c);
    assert_int_equal(c.state, HEALTH_OK);
}

static void test_head_age(void **state)
{
    (void)state;
    assert_int_equal(health_head_age_ms(T0, T0 + 2500), 2500);
    assert_int_equal(health_head_age_ms(T0, T0), 0);
    assert_int_equal(health_head_age_ms(T0, T0 - 1), 0);
    assert_int_equal(health_head_age_ms(T0 + 3600000, T0), 0);
}

static void test_classify_stale(void **state)
{
    (void)state;
    struct health_status st = good_status();
    struct health_check c;
    health_classify(&st, -1, T0 + 30000, &limits, &c); /* exactly at the limit */
    assert_int_equal(c.state, HEALTH_OK);
    health_classify(&st, -1, T0 + 30001, &limits, &c);
    assert_int_equal(c.state, HEALTH_STALE);
    assert_int_equal(c.age_ms, 30001);
    assert_string_equal(c.reason, "head 190000123 is 30.0 s old (limit 30.0 s)");
    health_classify(&st, -1, T0 + 95450, &limits, &c);
    assert_string_equal(c.reason, "head 190000123 is 95.5 s old (limit 30.0 s)");
    /* stale wins over lagging */
    health_classify(&st, 190000200, T0 + 95450, &limits, &c);
    assert_int_equal(c.state, HEALTH_STALE);
    assert_int_equal(c.lag, 77);
}

static void test_classify_syncing(void **state)
{
    (void)state;
    struct health_status st = good_status();
    st.syncing = 1;
    struct health_check c;
    /* syncing wins over stale and lagging */
    health_classify(&st, 190000500, T0 + 999999, &limits, &c);
    assert_int_equal(c.state, HEALTH_SYNCING);
    assert_string_equal(c.reason, "node is syncing (head 190000123)");
    assert_int_equal(c.lag, 377);
    assert_int_equal(c.age_ms, 999999);
}

static void test_classify_lag(void **state)
{
    (void)state;
    struct health_status st = good_status();
    struct health_check c;
    health_classify(&st, 190000143, T0, &limits, &c); /* 20 behind: at the limit */
    assert_int_equal(c.state, HEALTH_OK);
    assert_int_equal(c.lag, 20);
    health_classify(&st, 190000144, T0, &limits, &c);
    assert_int_equal(c.state, HEALTH_LAGGING);
    assert_int_equal(c.lag, 21);
    assert_string_equal(c.reason,
                        "head 190000123 is 21 blocks behind the reference's 190000144 (limit 20)");
    /* ahead of the reference is no lag */
    health_classify(&st, 190000000, T0, &limits, &c);
    assert_int_equal(c.state, HEALTH_OK);
    assert_int_equal(c.lag, 0);
    /* max_lag 0: one block behind is lagging */
    struct health_limits strict = {.max_lag = 0, .stale_ms = 30000};
    health_classify(&st, 190000124, T0, &strict, &c);
    assert_int_equal(c.state, HEALTH_LAGGING);
    assert_string_equal(c.reason,
                        "head 190000123 is 1 blocks behind the reference's 190000124 (limit 0)");
}

static void test_classify_down(void **state)
{
    (void)state;
    struct health_status st = good_status();
    struct health_check c;
    st.time_ok = false;
    snprintf(st.time_text, sizeof(st.time_text), "soon");
    health_classify(&st, 190000123, T0, &limits, &c);
    assert_int_equal(c.state, HEALTH_DOWN);
    assert_string_equal(c.reason, "status result has a bad latest_block_time soon");
    assert_int_equal(c.head, -1);
    assert_int_equal(c.lag, -1);
    assert_int_equal(c.age_ms, -1);
    st = good_status();
    st.syncing = -1;
    health_classify(&st, -1, T0, &limits, &c);
    assert_int_equal(c.state, HEALTH_DOWN);
    assert_string_equal(c.reason, "status result lacks sync_info.latest_block_height, syncing or "
                                  "latest_block_time");
    health_check_down(&c, "connect: connection refused");
    assert_int_equal(c.state, HEALTH_DOWN);
    assert_string_equal(c.reason, "connect: connection refused");
    assert_int_equal(c.head, -1);
}

static void test_fleet_reference(void **state)
{
    (void)state;
    assert_int_equal(health_fleet_reference(NULL, 0), -1);
    int64_t none[] = {-1, -1};
    assert_int_equal(health_fleet_reference(none, 2), -1);
    int64_t one[] = {-1, 40, -1};
    assert_int_equal(health_fleet_reference(one, 3), 40);
    int64_t three[] = {10, 30, 20};
    assert_int_equal(health_fleet_reference(three, 3), 20);
    int64_t ahead[] = {100, 5000, 101}; /* one node far ahead fails no one */
    assert_int_equal(health_fleet_reference(ahead, 3), 101);
    int64_t tie[] = {9, 3, 9};
    assert_int_equal(health_fleet_reference(tie, 3), 9);
    int64_t zeros[] = {0, 0};
    assert_int_equal(health_fleet_reference(zeros, 2), 0);
}

/* ---- hysteresis ---- */

static struct health_check check_of(enum health_state st, const char *reason)
{
    struct health_check c = {.state = st, .head = 1, .lag = -1, .age_ms = 0};
    snprintf(c.reason, sizeof(c.reason), "%s", reason);
    return c;
}

/* Feeds states (as letters: o ok, d down, s stale, y syncing, l lagging)
 * and returns the served states as letters. */
static void run_seq(struct health_verdict *v, const char *in, unsigned rise, unsigned fall,
                    char *out)
{
    static const char letters[] = "olsyud"; /* in enum order */
    size_t i = 0;
    for (; in[i]; i++) {
        enum health_state st = strchr(letters, in[i]) - letters;
        struct health_check c = check_of(st, st == HEALTH_OK ? "" : health_state_name(st));
        out[i] = letters[health_verdict_apply(v, &c, rise, fall)];
    }
    out[i] = '\0';
}

static void test_verdict_first_check_decides(void **state)
{
    (void)state;
    struct health_verdict v;
    char out[64];
    health_verdict_init(&v);
    assert_false(v.known);
    assert_int_equal(v.state, HEALTH_UNKNOWN);
    run_seq(&v, "d", 3, 3, out); /* no fall needed for the first */
    assert_string_equal(out, "d");
    assert_true(v.known);
    assert_false(v.healthy);
    assert_string_equal(v.reason, "down");
    health_verdict_init(&v);
    run_seq(&v, "o", 3, 3, out);
    assert_string_equal(out, "o");
    assert_true(v.healthy);
}

static void test_verdict_sequences(void **state)
{
    (void)state;
    struct health_verdict v;
    char out[64];
    health_verdict_init(&v);
    /* rise 2, fall 2: one failure is absorbed, two take it out, one OK
     * does not bring it back, two do */
    run_seq(&v, "ododdoo", 2, 2, out);
    assert_string_equal(out, "ooooddo");
    assert_int_equal(v.successes, 2);
    assert_int_equal(v.failures, 0);
    assert_string_equal(v.reason, "");
    /* while out the latest failing state is served; an OK in between
     * keeps the last one */
    health_verdict_init(&v);
    run_seq(&v, "sysoyoo", 2, 2, out);
    assert_string_equal(out, "syssyyo");
    /* flapping never crosses */
    health_verdict_init(&v);
    run_seq(&v, "ododododod", 2, 2, out);
    assert_string_equal(out, "oooooooooo");
    assert_int_equal(v.failures, 1);
    /* rise 1 fall 1: every check is served as it is */
    health_verdict_init(&v);
    run_seq(&v, "oldsyo", 1, 1, out);
    assert_string_equal(out, "oldsyo");
    /* rise 3 fall 3 */
    health_verdict_init(&v);
    run_seq(&v, "oddlooloooo", 3, 3, out);
    assert_string_equal(out, "ooolllllloo");
    run_seq(&v, "o", 3, 3, out);
    assert_string_equal(out, "o");
    assert_int_equal(v.successes, 5);
}

static void test_verdict_reason_while_recovering(void **state)
{
    (void)state;
    struct health_verdict v;
    health_verdict_init(&v);
    struct health_check bad = check_of(HEALTH_STALE, "head 5 is 40.0 s old (limit 30.0 s)");
    struct health_check good = check_of(HEALTH_OK, "");
    health_verdict_apply(&v, &bad, 2, 2);
    assert_int_equal(health_verdict_apply(&v, &good, 2, 2), HEALTH_STALE);
    assert_string_equal(v.reason, "head 5 is 40.0 s old (limit 30.0 s)");
    assert_int_equal(v.successes, 1);
    assert_int_equal(health_verdict_apply(&v, &good, 2, 2), HEALTH_OK);
    assert_string_equal(v.reason, "");
}

static void test_verdict_force_and_resume(void **state)
{
    (void)state;
    struct health_verdict v;
    char out[64];
    health_verdict_init(&v);
    run_seq(&v, "ooo", 2, 2, out);
    health_verdict_force_down(&v, "3 requests failed in a row");
    assert_int_equal(v.state, HEALTH_DOWN);
    assert_false(v.healthy);
    assert_int_equal(v.successes, 0);
    assert_string_equal(v.reason, "3 requests failed in a row");
    run_seq(&v, "oo", 2, 2, out); /* rise OK checks bring it back */
    assert_string_equal(out, "do");

    /* resumed as OK: hysteresis applies at once, no first-check rule */
    health_verdict_resume(&v, HEALTH_OK);
    assert_true(v.known);
    run_seq(&v, "dd", 2, 2, out);
    assert_string_equal(out, "od");
    health_verdict_resume(&v, HEALTH_SYNCING);
    assert_int_equal(v.state, HEALTH_SYNCING);
    run_seq(&v, "oo", 2, 2, out);
    assert_string_equal(out, "yo");
    /* resumed from unknown: the first check decides again */
    health_verdict_resume(&v, HEALTH_UNKNOWN);
    assert_false(v.known);
    run_seq(&v, "d", 2, 2, out);
    assert_string_equal(out, "d");
}

static void test_state_names(void **state)
{
    (void)state;
    static const char *const want[] = {"ok", "lagging", "stale", "syncing", "unknown", "down"};
    for (int s = 0; s < HEALTH_NSTATES; s++)
        assert_string_equal(health_state_name(s), want[s]);
    assert_string_equal(health_state_name(-1), "unknown");
    assert_string_equal(health_state_name(HEALTH_NSTATES), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_values),
        cmocka_unit_test(test_rfc3339_refused),
        cmocka_unit_test(test_status_full),
        cmocka_unit_test(test_status_bare),
        cmocka_unit_test(test_status_malformed),
        cmocka_unit_test(test_status_fields_unknown),
        cmocka_unit_test(test_classify_ok_and_skew),
        cmocka_unit_test(test_head_age),
        cmocka_unit_test(test_classify_stale),
        cmocka_unit_test(test_classify_syncing),
        cmocka_unit_test(test_classify_lag),
        cmocka_unit_test(test_classify_down),
        cmocka_unit_test(test_fleet_reference),
        cmocka_unit_test(test_verdict_first_check_decides),
        cmocka_unit_test(test_verdict_sequences),
        cmocka_unit_test(test_verdict_reason_while_recovering),
        cmocka_unit_test(test_verdict_force_and_resume),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
