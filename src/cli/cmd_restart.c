/* nearup restart [--home DIR] [--timeout S] [--ready-timeout S]: stop,
 * then start again with the settings run.json recorded. A localnet root
 * means each of its nodes. Without --home: the one registered node that is
 * running. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_run.h"
#include "runcfg.h"
#include "state.h"
#include "supctl.h"

struct restart_opts {
    const char *home_arg;
    unsigned timeout;       /* 0: run.json's stop_timeout */
    unsigned ready_timeout; /* the wait for neard to answer /status */
    bool unused;            /* the Python nearup's flags that change nothing */
    char home[PATH_MAX];    /* restart NETWORK: ~/.near/NETWORK */
};

static const struct nu_setting restart_opts[] = {
    CLI_OPT_STOP_HOME(struct restart_opts, home_arg),
    CLI_OPT_STOP_TIMEOUT(struct restart_opts, timeout),
    {.name = "ready-timeout",
     .type = NU_T_SECONDS,
     NU_FIELD(struct restart_opts, ready_timeout),
     .def = NU_TEXT(CLI_READY_TIMEOUT_S),
     .min = 1,
     .max = 86400,
     .help = "seconds to wait for the restarted neard to answer /status"},
    {.name = "restart-watcher",
     .type = NU_T_BOOL,
     NU_FIELD(struct restart_opts, unused),
     .help = "the Python nearup's: a node's supervisor always restarts with it"},
    CLI_PY_REFUSED("verbose", NU_T_BOOL, NU_FIELD(struct restart_opts, unused),
                   "restart keeps the settings of the node's last 'nearup run'; stop it and run "
                   "it again with --verbose"),
};

const struct cli_doc cli_restart_doc = {
    .prog = "restart",
    .summary = "stop and start a node with its recorded settings",
    .usage = "nearup restart [--home DIR] [--timeout SECONDS] [--ready-timeout SECONDS]",
    .about = "Stops a node and starts it again with the settings its last 'nearup run'\n"
             "recorded (HOME/.nearup/run.json); Ctrl-C while it starts stops it again.\n"
             "'nearup restart NETWORK' (the Python nearup's) is --home ~/.near/NETWORK.\n",
    .opts = restart_opts,
    .nopts = CLI_NOPTS(restart_opts),
};

/* `nearup restart NETWORK` (the Python nearup's) is the node of
 * ~/.near/NETWORK unless --home says which. Returns 0 or exit code 2. */
static int restart_network(struct restart_opts *o, const char *network)
{
    char err[NU_ERRMSG_MAX], def[PATH_MAX];
    if (o->home_arg != NULL) {
        cli_hint("nearup restart %s --home DIR is spelled nearup restart --home DIR here", network);
        return 0;
    }
    snprintf(def, sizeof(def), "~/.near/%s", network);
    if (node_abspath(def, o->home, sizeof(o->home), err) < 0)
        return cli_error("restart", "%s", err), 2;
    o->home_arg = o->home;
    cli_hint("nearup restart %s is spelled nearup restart --home %s here", network, def);
    return 0;
}

/* Returns 0 to go on, -1 after --help, or exit code 2. */
static int parse(int argc, char **argv, struct restart_opts *o)
{
    char *pos[1];
    size_t npos = 0;
    memset(o, 0, sizeof(*o));
    int rc = cli_parse(&cli_restart_doc, argc, argv, o, pos, 1, &npos);
    return rc == 0 && npos > 0 ? restart_network(o, pos[0]) : rc;
}

int cmd_restart(int argc, char **argv)
{
    static char homes[NODE_MAX_HOMES][PATH_MAX];
    struct restart_opts o;
    struct node_run_config c;
    char err[NU_ERRMSG_MAX];
    size_t n = 0;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    struct cli_homes_sel sel = {
        .home = o.home_arg, .pick = CLI_HOMES_RUNNING, .any_home = true, .python = true};
    if ((rc = cli_select_homes("restart", &sel, homes, &n)) != 0)
        return rc;
    if (n == 0) {
        cli_error("restart", "no node is running; pass --home DIR (of a node started once with "
                             "'nearup run')");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (node_runcfg_load(homes[i], &c, err) < 0) {
            cli_error("restart", "%s; start it once with 'nearup run'", err);
            return 1;
        }
        node_runcfg_release(&c);
    }
    int status = 0;
    for (size_t i = 0; i < n; i++)
        status |= cli_stop_node("restart", homes[i], o.timeout, NULL);
    /* From here on Ctrl-C stops the node being started, as in 'nearup run'. */
    cli_catch_signals();
    for (size_t i = 0; i < n && status == 0; i++)
        status |= cli_start_detached_ex("restart", homes[i], o.ready_timeout, &cli_cancelled);
    return status;
}
