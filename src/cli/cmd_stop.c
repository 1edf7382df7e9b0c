/* nearup stop [--home DIR | --all] [--timeout S]. A localnet root means
 * each of its nodes. Without --home: the one registered node that is
 * running (or the one localnet whose nodes run). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "state.h"
#include "runcfg.h"
#include "supctl.h"

struct stop_opts {
    const char *home_arg;
    bool all;
    unsigned timeout; /* 0: run.json's stop_timeout */
    bool unused;      /* the Python nearup's flags that change nothing */
};

static const struct nu_setting stop_opts[] = {
    CLI_OPT_STOP_HOME(struct stop_opts, home_arg),
    {.name = "all",
     .type = NU_T_BOOL,
     NU_FIELD(struct stop_opts, all),
     .help = "every node in the registry (each localnet root: all of its nodes)"},
    CLI_OPT_STOP_TIMEOUT(struct stop_opts, timeout),
    CLI_PY_REFUSED("keep-watcher", NU_T_BOOL, NU_FIELD(struct stop_opts, unused),
                   "there is no watcher to keep; a node's supervisor always stops with it, so "
                   "leave the flag out"),
};

const struct cli_doc cli_stop_doc = {
    .prog = "stop",
    .summary = "stop a node (or --all) and wait until it is gone",
    .usage = "nearup stop [--home DIR | --all] [--timeout SECONDS]",
    .about = "Stops the supervisor and its neard (SIGTERM, then SIGKILL after the timeout) and\n"
             "waits until both are gone. Node data is never touched.\n",
    .opts = stop_opts,
    .nopts = CLI_NOPTS(stop_opts),
};

/* Returns 0 to go on, -1 after --help, or exit code 2. */
static int parse(int argc, char **argv, struct stop_opts *o)
{
    memset(o, 0, sizeof(*o));
    return cli_parse(&cli_stop_doc, argc, argv, o, NULL, 0, NULL);
}

static int stop_one(const char *home, unsigned timeout)
{
    struct node_stop_result r;
    if (cli_stop_node("stop", home, timeout, &r) != 0)
        return 1;
    struct node_lock_owner lo;
    if (!r.was_running && node_home_lock_owner(home, &lo) && lo.role == NODE_LOCK_RESTORE)
        printf("nearup stop: no node runs for %s; a snapshot restore is in progress there (pid "
               "%ld), which stop leaves alone (interrupt it with 'kill -INT %ld')\n",
               home, (long)lo.pid, (long)lo.pid);
    else if (!r.was_running)
        printf("nearup stop: nothing running for %s\n", home);
    else if (r.neard_pid != 0)
        printf("nearup stop: stopped neard (pid %ld) of %s\n", (long)r.neard_pid, home);
    else
        printf("nearup stop: stopped the supervisor of %s\n", home);
    return 0;
}

int cmd_stop(int argc, char **argv)
{
    static char homes[NODE_MAX_HOMES][PATH_MAX];
    struct stop_opts o;
    size_t n = 0;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    struct cli_homes_sel sel = {.home = o.home_arg,
                                .all = o.all,
                                .has_all = true,
                                .pick = CLI_HOMES_RUNNING,
                                .any_home = true,
                                .python = true};
    if ((rc = cli_select_homes("stop", &sel, homes, &n)) != 0)
        return rc;
    if (n == 0) {
        printf("nearup stop: nothing running\n");
        return 0;
    }
    int status = 0;
    for (size_t i = 0; i < n; i++)
        status |= stop_one(homes[i], o.timeout);
    return status;
}
