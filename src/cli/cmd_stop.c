/* nearup stop [--home DIR | --all] [--timeout S] and nearup restart
 * [--home DIR] [--timeout S] [--ready-timeout S]. A localnet root means each
 * of its nodes. Without --home: the one registered node that is running. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_run.h"
#include "legacy.h"
#include "state.h"
#include "runcfg.h"
#include "supctl.h"

struct stop_opts {
    const char *home_arg;
    bool all;
    unsigned timeout;       /* 0: run.json's stop_timeout */
    unsigned ready_timeout; /* restart: the wait for neard to answer /status */
    bool unused;            /* the Python nearup's flags that change nothing */
    char home[PATH_MAX];    /* restart NETWORK: ~/.near/NETWORK */
};

#define OPT_HOME                                                                                   \
    {                                                                                              \
        .name = "home", .type = NU_T_STR, NU_FIELD(struct stop_opts, home_arg), .metavar = "DIR",  \
        .help = "the node's home, or a localnet root (each of its nodes); default: the one "       \
                "registered node that runs"                                                        \
    }
#define OPT_TIMEOUT                                                                                \
    {                                                                                              \
        .name = "timeout", .type = NU_T_SECONDS, NU_FIELD(struct stop_opts, timeout), .min = 1,    \
        .max = 86400,                                                                              \
        .help =                                                                                    \
            "seconds neard has after SIGTERM before SIGKILL (default: the run's --stop-timeout)"   \
    }

static const struct nu_setting stop_opts[] = {
    OPT_HOME,
    {.name = "all",
     .type = NU_T_BOOL,
     NU_FIELD(struct stop_opts, all),
     .help = "every node in the registry (each localnet root: all of its nodes)"},
    OPT_TIMEOUT,
    CLI_PY_REFUSED("keep-watcher", NU_T_BOOL, NU_FIELD(struct stop_opts, unused),
                   "there is no watcher to keep; a node's supervisor always stops with it, so "
                   "leave the flag out"),
};

static const struct nu_setting restart_opts[] = {
    OPT_HOME,
    OPT_TIMEOUT,
    {.name = "ready-timeout",
     .type = NU_T_SECONDS,
     NU_FIELD(struct stop_opts, ready_timeout),
     .def = NU_TEXT(CLI_READY_TIMEOUT_S),
     .min = 1,
     .max = 86400,
     .help = "seconds to wait for the restarted neard to answer /status"},
    {.name = "restart-watcher",
     .type = NU_T_BOOL,
     NU_FIELD(struct stop_opts, unused),
     .help = "the Python nearup's: a node's supervisor always restarts with it"},
    CLI_PY_REFUSED("verbose", NU_T_BOOL, NU_FIELD(struct stop_opts, unused),
                   "restart keeps the settings of the node's last 'nearup run'; stop it and run "
                   "it again with --verbose"),
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
static int restart_network(struct stop_opts *o, const char *network)
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
static int parse(const struct cli_doc *doc, int argc, char **argv, struct stop_opts *o)
{
    char *pos[1];
    size_t npos = 0;
    memset(o, 0, sizeof(*o));
    int rc = cli_parse(doc, argc, argv, o, pos, doc == &cli_restart_doc, &npos);
    if (rc == 0 && o->all && o->home_arg != NULL)
        return cli_usage(doc->prog, "--home and --all exclude each other");
    return rc == 0 && npos > 0 ? restart_network(o, pos[0]) : rc;
}

static bool home_running(const char *home)
{
    return node_pidfile_alive(home, "supervisor.pid", NULL) ||
           node_pidfile_alive(home, "neard.pid", NULL);
}

/* Appends the node homes behind one path (a localnet root expands, also
 * to the nodes of a localnet the Python nearup runs there, from l). */
static void add_expanded(const char *home, const struct node_legacy *l, char (*out)[PATH_MAX],
                         size_t max, size_t *n)
{
    size_t got = 0;
    if (*n < max && node_homes_expand(home, out + *n, max - *n, &got, NULL) == 0) {
        *n += got;
        return;
    }
    size_t before = *n;
    if (l != NULL)
        node_legacy_homes(l, home, out, max, n);
    if (*n == before && *n < max) {
        snprintf(out[*n], PATH_MAX, "%s", home);
        (*n)++;
    }
}

/* A home registered both alone and under its localnet root appears once. */
static void dedupe(char (*homes)[PATH_MAX], size_t *n)
{
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        bool seen = false;
        for (size_t j = 0; j < out && !seen; j++)
            seen = strcmp(homes[j], homes[i]) == 0;
        if (!seen && out != i)
            memcpy(homes[out], homes[i], strnlen(homes[i], PATH_MAX - 1) + 1);
        out += !seen;
    }
    *n = out;
}

/* True when the homes are the nodes of one localnet: node0, node1, ...
 * of one root. */
static bool one_localnet(char (*homes)[PATH_MAX], size_t n)
{
    const char *slash0 = strrchr(homes[0], '/');
    for (size_t i = 0; i < n; i++) {
        const char *slash = strrchr(homes[i], '/');
        uint64_t k;
        if (slash == NULL || slash0 == NULL || slash - homes[i] != slash0 - homes[0] ||
            strncmp(homes[i], homes[0], (size_t)(slash0 - homes[0])) != 0 ||
            strncmp(slash + 1, "node", 4) != 0 || nu_parse_uint(slash + 5, 1u << 20, &k) != 0)
            return false;
    }
    return true;
}

/* The registered homes (all, or those running) and those of the nodes
 * the Python nearup runs; *native counts the former. */
static int registered_homes(const char *cmd, const struct stop_opts *o, const struct node_legacy *l,
                            char (*homes)[PATH_MAX], size_t *n, size_t *native)
{
    static char reg[NODE_MAX_HOMES][PATH_MAX];
    char err[NU_ERRMSG_MAX];
    size_t nreg = 0;
    if (node_registry_list(reg, NODE_MAX_HOMES, &nreg, err) < 0)
        return cli_error(cmd, "%s", err), 1;
    for (size_t i = 0; i < nreg; i++) {
        if (o->all || home_running(reg[i]))
            add_expanded(reg[i], NULL, homes, NODE_MAX_HOMES, n);
    }
    dedupe(homes, n);
    *native = *n;
    if (l != NULL)
        node_legacy_homes(l, NULL, homes, NODE_MAX_HOMES, n);
    return -1;
}

/* Which homes the command acts on; returns an exit code when it is done. */
static int select_homes(const char *cmd, const struct stop_opts *o, char (*homes)[PATH_MAX],
                        size_t *n)
{
    char home[PATH_MAX], err[NU_ERRMSG_MAX];
    struct node_legacy *l = NULL;
    size_t native = 0;
    int rc = -1;
    *n = 0;
    if (node_legacy_load(&l, NULL) != 0)
        l = NULL; /* an unreadable file of the Python nearup's does not stop nearup's */
    if (o->home_arg != NULL && node_abspath(o->home_arg, home, sizeof(home), err) < 0)
        rc = (cli_error(cmd, "%s", err), 2);
    else if (o->home_arg != NULL)
        add_expanded(home, l, homes, NODE_MAX_HOMES, n);
    else
        rc = registered_homes(cmd, o, l, homes, n, &native);
    node_legacy_free(l);
    /* The nodes of one localnet stop together, and so do the Python
     * nearup's nodes alone, as its stop did. */
    if (rc >= 0 || o->home_arg != NULL || o->all || *n <= 1 || native == 0 ||
        (native == *n && one_localnet(homes, *n)))
        return rc;
    cli_error(cmd, "%zu nodes are running (%s, %s%s); pass --home DIR%s", *n, homes[0], homes[1],
              *n > 2 ? ", ..." : "", strcmp(cmd, "stop") == 0 ? " or --all" : "");
    return 2;
}

static int stop_one(const char *cmd, const char *home, unsigned timeout)
{
    struct node_stop_result r;
    char err[NU_ERRMSG_MAX];
    int rc = node_stop_ex(home, timeout, &r, err);
    if (r.killed)
        fprintf(stderr,
                "nearup %s: warning: neard (pid %ld) of %s did not stop in time after SIGTERM; "
                "killed it with SIGKILL\n",
                cmd, (long)r.neard_pid, home);
    if (rc < 0) {
        cli_error(cmd, "%s: %s", home, err);
        return 1;
    }
    if (strcmp(cmd, "stop") != 0)
        return 0;
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
    int rc = parse(&cli_stop_doc, argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    rc = select_homes("stop", &o, homes, &n);
    if (rc >= 0)
        return rc;
    if (n == 0) {
        printf("nearup stop: nothing running\n");
        return 0;
    }
    int status = 0;
    for (size_t i = 0; i < n; i++)
        status |= stop_one("stop", homes[i], o.timeout);
    return status;
}

int cmd_restart(int argc, char **argv)
{
    static char homes[NODE_MAX_HOMES][PATH_MAX];
    struct stop_opts o;
    struct node_run_config c;
    char err[NU_ERRMSG_MAX];
    size_t n = 0;
    int rc = parse(&cli_restart_doc, argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    rc = select_homes("restart", &o, homes, &n);
    if (rc >= 0)
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
        status |= stop_one("restart", homes[i], o.timeout);
    /* From here on Ctrl-C stops the node being started, as in 'nearup run'. */
    cli_catch_signals();
    for (size_t i = 0; i < n && status == 0; i++)
        status |= cli_start_detached_ex("restart", homes[i], o.ready_timeout, &cli_cancelled);
    return status;
}
