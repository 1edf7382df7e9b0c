/* A command line parsed against a settings table (settings.h).
 *
 * Words: "--name VALUE", "--name=VALUE" (whole names only, no prefixes), "-x VALUE", "-xVALUE",
 * bundled short bools ("-fq"), "--" (the rest are positional), anything else is positional ("-"
 * too). A bool takes no value ("--flag=x" is an error); a setting with NU_S_OPTVALUE takes
 * "--name=VALUE", or the next word when it is not an option and optional_value (if set) accepts it,
 * else "". Any other value takes the next word whatever it is ("--keep -1").
 *
 * An alias row (settings.h) parses as the setting it spells; an alias switch
 * takes no value and gives the setting its alias_value. Each alias used is
 * recorded once, in order, so that a caller can hint at the setting's own
 * spelling.
 *
 * The parser stops at the first problem and describes it in err; callers
 * phrase it (nearup's commands one way, neard-sim as clap does). */
#ifndef NU_ARGS_H
#define NU_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "settings.h"

/* nu_args.flags */
#define NU_ARGS_STOP 0x1u /* stop at the first positional; its index goes to next */
#define NU_ARGS_HELP 0x2u /* "-h" and "--help" end the parse with NU_ARGS_E_HELP */

#define NU_ARGS_ALIASES_MAX 16

enum nu_args_status {
    NU_ARGS_OK = 0,
    NU_ARGS_E_HELP,             /* -h or --help (with NU_ARGS_HELP) */
    NU_ARGS_E_UNKNOWN,          /* word: the option as written */
    NU_ARGS_E_NEEDS_VALUE,      /* word, s */
    NU_ARGS_E_UNEXPECTED_VALUE, /* word ("--flag=x"), s */
    NU_ARGS_E_BAD_VALUE,        /* s, value; msg: what is wrong (nu_setting_set's) */
    NU_ARGS_E_EXTRA,            /* word: a positional beyond maxpos */
};

struct nu_args_error {
    enum nu_args_status status;
    const struct nu_setting *s;     /* the setting (what an alias spells) */
    const struct nu_setting *alias; /* the alias row written, or NULL */
    const char *word;               /* the argv word at fault */
    const char *value;              /* NU_ARGS_E_BAD_VALUE: the value given */
    char msg[NU_ERRMSG_MAX];
};

struct nu_args {
    const struct nu_setting *table;
    size_t n;
    void *obj; /* the struct the table's fields are in */
    unsigned flags;
    /* NU_S_OPTVALUE: may word be the value? NULL: any word that is not an option */
    bool (*optional_value)(const char *word, void *ud);
    void *ud;
    char **pos; /* out: positionals in order (maxpos entries) */
    size_t maxpos, npos;
    int next; /* out, NU_ARGS_STOP: index of the first positional (argc: none) */
    /* out: the alias rows used, each once, in order (more are not recorded) */
    const struct nu_setting *aliases[NU_ARGS_ALIASES_MAX];
    size_t naliases;
    struct nu_args_error err;
};

/* Parses argv[start..argc-1] into a->obj (defaults are the caller's:
 * nu_settings_defaults). Returns NU_ARGS_OK or the status in a->err. */
NU_WUR enum nu_args_status nu_args_parse(struct nu_args *a, int argc, char **argv, int start);

/* The index of the first positional of argv[start..argc-1] (argc when
 * there is none), skipping the options and the values of those the tables
 * say take one (long options only; one unknown to them takes none). For a
 * command that looks at a positional before it knows its table. */
int nu_args_first_positional(const struct nu_settings_table *tables, size_t ntables, int argc,
                             char **argv, int start);

/* How alias row alias of t reads on a command line and what it spells, for
 * a hint: "--num-nodes N" and "--nodes N", "--no-watcher" and "--restart
 * no", "-l N" and "-n N" (the setting's short name when the alias has only
 * a short one). */
void nu_args_alias_words(const struct nu_setting *t, size_t n, const struct nu_setting *alias,
                         char *written, size_t wsz, char *spelled, size_t ssz);

/* The failure in nearup's words, for "nearup CMD: <it>": "unknown option
 * '--x'", "--home needs a value", "--x takes no value", "--x: <msg>",
 * "unexpected argument 'x'" (an alias is named as written). */
void nu_args_describe(const struct nu_args_error *e, char *out, size_t outsz);

#endif
