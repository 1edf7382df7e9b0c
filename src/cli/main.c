/* nearup: git-style dispatch to one cmd_<name> per subcommand. */
#include <stdio.h>
#include <string.h>

#include "log.h"

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cmd commands[] = {
    {"version", cmd_version, "print nearup's version"},
    {"help", cmd_help, "list commands"},
};

static int cmd_version(int argc, char **argv)
{
    printf("nearup %s\n", NU_VERSION);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: nearup [--version] [--help] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
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
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "nearup: unknown command '%s'; see 'nearup help'\n", name);
    return 2;
}
