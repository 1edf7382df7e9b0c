/* Tests for json.c: comment stripping, error positions, pretty output,
 * dotted paths, durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"
#include "unit_tmp.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    return unit_tmp_make(tmpdir, sizeof(tmpdir), "test_json");
}

static int teardown(void **state)
{
    (void)state;
    static const char *const written[] = {"out.json", NULL}; /* and no temporary file */
    return unit_tmp_remove_expecting(tmpdir, written);
}

static json_t *parse_ok(const char *text, bool comments)
{
    json_t *v = NULL;
    char err[NU_ERRMSG_MAX] = "";
    int rc = nu_json_parse("t.json", text, strlen(text), comments, &v, err);
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    return v;
}

static void test_comments_stripped_outside_strings(void **state)
{
    (void)state;
    const char *text = "{\n"
                       "  // line comment\n"
                       "  \"url\": \"http://x/*y*/#z\", # hash comment\n"
                       "  /* block\n"
                       "     comment */ \"q\": \"a\\\"//b\",\n"
                       "  \"n\": 1 // trailing\n"
                       "}";
    json_t *v = parse_ok(text, true);
    const char *s = NULL;
    assert_int_equal(nu_json_get_str(v, "url", &s), 0);
    assert_string_equal(s, "http://x/*y*/#z");
    assert_int_equal(nu_json_get_str(v, "q", &s), 0);
    assert_string_equal(s, "a\"//b");
    int64_t n = 0;
    assert_int_equal(nu_json_get_int(v, "n", &n), 0);
    assert_int_equal(n, 1);
    json_decref(v);
}

static void test_error_position_after_comments(void **state)
{
    (void)state;
    /* The syntax error sits on line 4 column 10, after a multi-line comment. */
    const char *text = "{\n/* one\ntwo */\n  \"a\": 1 2\n}";
    json_t *v = NULL;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_json_parse("cfg.json", text, strlen(text), true, &v, err), NU_EPARSE);
    assert_null(v);
    assert_string_equal(err, "cfg.json:4:10: '}' expected near '2'");
}

static void test_comments_rejected_when_not_allowed(void **state)
{
    (void)state;
    const char *text = "{\"a\": 1} // x";
    json_t *v = NULL;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_json_parse("x", text, strlen(text), false, &v, err), NU_EPARSE);
    assert_string_equal(err, "x:1:10: end of file expected near '/'");
}

static void test_unterminated_block_comment(void **state)
{
    (void)state;
    const char *text = "{\n  \"a\": 1 /* never closed\n}";
    json_t *v = NULL;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_json_parse("c.json", text, strlen(text), true, &v, err), NU_EPARSE);
    assert_string_equal(err, "c.json:2:10: unterminated /* comment");
}

static void test_duplicate_keys_rejected(void **state)
{
    (void)state;
    const char *text = "{\"a\": 1, \"a\": 2}";
    json_t *v = NULL;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_json_parse("d", text, strlen(text), false, &v, err), NU_EPARSE);
    assert_non_null(strstr(err, "duplicate object key"));
}

static void test_write_file_pretty_exact(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    snprintf(p, sizeof(p), "%s/out.json", tmpdir);
    json_t *v = json_object();
    assert_int_equal(nu_json_set(v, "z", json_string("last-key-first")), 0);
    assert_int_equal(nu_json_set(v, "network.addr", json_string("0.0.0.0:24567")), 0);
    assert_int_equal(nu_json_set(v, "a", json_array()), 0);
    assert_int_equal(nu_json_set(v, "t", nu_json_duration(1500)), 0);
    assert_int_equal(nu_json_write_file(p, v, 0644, true, err), 0);
    char *data = NULL;
    assert_int_equal(nu_fs_read_file(p, 4096, &data, NULL, err), 0);
    assert_string_equal(data, "{\n"
                              "  \"z\": \"last-key-first\",\n"
                              "  \"network\": {\n"
                              "    \"addr\": \"0.0.0.0:24567\"\n"
                              "  },\n"
                              "  \"a\": [],\n"
                              "  \"t\": {\n"
                              "    \"secs\": 1,\n"
                              "    \"nanos\": 500000000\n"
                              "  }\n"
                              "}\n");
    free(data);
    assert_int_equal(nu_json_write_file(p, v, 0600, false, err), 0);
    assert_int_equal(nu_fs_read_file(p, 4096, &data, NULL, err), 0);
    assert_int_equal(data[strlen(data) - 1], '}');
    free(data);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_decref(v);
}

static void test_load_file_errors_name_the_path(void **state)
{
    (void)state;
    char p[PATH_MAX], err[NU_ERRMSG_MAX];
    snprintf(p, sizeof(p), "%s/out.json", tmpdir);
    const char *text = "{\n  # c\n  \"a\": tru\n}";
    assert_int_equal(nu_fs_write_atomic(p, text, strlen(text), 0644, err), 0);
    json_t *v = NULL;
    assert_int_equal(nu_json_load_file(p, true, &v, err), NU_EPARSE);
    char want[NU_ERRMSG_MAX];
    snprintf(want, sizeof(want), "%s/out.json:3:10: invalid token near 'tru'", tmpdir);
    assert_string_equal(err, want);
    assert_int_equal(nu_fs_write_atomic(p, "{\"k\": 7}", 8, 0644, err), 0);
    assert_int_equal(nu_json_load_file(p, false, &v, err), 0);
    int64_t k = 0;
    assert_int_equal(nu_json_get_int(v, "k", &k), 0);
    assert_int_equal(k, 7);
    json_decref(v);
    snprintf(p, sizeof(p), "%s/missing.json", tmpdir);
    assert_int_equal(nu_json_load_file(p, false, &v, err), NU_ENOENT);
}

static void test_dotted_getters(void **state)
{
    (void)state;
    json_t *v = parse_ok("{\"rpc\": {\"limits_config\": {\"json_payload_max_size\": 10485760},"
                         " \"addr\": \"0.0.0.0:3030\", \"on\": true, \"nil\": null}}",
                         false);
    int64_t n = 0;
    const char *s = NULL;
    bool b = false;
    assert_int_equal(nu_json_get_int(v, "rpc.limits_config.json_payload_max_size", &n), 0);
    assert_int_equal(n, 10485760);
    assert_int_equal(nu_json_get_str(v, "rpc.addr", &s), 0);
    assert_string_equal(s, "0.0.0.0:3030");
    assert_int_equal(nu_json_get_bool(v, "rpc.on", &b), 0);
    assert_true(b);
    assert_int_equal(nu_json_get_str(v, "rpc.on", &s), NU_EINVAL);
    assert_int_equal(nu_json_get_int(v, "rpc.addr", &n), NU_EINVAL);
    assert_int_equal(nu_json_get_bool(v, "rpc.nil", &b), NU_ENOENT);
    assert_int_equal(nu_json_get_int(v, "rpc.missing", &n), NU_ENOENT);
    assert_int_equal(nu_json_get_int(v, "rpc.addr.deeper", &n), NU_ENOENT);
    assert_non_null(nu_json_get(v, "rpc.nil"));
    assert_null(nu_json_get(NULL, "rpc"));
    json_decref(v);
}

static void test_set_creates_and_rejects(void **state)
{
    (void)state;
    json_t *v = json_object();
    assert_int_equal(nu_json_set(v, "a.b.c", json_integer(3)), 0);
    int64_t n = 0;
    assert_int_equal(nu_json_get_int(v, "a.b.c", &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(nu_json_set(v, "a.b.c", json_integer(4)), 0); /* replaces */
    assert_int_equal(nu_json_get_int(v, "a.b.c", &n), 0);
    assert_int_equal(n, 4);
    /* a.b.c is not an object: setting below it fails (value is still freed). */
    assert_int_equal(nu_json_set(v, "a.b.c.d", json_string("x")), NU_EINVAL);
    assert_int_equal(nu_json_set(v, "a..x", json_string("x")), NU_EINVAL);
    assert_int_equal(nu_json_set(v, "a.", json_string("x")), NU_EINVAL);
    assert_int_equal(nu_json_set(v, "k", NULL), NU_EINVAL);
    struct nu_buf b;
    nu_buf_init(&b, 1024);
    assert_int_equal(nu_json_dump_buf(v, &b, 0), 0);
    assert_string_equal(b.data, "{\"a\":{\"b\":{\"c\":4}}}");
    nu_buf_release(&b);
    json_decref(v);
}

static void test_dump_buf_toobig_leaves_buffer(void **state)
{
    (void)state;
    json_t *v = parse_ok("[1, 2, 3, \"a long string value here\"]", false);
    struct nu_buf b;
    nu_buf_init(&b, 16);
    assert_int_equal(nu_buf_puts(&b, "pre:"), 0);
    assert_int_equal(nu_json_dump_buf(v, &b, 0), NU_ETOOBIG);
    assert_string_equal(b.data, "pre:");
    assert_int_equal(b.len, 4);
    nu_buf_release(&b);
    json_decref(v);
}

static void test_duration_round_trip(void **state)
{
    (void)state;
    json_t *d = nu_json_duration(100);
    struct nu_buf b;
    nu_buf_init(&b, 256);
    assert_int_equal(nu_json_dump_buf(d, &b, 0), 0);
    assert_string_equal(b.data, "{\"secs\":0,\"nanos\":100000000}");
    nu_buf_release(&b);
    json_t *o = json_object();
    assert_int_equal(nu_json_set(o, "consensus.block_production_tracking_delay", d), 0);
    uint64_t ms = 0;
    assert_int_equal(nu_json_get_duration_ms(o, "consensus.block_production_tracking_delay", &ms),
                     0);
    assert_int_equal(ms, 100);
    assert_int_equal(nu_json_set(o, "big", nu_json_duration(86400123)), 0);
    assert_int_equal(nu_json_get_duration_ms(o, "big", &ms), 0);
    assert_int_equal(ms, 86400123);
    assert_int_equal(nu_json_set(o, "bad", json_pack("{s:i,s:i}", "secs", 1, "nanos", 1000000000)),
                     0);
    assert_int_equal(nu_json_get_duration_ms(o, "bad", &ms), NU_EINVAL);
    assert_int_equal(nu_json_set(o, "neg", json_pack("{s:i,s:i}", "secs", -1, "nanos", 0)), 0);
    assert_int_equal(nu_json_get_duration_ms(o, "neg", &ms), NU_EINVAL);
    assert_int_equal(nu_json_set(o, "num", json_integer(5)), 0);
    assert_int_equal(nu_json_get_duration_ms(o, "num", &ms), NU_EINVAL);
    assert_int_equal(nu_json_get_duration_ms(o, "none", &ms), NU_ENOENT);
    assert_int_equal(ms, 86400123);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comments_stripped_outside_strings),
        cmocka_unit_test(test_error_position_after_comments),
        cmocka_unit_test(test_comments_rejected_when_not_allowed),
        cmocka_unit_test(test_unterminated_block_comment),
        cmocka_unit_test(test_duplicate_keys_rejected),
        cmocka_unit_test_setup_teardown(test_write_file_pretty_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file_errors_name_the_path, setup, teardown),
        cmocka_unit_test(test_dotted_getters),
        cmocka_unit_test(test_set_creates_and_rejects),
        cmocka_unit_test(test_dump_buf_toobig_leaves_buffer),
        cmocka_unit_test(test_duration_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
