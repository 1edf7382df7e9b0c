/* Settings from INI files (inih) and the environment (settings.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "settings.h"

/* The reader's state over one text: inih asks for lines, we count them. */
struct ini_ctx {
    struct nu_settings_load *l;
    const char *text;
    size_t pos, len;
    bool at_line_start;
    int *set_line; /* per setting: the line it was set on (duplicates) */
};

void nu_settings_error(struct nu_settings_load *l, const char *where, int line, const char *fmt,
                       ...)
{
    if (l->nerr++ >= NU_SETTINGS_MAX_ERRORS)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int rc = line > 0 ? nu_buf_printf(l->errs, "%s:%d: %s\n", where, line, msg)
                      : nu_buf_printf(l->errs, "%s: %s\n", where, msg);
    (void)rc; /* a full buffer only loses text; the load still fails */
}

static bool known_section(const struct nu_settings_load *l, const char *section)
{
    if (section[0] == '\0')
        return true;
    for (size_t i = 0; i < l->n; i++)
        if (l->t[i].section != NULL && strcmp(l->t[i].section, section) == 0)
            return true;
    return false;
}

static bool may_repeat(const struct nu_setting *s)
{
    return s->type == NU_T_LIST || (s->flags & NU_S_MANY) != 0;
}

static void file_setting(struct ini_ctx *x, const char *section, const char *name,
                         const char *value)
{
    struct nu_settings_load *l = x->l;
    char msg[NU_ERRMSG_MAX];
    const struct nu_setting *s = nu_setting_find(l->t, l->n, name, strlen(name));
    if (!s || strchr(name, '-')) {
        nu_settings_error(l, l->file, l->line, "unknown setting \"%s\"%s%s%s", name,
                          section[0] ? " in [" : "", section, section[0] ? "]" : "");
        return;
    }
    if (section[0] && (s->section == NULL || strcmp(section, s->section) != 0)) {
        nu_settings_error(l, l->file, l->line, "%s belongs in [%s], not [%s]", name,
                          s->section ? s->section : "", section);
        return;
    }
    NU_BUG_ON(s->set == NULL && (s->type == NU_T_STR || s->type == NU_T_LIST));
    size_t idx = (size_t)(s - l->t);
    if (x->set_line[idx] && !may_repeat(s)) {
        nu_settings_error(l, l->file, l->line, "%s is set twice (first on line %d)", name,
                          x->set_line[idx]);
        return;
    }
    x->set_line[idx] = l->line;
    if (nu_setting_set(s, l->obj, value, msg, sizeof(msg)) != 0)
        nu_settings_error(l, l->file, l->line, "%s: %s", s->name, msg);
}

static int on_entry(void *ud, const char *section, const char *name, const char *value)
{
    struct ini_ctx *x = ud;
    struct nu_settings_load *l = x->l;
    unsigned before = l->nerr;
    if (known_section(l, section))
        file_setting(x, section, name, value);
    else if (!l->extra || !l->extra(l, section, name, value))
        nu_settings_error(l, l->file, l->line, "unknown section [%s]", section);
    return l->nerr == before;
}

/* inih reports only the first error line, so syntax is checked here, line
 * by line, with inih's rules: blank, ; or # comment, [section], name = value
 * (or name: value). */
static void check_syntax(struct ini_ctx *x, const char *line)
{
    while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n')
        line++;
    if (!*line || *line == ';' || *line == '#')
        return;
    if (*line == '[' ? !strchr(line, ']') : !strpbrk(line, "=:"))
        nu_settings_error(x->l, x->l->file, x->l->line,
                          "syntax error: expected [section] or name = value");
}

/* inih's reader over the text, counting lines so the handler knows its line. */
static char *read_line(char *str, int num, void *stream)
{
    struct ini_ctx *x = stream;
    if (x->pos >= x->len || num < 2)
        return NULL;
    if (x->at_line_start)
        x->l->line++;
    size_t n = 0;
    while (x->pos < x->len && n < (size_t)num - 1) {
        char ch = x->text[x->pos++];
        str[n++] = ch;
        if (ch == '\n')
            break;
    }
    str[n] = '\0';
    if (x->at_line_start)
        check_syntax(x, str);
    x->at_line_start = str[n - 1] == '\n';
    return str;
}

void nu_settings_parse_ini(struct nu_settings_load *l, const char *text, size_t len)
{
    if (memchr(text, '\0', len)) {
        nu_settings_error(l, l->file, 0, "contains a NUL byte");
        return;
    }
    struct ini_ctx x = {.l = l, .text = text, .len = len, .at_line_start = true};
    x.set_line = calloc(l->n + 1, sizeof(*x.set_line));
    if (x.set_line == NULL) {
        nu_settings_error(l, l->file, 0, "cannot parse (out of memory)");
        return;
    }
    l->line = 0;
    ini_use_stack = false; /* heap line buffer so long lists fit */
    ini_allow_realloc = true;
    ini_max_line = NU_SETTINGS_LINE_MAX;
    ini_allow_multiline = false;
    if (ini_parse_stream(read_line, &x, on_entry, &x) < 0)
        nu_settings_error(l, l->file, 0, "cannot parse (out of memory)");
    l->line = 0;
    free(x.set_line);
}

void nu_settings_parse_env(struct nu_settings_load *l, const char *prefix)
{
    char var[96], msg[NU_ERRMSG_MAX], where[120];
    for (size_t i = 0; i < l->n; i++) {
        const struct nu_setting *s = &l->t[i];
        if (s->name == NULL || s->alias_of != NULL)
            continue; /* an alias row: the setting's own name is its variable */
        int n = snprintf(var, sizeof(var), "%s", prefix);
        for (const char *p = s->name; *p && n < (int)sizeof(var) - 1; p++)
            var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        var[n] = '\0';
        const char *v = getenv(var);
        if (v && nu_setting_set(s, l->obj, v, msg, sizeof(msg)) != 0) {
            snprintf(where, sizeof(where), "env %s", var);
            nu_settings_error(l, where, 0, "%s: %s", s->name, msg);
        }
    }
}
