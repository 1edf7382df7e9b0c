/* One cmd_<name>(argc, argv) per subcommand (argv[0] is the command name).
 * Each returns the process exit code: 0 success, 1 failure, 2 usage. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

int cmd_run(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_localnet(int argc, char **argv);
int cmd_bin(int argc, char **argv);
int cmd_service(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
/* Internal: `nearup supervise --home H` is what a detached supervisor and
 * the systemd unit run (through `run --foreground`). */
int cmd_supervise(int argc, char **argv);

/* Prints "nearup <cmd>: <msg>\n" to stderr (one line, lowercase). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
