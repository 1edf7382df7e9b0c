/* nearup supervise --home H [--notify] [--ready-fd N]: the supervisor of a
 * home in the foreground. The supervisor is a program of its own,
 * nearup-supervisor (src/node/supervisor_main.c), installed beside nearup:
 * this command replaces itself with it, passing its arguments on. */
#include <stdlib.h>

#include "cmd.h"
#include "supctl.h"

const struct cli_doc cli_supervise_doc = {
    .prog = "supervise",
    .summary = "run a home's supervisor in the foreground (what units and detached runs exec)",
    .usage = "nearup supervise --home DIR [--notify] [--ready-fd N]",
};

int cmd_supervise(int argc, char **argv)
{
    char err[NU_ERRMSG_MAX];
    if (node_supervisor_exec("supervise", argv + 1, err) < 0)
        cli_error("supervise", "%s", err);
    return 1;
}
