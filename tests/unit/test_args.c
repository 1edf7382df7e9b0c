/* Tests for args.c: command lines against a settings table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "args.h"

struct opts {
    bool all, follow, quiet;
    unsigned lines;
    const char *home, *verbose;
    const char *env[3];
};

#define F(f) NU_FIELD(struct opts, f)

static const struct nu_setting table[] = {
    {.name = "all", .type = NU_T_BOOL, F(all)},
    {.name = "follow", .short_name = 'f', .type = NU_T_BOOL, F(follow)},
    {.name = "quiet", .short_name = 'q', .type = NU_T_BOOL, F(quiet)},
    {.name = "lines", .short_name = 'n', .type = NU_T_UINT, F(lines), .max = 1000},
    {.name = "home", .type = NU_T_STR, F(home)},
    {.name = "verbose", .type = NU_T_STR, F(verbose), .flags = NU_S_OPTVALUE},
    {.name = "env", .type = NU_T_LIST, F(env)},
    {.name = "keep-old", .type = NU_T_BOOL, F(quiet)},
    {.name = "dir", .alias_of = "home"},
    {.name = "debug", .alias_of = "env", .alias_value = "LOG=debug"},
    {.short_name = 'l', .alias_of = "lines"},
    {.name = "tail", .alias_of = "follow"},
    {.name = "broken", .alias_of = "nothing"},
};

struct run {
    struct opts o;
    struct nu_args a;
    char *pos[2];
};

/* Parses the words (a NULL-terminated list after the program name). */
static enum nu_args_status parse(struct run *r, unsigned flags, char **argv)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    memset(r, 0, sizeof(*r));
    r->a = (struct nu_args){.table = table,
                            .n = sizeof(table) / sizeof(table[0]),
                            .obj = &r->o,
                            .flags = flags,
                            .pos = r->pos,
                            .maxpos = 2};
    return nu_args_parse(&r->a, argc, argv, 1);
}

#define WORDS(...) ((char *[]){"prog", __VA_ARGS__, NULL})

static void test_long_short_and_positionals(void **state)
{
    (void)state;
    struct run r;
    assert_int_equal(parse(&r, 0,
                           WORDS("first", "--home", "/h", "--lines=7", "-fq", "second", "--env",
                                 "A=1", "--env=B=2")),
                     NU_ARGS_OK);
    assert_string_equal(r.o.home, "/h");
    assert_int_equal(r.o.lines, 7);
    assert_true(r.o.follow && r.o.quiet && !r.o.all);
    assert_string_equal(r.o.env[0], "A=1");
    assert_string_equal(r.o.env[1], "B=2");
    assert_int_equal(r.a.npos, 2);
    assert_string_equal(r.pos[0], "first");
    assert_string_equal(r.pos[1], "second");

    assert_int_equal(parse(&r, 0, WORDS("-n5", "--dir", "x")), NU_ARGS_OK);
    assert_int_equal(r.o.lines, 5);
    assert_string_equal(r.o.home, "x");
    assert_int_equal(parse(&r, 0, WORDS("-fn", "9")), NU_ARGS_OK);
    assert_true(r.o.follow);
    assert_int_equal(r.o.lines, 9);
}

static void test_values_are_taken_whatever_they_look_like(void **state)
{
    (void)state;
    struct run r;
    assert_int_equal(parse(&r, 0, WORDS("--home", "--all")), NU_ARGS_OK);
    assert_string_equal(r.o.home, "--all");
    assert_false(r.o.all);
    assert_int_equal(parse(&r, 0, WORDS("--lines", "-1")), NU_ARGS_E_BAD_VALUE);
    assert_ptr_equal(r.a.err.s, &table[3]);
    assert_string_equal(r.a.err.word, "--lines");
    assert_string_equal(r.a.err.value, "-1");
    assert_string_equal(r.a.err.msg, "\"-1\" is not a whole number");
}

static void test_errors(void **state)
{
    (void)state;
    struct run r;
    assert_int_equal(parse(&r, 0, WORDS("--bogus")), NU_ARGS_E_UNKNOWN);
    assert_string_equal(r.a.err.word, "--bogus");
    assert_int_equal(parse(&r, 0, WORDS("--keep", "3")), NU_ARGS_E_UNKNOWN); /* no prefixes */
    assert_int_equal(parse(&r, 0, WORDS("-x")), NU_ARGS_E_UNKNOWN);
    assert_int_equal(parse(&r, 0, WORDS("--home")), NU_ARGS_E_NEEDS_VALUE);
    assert_ptr_equal(r.a.err.s, &table[4]);
    assert_int_equal(parse(&r, 0, WORDS("-n")), NU_ARGS_E_NEEDS_VALUE);
    assert_string_equal(r.a.err.word, "-n");
    assert_int_equal(parse(&r, 0, WORDS("--all=yes")), NU_ARGS_E_UNEXPECTED_VALUE);
    assert_string_equal(r.a.err.word, "--all=yes");
    assert_int_equal(parse(&r, 0, WORDS("a", "b", "c")), NU_ARGS_E_EXTRA);
    assert_string_equal(r.a.err.word, "c");
    assert_int_equal(parse(&r, 0, WORDS("--lines", "2000")), NU_ARGS_E_BAD_VALUE);
    assert_string_equal(r.a.err.msg, "2000 is out of range [0, 1000]");
    assert_int_equal(parse(&r, 0, WORDS("--env", "1", "--env", "2", "--env", "3")),
                     NU_ARGS_E_BAD_VALUE);
    assert_string_equal(r.a.err.msg, "more than 2 given");
}

static void test_help(void **state)
{
    (void)state;
    struct run r;
    assert_int_equal(parse(&r, NU_ARGS_HELP, WORDS("--all", "--help", "--bogus")), NU_ARGS_E_HELP);
    assert_true(r.o.all);
    assert_int_equal(parse(&r, NU_ARGS_HELP, WORDS("-fh")), NU_ARGS_E_HELP);
    assert_int_equal(parse(&r, NU_ARGS_HELP, WORDS("--bogus", "--help")), NU_ARGS_E_UNKNOWN);
    assert_int_equal(parse(&r, 0, WORDS("--help")), NU_ARGS_E_UNKNOWN);
}

static void test_dashdash_and_dash(void **state)
{
    (void)state;
    struct run r;
    assert_int_equal(parse(&r, 0, WORDS("--", "--all", "-")), NU_ARGS_OK);
    assert_false(r.o.all);
    assert_string_equal(r.pos[0], "--all");
    assert_string_equal(r.pos[1], "-");
}

static bool not_a_command(const char *word, void *ud)
{
    return strcmp(word, ud) != 0;
}

static void test_optional_value_and_stop(void **state)
{
    (void)state;
    struct run r;
    assert_int_equal(parse(&r, NU_ARGS_STOP, WORDS("--verbose", "near", "init", "--all")),
                     NU_ARGS_OK);
    assert_string_equal(r.o.verbose, "near");
    assert_int_equal(r.a.next, 3);
    assert_false(r.o.all);

    memset(&r, 0, sizeof(r));
    char *argv[] = {"prog", "--verbose", "init", "--fast", NULL};
    r.a = (struct nu_args){.table = table,
                           .n = sizeof(table) / sizeof(table[0]),
                           .obj = &r.o,
                           .flags = NU_ARGS_STOP,
                           .optional_value = not_a_command,
                           .ud = "init"};
    assert_int_equal(nu_args_parse(&r.a, 4, argv, 1), NU_ARGS_OK);
    assert_string_equal(r.o.verbose, "");
    assert_int_equal(r.a.next, 2);

    assert_int_equal(parse(&r, 0, WORDS("--verbose", "--all")), NU_ARGS_OK);
    assert_string_equal(r.o.verbose, "");
    assert_true(r.o.all);
    assert_int_equal(parse(&r, 0, WORDS("--verbose=x")), NU_ARGS_OK);
    assert_string_equal(r.o.verbose, "x");
    assert_int_equal(parse(&r, NU_ARGS_STOP, WORDS("--all")), NU_ARGS_OK);
    assert_int_equal(r.a.next, 2);
}

static void test_alias_rows(void **state)
{
    (void)state;
    struct run r;
    /* Each spells its setting; each alias used is recorded once, in order. */
    assert_int_equal(
        parse(&r, 0, WORDS("--debug", "-l", "4", "--dir=/d", "--debug", "-fl7", "--tail")),
        NU_ARGS_OK);
    assert_string_equal(r.o.home, "/d");
    assert_int_equal(r.o.lines, 7);
    assert_true(r.o.follow);
    assert_string_equal(r.o.env[0], "LOG=debug");
    assert_string_equal(r.o.env[1], "LOG=debug");
    assert_int_equal(r.a.naliases, 4);
    assert_ptr_equal(r.a.aliases[0], &table[9]);
    assert_ptr_equal(r.a.aliases[1], &table[10]);
    assert_ptr_equal(r.a.aliases[2], &table[8]);
    assert_ptr_equal(r.a.aliases[3], &table[11]);
    /* A switch takes no value; a bad value names the alias as written. */
    assert_int_equal(parse(&r, 0, WORDS("--debug=x")), NU_ARGS_E_UNEXPECTED_VALUE);
    assert_ptr_equal(r.a.err.alias, &table[9]);
    assert_ptr_equal(r.a.err.s, &table[6]);
    assert_int_equal(parse(&r, 0, WORDS("-l", "x")), NU_ARGS_E_BAD_VALUE);
    assert_ptr_equal(r.a.err.s, &table[3]);
    assert_int_equal(r.a.naliases, 0);
    char out[NU_ERRMSG_MAX + 100];
    nu_args_describe(&r.a.err, out, sizeof(out));
    assert_string_equal(out, "-l: \"x\" is not a whole number");
    assert_int_equal(parse(&r, 0, WORDS("--dir")), NU_ARGS_E_NEEDS_VALUE);
    nu_args_describe(&r.a.err, out, sizeof(out));
    assert_string_equal(out, "--dir needs a value");
    assert_int_equal(parse(&r, 0, WORDS("--tail=1")), NU_ARGS_E_UNEXPECTED_VALUE);
    nu_args_describe(&r.a.err, out, sizeof(out));
    assert_string_equal(out, "--tail takes no value");
    /* An alias of a setting the table lacks is no option at all. */
    assert_int_equal(parse(&r, 0, WORDS("--broken")), NU_ARGS_E_UNKNOWN);
}

static void test_alias_words(void **state)
{
    (void)state;
    static const struct {
        size_t row;
        const char *written, *spelled;
    } cases[] = {
        {8, "--dir TEXT", "--home TEXT"}, {9, "--debug", "--env LOG=debug"}, {10, "-l N", "-n N"},
        {11, "--tail", "--follow"},       {12, "--broken", "--nothing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char w[64], s[64];
        nu_args_alias_words(table, sizeof(table) / sizeof(table[0]), &table[cases[i].row], w,
                            sizeof(w), s, sizeof(s));
        assert_string_equal(w, cases[i].written);
        assert_string_equal(s, cases[i].spelled);
    }
}

static void test_first_positional(void **state)
{
    (void)state;
    static const struct nu_setting other[] = {
        {.name = "nodes", .type = NU_T_UINT, F(lines)},
    };
    const struct nu_settings_table both[] = {{table, sizeof(table) / sizeof(table[0])}, {other, 1}};
    /* Values of options that take one are skipped, whichever table knows them. */
    assert_int_equal(
        nu_args_first_positional(both, 2, 6, WORDS("--home", "h", "--nodes", "2", "net"), 1), 5);
    assert_int_equal(
        nu_args_first_positional(both, 1, 6, WORDS("--home", "h", "--nodes", "2", "net"), 1),
        4); /* --nodes unknown to the first table: takes none */
    assert_int_equal(nu_args_first_positional(both, 2, 5, WORDS("--all", "--dir=x", "-f", "n"), 1),
                     4);
    assert_int_equal(nu_args_first_positional(both, 2, 4, WORDS("--debug", "--verbose", "n"), 1),
                     3); /* a switch, an optional value: neither takes the next word */
    assert_int_equal(nu_args_first_positional(both, 2, 4, WORDS("--all", "--", "--x"), 1), 3);
    assert_int_equal(nu_args_first_positional(both, 2, 3, WORDS("-f", "-"), 1), 2);
    assert_int_equal(nu_args_first_positional(both, 2, 3, WORDS("--all", "--tail"), 1), 3);
}

static void test_describe(void **state)
{
    (void)state;
    struct run r;
    char out[NU_ERRMSG_MAX + 100];
    static const struct {
        const char *words[4];
        const char *want;
    } cases[] = {
        {{"--bogus"}, "unknown option '--bogus'"},
        {{"-n"}, "-n needs a value"},
        {{"--all=1"}, "--all takes no value"},
        {{"-n", "x"}, "--lines: \"x\" is not a whole number"},
        {{"a", "b", "c"}, "unexpected argument 'c'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[6] = {"prog"};
        for (size_t k = 0; k < 4 && cases[i].words[k] != NULL; k++)
            argv[k + 1] = (char *)cases[i].words[k];
        assert_int_not_equal(parse(&r, 0, argv), NU_ARGS_OK);
        nu_args_describe(&r.a.err, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_short_and_positionals),
        cmocka_unit_test(test_values_are_taken_whatever_they_look_like),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_dashdash_and_dash),
        cmocka_unit_test(test_optional_value_and_stop),
        cmocka_unit_test(test_alias_rows),
        cmocka_unit_test(test_alias_words),
        cmocka_unit_test(test_first_positional),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
