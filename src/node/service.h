/* systemd integration: the unit file that runs one node as
 *   nearup run NETWORK --foreground --home H [run flags...]
 * with Type=notify. The supervisor (the unit's main process) sends READY=1
 * once neard answers /status and WATCHDOG=1 only while the head advances,
 * so systemd restarts a node whose chain is stuck. Units pass
 * `systemd-analyze verify` with no warnings (tests check it). */
#ifndef NODE_SERVICE_H
#define NODE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "error.h"

#define NODE_SERVICE_WATCHDOG_S 120 /* neard blocks every ~1 s; 120 s is a stuck node */
#define NODE_SERVICE_RESTART_S 10   /* systemd's delay before restarting a failed supervisor */
#define NODE_SERVICE_START_TIMEOUT_S 1800 /* first start may download a binary and genesis */
#define NODE_SERVICE_STOP_MARGIN_S 30     /* TimeoutStopSec = nearup's stop timeout + this */
#define NODE_SERVICE_NAME_MAX 256
#define NODE_SERVICE_UNIT_MAX (64u << 10)

struct node_service_opts {
    const char *nearup;          /* absolute path of the nearup executable (ExecStart) */
    const char *network;         /* first argument of `run` */
    const char *home;            /* absolute node home */
    bool user;                   /* a `systemctl --user` unit: no User=, WantedBy=default.target */
    const char *run_user;        /* User= of a system unit (required unless user) */
    const char *const *run_args; /* extra `run` flags, NULL-terminated, or NULL */
    unsigned stop_timeout_s;     /* nearup's stop timeout; 0 = NODE_DEFAULT_STOP_TIMEOUT_S */
};

/* The unit text appended to out. NU_EINVAL (message in errbuf) for a path
 * or argument systemd cannot express (newline, non-absolute path). */
NU_WUR int node_service_unit(const struct node_service_opts *o, struct nu_buf *out, char *errbuf);
/* "nearup-<network>.service" (or "<name>.service" when name is given) into
 * out. NU_EINVAL when the result is not a valid unit name. */
NU_WUR int node_service_name(const char *network, const char *name, char *out, size_t outsz,
                             char *errbuf);
/* The directory units are installed in: $NEARUP_SYSTEMD_DIR when set (tests),
 * else /etc/systemd/system, or $XDG_CONFIG_HOME/systemd/user (default
 * ~/.config/systemd/user) for user units. */
NU_WUR int node_service_dir(bool user, char *out, size_t outsz, char *errbuf);
/* True when `systemctl` can be used: systemd is the running init (as
 * sd_booted), systemctl is installed and NEARUP_SYSTEMD_DIR is not set
 * (tests never touch the real systemd). */
bool node_service_systemd_running(void);
/* Path of the systemctl executable, or NULL. */
const char *node_service_systemctl(void);
/* The one way nearup runs systemctl: `systemctl [--user] ARGS...` (args
 * NULL-terminated, at most NODE_SYSTEMCTL_ARGS_MAX), waiting at most
 * timeout_s for it; a systemctl that takes longer is killed. With out, its
 * stdout goes there (outsz bytes at most, NUL-terminated, trailing
 * whitespace trimmed). 0; NU_ENOENT without systemctl; NU_ETIMEDOUT;
 * NU_ECHILD when it fails ("systemctl --user stop x.service failed (exit
 * 5)" in errbuf). */
#define NODE_SYSTEMCTL_ARGS_MAX 8
NU_WUR int node_systemctl(bool user, const char *const *args, char *out, size_t outsz,
                          unsigned timeout_s, char *errbuf);
/* Appends arg to out quoted for an ExecStart= line: '%' and '$' escaped,
 * double quotes when it holds spaces or quotes. NU_EINVAL for a newline. */
NU_WUR int node_service_quote(struct nu_buf *out, const char *arg);

#endif
