/* Tests for redact.c: the userinfo of every URL in a text becomes "***". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "log.h"
#include "redact.h"

static void expect(const char *in, const char *want)
{
    char out[256];
    size_t n = nu_redact(in, out, sizeof(out));
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_userinfo_of_one_url(void **state)
{
    (void)state;
    expect("https://alice:pass@host/x", "https://***@host/x");
    expect("http://alice@127.0.0.1:80", "http://***@127.0.0.1:80");
    expect("http://:pw@h", "http://***@h");
    expect("http://@h/", "http://***@h/");
    /* the last '@' of the authority ends the userinfo */
    expect("s3+x://a@b:c@d.e/f", "s3+x://***@d.e/f");
}

static void test_urls_inside_a_message(void **state)
{
    (void)state;
    expect("GET https://u:p@h/a: HTTP 403; then 'http://v:q@g' and \"ftp://w@k?x=1\"",
           "GET https://***@h/a: HTTP 403; then 'http://***@g' and \"ftp://***@k?x=1\"");
    expect("a http://x:y@h\nb http://z@i", "a http://***@h\nb http://***@i");
}

static void test_what_is_left_alone(void **state)
{
    (void)state;
    expect("", "");
    expect("no url here: a@b", "no url here: a@b");
    expect("https://host/path@not-userinfo?q=a@b#c@d", "https://host/path@not-userinfo?q=a@b#c@d");
    expect("s3://bucket/prefix", "s3://bucket/prefix");
    expect("://u:p@h", "://u:p@h"); /* no scheme: not a URL */
    expect("1://u:p@h", "1://u:p@h");
    assert_false(nu_redact_needed("https://host/a@b"));
    assert_true(nu_redact_needed("x https://u@host"));
}

static void test_cut_short_and_null(void **state)
{
    (void)state;
    char out[12];
    assert_int_equal(nu_redact("https://alice:secret@host/x", out, sizeof(out)), 18);
    assert_string_equal(out, "https://***");
    char one[1];
    nu_redact("https://a:b@c", one, sizeof(one));
    assert_string_equal(one, "");
    nu_redact(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_inplace_and_was_redacted(void **state)
{
    (void)state;
    char buf[64] = "GET http://a:b@h/x";
    nu_redact_inplace(buf, sizeof(buf));
    assert_string_equal(buf, "GET http://***@h/x");
    assert_true(nu_redact_was_redacted(buf));
    assert_false(nu_redact_was_redacted("http://a@h"));
    /* "a@" grows into "***@": a full buffer is cut, never overrun */
    char small[14] = "http://a@host";
    nu_redact_inplace(small, sizeof(small));
    assert_string_equal(small, "http://***@ho");
}

static void test_error_messages_and_log_values_are_redacted(void **state)
{
    (void)state;
    char errbuf[NU_ERRMSG_MAX], val[128];
    assert_int_equal(nu_err_set(errbuf, NU_ENET, "GET %s: %s", "https://bob:hunter2@h/f",
                                "Couldn't connect to server"),
                     NU_ENET);
    assert_string_equal(errbuf, "GET https://***@h/f: Couldn't connect to server");
    nu_log_format_value(val, sizeof(val), "http://bob:hunter2@h");
    assert_string_equal(val, "http://***@h");
    nu_log_format_value(val, sizeof(val), "see http://bob:hunter2@h");
    assert_string_equal(val, "\"see http://***@h\"");
}

/* A message cut at NU_ERRMSG_MAX inside a URL's userinfo (before its
 * '@') must not show the part of the password before the cut. */
static void test_long_messages_are_redacted_before_they_are_cut(void **state)
{
    (void)state;
    char errbuf[NU_ERRMSG_MAX], pad[NU_ERRMSG_MAX - 20], pass[3000];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    memset(pass, 'p', sizeof(pass) - 1);
    pass[sizeof(pass) - 1] = '\0';
    nu_err_set(errbuf, NU_ENET, "%s GET http://user:%s@h/x", pad, pass);
    assert_int_equal(strlen(errbuf), strlen(pad) + 19);
    assert_null(strstr(errbuf, "user"));
    assert_null(strstr(errbuf, "pp"));
    assert_string_equal(errbuf + strlen(pad), " GET http://***@h/x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userinfo_of_one_url),
        cmocka_unit_test(test_urls_inside_a_message),
        cmocka_unit_test(test_what_is_left_alone),
        cmocka_unit_test(test_cut_short_and_null),
        cmocka_unit_test(test_inplace_and_was_redacted),
        cmocka_unit_test(test_error_messages_and_log_values_are_redacted),
        cmocka_unit_test(test_long_messages_are_redacted_before_they_are_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
