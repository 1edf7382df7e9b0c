/* Private to the supervisor's files (supervisor.c and the sup_*.c files:
 * child, probe, notify, swap, verify, upgrade): the state of one running
 * supervisor. */
#ifndef NODE_SUP_INT_H
#define NODE_SUP_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <uv.h>

#include "buf.h"
#include "hclient.h"
#include "log.h"
#include "logrot.h"
#include "sigs.h"
#include "sha256.h"
#include "neard_version.h"
#include "runcfg.h"
#include "supervisor.h"

#define SUP_TAIL_MAX (16u << 10) /* bytes of neard output kept for error reports */
#define SUP_TAIL_LINES 10        /* lines shown when neard fails */
#define SUP_FAST_CRASH_MS 10000  /* an exit this soon after start is a fast crash */
#define SUP_MAX_FAST_CRASHES 5   /* give up after this many in a row */
#define SUP_BACKOFF_MIN_MS 1000
#define SUP_BACKOFF_MAX_MS 60000
#define SUP_HEALTHY_RESET_MS 60000    /* a run this long resets the backoff */
#define SUP_PROBE_FIRST_MS 10         /* first /status probe after neard starts, */
#define SUP_PROBE_MAX_MS 250          /* doubling up to this while it does not answer */
#define SUP_PROBE_TIMEOUT_MS 3000     /* one probe: connect, send, whole reply */
#define SUP_PROBE_IDLE_MS 1000        /* a kept-alive probe connection (neard keeps 5 s) */
#define SUP_HTTP_REPLY_MAX (1u << 20) /* neard's /status is a few KiB */
#define SUP_DRAIN_MS 500              /* wait for neard's last output after it exits */
#define SUP_PREV_POLL_MS 100          /* polling a previous neard of this home */
#define SUP_METRICS_EVERY_MS 10000    /* the textfile is rewritten at least this often */
#define SUP_HEAD_PROBE_MS 5000        /* /status while running, for head_advancing */
#define SUP_HEAD_WINDOW_MS 30000      /* head_advancing: moved this recently (no watchdog) */
#define SUP_CHAIN_TIMEOUT_MS 5000     /* the chain check's block request */
#define SUP_CHAIN_RETRY_MIN_MS 500    /* a block request that failed is sent again after this, */
#define SUP_CHAIN_RETRY_MAX_MS 30000  /* doubling up to this */

enum sup_state {
    SUP_STARTING,
    SUP_RUNNING,
    SUP_BACKOFF,
    SUP_STOPPING,
    SUP_STOPPED,
    SUP_GAVE_UP,
    SUP_UPGRADING,
};

struct sup_child {
    pid_t pid;
    uint64_t started_ms; /* monotonic */
    int64_t started_at;  /* unix seconds */
    uv_pipe_t *out;      /* neard's stdout+stderr; NULL once closed */
    bool exited;
    int wstatus;
    bool kill_sent; /* SIGKILL after the stop timeout */
};

/* A file as stat sees it. Equal ids mean the same bytes: any write,
 * truncation, chmod or replacement changes the ctime (or the inode). */
struct sup_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
};

/* A neard binary whose sha256 matched what run.json or upgrade.json
 * records, as it was when it was hashed. */
struct sup_verified {
    bool valid;
    char path[PATH_MAX];
    char sha256[NU_SHA256_HEX];
    struct sup_file_id id;
};

struct sup;
struct node_chain_check;
struct node_swap_rejection;
/* rc 0: the binary is s->verified; else err says why it must not run. */
typedef void (*sup_verify_cb)(struct sup *s, int rc, const char *err);

/* One sha256 check on libuv's threadpool (a 100 MB neard takes ~0.3 s:
 * too long for the loop thread). */
struct sup_verify_job {
    uv_work_t req;
    bool busy;
    char path[PATH_MAX];
    char want[NU_SHA256_HEX];
    char got[NU_SHA256_HEX];
    struct sup_file_id id;
    int rc;
    char err[NU_ERRMSG_MAX];
    sup_verify_cb cb;
};

struct sup {
    uv_loop_t loop;
    const char *home;
    struct node_run_config cfg;
    struct node_log *log;
    int lock_fd;
    int ready_fd;
    bool notify;
    bool closing;
    int exit_rc;
    enum sup_state state;
    char rpc_addr[256]; /* "" when the node has no RPC */
    char version[NODE_VERSION_MAX];
    char reason[1024]; /* why it stopped or gave up */

    struct sup_child child; /* pid 0 when none */
    struct nu_buf tail;     /* last output of the current neard */
    bool stop_requested;
    bool upgrade_requested; /* SIGHUP with an immediate upgrade pending */
    unsigned restarts;
    unsigned fast_crashes;
    unsigned backoff_ms;
    bool have_exit;
    int exit_code, exit_signal;
    int64_t exit_at;

    pid_t prev_pid; /* a previous neard of this home we wait for */
    uint64_t prev_start;
    uint64_t prev_since_ms;
    bool prev_termed, prev_killed;

    struct nu_sigs sigs; /* SIGHUP, SIGTERM, SIGINT: watched before setup */
    uv_signal_t sig_chld;
    uv_timer_t t_backoff, t_stop, t_drain, t_probe, t_prev, t_jitter, t_watchdog;
    struct nu_hc_pool *probe_pool;  /* GET /status to rpc_addr; NULL without RPC */
    struct nu_hc_conn *probe_conn;  /* the probe in flight, NULL when none */
    struct sockaddr_storage rpc_sa; /* rpc_addr resolved */
    pid_t probe_pid;                /* the neard the probe in flight asks */
    unsigned probe_delay_ms;        /* next readiness probe while neard starts */
    bool ready;                     /* neard answered /status since its start */

    struct sup_verified verified; /* the binary last checked (and then run) */
    struct sup_verify_job verify;

    int notify_fd;                /* -1: not (yet) open */
    struct sockaddr_un notify_sa; /* $NOTIFY_SOCKET */
    socklen_t notify_salen;       /* 0: no notify socket */
    uint64_t watchdog_ms;         /* keep-alive interval; 0: no systemd watchdog */
    int64_t kept_height;          /* head at the last keep-alive while running; -1: none */

    int64_t started_at;     /* unix seconds: the supervisor's start */
    int64_t head_seen;      /* highest head a probe saw; -1: none */
    uint64_t head_moved_ms; /* monotonic: when it last rose; 0: not since neard started */
    bool head_advancing;    /* as last exported */
    uv_timer_t t_metrics;
    struct nu_httpd *metrics_httpd; /* --metrics-listen; NULL when none */
    char metrics_path[PATH_MAX];    /* the textfile; "" without --metrics-textfile-dir */
    bool metrics_write_failed;      /* logged once until a write works again */

    uv_work_t swap_work; /* removing old data a restore kept (sup_swap.c) */
    bool swap_busy, swap_done;
    int swap_rc;
    size_t swap_removed;
    char swap_err[NU_ERRMSG_MAX];

    /* a restore's chain check (sup_chain.c) */
    struct node_chain_check *chain;        /* the home's check; NULL when it has none */
    struct nu_hc_pool *chain_pool;         /* POST / to rpc_addr, while the check is pending */
    struct nu_hc_conn *chain_conn;         /* the block request in flight */
    pid_t chain_pid;                       /* the neard it asks */
    uv_timer_t t_chain;                    /* the next request after a failed one */
    unsigned chain_retry_ms;               /* the last delay; 0: none yet */
    bool chain_rejected;                   /* mismatch: neard stops, then its data goes aside */
    bool chain_norpc_said;                 /* logged once: no RPC to ask */
    struct node_swap_rejection *rejection; /* where the rejected data goes */
    bool started_reported;                 /* "ok" and READY=1 went out for this neard */
};

/* supervisor.c */
void sup_log(struct sup *s, enum nu_log_level level, const char *msg, ...)
    __attribute__((sentinel));
void sup_set_state(struct sup *s, enum sup_state st);
void sup_write_status(struct sup *s);
void sup_start_neard(struct sup *s);
void sup_finish(struct sup *s, enum sup_state st, int rc);
void sup_report_ready(struct sup *s, const char *line);
/* SIGTERM to neard, SIGKILL after stop_timeout. */
void sup_stop_neard(struct sup *s);

/* sup_child.c */
NU_WUR int sup_child_spawn(struct sup *s, char *errbuf);
void sup_child_reap(struct sup *s); /* SIGCHLD */
void sup_child_close_output(struct sup *s);
/* The last n lines of the current neard's output, "\n"-joined, into out. */
void sup_child_tail(struct sup *s, unsigned n, char *out, size_t outsz);
void sup_on_neard_exit(struct sup *s); /* supervisor.c: after exit + output drained */

/* sup_probe.c: readiness (GET /status) and the systemd watchdog */
NU_WUR int sup_probe_init(struct sup *s, char *errbuf);
void sup_probe_schedule(struct sup *s); /* after a (re)start or on state change */
/* Cancels a probe in flight and closes the probe's connections (before
 * the supervisor closes its other handles). */
void sup_probe_close(struct sup *s);
/* neard is ready for its users: "ok <pid>" on the ready pipe, READY=1. */
void sup_report_started(struct sup *s);

/* sup_notify.c: systemd's notify protocol (READY/STATUS/WATCHDOG/STOPPING) */
void sup_notify_init(struct sup *s); /* reads NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID */
void sup_notify(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sup_notify_close(struct sup *s);

/* sup_chain.c: a restore's chain check (chaincheck.h) */
NU_WUR int sup_chain_load(struct sup *s, char *errbuf); /* setup: the home's check, if any */
NU_WUR int sup_chain_init(struct sup *s, char *errbuf); /* after sup_probe_init */
/* True while a pending check is to be asked: readiness waits for it. */
bool sup_chain_waiting(const struct sup *s);
/* neard answered /status: asks it for the check's block (unless asked). */
void sup_chain_on_status(struct sup *s);
/* neard exited: after a mismatch its data goes aside and the supervisor
 * gives up (true: handled); false otherwise. */
bool sup_chain_on_exit(struct sup *s);
void sup_chain_close(struct sup *s); /* with sup_probe_close */
void sup_chain_free(struct sup *s);  /* at teardown */

/* sup_swap.c: an interrupted restore's swap, old data kept aside */
NU_WUR int sup_swap_recover(struct sup *s, char *errbuf); /* before the first neard */
void sup_swap_cleanup(struct sup *s);                     /* neard answered /status */
/* sup_verify.c: a binary the supervisor has not run before (no
 * s->verified for this path, sha256 and file id) is hashed right before it
 * is executed; a mismatch is never executed. */
/* True when path must be hashed before it runs: sha256 is set (run.json
 * and upgrade.json record one for every binary nearup chose; a binary
 * given with `run --binary-path` has none) and s->verified is not this
 * path, this sha256 and the file as it is now. */
bool sup_verify_needed(struct sup *s, const char *path, const char *sha256);
/* Hashes path on the threadpool and calls cb on the loop thread; on a
 * match s->verified becomes path. Errors name the file, the expected and
 * the actual hash. */
void sup_verify_start(struct sup *s, const char *path, const char *sha256, sup_verify_cb cb);
/* The id a forked child must find at path just before execve (NULL: no
 * check, the binary has no recorded sha256). */
const struct sup_file_id *sup_verify_exec_id(const struct sup *s, const char *path);
/* Async-signal-safe: stat(path) is still id. */
bool sup_verify_same_file(const char *path, const struct sup_file_id *id);

/* sup_metrics.c: nearup_node_* in the Prometheus text format, in
 * node_exporter's textfile directory and on --metrics-listen */
NU_WUR int sup_metrics_init(struct sup *s, char *errbuf); /* last of the setup */
void sup_metrics_update(struct sup *s);                   /* a state change: rewrite the file */
/* A probe saw head h (-1: none) of the running neard. */
void sup_metrics_head(struct sup *s, int64_t h);
/* The supervisor is finishing: the file goes on a clean stop, else it
 * keeps the last state; the listener closes, then then(s) runs. */
void sup_metrics_close(struct sup *s, void (*then)(void *), void *arg);
/* Probing the running neard is needed for metrics (head_advancing). */
bool sup_metrics_on(const struct sup *s);

/* sup_upgrade.c */
/* True if upgrade.json exists (and parses). *immediate: at_height is null. */
bool sup_upgrade_pending(struct sup *s, bool *immediate);
/* The height of the pending upgrade; 0 when none or when it is "now". */
int64_t sup_upgrade_height(struct sup *s);
void sup_upgrade_begin(struct sup *s); /* jitter, then apply and start */

#endif
