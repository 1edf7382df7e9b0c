/* nearup's commands: one dispatch table (main.c) of struct cli_cmd, git's
 * { "name", fn, flags } with what the command's --help, man page and
 * completion say; one cmd_<name>.c per command. A command with
 * subcommands (bin, service, snapshot, debug) has no fn of its own: its doc lists
 * the subcommands, dispatched the same way (cli_dispatch).
 *
 * A command's fn(argc, argv) gets argv[0] = its own name and returns the
 * exit code: 0 success, 1 failure, 2 usage. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "args.h"
#include "settings.h"

/* What main() sets up before a command runs (and undoes after). */
#define CLI_CURL 0x1u    /* libcurl loaded and initialised (nu_httpc_global_init) */
#define CLI_SIGNALS 0x2u /* SIGINT and SIGTERM set cli_cancelled (cli_catch_signals) */
#define CLI_HIDDEN 0x4u  /* not listed in help, man pages or completion */

struct cli_doc;

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv); /* NULL: dispatches to doc->subs */
    unsigned flags;                   /* CLI_* */
    const struct cli_doc *doc;
};

/* A command's usage, help text and flags. */
struct cli_doc {
    const char *prog;              /* how messages name it: "run", "snapshot create" */
    const char *summary;           /* one line: command lists, the man page's NAME */
    const char *usage;             /* "nearup run NETWORK [--home DIR] ..." (lines may follow) */
    const char *about;             /* paragraphs for --help and the man page; NULL: none */
    const struct nu_setting *opts; /* its flags */
    size_t nopts;
    const struct nu_settings_table *settings; /* a component's settings, also flags (gateway) */
    const struct cli_cmd *subs;               /* subcommands */
    size_t nsubs;
};

#define CLI_NOPTS(t) (sizeof(t) / sizeof((t)[0]))

/* The commands (main.c) and each command's doc (its cmd_<name>.c). */
extern const struct cli_cmd cli_commands[];
extern const size_t cli_ncommands;

int cmd_run(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_localnet(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_canary(int argc, char **argv);
/* Internal: `nearup supervise --home H` is what a detached supervisor and
 * the systemd unit run (through `run --foreground`). */
int cmd_supervise(int argc, char **argv);

extern const struct cli_doc cli_run_doc, cli_stop_doc, cli_restart_doc, cli_status_doc,
    cli_logs_doc, cli_localnet_doc, cli_bin_doc, cli_service_doc, cli_upgrade_doc, cli_gateway_doc,
    cli_health_doc, cli_canary_doc, cli_snapshot_doc, cli_debug_doc, cli_supervise_doc;

/* Runs command c (argv[0] is its name): its setup flags, then its fn or
 * its subcommand named by argv[1]. Returns the exit code. */
int cli_dispatch(const struct cli_cmd *c, int argc, char **argv);

/* "usage: " and doc's usage (each subcommand's, for a command with subs). */
void cli_print_usage(const struct cli_doc *doc, FILE *out);
/* Usage, about and the flags (--help). */
void cli_print_help(const struct cli_doc *doc, FILE *out);

/* Parses argv[1..] against doc->opts into obj, after the table's
 * defaults; positionals go to pos (at most maxpos, *npos of them). Each
 * alias row used gets its cli_hint ("--num-nodes N is spelled --nodes N
 * here").
 * Returns 0 to go on, -1 after --help was printed (exit 0), or 2 after a
 * usage error was printed. */
int cli_parse(const struct cli_doc *doc, int argc, char **argv, void *obj, char **pos,
              size_t maxpos, size_t *npos);

/* cli_parse against t (n rows: doc's flags and its settings, as the
 * command builds them), without positionals; --help prints doc's help. */
int cli_parse_table(const struct cli_doc *doc, const struct nu_setting *t, size_t n, int argc,
                    char **argv, void *obj);

/* Prints "nearup <cmd>: <msg>\n" to stderr (one line, lowercase). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "nearup: hint: <msg>\n" on stderr: how nearup spells what was written
 * in another program's words (the Python nearup's), which still works. */
void cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: "nearup <prog>: <msg>; see 'nearup <prog> --help'\n" on
 * stderr. Returns 2 (the exit code). */
int cli_usage(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set to 1 by SIGINT/SIGTERM once cli_catch_signals() has run; commands pass
 * &cli_cancelled as the cancel flag of long operations. */
extern volatile sig_atomic_t cli_cancelled;
/* Catches SIGINT and SIGTERM into cli_cancelled, without SA_RESTART, so a
 * blocking call (a wait for a lock, a sleep, a read) returns EINTR. */
void cli_catch_signals(void);

/* Setting hooks shared by several commands' tables (nu_setting_set_fn):
 * --restart always|on-failure|no into an enum node_restart_policy, and
 * --env KEY=VALUE appended to a NU_T_LIST field. */
int cli_set_restart(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz);
int cli_set_env(const struct nu_setting *s, void *obj, const char *value, char *msg, size_t msgsz);

/* ---- which nodes a command acts on (util.c) ---- */

/* What a command takes without --home (or with --all: every registered
 * node, whichever the pick). */
enum cli_homes_pick {
    CLI_HOMES_REGISTERED, /* every registered node (status) */
    CLI_HOMES_RUNNING,    /* the registered nodes that run; two or more need --home (stop) */
    CLI_HOMES_ONE,        /* the registered node; none is an error, two or more need --home */
};

struct cli_homes_sel {
    const char *home; /* --home: a node home, or a localnet root (each of its nodes); or NULL */
    bool all;         /* --all */
    bool has_all;     /* the command has --all (its messages offer it) */
    enum cli_homes_pick pick;
    bool any_home; /* a --home that holds no node is taken as it is (stop: nothing runs there) */
    bool python;   /* the nodes the Python nearup runs count too (legacy.h) */
};

/* The node homes a command acts on, into homes (NODE_MAX_HOMES of
 * PATH_MAX bytes), *n of them: --home's nodes, else the registry's by
 * sel->pick (a node registered both alone and under its localnet root
 * once), then with sel->python the Python nearup's running nodes (under
 * --home: those of the localnet root it names). 0, or the exit code after
 * the error line was printed: 2 for --home with --all, an unusable --home
 * path, or more nodes than the pick takes without --home (CLI_HOMES_RUNNING
 * takes the nodes of one localnet, or the Python nearup's alone); 1 when
 * the registry cannot be read, --home holds no node, or CLI_HOMES_ONE
 * finds none. */
int cli_select_homes(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                     size_t *n);
/* The same list without the pick's checks; *native of them (the first)
 * are nearup's, the rest the Python nearup's. 0 or an exit code. */
int cli_list_homes(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                   size_t *n, size_t *native);
/* The one error line for two or more nodes where one is wanted: "N nodes
 * are <what> (a, b, ...); pass --home DIR[ or --all]". Returns 2. */
int cli_homes_ambiguous(const char *cmd, const char *what, char (*homes)[PATH_MAX], size_t n,
                        bool has_all);

/* ---- the Python nearup's command surface (docs/python-nearup.md) ---- */

/* What the Python nearup's --verbose set. */
#define CLI_PY_RUST_LOG "RUST_LOG=debug,actix_web=info"
/* Rows of run's and localnet's tables: --verbose and --no-watcher are
 * other spellings of --env RUST_LOG=... and --restart no. */
#define CLI_PY_VERBOSE                                                                             \
    {                                                                                              \
        .name = "verbose", .alias_of = "env", .alias_value = CLI_PY_RUST_LOG,                      \
        .help = "the Python nearup's: neard logs at debug level"                                   \
    }
#define CLI_PY_NO_WATCHER                                                                          \
    {                                                                                              \
        .name = "no-watcher", .alias_of = "restart", .alias_value = "no",                          \
        .help = "the Python nearup's: nothing starts neard again when it exits"                    \
    }

/* A setting hook that refuses the flag: a flag of the Python nearup's that
 * means nothing here; its row's help says why and what to use instead
 * (the usage error reads "--flag: <help>"). */
int cli_set_refused(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz);
/* Such a row (hidden: no help, page or completion offers it). field is
 * an NU_FIELD of the command's struct, never written. */
#define CLI_PY_REFUSED(flag, stype, field, why)                                                    \
    {                                                                                              \
        .name = flag, .type = stype, field, .flags = NU_S_HIDDEN, .set = cli_set_refused,          \
        .help = "the Python nearup's: " why                                                        \
    }
/* stop's and restart's --home and --timeout rows, for a struct's fields. */
#define CLI_OPT_STOP_HOME(st, fld)                                                                 \
    {                                                                                              \
        .name = "home", .type = NU_T_STR, NU_FIELD(st, fld), .metavar = "DIR",                     \
        .help = "the node's home, or a localnet root (each of its nodes); default: the one "       \
                "registered node that runs"                                                        \
    }
#define CLI_OPT_STOP_TIMEOUT(st, fld)                                                              \
    {                                                                                              \
        .name = "timeout", .type = NU_T_SECONDS, NU_FIELD(st, fld), .min = 1, .max = 86400,        \
        .help =                                                                                    \
            "seconds neard has after SIGTERM before SIGKILL (default: the run's --stop-timeout)"   \
    }
struct node_stop_result;
/* Stops the node of home (node_stop_ex) for cmd, warning on stderr when
 * neard needed SIGKILL; r (may be NULL) gets what was found. 0, or 1
 * after the error line. */
int cli_stop_node(const char *cmd, const char *home, unsigned timeout_s,
                  struct node_stop_result *r);
/* 1 after an error line when a neard the Python nearup started still runs
 * (its ~/.nearup/node.pid), so that cmd does not start a second node
 * beside it; else 0. */
int cli_refuse_python_node(const char *cmd);
/* --binary-path: a neard binary, or (as the Python nearup took it) a
 * directory holding one, made absolute into out. NU_E* as node_abspath. */
NU_WUR int cli_binary_path(const char *arg, char *out, size_t outsz, char *errbuf);
/* --interactive: asks question on stderr and reads one line from stdin,
 * without its newline and surrounding blanks, into answer. NU_ESTATE
 * when stdin is not a terminal, NU_EIO at its end. */
NU_WUR int cli_prompt(const char *question, char *answer, size_t size);

/* Man pages and completion from the tables (clidoc.c): the hidden modes
 * `nearup --print-man [CMD]` and `nearup --print-completion bash|zsh`. */
int cli_print_man(const char *cmd, FILE *out);
int cli_print_completion(const char *shell, FILE *out);

#endif
