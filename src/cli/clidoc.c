/* Man pages from the command table and the settings tables: the hidden
 * `nearup --print-man [CMD]`, run by the build (src/cli/meson.build), so a
 * page cannot say other than the command does. Completion is complete.c. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define NOTES_MAX 512

/* Text for roff: backslashes and dashes escaped, a line's leading dot or
 * quote defused, each '\n' kept. */
static void roff(FILE *out, const char *s)
{
    bool line_start = true;
    for (; *s != '\0'; s++) {
        if (line_start && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
        line_start = *s == '\n';
    }
}

/* A usage text as a no-fill block, continuation lines unindented. */
static void synopsis(FILE *out, const char *usage)
{
    fputs(".nf\n", out);
    for (const char *p = usage; *p != '\0';) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, "\n");
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        roff(out, line);
        fputc('\n', out);
        p += n + (p[n] == '\n');
    }
    fputs(".fi\n", out);
}

/* Paragraphs: a blank line starts a new one. */
static void paragraphs(FILE *out, const char *text)
{
    for (const char *p = text; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        if (n == 0) {
            fputs(".PP\n", out);
        } else {
            roff(out, line);
            fputc('\n', out);
        }
        p += n + (p[n] == '\n');
    }
}

static void option(FILE *out, const struct nu_setting *s)
{
    char flag[80], notes[NOTES_MAX];
    const char *meta = nu_setting_metavar(s);
    nu_setting_flag_name(s, flag, sizeof(flag));
    fputs(".TP\n", out);
    if (s->short_name != 0)
        fprintf(out, "\\fB\\-%c\\fR%s", s->short_name, s->name != NULL ? ", " : "");
    if (s->name != NULL) {
        fputs("\\fB\\-\\-", out);
        roff(out, flag);
        fputs("\\fR", out);
    }
    if (meta != NULL) {
        fputs((s->flags & NU_S_OPTVALUE) ? " [\\fI" : " \\fI", out);
        roff(out, meta);
        fputs((s->flags & NU_S_OPTVALUE) ? "\\fR]" : "\\fR", out);
    }
    fputc('\n', out);
    roff(out, s->help != NULL ? s->help : "");
    nu_setting_notes(s, notes, sizeof(notes));
    if (notes[0] != '\0') {
        fputs(" (", out);
        roff(out, notes);
        fputc(')', out);
    }
    fputc('\n', out);
}

static void options(FILE *out, const struct nu_setting *t, size_t n, bool help)
{
    const char *section = NULL;
    for (size_t i = 0; i < n; i++) {
        if (t[i].flags & NU_S_HIDDEN)
            continue;
        if (t[i].section != NULL && (section == NULL || strcmp(section, t[i].section) != 0)) {
            section = t[i].section;
            fprintf(out, ".SS [%s]\n", section);
        }
        struct nu_setting shown; /* an alias row with its setting's value */
        nu_setting_display(t, n, &t[i], &shown);
        option(out, &shown);
    }
    if (help)
        fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nprint the usage and these flags, then exit\n",
              out);
}

static void header(FILE *out, const char *page, const char *summary)
{
    char upper[64];
    size_t i = 0;
    for (; page[i] != '\0' && i < sizeof(upper) - 1; i++)
        upper[i] = (char)(page[i] >= 'a' && page[i] <= 'z' ? page[i] - 'a' + 'A' : page[i]);
    upper[i] = '\0';
    fprintf(out, ".TH %s 1 \"\" \"nearup %s\" \"nearup manual\"\n.SH NAME\n", upper, NU_VERSION);
    roff(out, page);
    fputs(" \\- ", out);
    roff(out, summary);
    fputc('\n', out);
}

static void footer(FILE *out, bool top)
{
    fputs(".SH EXIT STATUS\n0 on success, 1 on failure, 2 on a usage error (one line on standard "
          "error).\n",
          out);
    if (!top)
        fputs(".SH SEE ALSO\n\\fBnearup\\fR(1)\n", out);
}

/* A command with subcommands: each one's synopsis, summary and flags. */
static void subcommands(FILE *out, const struct cli_doc *d)
{
    fputs(".SH SUBCOMMANDS\n", out);
    for (size_t i = 0; i < d->nsubs; i++) {
        const struct cli_doc *sd = d->subs[i].doc;
        fprintf(out, ".SS %s\n", d->subs[i].name);
        synopsis(out, sd->usage);
        paragraphs(out, sd->summary);
        fputs("\n.PP\n", out);
        if (sd->about != NULL && (i == 0 || sd->about != d->subs[i - 1].doc->about))
            paragraphs(out, sd->about);
        options(out, sd->opts, sd->nopts, true);
    }
}

static void command_page(FILE *out, const struct cli_cmd *c)
{
    const struct cli_doc *d = c->doc;
    char page[64];
    snprintf(page, sizeof(page), "nearup-%s", c->name);
    header(out, page, d->summary);
    fputs(".SH SYNOPSIS\n", out);
    if (d->nsubs == 0) {
        synopsis(out, d->usage);
    } else {
        for (size_t i = 0; i < d->nsubs; i++)
            synopsis(out, d->subs[i].doc->usage);
    }
    if (d->about != NULL) {
        fputs(".SH DESCRIPTION\n", out);
        paragraphs(out, d->about);
    }
    if (d->nsubs > 0)
        subcommands(out, d);
    if (d->nopts > 0) {
        fputs(".SH OPTIONS\n", out);
        options(out, d->opts, d->nopts, true);
    }
    if (d->settings != NULL) {
        fputs(".SH SETTINGS\nEach is a flag (\\fB\\-\\-name\\fR \\fIVALUE\\fR) and, "
              "as name = value, a line of the file's [section].\n",
              out);
        options(out, d->settings->t, d->settings->n, false);
    }
    footer(out, false);
}

/* The commands that have a page of their own: every listed one but help
 * and version. */
static bool has_page(const struct cli_cmd *c)
{
    return !(c->flags & CLI_HIDDEN) && strcmp(c->name, "help") != 0 &&
           strcmp(c->name, "version") != 0;
}

static void top_page(FILE *out)
{
    header(out, "nearup", "run, supervise, load-balance and snapshot NEAR Protocol nodes");
    fputs(".SH SYNOPSIS\n.nf\nnearup [\\-\\-version] [\\-\\-help] <command> [<args>]\n.fi\n"
          ".SH DESCRIPTION\nOne program with git\\-style subcommands; each has its own page, "
          "nearup\\-\\fIcommand\\fR(1), and \\fBnearup\\fR \\fIcommand\\fR "
          "\\fB\\-\\-help\\fR.\n.SH COMMANDS\n",
          out);
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_cmd *c = &cli_commands[i];
        if (c->flags & CLI_HIDDEN)
            continue;
        fprintf(out, ".TP\n\\fB%s\\fR\n", c->name);
        roff(out, c->doc->summary);
        fputc('\n', out);
    }
    fputs(".SH OPTIONS\n.TP\n\\fB\\-\\-version\\fR\nprint nearup's version\n"
          ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nlist the commands\n",
          out);
    footer(out, true);
    fputs(".SH SEE ALSO\n", out);
    for (size_t i = 0, n = 0; i < cli_ncommands; i++) {
        const struct cli_cmd *c = &cli_commands[i];
        if (has_page(c))
            fprintf(out, "%s\\fBnearup\\-%s\\fR(1)", n++ > 0 ? ",\n" : "", c->name);
    }
    fputc('\n', out);
}

int cli_print_man(const char *cmd, FILE *out)
{
    if (cmd == NULL || strcmp(cmd, "nearup") == 0) {
        top_page(out);
        return 0;
    }
    for (size_t i = 0; i < cli_ncommands; i++) {
        if (strcmp(cli_commands[i].name, cmd) == 0 && has_page(&cli_commands[i])) {
            command_page(out, &cli_commands[i]);
            return 0;
        }
    }
    fprintf(stderr, "nearup: --print-man: no page for '%s'\n", cmd);
    return 2;
}
