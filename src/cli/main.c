/* nearup: git-style dispatch to one cmd_<name> per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

/* Subcommands land one by one; a weak reference is NULL until its file is
 * linked in, and such a command is reported as unknown. */
#pragma weak cmd_run
#pragma weak cmd_stop
#pragma weak cmd_restart
#pragma weak cmd_status
#pragma weak cmd_logs
#pragma weak cmd_localnet
#pragma weak cmd_bin
#pragma weak cmd_service
#pragma weak cmd_upgrade
#pragma weak cmd_supervise
#pragma weak cmd_gateway
#pragma weak cmd_health
#pragma weak cmd_snapshot

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cmd commands[] = {
    {"run", cmd_run, "initialise a home if needed and run neard under a supervisor"},
    {"stop", cmd_stop, "stop a node (or --all) and wait until it is gone"},
    {"restart", cmd_restart, "stop and start a node with its recorded settings"},
    {"status", cmd_status, "show each node's version, pid, head, sync, peers, health, lag"},
    {"logs", cmd_logs, "print or follow a node's neard log across rotation"},
    {"localnet", cmd_localnet, "run a local multi-node network"},
    {"bin", cmd_bin, "list, fetch or prune cached neard binaries"},
    {"service", cmd_service, "install, uninstall or print a systemd unit"},
    {"upgrade", cmd_upgrade, "switch neard versions, optionally at a block height"},
    {"gateway", cmd_gateway, "NEAR-aware JSON-RPC gateway in front of RPC nodes"},
    {"health", cmd_health, "health-check sidecar for one node (HTTP and HAProxy agent-check)"},
    {"snapshot", cmd_snapshot, "create, restore, list, verify or prune data snapshots"},
    {"supervise", cmd_supervise, NULL},
    {"version", cmd_version, "print nearup's version"},
    {"help", cmd_help, "list commands"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_version(int argc, char **argv)
{
    printf("nearup %s\n", NU_VERSION);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: nearup [--version] [--help] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (commands[i].fn != NULL && commands[i].help != NULL)
            fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    }
}

static int cmd_help(int argc, char **argv)
{
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0)
        name = "version";
    else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0 && commands[i].fn != NULL)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "nearup: unknown command '%s'; see 'nearup help'\n", name);
    return 2;
}
