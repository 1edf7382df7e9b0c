/* nearup's commands: one dispatch table (main.c) of struct cli_cmd, git's
 * { "name", fn, flags } with what the command's --help, man page and
 * completion say; one cmd_<name>.c per command. A command with
 * subcommands (bin, service, snapshot) has no fn of its own: its doc lists
 * the subcommands, dispatched the same way (cli_dispatch).
 *
 * A command's fn(argc, argv) gets argv[0] = its own name and returns the
 * exit code: 0 success, 1 failure, 2 usage. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <limits.h>
#include <signal.h>
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
/* Internal: `nearup supervise --home H` is what a detached supervisor and
 * the systemd unit run (through `run --foreground`). */
int cmd_supervise(int argc, char **argv);

extern const struct cli_doc cli_run_doc, cli_stop_doc, cli_restart_doc, cli_status_doc,
    cli_logs_doc, cli_localnet_doc, cli_bin_doc, cli_service_doc, cli_upgrade_doc, cli_gateway_doc,
    cli_health_doc, cli_snapshot_doc, cli_debug_doc, cli_supervise_doc;

/* Runs command c (argv[0] is its name): its setup flags, then its fn or
 * its subcommand named by argv[1]. Returns the exit code. */
int cli_dispatch(const struct cli_cmd *c, int argc, char **argv);

/* "usage: " and doc's usage (each subcommand's, for a command with subs). */
void cli_print_usage(const struct cli_doc *doc, FILE *out);
/* Usage, about and the flags (--help). */
void cli_print_help(const struct cli_doc *doc, FILE *out);

/* Parses argv[1..] against doc->opts into obj, after the table's
 * defaults; positionals go to pos (at most maxpos, *npos of them).
 * Returns 0 to go on, -1 after --help was printed (exit 0), or 2 after a
 * usage error was printed. */
int cli_parse(const struct cli_doc *doc, int argc, char **argv, void *obj, char **pos,
              size_t maxpos, size_t *npos);

/* Prints "nearup <cmd>: <msg>\n" to stderr (one line, lowercase). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: "nearup <prog>: <msg>; see 'nearup <prog> --help'\n" on
 * stderr. Returns 2 (the exit code). */
int cli_usage(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The node homes a command works on: those behind --home (a node home,
 * or each node of a localnet root: node_homes_expand) when home is not
 * NULL, else every registered one, into homes (NODE_MAX_HOMES of them).
 * 0, or 1 after the error line was printed. */
int cli_list_homes(const char *cmd, const char *home, char (*homes)[PATH_MAX], size_t *n);

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

/* Man pages and completion from the tables (clidoc.c): the hidden modes
 * `nearup --print-man [CMD]` and `nearup --print-completion bash|zsh`. */
int cli_print_man(const char *cmd, FILE *out);
int cli_print_completion(const char *shell, FILE *out);

#endif
