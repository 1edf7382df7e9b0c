/* Nodes under systemd: the unit to stop and start instead of the
 * supervisor (see sysunit.c). */
#ifndef SNAP_SYSUNIT_H
#define SNAP_SYSUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

struct snap_unit {
    char name[256]; /* "nearup-testnet.service" */
    bool user;      /* a user unit (systemctl --user) */
};

/* The unit whose main process is home's supervisor; NU_ENOENT when the
 * supervisor is not run by systemd (or not running). */
NU_WUR int snap_systemd_unit(const char *home, struct snap_unit *u);
/* systemctl [--user] stop|start UNIT, waiting at most timeout_s. */
NU_WUR int snap_unit_stop(const struct snap_unit *u, unsigned timeout_s, char *errbuf);
NU_WUR int snap_unit_start(const struct snap_unit *u, unsigned timeout_s, char *errbuf);
/* The unit in /proc/<pid>/cgroup text: the last "*.service" component
 * that is not a user manager (user@N.service). Exposed for tests. */
NU_WUR int snap_cgroup_unit(const char *cgroup, char *unit, size_t unitsz, bool *user);

#endif
