/* Shared by cmd_run.c and cmd_stop.c (restart). */
#ifndef CLI_CMD_RUN_H
#define CLI_CMD_RUN_H

/* Starts a detached supervisor for home with its run.json and prints
 * "nearup <cmd>: neard <version> running for <home> (pid N), rpc ..., logs
 * ..." or the error. Returns the exit code. */
int cli_start_detached(const char *cmd, const char *home);

#endif
