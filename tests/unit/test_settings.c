/* Tests for settings.c and settings_help.c: the codecs, storing each type
 * with its bounds and messages, defaults, formatting, help and dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "settings.h"

struct obj {
    bool flag;
    unsigned count, ms, secs, stale_ms;
    int64_t height;
    uint64_t bytes;
    const char *str;
    char text[8];
    int mode;
    const char *list[3];
};

#define F(f) NU_FIELD(struct obj, f)

static int set_even(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    if (strlen(v) % 2 != 0) {
        snprintf(msg, msgsz, "\"%s\" has an odd length", v);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, v, msg, msgsz);
}

static const struct nu_setting table[] = {
    {.name = "flag", .type = NU_T_BOOL, F(flag), .help = "a flag", .section = "a"},
    {.name = "count",
     .short_name = 'n',
     .type = NU_T_UINT,
     F(count),
     .def = "3",
     .min = 1,
     .max = 100,
     .help = "how many",
     .section = "a"},
    {.name = "wait_ms",
     .type = NU_T_MS,
     F(ms),
     .def = "1s",
     .min = 10,
     .max = 3600000,
     .help = "a wait",
     .section = "b",
     .flags = NU_S_RESTART},
    {.name = "secs",
     .type = NU_T_SECONDS,
     F(secs),
     .def = "60",
     .min = 1,
     .max = 86400,
     .help = "seconds",
     .section = "b"},
    {.name = "stale",
     .type = NU_T_MS_SECS,
     F(stale_ms),
     .def = "30",
     .min = 10,
     .max = 86400000,
     .help = "stale after",
     .section = "b"},
    {.name = "height",
     .type = NU_T_I64,
     F(height),
     .max = INT64_MAX / 2,
     .help = "a height",
     .section = "b"},
    {.name = "bytes",
     .type = NU_T_SIZE,
     F(bytes),
     .def = "16KiB",
     .min = 1024,
     .max = 1ull << 30,
     .help = "a size",
     .section = "b"},
    {.name = "str", .type = NU_T_STR, F(str), .metavar = "URL", .help = "a url", .section = "c"},
    {.name = "text",
     .type = NU_T_TEXT,
     F(text),
     .def = "ab",
     .set = set_even,
     .help = "even text",
     .section = "c"},
    {.name = "mode",
     .type = NU_T_ENUM,
     F(mode),
     .def = "fast",
     .choices = "slow|fast|off",
     .help = "a mode",
     .section = "c"},
    {.name = "list",
     .type = NU_T_LIST,
     F(list),
     .metavar = "KEY=VAL",
     .help = "a list",
     .section = "c"},
    {.name = "secret", .type = NU_T_STR, F(str), .flags = NU_S_HIDDEN, .help = "hidden"},
    {.name = "txt", .alias_of = "text", .flags = NU_S_HIDDEN},
    {.name = "t2", .alias_of = "text", .flags = NU_S_HIDDEN},
};

#define N (sizeof(table) / sizeof(table[0]))

static const struct nu_setting *find(const char *name)
{
    const struct nu_setting *s = nu_setting_find(table, N, name, strlen(name));
    assert_non_null(s);
    return s;
}

/* Sets name to v on o; returns the message (empty on success). */
static const char *set(struct obj *o, const char *name, const char *v, int want)
{
    static char msg[NU_ERRMSG_MAX];
    msg[0] = '\0';
    assert_int_equal(nu_setting_set(find(name), o, v, msg, sizeof(msg)), want);
    return msg;
}

static void test_parse_uint(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(nu_parse_uint("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(nu_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(nu_parse_uint("18446744073709551616", UINT64_MAX, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint("11", 10, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint("-1", 10, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint("+1", 10, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint(" 1", 10, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint("1 ", 10, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint("", 10, &v), NU_EINVAL);
    assert_int_equal(nu_parse_uint(NULL, 10, &v), NU_EINVAL);
    assert_int_equal(v, 7);
}

/* Bounds worded as a setting's are: the values outside any table. */
static void test_parse_uint_in(void **state)
{
    (void)state;
    uint64_t v = 7;
    char msg[128] = "";
    assert_int_equal(nu_parse_uint_in("1", 1, 1000, &v, msg, sizeof(msg)), 0);
    assert_int_equal(v, 1);
    assert_string_equal(msg, "");
    assert_int_equal(nu_parse_uint_in("65535", 0, 65535, &v, msg, sizeof(msg)), 0);
    assert_int_equal(v, 65535);
    v = 7;
    assert_int_equal(nu_parse_uint_in("0", 1, 1000, &v, msg, sizeof(msg)), NU_EINVAL);
    assert_string_equal(msg, "0 is out of range [1, 1000]");
    assert_int_equal(nu_parse_uint_in("65536", 0, 65535, &v, msg, sizeof(msg)), NU_EINVAL);
    assert_string_equal(msg, "65536 is out of range [0, 65535]");
    assert_int_equal(nu_parse_uint_in("lots", 0, 10, &v, msg, sizeof(msg)), NU_EINVAL);
    assert_string_equal(msg, "\"lots\" is not a whole number");
    assert_int_equal(nu_parse_uint_in("-1", 0, 10, &v, msg, sizeof(msg)), NU_EINVAL);
    assert_string_equal(msg, "\"-1\" is not a whole number");
    assert_int_equal(v, 7);
}

static void test_parse_bool(void **state)
{
    (void)state;
    bool b = false;
    assert_int_equal(nu_parse_bool("YES", &b), 0);
    assert_true(b);
    assert_int_equal(nu_parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(nu_parse_bool("1", &b), 0);
    assert_true(b);
    assert_int_equal(nu_parse_bool("0", &b), 0);
    assert_false(b);
    assert_int_equal(nu_parse_bool("2", &b), NU_EINVAL);
    assert_int_equal(nu_parse_bool("", &b), NU_EINVAL);
}

static void test_parse_size(void **state)
{
    (void)state;
    uint64_t v;
    static const struct {
        const char *in;
        uint64_t want;
    } ok[] = {{"512", 512},          {"0", 0},        {"64K", 65536},       {"64k", 65536},
              {"16KiB", 16384},      {"16kb", 16384}, {"10 MiB", 10485760}, {"1G", 1073741824},
              {"2gib", 2147483648u}, {"7b", 7},       {"100M", 104857600}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(nu_parse_size(ok[i].in, &v), 0);
        assert_true(v == ok[i].want);
    }
    static const char *const bad[] = {"", "K", "1.5K", "1T", "-1", "1KiBs", "1 K B", "12x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nu_parse_size(bad[i], &v), NU_EINVAL);
}

static void test_parse_duration(void **state)
{
    (void)state;
    uint64_t v;
    static const struct {
        const char *in;
        uint64_t bare, want;
    } ok[] = {{"250", 1, 250},    {"250ms", 1, 250},   {"2s", 1, 2000},     {"5m", 1, 300000},
              {"1h", 1, 3600000}, {"1.5s", 1, 1500},   {"30", 1000, 30000}, {"0.5", 1000, 500},
              {"0.01", 1000, 10}, {"0.0004", 1000, 0}, {"0.0005", 1000, 1}, {"2 m", 1, 120000},
              {"1.25ms", 1, 1},   {"1.5ms", 1, 2},     {"90S", 1, 90000}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(nu_parse_duration_ms(ok[i].in, ok[i].bare, &v), 0);
        assert_true(v == ok[i].want);
    }
    static const char *const bad[] = {"", "s", "1.s", ".5", "1d", "-1s", "1e3", "1,5s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nu_parse_duration_ms(bad[i], 1, &v), NU_EINVAL);
}

static void test_format_round_trips(void **state)
{
    (void)state;
    char out[32];
    nu_format_ms(0, out, sizeof(out));
    assert_string_equal(out, "0ms");
    nu_format_ms(7200000, out, sizeof(out));
    assert_string_equal(out, "2h");
    nu_format_ms(90000, out, sizeof(out));
    assert_string_equal(out, "90s");
    nu_format_ms(1500, out, sizeof(out));
    assert_string_equal(out, "1500ms");
    nu_format_size(0, out, sizeof(out));
    assert_string_equal(out, "0");
    nu_format_size(1ull << 32, out, sizeof(out));
    assert_string_equal(out, "4GiB");
    nu_format_size(1536, out, sizeof(out));
    assert_string_equal(out, "1536");
    nu_format_size(3 << 20, out, sizeof(out));
    assert_string_equal(out, "3MiB");
}

static void test_find_names_and_aliases(void **state)
{
    (void)state;
    assert_ptr_equal(nu_setting_find(table, N, "wait-ms", 7), &table[2]);
    assert_ptr_equal(nu_setting_find(table, N, "wait_ms", 7), &table[2]);
    assert_ptr_equal(nu_setting_find(table, N, "txt", 3), &table[8]);
    assert_ptr_equal(nu_setting_find(table, N, "t2", 2), &table[8]);
    assert_null(nu_setting_find(table, N, "t", 1));
    assert_null(nu_setting_find(table, N, "wait", 4));
    assert_ptr_equal(nu_setting_find(table, N, "countX", 5), &table[1]); /* len counts */
    const struct nu_setting *alias = &table[0];
    assert_ptr_equal(nu_setting_lookup(table, N, "t2", 2, &alias), &table[8]);
    assert_ptr_equal(alias, &table[N - 1]);
    assert_ptr_equal(nu_setting_lookup(table, N, "text", 4, &alias), &table[8]);
    assert_null(alias);
    assert_ptr_equal(nu_setting_target(table, N, &table[N - 2]), &table[8]);
    assert_ptr_equal(nu_setting_target(table, N, &table[3]), &table[3]);
}

/* Alias rows as help shows them, and dump leaves them out. */
static const struct nu_setting spelled[] = {
    {.name = "mode",
     .type = NU_T_ENUM,
     F(mode),
     .def = "fast",
     .choices = "slow|fast|off",
     .help = "a mode"},
    {.name = "count",
     .short_name = 'n',
     .type = NU_T_UINT,
     F(count),
     .def = "3",
     .max = 9,
     .help = "how many"},
    {.name = "num-count", .alias_of = "count", .help = "the old spelling"},
    {.name = "slowly", .alias_of = "mode", .alias_value = "slow", .help = "go slow"},
    {.short_name = 'c', .alias_of = "count"},
    {.name = "hidden-count", .alias_of = "count", .flags = NU_S_HIDDEN},
};

static void test_alias_help_and_dump(void **state)
{
    (void)state;
    size_t n = sizeof(spelled) / sizeof(spelled[0]);
    struct nu_buf b;
    nu_buf_init(&b, 1 << 16);
    assert_int_equal(nu_settings_help(spelled, n, &b), 0);
    assert_string_equal(b.data, "  --mode WORD (default \"fast\"; one of slow|fast|off)\n"
                                "      a mode\n"
                                "  -n, --count N (default \"3\"; range [0, 9])\n"
                                "      how many\n"
                                "  --num-count N (same as --count)\n"
                                "      the old spelling\n"
                                "  --slowly (same as --mode slow)\n"
                                "      go slow\n"
                                "  -c N (same as --count)\n"
                                "      \n");
    nu_buf_release(&b);
    struct obj o = {0};
    char msg[NU_ERRMSG_MAX];
    assert_int_equal(nu_settings_defaults(spelled, n, &o, msg, sizeof(msg)), 0);
    nu_buf_init(&b, 1 << 16);
    assert_int_equal(nu_settings_dump(spelled, n, &o, &b), 0);
    assert_string_equal(b.data, "mode = fast\ncount = 3\n");
    nu_buf_release(&b);
    struct nu_setting shown;
    nu_setting_display(spelled, n, &spelled[3], &shown);
    assert_int_equal(shown.type, NU_T_BOOL);
    assert_null(shown.choices);
    assert_string_equal(shown.name, "slowly");
    nu_setting_display(spelled, n, &spelled[4], &shown);
    assert_int_equal(shown.type, NU_T_UINT);
    assert_null(shown.name);
    assert_int_equal(shown.short_name, 'c');
    assert_null(shown.def);
    char flag[16] = "x";
    nu_setting_flag_name(&shown, flag, sizeof(flag));
    assert_string_equal(flag, "");
}

static void test_numbers_and_messages(void **state)
{
    (void)state;
    struct obj o = {0};
    assert_string_equal(set(&o, "count", "100", 0), "");
    assert_int_equal(o.count, 100);
    assert_string_equal(set(&o, "count", "0", NU_EINVAL), "0 is out of range [1, 100]");
    assert_string_equal(set(&o, "count", "x", NU_EINVAL), "\"x\" is not a whole number");
    assert_int_equal(o.count, 100);
    assert_string_equal(set(&o, "wait_ms", "1.5s", 0), "");
    assert_int_equal(o.ms, 1500);
    assert_string_equal(set(&o, "wait_ms", "5ms", NU_EINVAL),
                        "5ms is out of range [10, 3600000] ms");
    assert_string_equal(set(&o, "wait_ms", "soon", NU_EINVAL),
                        "\"soon\" is not a duration (250ms, 2s, 5m, 1h)");
    assert_string_equal(set(&o, "secs", "5m", 0), "");
    assert_int_equal(o.secs, 300);
    assert_string_equal(set(&o, "secs", "1500ms", NU_EINVAL),
                        "\"1500ms\" is not a number of seconds (30, 30s, 5m, 1h)");
    assert_string_equal(set(&o, "secs", "0", NU_EINVAL), "0 is out of range [1, 86400] s");
    assert_string_equal(set(&o, "stale", "0.5", 0), "");
    assert_int_equal(o.stale_ms, 500);
    assert_string_equal(set(&o, "stale", "0", NU_EINVAL), "0 is out of range [10, 86400000] ms");
    assert_string_equal(set(&o, "height", "4611686018427387903", 0), "");
    assert_true(o.height == INT64_MAX / 2);
    assert_string_equal(set(&o, "height", "-5", NU_EINVAL), "\"-5\" is not a whole number");
    assert_string_equal(set(&o, "height", "4611686018427387904", NU_EINVAL),
                        "4611686018427387904 is out of range [0, 4611686018427387903]");
    assert_string_equal(set(&o, "bytes", "2MiB", 0), "");
    assert_true(o.bytes == 2u << 20);
    assert_string_equal(set(&o, "bytes", "512", NU_EINVAL),
                        "512 is out of range [1024, 1073741824] bytes");
    assert_string_equal(set(&o, "bytes", "lots", NU_EINVAL),
                        "\"lots\" is not a size (512, 16KiB, 10MiB)");
}

static void test_text_enum_list_bool(void **state)
{
    (void)state;
    struct obj o = {0};
    const char *url = "http://x";
    assert_string_equal(set(&o, "str", url, 0), "");
    assert_ptr_equal(o.str, url); /* not copied */
    assert_string_equal(set(&o, "text", "abcd", 0), "");
    assert_string_equal(o.text, "abcd");
    assert_string_equal(set(&o, "text", "abc", NU_EINVAL), "\"abc\" has an odd length");
    assert_string_equal(set(&o, "text", "abcdefgh", NU_EINVAL), "value longer than 7 bytes");
    assert_string_equal(o.text, "abcd");
    assert_string_equal(set(&o, "mode", "off", 0), "");
    assert_int_equal(o.mode, 2);
    assert_string_equal(set(&o, "mode", "Off", NU_EINVAL), "\"Off\" is not one of slow|fast|off");
    assert_string_equal(set(&o, "list", "a=1", 0), "");
    assert_string_equal(set(&o, "list", "b=2", 0), "");
    assert_string_equal(set(&o, "list", "c=3", NU_EINVAL), "more than 2 given");
    assert_string_equal(o.list[0], "a=1");
    assert_string_equal(o.list[1], "b=2");
    assert_null(o.list[2]);
    assert_string_equal(set(&o, "flag", "on", 0), "");
    assert_true(o.flag);
    assert_string_equal(set(&o, "flag", "maybe", NU_EINVAL), "\"maybe\" is not true or false");
}

static void test_defaults_and_format(void **state)
{
    (void)state;
    struct obj o = {.height = -1};
    char msg[NU_ERRMSG_MAX], out[64];
    assert_int_equal(nu_settings_defaults(table, N, &o, msg, sizeof(msg)), 0);
    assert_int_equal(o.count, 3);
    assert_int_equal(o.ms, 1000);
    assert_int_equal(o.secs, 60);
    assert_int_equal(o.stale_ms, 30000);
    assert_true(o.height == -1); /* no default: left alone */
    assert_true(o.bytes == 16384);
    assert_string_equal(o.text, "ab");
    assert_int_equal(o.mode, 1);
    static const char *const want[][2] = {{"flag", "false"},  {"count", "3"},   {"wait_ms", "1s"},
                                          {"secs", "60"},     {"stale", "30s"}, {"height", "-1"},
                                          {"bytes", "16KiB"}, {"str", ""},      {"text", "ab"},
                                          {"mode", "fast"},   {"list", ""}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        nu_setting_format(find(want[i][0]), &o, out, sizeof(out));
        assert_string_equal(out, want[i][1]);
    }
    assert_string_equal(set(&o, "list", "a=1", 0), "");
    assert_string_equal(set(&o, "list", "b=2", 0), "");
    nu_setting_format(find("list"), &o, out, sizeof(out));
    assert_string_equal(out, "a=1,b=2");

    static const struct nu_setting bad[] = {
        {.name = "n", .type = NU_T_UINT, F(count), .def = "1000", .max = 10}};
    assert_int_equal(nu_settings_defaults(bad, 1, &o, msg, sizeof(msg)), NU_EINVAL);
    assert_string_equal(msg, "default of n: 1000 is out of range [0, 10]");
}

static void test_help(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 1 << 16);
    assert_int_equal(nu_settings_help(table, 4, &b), 0);
    assert_string_equal(b.data,
                        "\n[a]\n"
                        "  --flag\n"
                        "      a flag\n"
                        "  -n, --count N (default \"3\"; range [1, 100])\n"
                        "      how many\n"
                        "\n[b]\n"
                        "  --wait-ms DURATION (default \"1s\"; range [10, 3600000] ms; read "
                        "at start only)\n"
                        "      a wait\n"
                        "  --secs SECONDS (default \"60\"; range [1, 86400] s)\n"
                        "      seconds\n");
    nu_buf_release(&b);
    nu_buf_init(&b, 1 << 16);
    assert_int_equal(nu_settings_help(table + 7, N - 7, &b), 0);
    assert_string_equal(b.data, "\n[c]\n"
                                "  --str URL\n"
                                "      a url\n"
                                "  --text TEXT (default \"ab\")\n"
                                "      even text\n"
                                "  --mode WORD (default \"fast\"; one of slow|fast|off)\n"
                                "      a mode\n"
                                "  --list KEY=VAL\n"
                                "      a list\n");
    nu_buf_release(&b);
}

static void test_dump_and_differ(void **state)
{
    (void)state;
    struct obj a = {0}, b;
    char msg[NU_ERRMSG_MAX];
    assert_int_equal(nu_settings_defaults(table, N, &a, msg, sizeof(msg)), 0);
    struct nu_buf out;
    nu_buf_init(&out, 1 << 16);
    assert_int_equal(nu_settings_dump(table + 1, 3, &a, &out), 0);
    assert_string_equal(out.data, "\n[a]\ncount = 3\n\n[b]\nwait_ms = 1s\nsecs = 60\n");
    nu_buf_release(&out);
    b = a;
    assert_null(nu_settings_differ(table, N, &a, &b, 0));
    b.count = 4;
    assert_ptr_equal(nu_settings_differ(table, N, &a, &b, 0), find("count"));
    assert_null(nu_settings_differ(table, N, &a, &b, NU_S_RESTART));
    b.ms = 5;
    assert_ptr_equal(nu_settings_differ(table, N, &a, &b, NU_S_RESTART), find("wait_ms"));
}

static void test_bounds_and_metavar(void **state)
{
    (void)state;
    char out[80];
    nu_setting_bounds(find("str"), out, sizeof(out));
    assert_string_equal(out, "");
    nu_setting_bounds(find("bytes"), out, sizeof(out));
    assert_string_equal(out, "[1024, 1073741824] bytes");
    assert_null(nu_setting_metavar(find("flag")));
    assert_string_equal(nu_setting_metavar(find("count")), "N");
    assert_string_equal(nu_setting_metavar(find("bytes")), "SIZE");
    assert_string_equal(nu_setting_metavar(find("str")), "URL");
    nu_setting_flag_name(find("wait_ms"), out, sizeof(out));
    assert_string_equal(out, "wait-ms");
    nu_setting_notes(find("flag"), out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_parse_uint_in),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_find_names_and_aliases),
        cmocka_unit_test(test_numbers_and_messages),
        cmocka_unit_test(test_text_enum_list_bool),
        cmocka_unit_test(test_defaults_and_format),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_dump_and_differ),
        cmocka_unit_test(test_bounds_and_metavar),
        cmocka_unit_test(test_alias_help_and_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
