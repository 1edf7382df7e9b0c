/* nearup: git-style dispatch to one cmd_<name> per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cli_doc version_doc = {
    .prog = "version", .summary = "print nearup's version", .usage = "nearup version"};
static const struct cli_doc help_doc = {
    .prog = "help", .summary = "list commands", .usage = "nearup help"};

/* The flags say what a command needs set up before it runs: CLI_CURL
 * loads libcurl (the only commands that pay for it), CLI_SIGNALS turns
 * Ctrl-C into cli_cancelled. Commands that load libcurl only on some paths
 * (run, localnet and status fetch or probe through src/node, which
 * initialises it where it is used) are not flagged. */
const struct cli_cmd cli_commands[] = {
    {"run", cmd_run, CLI_SIGNALS, &cli_run_doc},
    {"stop", cmd_stop, 0, &cli_stop_doc},
    {"restart", cmd_restart, 0, &cli_restart_doc},
    {"status", cmd_status, 0, &cli_status_doc},
    {"logs", cmd_logs, 0, &cli_logs_doc},
    {"localnet", cmd_localnet, CLI_SIGNALS, &cli_localnet_doc},
    {"bin", NULL, 0, &cli_bin_doc},
    {"service", NULL, 0, &cli_service_doc},
    {"upgrade", cmd_upgrade, CLI_CURL | CLI_SIGNALS, &cli_upgrade_doc},
    {"gateway", cmd_gateway, 0, &cli_gateway_doc},
    {"health", cmd_health, 0, &cli_health_doc},
    {"canary", cmd_canary, 0, &cli_canary_doc},
    {"snapshot", NULL, 0, &cli_snapshot_doc},
    {"debug", NULL, 0, &cli_debug_doc},
    {"supervise", cmd_supervise, CLI_HIDDEN, &cli_supervise_doc},
    {"version", cmd_version, 0, &version_doc},
    {"help", cmd_help, 0, &help_doc},
};

const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

static int cmd_version(int argc, char **argv)
{
    printf("nearup %s\n", NU_VERSION);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: nearup [--version] [--help] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < cli_ncommands; i++) {
        if (!(cli_commands[i].flags & CLI_HIDDEN))
            fprintf(out, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].doc->summary);
    }
    fprintf(out, "\nSee 'nearup <command> --help' for a command's flags.\n");
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
    else if (strcmp(name, "--print-man") == 0)
        return cli_print_man(argc > 2 ? argv[2] : NULL, stdout);
    else if (strcmp(name, "--print-completion") == 0)
        return cli_print_completion(argc > 2 ? argv[2] : "", stdout);
    for (size_t i = 0; i < cli_ncommands; i++) {
        if (strcmp(cli_commands[i].name, name) == 0)
            return cli_dispatch(&cli_commands[i], argc - 1, argv + 1);
    }
    fprintf(stderr, "nearup: unknown command '%s'; see 'nearup help'\n", name);
    return 2;
}
