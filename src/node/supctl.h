/* Controlling a home's supervisor from outside (supctl.c): finding and
 * running the nearup-supervisor program, starting one detached and
 * stopping it and neard. */
#ifndef NODE_SUPCTL_H
#define NODE_SUPCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

/* Starts a detached supervisor for home (fork, setsid, stdio to /dev/null)
 * and waits until it reports neard answering /status, or an error (with
 * neard's last log lines). */
NU_WUR int node_supervisor_start(const char *home, unsigned ready_timeout_s, char *errbuf);
/* node_supervisor_start that also stops waiting as soon as *cancel is set
 * (a SIGINT/SIGTERM handler's flag; may be NULL): it then stops the
 * supervisor and neard it started (node_stop) and returns NU_ESTATE. */
NU_WUR int node_supervisor_start_ex(const char *home, unsigned ready_timeout_s,
                                    const volatile sig_atomic_t *cancel, char *errbuf);

/* The nearup-supervisor program (supervisor_main.c) beside the running
 * nearup: in the directory of /proc/self/exe (installed: bindir), or in a
 * build tree, <build>/src/node/ for <build>/src/cli/nearup (build/nearup
 * is a symlink to the latter). NU_ENOENT naming where it looked. */
NU_WUR int node_supervisor_path(char *out, size_t outsz, char *errbuf);
/* Replaces this process with `nearup-supervisor --cmd cmd args...` (args
 * NULL-terminated). Returns only on failure. */
NU_WUR int node_supervisor_exec(const char *cmd, char *const args[], char *errbuf);
/* Stops the supervisor and neard of home; returns when both are gone.
 * Handles a dead supervisor with a live neard (kill -9 of the supervisor). */
NU_WUR int node_stop(const char *home, unsigned timeout_s, char *errbuf);

/* What node_stop_ex found and did, for the command to report. */
struct node_stop_result {
    bool was_running;     /* a supervisor or neard of this home was alive */
    bool killed;          /* neard did not stop in time and got SIGKILL */
    pid_t neard_pid;      /* the neard that was stopped, 0 if none */
    pid_t supervisor_pid; /* the supervisor that was stopped, 0 if none */
};
/* node_stop with a report. timeout_s 0 means run.json's stop_timeout
 * (default NODE_DEFAULT_STOP_TIMEOUT_S). res may be NULL. */
NU_WUR int node_stop_ex(const char *home, unsigned timeout_s, struct node_stop_result *res,
                        char *errbuf);

#endif
