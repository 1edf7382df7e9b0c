/* Running a command from the table: its setup flags, subcommands, flags
 * parsed against its settings table, --help (cmd.h). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "httpc.h"
#include "lazylib.h"

#define HELP_MAX (1u << 20)

static bool is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0;
}

static int dispatch_sub(const struct cli_cmd *c, int argc, char **argv)
{
    const struct cli_doc *d = c->doc;
    if (argc < 2) {
        cli_print_usage(d, stderr);
        return 2;
    }
    if (is_help(argv[1])) {
        cli_print_help(d, stdout);
        return 0;
    }
    for (size_t i = 0; i < d->nsubs; i++) {
        if (strcmp(d->subs[i].name, argv[1]) == 0)
            return cli_dispatch(&d->subs[i], argc - 1, argv + 1);
    }
    return cli_usage(d->prog, "unknown subcommand '%s'", argv[1]);
}

int cli_dispatch(const struct cli_cmd *c, int argc, char **argv)
{
    if (c->fn == NULL)
        return dispatch_sub(c, argc, argv);
    if (c->flags & CLI_SIGNALS)
        cli_catch_signals();
    char err[NU_ERRMSG_MAX];
    if ((c->flags & CLI_CURL) && nu_lazylib_load(&nu_libcurl, err) != 0) {
        cli_error(c->doc->prog, "%s; install libcurl (Debian: libcurl4)", err);
        return 1;
    }
    if ((c->flags & CLI_CURL) && nu_httpc_global_init() != 0) {
        cli_error(c->doc->prog, "cannot initialise libcurl");
        return 1;
    }
    int rc = c->fn(argc, argv);
    if (c->flags & CLI_CURL)
        nu_httpc_global_cleanup();
    return rc;
}

/* ---- help ---- */

void cli_print_usage(const struct cli_doc *doc, FILE *out)
{
    if (doc->nsubs == 0) {
        fprintf(out, "usage: %s\n", doc->usage);
        return;
    }
    for (size_t i = 0; i < doc->nsubs; i++)
        fprintf(out, "%s%s\n", i == 0 ? "usage: " : "       ", doc->subs[i].doc->usage);
}

static void print_table(const struct nu_setting *t, size_t n, const char *title, FILE *out)
{
    struct nu_buf b;
    nu_buf_init(&b, HELP_MAX);
    if (n > 0 && nu_settings_help(t, n, &b) == 0 && b.data != NULL)
        fprintf(out, "\n%s:\n%s", title, b.data);
    nu_buf_release(&b);
}

void cli_print_help(const struct cli_doc *doc, FILE *out)
{
    cli_print_usage(doc, out);
    if (doc->about != NULL)
        fprintf(out, "\n%s", doc->about);
    for (size_t i = 0; i < doc->nsubs; i++) {
        if (i == 0)
            fprintf(out, "\ncommands:\n");
        if (!(doc->subs[i].flags & CLI_HIDDEN))
            fprintf(out, "  %-10s %s\n", doc->subs[i].name, doc->subs[i].doc->summary);
    }
    print_table(doc->opts, doc->nopts, "options", out);
    if (doc->settings != NULL)
        print_table(doc->settings->t, doc->settings->n,
                    "settings (also valid as NAME = VALUE in the file)", out);
}

/* ---- flags ---- */

/* A parse failure, the one way usage errors read (nu_args_describe). */
static int cli_args_error(const char *prog, const struct nu_args_error *e)
{
    char what[NU_ERRMSG_MAX + 100];
    nu_args_describe(e, what, sizeof(what));
    return cli_usage(prog, "%s", what);
}

/* An alias row is another program's spelling (the Python nearup's): the
 * command works as written, and one line says how nearup spells it. */
static void hint_alias(const struct nu_setting *t, size_t n, const struct nu_setting *alias)
{
    char written[128], spelled[256];
    nu_args_alias_words(t, n, alias, written, sizeof(written), spelled, sizeof(spelled));
    cli_hint("%s is spelled %s here", written, spelled);
}

static int parse(const struct cli_doc *doc, const struct nu_setting *t, size_t n, int argc,
                 char **argv, void *obj, char **pos, size_t maxpos, size_t *npos)
{
    char msg[NU_ERRMSG_MAX];
    NU_BUG_ON(nu_settings_defaults(t, n, obj, msg, sizeof(msg)) != 0);
    struct nu_args a = {
        .table = t,
        .n = n,
        .obj = obj,
        .flags = NU_ARGS_HELP,
        .pos = pos,
        .maxpos = maxpos,
    };
    enum nu_args_status st = nu_args_parse(&a, argc, argv, 1);
    if (npos != NULL)
        *npos = a.npos;
    if (st == NU_ARGS_E_HELP) {
        cli_print_help(doc, stdout);
        return -1;
    }
    if (st != NU_ARGS_OK)
        return cli_args_error(doc->prog, &a.err);
    for (size_t i = 0; i < a.naliases; i++)
        hint_alias(t, n, a.aliases[i]);
    return 0;
}

int cli_parse(const struct cli_doc *doc, int argc, char **argv, void *obj, char **pos,
              size_t maxpos, size_t *npos)
{
    return parse(doc, doc->opts, doc->nopts, argc, argv, obj, pos, maxpos, npos);
}

int cli_parse_table(const struct cli_doc *doc, const struct nu_setting *t, size_t n, int argc,
                    char **argv, void *obj)
{
    return parse(doc, t, n, argc, argv, obj, NULL, 0, NULL);
}
