/* Command lines against settings tables (args.h). */
#include <stdio.h>
#include <string.h>

#include "args.h"

static enum nu_args_status fail(struct nu_args *a, enum nu_args_status st,
                                const struct nu_setting *s, const char *word)
{
    a->err.status = st;
    a->err.s = s;
    a->err.word = word;
    return st;
}

static enum nu_args_status set_value(struct nu_args *a, const struct nu_setting *s,
                                     const char *word, const char *value)
{
    if (nu_setting_set(s, a->obj, value, a->err.msg, sizeof(a->err.msg)) == 0)
        return NU_ARGS_OK;
    a->err.value = value;
    return fail(a, NU_ARGS_E_BAD_VALUE, s, word);
}

/* The setting a long option (len bytes of word, dashes included) names,
 * or NULL with the failure recorded in a->err. Names must be whole: a
 * prefix that picks a flag by accident ("--keep" for "--keep-old") is an
 * error, not a guess. */
static const struct nu_setting *long_setting(struct nu_args *a, const char *word, size_t len)
{
    const struct nu_setting *s = nu_setting_find(a->table, a->n, word + 2, len - 2);
    if (s == NULL)
        fail(a, NU_ARGS_E_UNKNOWN, NULL, word);
    return s;
}

/* The value of s, given inline ("--x=v", "-xv") or in the next word. */
static enum nu_args_status take(struct nu_args *a, const struct nu_setting *s, const char *word,
                                const char *inline_value, int argc, char **argv, int *i)
{
    if (s->type == NU_T_BOOL) {
        if (inline_value != NULL)
            return fail(a, NU_ARGS_E_UNEXPECTED_VALUE, s, word);
        return set_value(a, s, word, "true");
    }
    if (inline_value != NULL)
        return set_value(a, s, word, inline_value);
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (s->flags & NU_S_OPTVALUE) {
        bool use = next != NULL && next[0] != '-' &&
                   (a->optional_value == NULL || a->optional_value(next, a->ud));
        *i += use;
        return set_value(a, s, word, use ? next : "");
    }
    if (next == NULL)
        return fail(a, NU_ARGS_E_NEEDS_VALUE, s, word);
    ++*i;
    return set_value(a, s, word, next);
}

static enum nu_args_status long_option(struct nu_args *a, int argc, char **argv, int *i)
{
    const char *w = argv[*i], *eq = strchr(w, '=');
    size_t len = eq != NULL ? (size_t)(eq - w) : strlen(w);
    if ((a->flags & NU_ARGS_HELP) && strcmp(w, "--help") == 0)
        return fail(a, NU_ARGS_E_HELP, NULL, w);
    const struct nu_setting *s = long_setting(a, w, len);
    if (s == NULL)
        return a->err.status;
    return take(a, s, w, eq != NULL ? eq + 1 : NULL, argc, argv, i);
}

static const struct nu_setting *by_short(const struct nu_args *a, char c)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->table[i].short_name == c)
            return &a->table[i];
    return NULL;
}

/* "-x", "-xVALUE", "-x VALUE", bundled bools "-xy". */
static enum nu_args_status short_options(struct nu_args *a, int argc, char **argv, int *i)
{
    const char *w = argv[*i];
    for (const char *p = w + 1; *p != '\0'; p++) {
        const struct nu_setting *s = by_short(a, *p);
        if (s == NULL && *p == 'h' && (a->flags & NU_ARGS_HELP))
            return fail(a, NU_ARGS_E_HELP, NULL, w);
        if (s == NULL)
            return fail(a, NU_ARGS_E_UNKNOWN, NULL, w);
        if (s->type != NU_T_BOOL)
            return take(a, s, w, p[1] != '\0' ? p + 1 : NULL, argc, argv, i);
        enum nu_args_status st = take(a, s, w, NULL, argc, argv, i);
        if (st != NU_ARGS_OK)
            return st;
    }
    return NU_ARGS_OK;
}

static enum nu_args_status positional(struct nu_args *a, char *w)
{
    if (a->npos >= a->maxpos)
        return fail(a, NU_ARGS_E_EXTRA, NULL, w);
    a->pos[a->npos++] = w;
    return NU_ARGS_OK;
}

enum nu_args_status nu_args_parse(struct nu_args *a, int argc, char **argv, int start)
{
    bool only_positional = false;
    memset(&a->err, 0, sizeof(a->err));
    a->npos = 0;
    a->next = argc;
    for (int i = start; i < argc; i++) {
        char *w = argv[i];
        enum nu_args_status st;
        bool is_option = !only_positional && w[0] == '-' && w[1] != '\0';
        if (is_option && strcmp(w, "--") == 0) {
            only_positional = true;
            if (a->flags & NU_ARGS_STOP) {
                a->next = i + 1;
                return NU_ARGS_OK;
            }
            continue;
        }
        if (!is_option && (a->flags & NU_ARGS_STOP)) {
            a->next = i;
            return NU_ARGS_OK;
        }
        if (!is_option)
            st = positional(a, w);
        else if (w[1] == '-')
            st = long_option(a, argc, argv, &i);
        else
            st = short_options(a, argc, argv, &i);
        if (st != NU_ARGS_OK)
            return st;
    }
    return NU_ARGS_OK;
}

void nu_args_describe(const struct nu_args_error *e, char *out, size_t outsz)
{
    char flag[80] = "";
    if (e->s != NULL)
        nu_setting_flag_name(e->s, flag, sizeof(flag));
    switch (e->status) {
    case NU_ARGS_E_UNKNOWN:
        snprintf(out, outsz, "unknown option '%s'", e->word);
        break;
    case NU_ARGS_E_NEEDS_VALUE:
        snprintf(out, outsz, "%s needs a value", e->word);
        break;
    case NU_ARGS_E_UNEXPECTED_VALUE:
        snprintf(out, outsz, "--%s takes no value", flag);
        break;
    case NU_ARGS_E_BAD_VALUE:
        snprintf(out, outsz, "--%s: %s", flag, e->msg);
        break;
    case NU_ARGS_E_EXTRA:
        snprintf(out, outsz, "unexpected argument '%s'", e->word);
        break;
    default:
        snprintf(out, outsz, "%s", "cannot parse the arguments");
        break;
    }
}
