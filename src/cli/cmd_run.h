/* Shared by cmd_run.c and cmd_restart.c. */
#ifndef CLI_CMD_RUN_H
#define CLI_CMD_RUN_H

#include <signal.h>

/* --ready-timeout's default: seconds to wait for neard to answer /status. */
#define CLI_READY_TIMEOUT_S 60

/* Starts a detached supervisor for home with its run.json, waits up to
 * ready_timeout_s for neard to answer /status, and prints "nearup <cmd>:
 * neard <version> running for <home> (pid N), rpc ..., logs ..." or the
 * error. When *cancel is set meanwhile (SIGINT/SIGTERM; cancel may be NULL)
 * it stops the node it started and says so. Returns the exit code. */
int cli_start_detached_ex(const char *cmd, const char *home, unsigned ready_timeout_s,
                          const volatile sig_atomic_t *cancel);

#endif
