/* Tests for the debug bundle's secret scrubber (src/bundle/scrub.c) and
 * its log line times (logs.c): each rule on its own, what it leaves
 * alone, and JSON scrubbed by field name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bundle-int.h"

/* A NEAR secret key (88 base58 characters) and a public key (44). */
#define SECRET                                                                                     \
    "ed25519:"                                                                                     \
    "3T4own6K4FHAkheuj1Jra2Dx5kfuNWkRvVXLNngBhvrRHcqBmwTqeVYsCg33jbiDs7APpWNQB9D2R738aaMKHJfs"
#define PUBLIC "ed25519:7MMJ8WHLc8ZWpGdMTHYT9KPfDZYDJN5hSJytgt4LYDhj"
#define B58_44 "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijk"
#define B58_45 B58_44 "m"

/* scrub_text of in (len bytes) must give want (wlen bytes) with n
 * redactions. */
static void expect(const char *in, size_t len, const char *want, size_t wlen, unsigned n)
{
    struct nu_buf out;
    unsigned redacted = 0;
    nu_buf_init(&out, 1 << 20);
    assert_int_equal(bundle_scrub_text(in, len, &out, &redacted), 0);
    assert_int_equal(out.len, wlen);
    assert_memory_equal(out.data, want, out.len);
    assert_int_equal(redacted, n);
    nu_buf_release(&out);
}

#define EXPECT(in, want, n) expect(in, strlen(in), want, strlen(want), n)

static void test_a_line_naming_a_key_field_is_removed(void **state)
{
    (void)state;
    EXPECT("  \"secret_key\": \"" SECRET "\"\n", BUNDLE_DROPPED_LINE "\n", 1);
    EXPECT("keep\nPRIVATE_KEY=abc\nkeep", "keep\n" BUNDLE_DROPPED_LINE "\nkeep", 1);
    EXPECT("the secretKey is x", BUNDLE_DROPPED_LINE, 1);
}

static void test_secret_key_text_is_redacted_public_key_kept(void **state)
{
    (void)state;
    EXPECT("signer " SECRET " then " PUBLIC "\n", "signer ed25519:*** then " PUBLIC "\n", 1);
    /* 45 characters is more than a public key can have */
    EXPECT("ed25519:" B58_45 ".", "ed25519:***.", 1);
    EXPECT("ed25519:" B58_44 ".", "ed25519:" B58_44 ".", 0);
}

static void test_values_of_secret_names(void **state)
{
    (void)state;
    EXPECT("env AWS_SECRET_ACCESS_KEY=abc/def+1 RUST_LOG=info\n",
           "env AWS_SECRET_ACCESS_KEY=*** RUST_LOG=info\n", 1);
    EXPECT("{\"password\": \"hun\\\"ter2\", \"user\": \"bob\"}",
           "{\"password\": \"***\", \"user\": \"bob\"}", 1);
    EXPECT("level=warn api_token='x y' msg=\"auth_token: zz\"",
           "level=warn api_token='***' msg=\"auth_token: ***\"", 2);
    /* what was redacted, null, booleans, objects and arrays stay */
    EXPECT("\"token\": \"***\", \"password\": null, \"passwd\": true, \"secret_x\": {",
           "\"token\": \"***\", \"password\": null, \"passwd\": true, \"secret_x\": {", 0);
    /* times and URLs are not names of secrets */
    EXPECT("ts=2026-01-02T03:04:05.678Z url=http://h:1/x\n",
           "ts=2026-01-02T03:04:05.678Z url=http://h:1/x\n", 0);
}

/* What one rule writes can make what another finds: the rules run again
 * until nothing changes (cases the fuzzer found). */
static void test_rules_run_until_nothing_changes(void **state)
{
    (void)state;
    /* the value "//" ended the first URL's authority; without it
     * "s=psecret_:***}p}p" is that URL's userinfo */
    EXPECT("ts=p://s=psecret_://}p}p@aHJ", "ts=p://***@aHJ", 2);
    /* a key inside a kept value ('[' starts an array) */
    EXPECT("token:[x ed25519:" B58_45, "token:[x ed25519:***", 1);
    /* "ed25519:" inside a run of base58 that is short itself */
    EXPECT("ed25519:3Ted25519:" B58_45, "ed25519:3Ted25519:***", 1);
}

static void test_url_userinfo_even_beside_nul_bytes(void **state)
{
    (void)state;
    EXPECT("GET http://u5er:pa55@127.0.0.1:9/m failed\n", "GET http://***@127.0.0.1:9/m failed\n",
           1);
    static const char in[] = "a\0http://u:p@h/ b\n";
    static const char want[] = "a\0http://***@h/ b\n";
    expect(in, sizeof(in) - 1, want, sizeof(want) - 1, 1);
    expect(want, sizeof(want) - 1, want, sizeof(want) - 1, 0);
}

static void test_json_by_field_name(void **state)
{
    (void)state;
    json_error_t e;
    json_t *v = json_loads(
        "{\"account_id\": \"test.near\", \"public_key\": \"" PUBLIC "\", \"secret_key\": \"" SECRET
        "\", \"nested\": {\"private_key\": \"x\", \"db_password\": 1234, \"token\": null,"
        " \"env\": [\"TOKEN=abc\", \"RUST_LOG=debug\"], \"url\": \"https://a:b@h/\","
        " \"log\": \"line one\\nsaw secret_key here\"}}",
        JSON_PRESERVE_ORDER, &e);
    assert_non_null(v);
    unsigned redacted = 0;
    assert_int_equal(bundle_scrub_json(v, &redacted), 0);
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "{\"account_id\":\"test.near\",\"public_key\":\"" PUBLIC "\","
                           "\"nested\":{\"db_password\":\"***\",\"token\":null,"
                           "\"env\":[\"TOKEN=***\",\"RUST_LOG=debug\"],\"url\":\"https://***@h/\","
                           "\"log\":\"line one\\n" BUNDLE_DROPPED_LINE "\"}}");
    assert_int_equal(redacted, 6);
    free(s);
    json_decref(v);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(bundle_key_file_name("validator_key.json"));
    assert_true(bundle_key_file_name("node_key.json"));
    assert_true(bundle_key_file_name("my-KEY.JSON"));
    assert_true(bundle_key_file_name("keys.json"));
    assert_false(bundle_key_file_name("config.json"));
    assert_false(bundle_key_file_name("key.txt"));
    assert_false(bundle_key_file_name(".json"));
    assert_true(bundle_secret_name("S3_SECRET", 9));
    assert_true(bundle_secret_name("Authorization", 13));
    assert_false(bundle_secret_name("public_key", 10));
    assert_false(bundle_secret_name("validator_key_file", 18));
}

static void test_line_times(void **state)
{
    (void)state;
    int64_t ms = 0;
    const char *neard = "2026-11-28T23:10:07.123456Z  INFO neard: started\n";
    assert_true(bundle_line_time(neard, strlen(neard), &ms));
    assert_int_equal(ms, 1795907407123);
    const char *sup = "ts=2026-11-28T23:10:08.5Z level=info component=nearup msg=x\n";
    assert_true(bundle_line_time(sup, strlen(sup), &ms));
    assert_int_equal(ms, 1795907408500);
    const char *none[] = {"   at backtrace line 3\n", "2026-11-28 23:10:07 INFO x\n",
                          "ts=yesterday level=info\n", "2026-13-28T23:10:07Z  INFO x\n", ""};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        ms = 7;
        assert_false(bundle_line_time(none[i], strlen(none[i]), &ms));
        assert_int_equal(ms, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_line_naming_a_key_field_is_removed),
        cmocka_unit_test(test_secret_key_text_is_redacted_public_key_kept),
        cmocka_unit_test(test_values_of_secret_names),
        cmocka_unit_test(test_rules_run_until_nothing_changes),
        cmocka_unit_test(test_url_userinfo_even_beside_nul_bytes),
        cmocka_unit_test(test_json_by_field_name),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_line_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
