/* Tests for settings_file.c: INI text and the environment read through a
 * settings table, every problem one line with the file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

struct obj {
    unsigned count;
    char name[8];
    char items[3][8];
    size_t nitems;
};

#define F(f) NU_FIELD(struct obj, f)

/* A repeatable setting whose values the hook copies (as it must: a line's
 * text does not outlive it). */
static int add_item(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct obj *o = obj;
    if (o->nitems == 3 || strlen(v) >= sizeof(o->items[0])) {
        snprintf(msg, msgsz, "no room for \"%s\"", v);
        return NU_EINVAL;
    }
    snprintf(o->items[o->nitems++], sizeof(o->items[0]), "%s", v);
    return 0;
}

static const struct nu_setting table[] = {
    {.name = "count", .type = NU_T_UINT, F(count), .def = "3", .max = 10, .section = "main"},
    {.name = "name", .type = NU_T_TEXT, F(name), .section = "main"},
    {.name = "item",
     .type = NU_T_TEXT,
     F(items),
     .flags = NU_S_MANY,
     .set = add_item,
     .section = "more"},
};

#define NT (sizeof(table) / sizeof(table[0]))

struct run {
    struct obj o;
    struct nu_buf errs;
    struct nu_settings_load l;
};

static int extra(struct nu_settings_load *l, const char *section, const char *name,
                 const char *value)
{
    if (strcmp(section, "other") != 0)
        return 0;
    if (strcmp(name, "bad") == 0)
        nu_settings_error(l, l->file, l->line, "bad in [other]: %s", value);
    return 1;
}

static void load(struct run *r, const char *text)
{
    char msg[NU_ERRMSG_MAX];
    memset(&r->o, 0, sizeof(r->o));
    nu_buf_release(&r->errs);
    nu_buf_init(&r->errs, 4096);
    assert_int_equal(nu_settings_defaults(table, NT, &r->o, msg, sizeof(msg)), 0);
    r->l = (struct nu_settings_load){
        .t = table, .n = NT, .obj = &r->o, .file = "c.ini", .extra = extra, .errs = &r->errs};
    nu_settings_parse_ini(&r->l, text, strlen(text));
}

static const char *errs(struct run *r)
{
    return r->errs.data ? r->errs.data : "";
}

static void test_values_and_sections(void **state)
{
    (void)state;
    struct run r = {0};
    load(&r, "; comment\ncount = 7\n[main]\nname: ab\n[more]\nitem = x\nitem = yz\n"
             "[other]\nanything = 1\n");
    assert_string_equal(errs(&r), "");
    assert_int_equal(r.l.nerr, 0);
    assert_int_equal(r.o.count, 7);
    assert_string_equal(r.o.name, "ab");
    assert_int_equal(r.o.nitems, 2);
    assert_string_equal(r.o.items[0], "x");
    assert_string_equal(r.o.items[1], "yz");
    assert_int_equal(r.l.line, 0); /* outside the file again */
    nu_buf_release(&r.errs);
}

static void test_every_problem_with_its_line(void **state)
{
    (void)state;
    struct run r = {0};
    load(&r, "count = 11\n[main]\ncount = 2\ncount = 4\nnope = 1\nitem = q\nmax-lag = 1\n"
             "just words\n[weird]\nx = 1\n[other]\nbad = v\n");
    assert_string_equal(errs(&r), "c.ini:1: count: 11 is out of range [0, 10]\n"
                                  "c.ini:3: count is set twice (first on line 1)\n"
                                  "c.ini:4: count is set twice (first on line 1)\n"
                                  "c.ini:5: unknown setting \"nope\" in [main]\n"
                                  "c.ini:6: item belongs in [more], not [main]\n"
                                  "c.ini:7: unknown setting \"max-lag\" in [main]\n"
                                  "c.ini:8: syntax error: expected [section] or name = value\n"
                                  "c.ini:10: unknown section [weird]\n"
                                  "c.ini:12: bad in [other]: v\n");
    assert_int_equal(r.l.nerr, 9);
    assert_int_equal(r.o.count, 3); /* the default: a bad line still counts as the one setting */
    load(&r, "name = a\0b");
    assert_int_equal(r.l.nerr, 0); /* strlen stops at the NUL: nothing after it is read */
    r.l.nerr = 0;
    nu_settings_parse_ini(&r.l, "name = a\0b", 10);
    assert_string_equal(errs(&r), "c.ini: contains a NUL byte\n");
    nu_buf_release(&r.errs);
}

static void test_errors_are_capped(void **state)
{
    (void)state;
    struct run r = {0};
    char text[2000];
    size_t len = 0;
    for (int i = 0; i < 30; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "nope = 1\n");
    load(&r, text);
    assert_int_equal(r.l.nerr, 30);
    size_t lines = 0;
    for (const char *p = errs(&r); *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, NU_SETTINGS_MAX_ERRORS);
    assert_non_null(strstr(errs(&r), "c.ini:20: unknown setting \"nope\"\n"));
    assert_null(strstr(errs(&r), "c.ini:21:"));
    nu_buf_release(&r.errs);
}

static void test_environment(void **state)
{
    (void)state;
    struct run r = {0};
    load(&r, "count = 1\n");
    setenv("NU_TEST_COUNT", "9", 1);
    setenv("NU_TEST_ITEM", "e", 1);
    nu_settings_parse_env(&r.l, "NU_TEST_");
    assert_int_equal(r.o.count, 9);
    assert_int_equal(r.o.nitems, 1);
    assert_string_equal(r.o.items[0], "e");
    setenv("NU_TEST_COUNT", "x", 1);
    nu_settings_parse_env(&r.l, "NU_TEST_");
    assert_string_equal(errs(&r), "env NU_TEST_COUNT: count: \"x\" is not a whole number\n");
    unsetenv("NU_TEST_COUNT");
    unsetenv("NU_TEST_ITEM");
    nu_buf_release(&r.errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_sections),
        cmocka_unit_test(test_every_problem_with_its_line),
        cmocka_unit_test(test_errors_are_capped),
        cmocka_unit_test(test_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
