/* systemd integration: the unit file that runs one node as
 *   nearup run NETWORK --foreground --home H [run flags...]
 * with Type=notify. The supervisor (the unit's main process) sends READY=1
 * once neard answers /status and WATCHDOG=1 only while the head advances,
 * so systemd restarts a node whose chain is stuck. And the snapshotter: a
 * Type=oneshot service that runs `nearup snapshot create` then `nearup
 * snapshot prune`, and the timer that starts it on a schedule
 * (docs/snapshots.md, "Scheduled snapshots"). Units pass `systemd-analyze
 * verify` with no warnings (tests check it). */
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
    const char *nearup;           /* absolute path of the nearup executable (ExecStart) */
    const char *network;          /* first argument of `run` */
    const char *home;             /* absolute node home */
    bool user;                    /* a `systemctl --user` unit: no User=, WantedBy=default.target */
    const char *run_user;         /* User= of a system unit (required unless user) */
    const char *const *run_args;  /* extra `run` flags, NULL-terminated, or NULL */
    unsigned stop_timeout_s;      /* nearup's stop timeout; 0 = NODE_DEFAULT_STOP_TIMEOUT_S */
    const char *environment_file; /* absolute, for EnvironmentFile=, or NULL */
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
/* ---- the snapshotter ---- */

#define NODE_SNAP_EVERY_MIN_S 600                /* each run stops the node for a moment */
#define NODE_SNAP_EVERY_MAX_S (7u * 86400)       /* --every */
#define NODE_SNAP_RUN_TIMEOUT_S 86400            /* TimeoutStartSec: a first upload may be long */
#define NODE_SNAP_RUN_TIMEOUT_MAX_S (7u * 86400) /* --run-timeout */
#define NODE_SNAP_DELAY_MAX_S 900 /* RandomizedDelaySec: a tenth of the interval, at most this */
#define NODE_SNAP_BOOT_S 900      /* OnBootSec of an interval that does not divide a day */
#define NODE_SNAP_TEXTFILE_DIR "/var/lib/prometheus/node-exporter" /* Debian's node_exporter */
#define NODE_SNAP_NICE 10
#define NODE_SERVICE_SCAN_MAX 4096 /* directory entries node_service_find looks at */

struct node_snap_service_opts {
    const char *nearup;           /* absolute path of the nearup executable */
    const char *network;          /* for Description= */
    const char *home;             /* absolute node home */
    bool user;                    /* a `systemctl --user` unit */
    const char *run_user;         /* User= of a system unit (required unless user) */
    const char *store;            /* `snapshot create --to`: absolute path, file://, s3:// */
    const char *s3_endpoint;      /* or NULL */
    const char *sign_key;         /* absolute, or NULL */
    const char *environment_file; /* absolute, or NULL */
    const char *metrics_dir;      /* absolute node_exporter textfile dir, or NULL: none */
    const char *node_unit;        /* the node's own nearup unit: After= and Wants=; or NULL */
    unsigned every_s;             /* [NODE_SNAP_EVERY_MIN_S, NODE_SNAP_EVERY_MAX_S] */
    unsigned keep;                /* `snapshot prune --keep`; 0: no prune */
    unsigned run_timeout_s;       /* 0: NODE_SNAP_RUN_TIMEOUT_S */
    unsigned stop_timeout_s;      /* `snapshot create --stop-timeout`; 0: not passed */
};

/* The snapshotter's service and timer texts, appended to out. NU_EINVAL
 * (message in errbuf) for what a unit cannot express or must not hold: a
 * newline, a relative path, an interval out of bounds, credentials in a
 * URL (a unit file is readable by every user). */
NU_WUR int node_snap_service_unit(const struct node_snap_service_opts *o, struct nu_buf *out,
                                  char *errbuf);
NU_WUR int node_snap_timer_unit(const struct node_snap_service_opts *o, const char *service,
                                struct nu_buf *out, char *errbuf);
/* The [Timer] lines of a run every every_s seconds: an interval that
 * divides a day in whole minutes is wall-clock time in UTC (OnCalendar=,
 * Persistent=true, so a run missed while the machine was off happens at
 * boot); any other counts from the end of the last run (OnBootSec=,
 * OnUnitInactiveSec=). Then RandomizedDelaySec=, FixedRandomDelay=yes and
 * AccuracySec=1s. */
NU_WUR int node_snap_schedule(unsigned every_s, struct nu_buf *out);
/* "nearup-snapshot-<network><suffix>", or "<name><suffix>" when name is
 * given; suffix ".service" or ".timer". NU_EINVAL as node_service_name. */
NU_WUR int node_snap_service_name(const char *network, const char *name, const char *suffix,
                                  char *out, size_t outsz, char *errbuf);
/* The name of the unit in dir that nearup generated to run home (its
 * ExecStart= is `... run NETWORK --foreground --home HOME`); the first by
 * name when several do. NU_ENOENT when none. */
NU_WUR int node_service_find(const char *dir, const char *home, char *out, size_t outsz);

/* Appends arg to out quoted for an ExecStart= line: '%' and '$' escaped,
 * double quotes when it holds spaces or quotes. NU_EINVAL for a newline. */
NU_WUR int node_service_quote(struct nu_buf *out, const char *arg);

#endif
