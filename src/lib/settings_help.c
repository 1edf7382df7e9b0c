/* Settings tables as text: help lines, a loadable dump, bounds and names
 * (settings.h). */
#include <stdio.h>
#include <string.h>

#include "settings.h"

#define LINE_MAX_BYTES 2200 /* one dumped value; longest text field is 2048 */
#define NOTES_MAX 512

const char *nu_setting_metavar(const struct nu_setting *s)
{
    static const char *const kind[] = {
        [NU_T_BOOL] = NULL,         [NU_T_UINT] = "N",      [NU_T_I64] = "N",
        [NU_T_SIZE] = "SIZE",       [NU_T_MS] = "DURATION", [NU_T_SECONDS] = "SECONDS",
        [NU_T_MS_SECS] = "SECONDS", [NU_T_STR] = "TEXT",    [NU_T_TEXT] = "TEXT",
        [NU_T_ENUM] = "WORD",       [NU_T_LIST] = "TEXT",
    };
    if (s->type == NU_T_BOOL)
        return NULL;
    return s->metavar != NULL ? s->metavar : kind[s->type];
}

void nu_setting_flag_name(const struct nu_setting *s, char *out, size_t outsz)
{
    size_t k = 0;
    for (; s->name != NULL && s->name[k] != '\0' && k + 1 < outsz; k++)
        out[k] = s->name[k] == '_' ? '-' : s->name[k];
    if (outsz > 0)
        out[k] = '\0';
}

/* The unit bounds are in, as messages name it after them. */
static const char *bounds_unit(enum nu_stype t)
{
    switch (t) {
    case NU_T_MS:
    case NU_T_MS_SECS:
        return " ms";
    case NU_T_SECONDS:
        return " s";
    case NU_T_SIZE:
        return " bytes";
    default:
        return "";
    }
}

void nu_setting_bounds(const struct nu_setting *s, char *out, size_t outsz)
{
    switch (s->type) {
    case NU_T_UINT:
    case NU_T_I64:
    case NU_T_SECONDS:
    case NU_T_MS:
    case NU_T_MS_SECS:
    case NU_T_SIZE:
        snprintf(out, outsz, "[%llu, %llu]%s", (unsigned long long)s->min,
                 (unsigned long long)s->max, bounds_unit(s->type));
        break;
    default:
        snprintf(out, outsz, "%s", "");
        break;
    }
}

/* "same as --nodes", "same as --restart no". */
static void alias_notes(const struct nu_setting *s, char *out, size_t outsz)
{
    char flag[80];
    struct nu_setting target = {.name = s->alias_of};
    nu_setting_flag_name(&target, flag, sizeof(flag));
    snprintf(out, outsz, "same as --%s%s%s", flag, s->alias_value != NULL ? " " : "",
             s->alias_value != NULL ? s->alias_value : "");
}

void nu_setting_notes(const struct nu_setting *s, char *out, size_t outsz)
{
    char bounds[80];
    if (s->alias_of != NULL) {
        alias_notes(s, out, outsz);
        return;
    }
    size_t used = 0;
    const char *sep = "";
    nu_setting_bounds(s, bounds, sizeof(bounds));
    struct {
        bool on;
        const char *fmt, *arg;
    } notes[] = {
        {s->def != NULL && s->type != NU_T_BOOL, "default \"%s\"", s->def},
        {bounds[0] != '\0', "range %s", bounds},
        {s->choices != NULL, "one of %s", s->choices},
        {(s->flags & NU_S_RESTART) != 0, "%s", "read at start only"},
    };
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]) && used < outsz; i++) {
        if (!notes[i].on)
            continue;
        int k = snprintf(out + used, outsz - used, "%s", sep);
        if (k > 0 && (size_t)k < outsz - used)
            used += (size_t)k;
        k = snprintf(out + used, outsz - used, notes[i].fmt, notes[i].arg);
        if (k > 0)
            used += (size_t)k < outsz - used ? (size_t)k : outsz - used - 1;
        sep = "; ";
    }
}

static int help_one(const struct nu_setting *s, struct nu_buf *out)
{
    char flag[80];
    const char *meta = nu_setting_metavar(s);
    nu_setting_flag_name(s, flag, sizeof(flag));
    int err;
    if (s->name == NULL)
        err = nu_buf_printf(out, "  -%c", s->short_name);
    else if (s->short_name != 0)
        err = nu_buf_printf(out, "  -%c, --%s", s->short_name, flag);
    else
        err = nu_buf_printf(out, "  --%s", flag);
    if (!err && meta != NULL)
        err = nu_buf_printf(out, (s->flags & NU_S_OPTVALUE) ? " [%s]" : " %s", meta);
    char notes[NOTES_MAX];
    nu_setting_notes(s, notes, sizeof(notes));
    if (!err && notes[0] != '\0')
        err = nu_buf_printf(out, " (%s)", notes);
    if (!err)
        err = nu_buf_printf(out, "\n      %s\n", s->help != NULL ? s->help : "");
    return err;
}

int nu_settings_help(const struct nu_setting *t, size_t n, struct nu_buf *out)
{
    const char *section = NULL;
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        if (t[i].flags & NU_S_HIDDEN)
            continue;
        if (t[i].section != NULL && (section == NULL || strcmp(section, t[i].section) != 0)) {
            section = t[i].section;
            err = nu_buf_printf(out, "\n[%s]\n", section);
        }
        struct nu_setting shown;
        nu_setting_display(t, n, &t[i], &shown);
        if (!err)
            err = help_one(&shown, out);
    }
    return err;
}

int nu_settings_dump(const struct nu_setting *t, size_t n, const void *obj, struct nu_buf *out)
{
    const char *section = NULL;
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        char v[LINE_MAX_BYTES];
        if (t[i].alias_of != NULL)
            continue; /* the setting it spells is dumped */
        if (t[i].section != NULL && (section == NULL || strcmp(section, t[i].section) != 0)) {
            section = t[i].section;
            err = nu_buf_printf(out, "\n[%s]\n", section);
        }
        nu_setting_format(&t[i], obj, v, sizeof(v));
        if (!err)
            err = nu_buf_printf(out, "%s = %s\n", t[i].name, v);
    }
    return err;
}
