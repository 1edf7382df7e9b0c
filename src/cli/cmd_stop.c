/* nearup stop [--home DIR | --all] [--timeout S] and nearup restart
 * [--home DIR] [--timeout S] [--ready-timeout S]. A localnet root means each
 * of its nodes. Without --home: the one registered node that is running. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_run.h"
#include "state.h"
#include "supervisor.h"

struct stop_opts {
    const char *home_arg;
    bool all;
    unsigned timeout;       /* 0: run.json's stop_timeout */
    unsigned ready_timeout; /* restart: the wait for neard to answer /status */
};

static const char stop_usage[] = "usage: nearup stop [--home DIR | --all] [--timeout SECONDS]";
static const char restart_usage[] =
    "usage: nearup restart [--home DIR] [--timeout SECONDS] [--ready-timeout SECONDS]";

/* --timeout and --ready-timeout: seconds, 1-86400. Returns 0 or exit code 2. */
static int parse_seconds(const char *cmd, const char *flag, const char *arg, unsigned *out)
{
    long v;
    if (cli_parse_long(arg, 1, 86400, &v) < 0) {
        cli_error(cmd, "%s must be a number of seconds (1-86400)", flag);
        return 2;
    }
    *out = (unsigned)v;
    return 0;
}

/* Returns 0 to go on, -1 after --help, or exit code 2. */
static int parse(const char *cmd, int argc, char **argv, struct stop_opts *o, bool is_restart)
{
    static const struct option options[] = {
        {"home", required_argument, NULL, 'H'},    {"all", no_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 't'}, {"ready-timeout", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *usage = is_restart ? restart_usage : stop_usage;
    int c, rc = 0;
    memset(o, 0, sizeof(*o));
    o->ready_timeout = CLI_READY_TIMEOUT_S;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'H':
            o->home_arg = optarg;
            break;
        case 'a':
            if (is_restart)
                goto usage;
            o->all = true;
            break;
        case 't':
            rc = parse_seconds(cmd, "--timeout", optarg, &o->timeout);
            break;
        case 'R':
            if (!is_restart)
                goto usage;
            rc = parse_seconds(cmd, "--ready-timeout", optarg, &o->ready_timeout);
            break;
        case 'h':
            printf("%s\n", usage);
            return -1;
        default:
            goto usage;
        }
    }
    if (rc != 0)
        return rc;
    if (optind == argc && !(o->all && o->home_arg != NULL))
        return 0;
usage:
    cli_error(cmd, "%s", usage);
    return 2;
}

static bool home_running(const char *home)
{
    return node_pidfile_alive(home, "supervisor.pid", NULL) ||
           node_pidfile_alive(home, "neard.pid", NULL);
}

/* Appends the node homes behind one path (a localnet root expands). */
static void add_expanded(const char *home, char (*out)[PATH_MAX], size_t max, size_t *n)
{
    size_t got = 0;
    if (*n < max && node_homes_expand(home, out + *n, max - *n, &got, NULL) == 0) {
        *n += got;
    } else if (*n < max) {
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

/* Which homes the command acts on; returns an exit code when it is done. */
static int select_homes(const char *cmd, const struct stop_opts *o, char (*homes)[PATH_MAX],
                        size_t *n)
{
    static char reg[NODE_MAX_HOMES][PATH_MAX];
    char home[PATH_MAX], err[NU_ERRMSG_MAX];
    size_t nreg = 0;
    *n = 0;
    if (o->home_arg != NULL) {
        if (node_abspath(o->home_arg, home, sizeof(home), err) < 0)
            return cli_error(cmd, "%s", err), 2;
        add_expanded(home, homes, NODE_MAX_HOMES, n);
        return -1;
    }
    if (node_registry_list(reg, NODE_MAX_HOMES, &nreg, err) < 0)
        return cli_error(cmd, "%s", err), 1;
    for (size_t i = 0; i < nreg; i++) {
        if (o->all || home_running(reg[i]))
            add_expanded(reg[i], homes, NODE_MAX_HOMES, n);
    }
    dedupe(homes, n);
    if (o->all || *n <= 1)
        return -1;
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
    int rc = parse("stop", argc, argv, &o, false);
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
    int rc = parse("restart", argc, argv, &o, true);
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
