/* Command lines against settings tables (args.h). */
#include <stdio.h>
#include <string.h>

#include "args.h"

/* What an option word names: the setting, and the alias row written (or NULL). */
struct named {
    const struct nu_setting *s, *alias;
};

static enum nu_args_status fail(struct nu_args *a, enum nu_args_status st, const struct named *n,
                                const char *word)
{
    a->err.status = st;
    a->err.s = n != NULL ? n->s : NULL;
    a->err.alias = n != NULL ? n->alias : NULL;
    a->err.word = word;
    return st;
}

static void note_alias(struct nu_args *a, const struct nu_setting *alias)
{
    for (size_t i = 0; i < a->naliases; i++)
        if (a->aliases[i] == alias)
            return;
    if (a->naliases < NU_ARGS_ALIASES_MAX)
        a->aliases[a->naliases++] = alias;
}

static enum nu_args_status set_value(struct nu_args *a, const struct named *n, const char *word,
                                     const char *value)
{
    if (nu_setting_set(n->s, a->obj, value, a->err.msg, sizeof(a->err.msg)) != 0) {
        a->err.value = value;
        return fail(a, NU_ARGS_E_BAD_VALUE, n, word);
    }
    if (n->alias != NULL)
        note_alias(a, n->alias);
    return NU_ARGS_OK;
}

/* The setting a long option (len bytes of word, dashes included) names,
 * or false with the failure recorded in a->err. Names must be whole: a
 * prefix that picks a flag by accident ("--keep" for "--keep-old") is an
 * error, not a guess. */
static bool long_setting(struct nu_args *a, const char *word, size_t len, struct named *n)
{
    n->s = nu_setting_lookup(a->table, a->n, word + 2, len - 2, &n->alias);
    if (n->s == NULL)
        fail(a, NU_ARGS_E_UNKNOWN, NULL, word);
    return n->s != NULL;
}

static bool takes_no_value(const struct named *n)
{
    return n->s->type == NU_T_BOOL || (n->alias != NULL && n->alias->alias_value != NULL);
}

/* The value of n, given inline ("--x=v", "-xv") or in the next word. */
static enum nu_args_status take(struct nu_args *a, const struct named *n, const char *word,
                                const char *inline_value, int argc, char **argv, int *i)
{
    if (takes_no_value(n)) {
        if (inline_value != NULL)
            return fail(a, NU_ARGS_E_UNEXPECTED_VALUE, n, word);
        return set_value(a, n, word,
                         n->alias != NULL && n->alias->alias_value != NULL ? n->alias->alias_value
                                                                           : "true");
    }
    if (inline_value != NULL)
        return set_value(a, n, word, inline_value);
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (n->s->flags & NU_S_OPTVALUE) {
        bool use = next != NULL && next[0] != '-' &&
                   (a->optional_value == NULL || a->optional_value(next, a->ud));
        *i += use;
        return set_value(a, n, word, use ? next : "");
    }
    if (next == NULL)
        return fail(a, NU_ARGS_E_NEEDS_VALUE, n, word);
    ++*i;
    return set_value(a, n, word, next);
}

static enum nu_args_status long_option(struct nu_args *a, int argc, char **argv, int *i)
{
    const char *w = argv[*i], *eq = strchr(w, '=');
    size_t len = eq != NULL ? (size_t)(eq - w) : strlen(w);
    struct named n;
    if ((a->flags & NU_ARGS_HELP) && strcmp(w, "--help") == 0)
        return fail(a, NU_ARGS_E_HELP, NULL, w);
    if (!long_setting(a, w, len, &n))
        return a->err.status;
    return take(a, &n, w, eq != NULL ? eq + 1 : NULL, argc, argv, i);
}

static bool by_short(const struct nu_args *a, char c, struct named *n)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->table[i].short_name != c)
            continue;
        n->alias = a->table[i].alias_of != NULL ? &a->table[i] : NULL;
        n->s = nu_setting_target(a->table, a->n, &a->table[i]);
        return n->s != NULL;
    }
    return false;
}

/* "-x", "-xVALUE", "-x VALUE", bundled bools "-xy". */
static enum nu_args_status short_options(struct nu_args *a, int argc, char **argv, int *i)
{
    const char *w = argv[*i];
    for (const char *p = w + 1; *p != '\0'; p++) {
        struct named n;
        bool found = by_short(a, *p, &n);
        if (!found && *p == 'h' && (a->flags & NU_ARGS_HELP))
            return fail(a, NU_ARGS_E_HELP, NULL, w);
        if (!found)
            return fail(a, NU_ARGS_E_UNKNOWN, NULL, w);
        if (!takes_no_value(&n))
            return take(a, &n, w, p[1] != '\0' ? p + 1 : NULL, argc, argv, i);
        enum nu_args_status st = take(a, &n, w, NULL, argc, argv, i);
        if (st != NU_ARGS_OK)
            return st;
    }
    return NU_ARGS_OK;
}

int nu_args_first_positional(const struct nu_settings_table *tables, size_t ntables, int argc,
                             char **argv, int start)
{
    for (int i = start; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--") == 0)
            return i + 1;
        if (w[0] != '-' || w[1] == '\0')
            return i;
        if (w[1] != '-' || strchr(w, '=') != NULL)
            continue;
        for (size_t k = 0; k < ntables; k++) {
            struct named n;
            n.s = nu_setting_lookup(tables[k].t, tables[k].n, w + 2, strlen(w + 2), &n.alias);
            if (n.s != NULL) {
                i += !takes_no_value(&n) && !(n.s->flags & NU_S_OPTVALUE);
                break;
            }
        }
    }
    return argc;
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
    a->naliases = 0;
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

/* "--name", or "-x" for an alias with only a short name. */
static void option_name(const struct nu_setting *s, char *out, size_t outsz)
{
    char flag[80];
    nu_setting_flag_name(s, flag, sizeof(flag));
    if (s->name == NULL)
        snprintf(out, outsz, "-%c", s->short_name);
    else
        snprintf(out, outsz, "--%s", flag);
}

void nu_args_alias_words(const struct nu_setting *t, size_t n, const struct nu_setting *alias,
                         char *written, size_t wsz, char *spelled, size_t ssz)
{
    char a[96], s[96]; /* "--" and a flag name */
    const struct nu_setting *target = nu_setting_target(t, n, alias);
    struct nu_setting shown;
    nu_setting_display(t, n, alias, &shown);
    const char *meta = nu_setting_metavar(&shown);
    option_name(alias, a, sizeof(a));
    if (target == NULL) {
        snprintf(written, wsz, "%s", a);
        snprintf(spelled, ssz, "--%s", alias->alias_of);
        return;
    }
    if (alias->name == NULL && target->short_name != 0)
        snprintf(s, sizeof(s), "-%c", target->short_name);
    else
        option_name(target, s, sizeof(s));
    snprintf(written, wsz, "%s%s%s", a, meta != NULL ? " " : "", meta != NULL ? meta : "");
    if (alias->alias_value != NULL)
        snprintf(spelled, ssz, "%s %s", s, alias->alias_value);
    else
        snprintf(spelled, ssz, "%s%s%s", s, meta != NULL ? " " : "", meta != NULL ? meta : "");
}

void nu_args_describe(const struct nu_args_error *e, char *out, size_t outsz)
{
    char flag[96] = "";
    const struct nu_setting *named = e->alias != NULL ? e->alias : e->s;
    if (named != NULL)
        option_name(named, flag, sizeof(flag));
    switch (e->status) {
    case NU_ARGS_E_UNKNOWN:
        snprintf(out, outsz, "unknown option '%s'", e->word);
        break;
    case NU_ARGS_E_NEEDS_VALUE:
        snprintf(out, outsz, "%s needs a value", e->word);
        break;
    case NU_ARGS_E_UNEXPECTED_VALUE:
        snprintf(out, outsz, "%s takes no value", flag);
        break;
    case NU_ARGS_E_BAD_VALUE:
        snprintf(out, outsz, "%s: %s", flag, e->msg);
        break;
    case NU_ARGS_E_EXTRA:
        snprintf(out, outsz, "unexpected argument '%s'", e->word);
        break;
    default:
        snprintf(out, outsz, "%s", "cannot parse the arguments");
        break;
    }
}
