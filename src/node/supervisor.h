/* The supervisor: one per home. It holds the home's lock, runs neard with
 * execve, sends its output to the rotated log, restarts it on crash with
 * exponential backoff (giving up after a bounded number of fast crashes),
 * stops it with SIGTERM then SIGKILL after a timeout, speaks systemd's
 * notify protocol, and performs pending upgrades when neard stops at the
 * upgrade height (supervisor.c and the sup_*.c files it drives, sup-int.h). */
#ifndef NODE_SUPERVISOR_H
#define NODE_SUPERVISOR_H

#include <stdbool.h>
#include "error.h"

struct node_sup_opts {
    const char *home; /* absolute */
    bool notify;      /* sd_notify READY/WATCHDOG/STOPPING (systemd Type=notify) */
    int ready_fd;     /* -1, or a pipe: one line "ok <neard pid>\n" or "error <msg>\n" */
};

/* Runs the supervisor in this process until it is stopped (SIGTERM/SIGINT)
 * or gives up. Takes the home lock first (fails if held). Returns the
 * process exit code: 0 after a requested stop, 1 when it gave up. */
int node_supervise(const struct node_sup_opts *o, char *errbuf);

#endif
