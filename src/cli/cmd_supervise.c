/* nearup supervise --home H [--notify] [--ready-fd N]: the supervisor
 * itself. `nearup run` starts it detached (re-executing this program) and
 * reads "ok <pid>" or "error <msg>" from the ready fd. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "state.h"
#include "supervisor.h"

int cmd_supervise(int argc, char **argv)
{
    static const struct option options[] = {
        {"home", required_argument, NULL, 'H'},
        {"notify", no_argument, NULL, 'n'},
        {"ready-fd", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL;
    char home[PATH_MAX], err[NU_ERRMSG_MAX] = "";
    struct node_sup_opts o = {.home = home, .notify = false, .ready_fd = -1};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'H') {
            home_arg = optarg;
        } else if (c == 'n') {
            o.notify = true;
        } else if (c == 'r') {
            char *end;
            errno = 0;
            long fd = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || fd < 3 || fd > INT_MAX)
                return cli_error("supervise", "--ready-fd must be a descriptor number >= 3"), 2;
            o.ready_fd = (int)fd;
        } else {
            cli_error("supervise", "usage: nearup supervise --home DIR [--notify] [--ready-fd N]");
            return 2;
        }
    }
    if (home_arg == NULL || optind != argc) {
        cli_error("supervise", "usage: nearup supervise --home DIR [--notify] [--ready-fd N]");
        return 2;
    }
    if (node_abspath(home_arg, home, sizeof(home), err) < 0) {
        cli_error("supervise", "%s", err);
        return 2;
    }
    int rc = node_supervise(&o, err);
    if (rc != 0 && err[0] != '\0')
        cli_error("supervise", "%s", err);
    return rc;
}
