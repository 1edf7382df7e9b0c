/* Settings tables (settings.h): lookup, parsing, defaults, formatting. The
 * help and dump writers are in settings_help.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings.h"

#define NUM_DIGITS_MAX 24 /* digits of a number before its unit */

/* ---- value codecs ---- */

int nu_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || !isdigit((unsigned char)*s))
        return NU_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return NU_EINVAL;
    *out = v;
    return 0;
}

int nu_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return NU_EINVAL;
}

/* A number, then one of the units in names with its multiplier in mult
 * (the value's base unit: bytes, milliseconds). With frac, the number may
 * have decimals; the result is rounded half up to the base unit. */
struct unit_table {
    const char *const *names;
    const uint64_t *mult;
    size_t n;
    bool frac;
};

#define FRAC_DIGITS 6 /* decimals read; more are ignored */
#define FRAC_ONE 1000000u

static int parse_unit(const char *s, const struct unit_table *u, uint64_t *out)
{
    char num[NUM_DIGITS_MAX + 1];
    size_t i = 0;
    uint64_t whole, part = 0;
    while (isdigit((unsigned char)s[i]) && i < NUM_DIGITS_MAX) {
        num[i] = s[i];
        i++;
    }
    num[i] = '\0';
    if (i == 0 || nu_parse_uint(num, UINT64_MAX / (1ull << 30), &whole) != 0)
        return NU_EINVAL;
    const char *p = s + i;
    if (*p == '.' && u->frac) {
        unsigned digits = 0;
        for (p++; isdigit((unsigned char)*p); p++)
            if (digits < FRAC_DIGITS) {
                part = part * 10 + (uint64_t)(*p - '0');
                digits++;
            }
        if (digits == 0)
            return NU_EINVAL;
        for (; digits < FRAC_DIGITS; digits++)
            part *= 10; /* millionths */
    }
    while (*p == ' ')
        p++;
    for (size_t k = 0; k < u->n; k++) {
        if (strcasecmp(p, u->names[k]) == 0) {
            *out = whole * u->mult[k] + (part * u->mult[k] + FRAC_ONE / 2) / FRAC_ONE;
            return 0;
        }
    }
    return NU_EINVAL;
}

int nu_parse_size(const char *s, uint64_t *out)
{
    static const char *const names[] = {"",    "b",  "k", "kib", "kb", "m",
                                        "mib", "mb", "g", "gib", "gb"};
    static const uint64_t K = 1024, M = 1024 * 1024, G = 1024 * 1024 * 1024;
    static const uint64_t mult[] = {1, 1, K, K, K, M, M, M, G, G, G};
    static const struct unit_table u = {names, mult, 11, false};
    return s != NULL ? parse_unit(s, &u, out) : NU_EINVAL;
}

int nu_parse_duration_ms(const char *s, uint64_t bare_ms, uint64_t *out)
{
    static const char *const names[] = {"", "ms", "s", "m", "h"};
    const uint64_t mult[] = {bare_ms, 1, 1000, 60000, 3600000};
    const struct unit_table u = {names, mult, 5, true};
    return s != NULL ? parse_unit(s, &u, out) : NU_EINVAL;
}

void nu_format_ms(uint64_t v, char *out, size_t outsz)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v != 0 && v % units[i].ms == 0) {
            snprintf(out, outsz, "%llu%s", (unsigned long long)(v / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(out, outsz, "%llums", (unsigned long long)v);
}

void nu_format_size(uint64_t v, char *out, size_t outsz)
{
    static const struct {
        unsigned shift;
        const char *unit;
    } units[] = {{30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v != 0 && v % (1ull << units[i].shift) == 0) {
            snprintf(out, outsz, "%llu%s", (unsigned long long)(v >> units[i].shift),
                     units[i].unit);
            return;
        }
    }
    snprintf(out, outsz, "%llu", (unsigned long long)v);
}

/* ---- lookup ---- */

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
        if (x != y)
            return false;
    }
    return true;
}

static bool name_is(const struct nu_setting *s, const char *name, size_t len)
{
    return s->name != NULL && same_name(s->name, strlen(s->name), name, len);
}

const struct nu_setting *nu_setting_target(const struct nu_setting *t, size_t n,
                                           const struct nu_setting *s)
{
    if (s->alias_of == NULL)
        return s;
    size_t len = strlen(s->alias_of);
    for (size_t i = 0; i < n; i++)
        if (t[i].alias_of == NULL && name_is(&t[i], s->alias_of, len))
            return &t[i];
    return NULL;
}

const struct nu_setting *nu_setting_lookup(const struct nu_setting *t, size_t n, const char *name,
                                           size_t len, const struct nu_setting **alias)
{
    if (alias != NULL)
        *alias = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&t[i], name, len))
            continue;
        if (t[i].alias_of != NULL && alias != NULL)
            *alias = &t[i];
        return nu_setting_target(t, n, &t[i]);
    }
    return NULL;
}

const struct nu_setting *nu_setting_find(const struct nu_setting *t, size_t n, const char *name,
                                         size_t len)
{
    return nu_setting_lookup(t, n, name, len, NULL);
}

void nu_setting_display(const struct nu_setting *t, size_t n, const struct nu_setting *s,
                        struct nu_setting *out)
{
    const struct nu_setting *target = nu_setting_target(t, n, s);
    *out = *s;
    if (s->alias_of == NULL || target == NULL)
        return;
    *out = *target;
    out->name = s->name;
    out->short_name = s->short_name;
    out->help = s->help;
    out->flags = s->flags;
    out->def = NULL;
    out->alias_of = s->alias_of;
    out->alias_value = s->alias_value;
    if (s->alias_value != NULL) {
        out->type = NU_T_BOOL; /* a switch */
        out->choices = NULL;
    }
}

/* ---- parsing into the field ---- */

static void *field(const struct nu_setting *s, void *obj)
{
    return (char *)obj + s->off;
}

static const void *cfield(const struct nu_setting *s, const void *obj)
{
    return (const char *)obj + s->off;
}

static const char *number_kind(enum nu_stype t)
{
    switch (t) {
    case NU_T_MS:
        return "a duration (250ms, 2s, 5m, 1h)";
    case NU_T_SECONDS:
        return "a number of seconds (30, 30s, 5m, 1h)";
    case NU_T_MS_SECS:
        return "a duration (0.5, 30, 30s, 5m; a bare number is seconds)";
    case NU_T_SIZE:
        return "a size (512, 16KiB, 10MiB)";
    default:
        return "a whole number";
    }
}

static int parse_number(enum nu_stype t, const char *v, uint64_t *n)
{
    uint64_t ms;
    switch (t) {
    case NU_T_SIZE:
        return nu_parse_size(v, n);
    case NU_T_MS:
        return nu_parse_duration_ms(v, 1, n);
    case NU_T_MS_SECS:
        return nu_parse_duration_ms(v, 1000, n);
    case NU_T_SECONDS:
        if (nu_parse_duration_ms(v, 1000, &ms) != 0 || ms % 1000 != 0)
            return NU_EINVAL;
        *n = ms / 1000;
        return 0;
    default:
        return nu_parse_uint(v, UINT64_MAX, n);
    }
}

/* The one wording of a number that does not parse, or is out of bounds. */
static int refuse_number(char *msg, size_t msgsz, const char *v, const char *kind)
{
    snprintf(msg, msgsz, "\"%s\" is not %s", v, kind);
    return NU_EINVAL;
}

static int refuse_range(char *msg, size_t msgsz, const char *v, const char *bounds)
{
    snprintf(msg, msgsz, "%s is out of range %s", v, bounds);
    return NU_EINVAL;
}

int nu_parse_uint_in(const char *v, uint64_t lo, uint64_t hi, uint64_t *out, char *msg,
                     size_t msgsz)
{
    uint64_t n;
    char bounds[48];
    if (nu_parse_uint(v, UINT64_MAX, &n) != 0)
        return refuse_number(msg, msgsz, v, number_kind(NU_T_UINT));
    snprintf(bounds, sizeof(bounds), "[%llu, %llu]", (unsigned long long)lo,
             (unsigned long long)hi);
    if (n < lo || n > hi)
        return refuse_range(msg, msgsz, v, bounds);
    *out = n;
    return 0;
}

static int store_number(const struct nu_setting *s, void *obj, const char *v, char *msg,
                        size_t msgsz)
{
    uint64_t n;
    if (parse_number(s->type, v, &n) != 0)
        return refuse_number(msg, msgsz, v, number_kind(s->type));
    if (n < s->min || n > s->max) {
        char bounds[80];
        nu_setting_bounds(s, bounds, sizeof(bounds));
        return refuse_range(msg, msgsz, v, bounds);
    }
    if (s->type == NU_T_SIZE)
        *(uint64_t *)field(s, obj) = n;
    else if (s->type == NU_T_I64)
        *(int64_t *)field(s, obj) = (int64_t)n;
    else
        *(unsigned *)field(s, obj) = (unsigned)n;
    return 0;
}

/* Index of v among choices "a|b|c", or -1. */
static int choice_index(const char *choices, const char *v)
{
    size_t n = strlen(v);
    int i = 0;
    for (const char *p = choices; p != NULL && *p != '\0'; i++) {
        size_t k = strcspn(p, "|");
        if (k == n && memcmp(p, v, n) == 0)
            return i;
        p += k + (p[k] == '|');
    }
    return -1;
}

/* The i-th of choices into out ("" when there is none). */
static void choice_name(const char *choices, int i, char *out, size_t outsz)
{
    const char *p = choices != NULL ? choices : "";
    for (; i > 0 && *p != '\0'; i--)
        p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
    snprintf(out, outsz, "%.*s", (int)strcspn(p, "|"), p);
}

static int store_list(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    const char **list = field(s, obj);
    size_t cap = s->size / sizeof(*list) - 1, n = 0;
    if (s->max != 0 && s->max < cap)
        cap = (size_t)s->max;
    while (list[n] != NULL)
        n++;
    if (n >= cap) {
        snprintf(msg, msgsz, "more than %zu given", cap);
        return NU_EINVAL;
    }
    list[n] = v;
    list[n + 1] = NULL;
    return 0;
}

static int store_text(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    size_t len = strlen(v);
    if (len >= s->size) {
        snprintf(msg, msgsz, "value longer than %zu bytes", s->size - 1);
        return NU_EINVAL;
    }
    memset(field(s, obj), 0, s->size); /* so equal values compare equal byte for byte */
    memcpy(field(s, obj), v, len + 1);
    return 0;
}

int nu_setting_store(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    bool b;
    int i;
    switch (s->type) {
    case NU_T_BOOL:
        if (nu_parse_bool(v, &b) != 0) {
            snprintf(msg, msgsz, "\"%s\" is not true or false", v);
            return NU_EINVAL;
        }
        *(bool *)field(s, obj) = b;
        return 0;
    case NU_T_STR:
        *(const char **)field(s, obj) = v;
        return 0;
    case NU_T_TEXT:
        return store_text(s, obj, v, msg, msgsz);
    case NU_T_ENUM:
        if ((i = choice_index(s->choices, v)) < 0) {
            snprintf(msg, msgsz, "\"%s\" is not one of %s", v, s->choices);
            return NU_EINVAL;
        }
        *(int *)field(s, obj) = i;
        return 0;
    case NU_T_LIST:
        return store_list(s, obj, v, msg, msgsz);
    default:
        return store_number(s, obj, v, msg, msgsz);
    }
}

int nu_setting_set(const struct nu_setting *s, void *obj, const char *value, char *msg,
                   size_t msgsz)
{
    if (s->set != NULL)
        return s->set(s, obj, value, msg, msgsz);
    return nu_setting_store(s, obj, value, msg, msgsz);
}

int nu_settings_defaults(const struct nu_setting *t, size_t n, void *obj, char *msg, size_t msgsz)
{
    char why[NU_ERRMSG_MAX];
    for (size_t i = 0; i < n; i++) {
        if (t[i].alias_of == NULL && t[i].def != NULL &&
            nu_setting_set(&t[i], obj, t[i].def, why, sizeof(why)) != 0) {
            snprintf(msg, msgsz, "default of %s: %s", t[i].name, why);
            return NU_EINVAL;
        }
    }
    return 0;
}

/* ---- formatting ---- */

static void format_list(const char *const *list, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; list[i] != NULL && len < outsz; i++) {
        int k = snprintf(out + len, outsz - len, "%s%s", i > 0 ? "," : "", list[i]);
        if (k < 0)
            return;
        len += (size_t)k;
    }
}

void nu_setting_format(const struct nu_setting *s, const void *obj, char *out, size_t outsz)
{
    const void *f = cfield(s, obj);
    const char *str;
    switch (s->type) {
    case NU_T_BOOL:
        snprintf(out, outsz, "%s", *(const bool *)f ? "true" : "false");
        break;
    case NU_T_UINT:
    case NU_T_SECONDS:
        snprintf(out, outsz, "%u", *(const unsigned *)f);
        break;
    case NU_T_I64:
        snprintf(out, outsz, "%lld", (long long)*(const int64_t *)f);
        break;
    case NU_T_MS:
    case NU_T_MS_SECS:
        nu_format_ms(*(const unsigned *)f, out, outsz);
        break;
    case NU_T_SIZE:
        nu_format_size(*(const uint64_t *)f, out, outsz);
        break;
    case NU_T_ENUM:
        choice_name(s->choices, *(const int *)f, out, outsz);
        break;
    case NU_T_LIST:
        format_list(f, out, outsz);
        break;
    case NU_T_STR:
        str = *(const char *const *)f;
        snprintf(out, outsz, "%s", str != NULL ? str : "");
        break;
    case NU_T_TEXT:
        snprintf(out, outsz, "%s", (const char *)f);
        break;
    }
}

const struct nu_setting *nu_settings_differ(const struct nu_setting *t, size_t n, const void *a,
                                            const void *b, unsigned flags)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].alias_of == NULL && (t[i].flags & flags) == flags &&
            memcmp(cfield(&t[i], a), cfield(&t[i], b), t[i].size))
            return &t[i];
    }
    return NULL;
}
