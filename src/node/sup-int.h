/* Private to the supervisor's files (supervisor.c, sup_child.c,
 * sup_probe.c, sup_upgrade.c): the state of one running supervisor. */
#ifndef NODE_SUP_INT_H
#define NODE_SUP_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "buf.h"
#include "logrot.h"
#include "supervisor.h"

#define SUP_TAIL_MAX (16u << 10) /* bytes of neard output kept for error reports */
#define SUP_TAIL_LINES 10        /* lines shown when neard fails */
#define SUP_FAST_CRASH_MS 10000  /* an exit this soon after start is a fast crash */
#define SUP_MAX_FAST_CRASHES 5   /* give up after this many in a row */
#define SUP_BACKOFF_MIN_MS 1000
#define SUP_BACKOFF_MAX_MS 60000
#define SUP_HEALTHY_RESET_MS 60000 /* a run this long resets the backoff */
#define SUP_PROBE_START_MS 250     /* /status polling while neard starts */
#define SUP_DRAIN_MS 500           /* wait for neard's last output after it exits */
#define SUP_PREV_POLL_MS 100       /* polling a previous neard of this home */

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

struct sup_probe {
    uv_work_t work;
    bool busy;
    char url[300];
    long status;    /* filled by the worker */
    int64_t height; /* -1 when unknown */
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

    uv_signal_t sig_term, sig_int, sig_hup, sig_chld;
    uv_timer_t t_backoff, t_stop, t_drain, t_probe, t_prev, t_jitter;
    struct sup_probe probe;
    bool ready;           /* neard answered /status since its start */
    uint64_t watchdog_ms; /* 0: no systemd watchdog */
    int64_t last_height;  /* -1: none yet */
};

/* supervisor.c */
uint64_t sup_now_ms(void);
void sup_log(struct sup *s, const char *level, const char *msg, ...) __attribute__((sentinel));
void sup_set_state(struct sup *s, enum sup_state st);
void sup_write_status(struct sup *s);
void sup_start_neard(struct sup *s);
void sup_finish(struct sup *s, enum sup_state st, int rc);
void sup_report_ready(struct sup *s, const char *line);

/* sup_child.c */
NU_WUR int sup_child_spawn(struct sup *s, char *errbuf);
void sup_child_reap(struct sup *s); /* SIGCHLD */
void sup_child_close_output(struct sup *s);
/* The last n lines of the current neard's output, "\n"-joined, into out. */
void sup_child_tail(struct sup *s, unsigned n, char *out, size_t outsz);
void sup_on_neard_exit(struct sup *s); /* supervisor.c: after exit + output drained */

/* sup_probe.c */
void sup_probe_init(struct sup *s);
void sup_probe_schedule(struct sup *s); /* after a (re)start or on state change */
void sup_notify(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sup_upgrade.c */
/* True if upgrade.json exists (and parses). *immediate: at_height is null. */
bool sup_upgrade_pending(struct sup *s, bool *immediate);
void sup_upgrade_begin(struct sup *s); /* jitter, then apply and start */

#endif
