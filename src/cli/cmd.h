/* One cmd_<name>(argc, argv) per subcommand (argv[0] is the command name).
 * Each returns the process exit code: 0 success, 1 failure, 2 usage. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <signal.h>

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

/* Set to 1 by SIGINT/SIGTERM once cli_catch_signals() has run; commands pass
 * &cli_cancelled as the cancel flag of long operations. */
extern volatile sig_atomic_t cli_cancelled;
/* Catches SIGINT and SIGTERM into cli_cancelled, without SA_RESTART, so a
 * blocking call (a wait for a lock, a sleep, a read) returns EINTR. */
void cli_catch_signals(void);

/* Parses a whole decimal number from lo to hi (nothing else in s) into *out.
 * Returns 0, or NU_EINVAL (-1) with *out untouched. */
int cli_parse_long(const char *s, long lo, long hi, long *out) __attribute__((warn_unused_result));

#endif
