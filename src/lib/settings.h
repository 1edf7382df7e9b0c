/* Settings tables: one static table per component describes each of its
 * settings (name, type, default, bounds, help). The same table applies
 * defaults, parses a value from a file, the environment or a flag into the
 * component's struct, formats it back, and prints help; args.h parses a
 * command line against it, and `nearup --print-man` / `--print-completion`
 * turn it into man pages and shell completion.
 *
 * A setting names a field of the component's struct (NU_FIELD). The field's
 * C type follows from the setting's type:
 *
 *   NU_T_BOOL     bool             true|false|yes|no|on|off|1|0; a flag
 *                                  without value on a command line
 *   NU_T_UINT     unsigned         whole number in [min, max]
 *   NU_T_I64      int64_t          whole number in [min, max] (never
 *                                  negative, so -1 can mean "not given")
 *   NU_T_SIZE     uint64_t         bytes: 512, 64K, 16KiB, 10MiB, 1GiB
 *                                  (K, M, G are binary, case and a B or iB
 *                                  suffix do not matter)
 *   NU_T_MS       unsigned         milliseconds: 250ms, 1.5s, 5m, 1h; a bare
 *                                  number is milliseconds
 *   NU_T_SECONDS  unsigned         seconds: 30, 30s, 5m, 1h; a bare number
 *                                  is seconds
 *   NU_T_MS_SECS  unsigned         milliseconds written as seconds: 0.5,
 *                                  30, 2m; a bare number is seconds
 *   NU_T_STR      const char *     the value itself (not copied: the caller
 *                                  keeps it alive, e.g. argv)
 *   NU_T_TEXT     char[size]       a copy of the value, at most size-1 bytes
 *   NU_T_ENUM     int              index of the value in choices ("a|b|c")
 *   NU_T_LIST     const char *[k]  each value is appended (not copied); the
 *                                  array stays NULL-terminated, so it holds
 *                                  k-1 values (max, when set, is lower)
 *
 * Bounds (min, max) are inclusive and in the field's unit. Names compare
 * with '-' and '_' as the same character.
 *
 * An alias row is another spelling of a setting of the same table (the
 * Python nearup's --num-nodes for nearup localnet's --nodes, older neard's
 * --v for neard-sim's --validators): it names that setting in alias_of and
 * has no field, type or default of its own. With alias_value it is a switch
 * that gives the setting that value (--no-watcher: --restart no); without,
 * it takes a value as the setting does. Its name may be NULL when it has
 * only a short name (-l for --lines). Help, man pages and completion show
 * it unless NU_S_HIDDEN; args.h records each alias a command line used, so
 * that nearup can hint at the setting's own spelling. */
#ifndef NU_SETTINGS_H
#define NU_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum nu_stype {
    NU_T_BOOL,
    NU_T_UINT,
    NU_T_I64,
    NU_T_SIZE,
    NU_T_MS,
    NU_T_SECONDS,
    NU_T_MS_SECS,
    NU_T_STR,
    NU_T_TEXT,
    NU_T_ENUM,
    NU_T_LIST,
};

/* Setting flags. */
#define NU_S_RESTART 0x1u  /* read at start only: a reload that changes it warns */
#define NU_S_HIDDEN 0x2u   /* accepted, but not in help, man pages or completion */
#define NU_S_OPTVALUE 0x4u /* command line: the value may be left out ("" then) */
#define NU_S_MANY                                                                                  \
    0x8u /* files: may be given more than once (a list's values); NU_T_LIST                        \
            always may */

struct nu_setting;

/* A setting's own parser, instead of the type's: stores value into obj's
 * field (or wherever the component keeps it). 0, or NU_EINVAL with what is
 * wrong in msg (without the setting's name). May call nu_setting_store for
 * the type's parsing after its own checks. */
typedef int (*nu_setting_set_fn)(const struct nu_setting *s, void *obj, const char *value,
                                 char *msg, size_t msgsz);

struct nu_setting {
    const char *name; /* "max_lag" (files) or "max-lag" (flags); NULL: an alias with a short name */
    char short_name;  /* command lines: -x; 0 for none */
    enum nu_stype type;
    size_t off, size;    /* the field (NU_FIELD) */
    const char *def;     /* default, as text; NULL: the field keeps its value */
    uint64_t min, max;   /* numbers: bounds; NU_T_LIST: most values (0: capacity) */
    const char *choices; /* NU_T_ENUM: "a|b|c"; other types: shown and completed only */
    unsigned flags;      /* NU_S_* */
    const char *metavar; /* help: what follows the flag; NULL: from the type */
    const char *help;
    const char *section; /* files: the [section] it belongs in; NULL: none */
    nu_setting_set_fn set;
    const char *alias_of;    /* an alias row: the name of the setting it spells */
    const char *alias_value; /* an alias switch: the value it gives that setting */
};

/* A table with its length, where one is held by pointer. */
struct nu_settings_table {
    const struct nu_setting *t;
    size_t n;
};

#define NU_FIELD(type, field) .off = offsetof(type, field), .size = sizeof(((type *)0)->field)
/* A numeric macro as the text of a default: .def = NU_TEXT(NODE_LOG_DEFAULT_KEEP). */
#define NU_TEXT(x) NU_TEXT_(x)
#define NU_TEXT_(x) #x

/* The setting named name (len bytes; '-' and '_' are the same), or NULL.
 * An alias's name finds the setting it spells; *alias (may be NULL) gets
 * the alias row then, else NULL. */
const struct nu_setting *nu_setting_lookup(const struct nu_setting *t, size_t n, const char *name,
                                           size_t len, const struct nu_setting **alias);
/* nu_setting_lookup without the alias row. */
const struct nu_setting *nu_setting_find(const struct nu_setting *t, size_t n, const char *name,
                                         size_t len);
/* The setting row s of t stands for: s itself, or an alias row's setting
 * (NULL when the table names none: a bug in the table). */
const struct nu_setting *nu_setting_target(const struct nu_setting *t, size_t n,
                                           const struct nu_setting *s);
/* Row s of t as help, man pages and completion show it, into *out: s
 * itself, or for an alias the setting's type, metavar and choices under
 * the alias's names, help and flags (an alias switch shows as a bool; its
 * notes say what it stands for). */
void nu_setting_display(const struct nu_setting *t, size_t n, const struct nu_setting *s,
                        struct nu_setting *out);

/* Parses value into obj through s->set when there is one, else as
 * nu_setting_store does. 0, or NU_EINVAL with what is wrong in msg. */
NU_WUR int nu_setting_set(const struct nu_setting *s, void *obj, const char *value, char *msg,
                          size_t msgsz);
/* The type's parsing and bounds: e.g. msg "\"x\" is not a whole number" or
 * "0 is out of range [1, 100]". A failed store leaves the field as it was. */
NU_WUR int nu_setting_store(const struct nu_setting *s, void *obj, const char *value, char *msg,
                            size_t msgsz);
/* Applies every default (t[i].def) to obj. 0, or NU_EINVAL naming the
 * setting whose default does not parse (a bug in the table). */
NU_WUR int nu_settings_defaults(const struct nu_setting *t, size_t n, void *obj, char *msg,
                                size_t msgsz);

/* The field's value as text nu_setting_store reads back ("" for an empty
 * list; list values joined by ','). */
void nu_setting_format(const struct nu_setting *s, const void *obj, char *out, size_t outsz);
/* What help shows after the flag: s->metavar, else "N", "SIZE",
 * "DURATION", "TEXT" or "WORD" by type; NULL for a bool. */
const char *nu_setting_metavar(const struct nu_setting *s);
/* s's name with '_' written as '-' (the flag without its dashes); "" for
 * an alias with only a short name. */
void nu_setting_flag_name(const struct nu_setting *s, char *out, size_t outsz);
/* "[1, 100]", "[10, 86400000] ms", "[1024, 4294967296] bytes", "[1, 86400] s"
 * (the field's unit, as the gateway's errors have always read); "" when the
 * type has none. */
void nu_setting_bounds(const struct nu_setting *s, char *out, size_t outsz);

/* What help says besides the help text: `default "D"; range [lo, hi]; one
 * of a|b; read at start only` (the parts that apply; "" when none); for an
 * alias `same as --name[ VALUE]`. */
void nu_setting_notes(const struct nu_setting *s, char *out, size_t outsz);
/* Help for every setting not hidden, two lines each:
 *   "  -n, --name METAVAR (default "D", range [lo, hi]; one of a|b; read at start only)"
 *   "      help"
 * with a "\n[section]\n" line before each new section. */
NU_WUR int nu_settings_help(const struct nu_setting *t, size_t n, struct nu_buf *out);
/* "name = value" lines in table order with "[section]" headers, as a file
 * that loads back to the same values. */
NU_WUR int nu_settings_dump(const struct nu_setting *t, size_t n, const void *obj,
                            struct nu_buf *out);
/* The first setting with every bit of flags whose fields differ between a
 * and b (byte for byte), or NULL. */
const struct nu_setting *nu_settings_differ(const struct nu_setting *t, size_t n, const void *a,
                                            const void *b, unsigned flags);

/* ---- files and the environment (settings_file.c) ----
 *
 * Precedence is the caller's order of calls: defaults, then the file, then
 * the environment, then flags. Every problem is one line appended to errs
 * ("FILE:LINE: what", "env VAR: what"); the load goes on, so one run
 * reports them all. */

#define NU_SETTINGS_LINE_MAX 16384 /* one line of a settings file */
#define NU_SETTINGS_MAX_ERRORS 20  /* lines written at most; the rest are counted */
#define NU_SETTINGS_FILE_MAX (1u << 20)

struct nu_settings_load;
/* An entry of a section the table does not describe (the gateway's
 * [upstream NAME]): 1 when it was taken (problems through
 * nu_settings_error), 0 when the section is unknown. */
typedef int (*nu_settings_extra_fn)(struct nu_settings_load *l, const char *section,
                                    const char *name, const char *value);

struct nu_settings_load {
    const struct nu_setting *t;
    size_t n;
    void *obj;
    const char *file;           /* names the file in messages */
    nu_settings_extra_fn extra; /* NULL: no other sections */
    void *ud;
    struct nu_buf *errs;
    unsigned nerr; /* problems found so far */
    int line;      /* the file's line being read; 0 outside a file */
};

/* Appends "where:line: what\n" ("where: what\n" for line 0) to l->errs
 * while fewer than NU_SETTINGS_MAX_ERRORS were written, and counts it. */
void nu_settings_error(struct nu_settings_load *l, const char *where, int line, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* Reads INI text (inih's rules: [section], name = value or name: value,
 * ; and # comments) into l->obj. Names are written with '_'. A setting
 * with a section belongs in it, or before any section header; a setting
 * without NU_S_MANY (or NU_T_LIST) is set once; values the table keeps by
 * pointer (NU_T_STR, NU_T_LIST) must be copied by its set hooks, as the
 * text of a line does not outlive it. */
void nu_settings_parse_ini(struct nu_settings_load *l, const char *text, size_t len);
/* Applies each setting's variable PREFIX + NAME upper-cased
 * (NEARUP_GATEWAY_MAX_BODY), when set. */
void nu_settings_parse_env(struct nu_settings_load *l, const char *prefix);

/* ---- value codecs, also for values outside a table ---- */

/* A whole decimal number (digits only, no sign or space) up to max. */
NU_WUR int nu_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* nu_parse_uint within [lo, hi], worded as every setting's error:
 * msg "\"x\" is not a whole number" or "0 is out of range [1, 100]". */
NU_WUR int nu_parse_uint_in(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, char *msg,
                            size_t msgsz);
NU_WUR int nu_parse_bool(const char *s, bool *out);
/* Bytes: "512", "64K", "16KiB", "10 MiB", "1GB" (K, M, G binary). */
NU_WUR int nu_parse_size(const char *s, uint64_t *out);
/* Milliseconds: a number (a fraction of up to 3 decimals of ms allowed)
 * and a unit (ms, s, m, h); a bare number counts bare_ms milliseconds per
 * unit (1: milliseconds, 1000: seconds). Rounded to the nearest ms. */
NU_WUR int nu_parse_duration_ms(const char *s, uint64_t bare_ms, uint64_t *out);
/* "2h", "5m", "30s", "250ms": the largest unit that divides ms. */
void nu_format_ms(uint64_t ms, char *out, size_t outsz);
/* "4GiB", "10MiB", "16KiB", "512": the largest unit that divides bytes. */
void nu_format_size(uint64_t bytes, char *out, size_t outsz);

#endif
