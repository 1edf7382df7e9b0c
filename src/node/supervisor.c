/* The supervisor of one home (see supervisor.h): a libuv loop that keeps
 * neard running under the home's lock, restarts it with backoff, gives up
 * on a crash loop, stops it with SIGTERM then SIGKILL, and records every
 * state change in status.json.
 *
 * State files are small and written atomically on state changes only, so
 * they are written from the loop thread, as are the /status probes
 * (non-blocking sockets); only log compression runs on a thread of its
 * own. This code runs as nearup-supervisor (supervisor_main.c), a program
 * that links no HTTP or TLS library, to stay small (RSS < 4 MB). */
#include "sup-int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "state.h"

#define LOG_LINE_MAX 4096

static const char *const state_names[] = {
    [SUP_STARTING] = "starting",   [SUP_RUNNING] = "running", [SUP_BACKOFF] = "backoff",
    [SUP_STOPPING] = "stopping",   [SUP_STOPPED] = "stopped", [SUP_GAVE_UP] = "gave_up",
    [SUP_UPGRADING] = "upgrading",
};

/* snprintf where cutting a long message short is fine. */
static void format_cut(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void format_cut(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
}

/* One logfmt line into neard.log (so `nearup logs` shows restarts beside
 * neard's own lines) and on stderr (the journal under systemd). */
void sup_log(struct sup *s, enum nu_log_level level, const char *msg, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, msg);
    size_t n = nu_log_vformat(line, sizeof(line), level, "nearup", msg, ap);
    va_end(ap);
    if (s->log != NULL) {
        int rc = node_log_write(s->log, line, n, NULL);
        (void)rc; /* nothing better to do: stderr still gets the line */
    }
    (void)!nu_write_all(2, line, n);
}

static json_t *exit_json(struct sup *s)
{
    if (!s->have_exit)
        return json_null();
    return json_pack("{s:o, s:o, s:I}", "code",
                     s->exit_signal ? json_null() : json_integer(s->exit_code), "signal",
                     s->exit_signal ? json_integer(s->exit_signal) : json_null(), "at",
                     (json_int_t)s->exit_at);
}

static json_t *tail_json(struct sup *s)
{
    char text[4096];
    json_t *arr = json_array();
    sup_child_tail(s, SUP_TAIL_LINES, text, sizeof(text));
    for (char *line = text, *nl; arr != NULL && *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        json_array_append_new(arr, json_string(line));
        if (nl == NULL)
            break;
    }
    return arr;
}

void sup_write_status(struct sup *s)
{
    char path[PATH_MAX], err[NU_ERRMSG_MAX];
    bool alive = s->child.pid > 0 && !s->child.exited;
    bool failed = s->state == SUP_GAVE_UP || (s->state == SUP_STOPPED && s->exit_rc != 0);
    json_t *o =
        json_pack("{s:s, s:I, s:o, s:i, s:o, s:s, s:o, s:s, s:o, s:o}", "state",
                  state_names[s->state], "supervisor_pid", (json_int_t)getpid(), "neard_pid",
                  alive ? json_integer(s->child.pid) : json_null(), "restarts", (int)s->restarts,
                  "last_exit", exit_json(s), "neard_version", s->version, "started_at",
                  alive ? json_integer(s->child.started_at) : json_null(), "binary", s->cfg.binary,
                  "reason", s->reason[0] != '\0' ? json_string(s->reason) : json_null(),
                  "last_lines", failed ? tail_json(s) : json_array());
    if (o == NULL || node_state_path(s->home, "status.json", path, sizeof(path)) < 0)
        sup_log(s, NU_LOG_ERROR, "cannot build status.json", NULL);
    else if (nu_json_write_file(path, o, 0644, true, err) < 0)
        sup_log(s, NU_LOG_ERROR, "cannot write status.json", "error", err, NULL);
    json_decref(o);
    sup_metrics_update(s); /* the same moments: every state change */
}

void sup_set_state(struct sup *s, enum sup_state st)
{
    s->state = st;
    sup_write_status(s);
}

void sup_report_ready(struct sup *s, const char *line)
{
    if (s->ready_fd < 0)
        return;
    /* The starter may be gone: SIGPIPE is ignored and nothing is lost. */
    (void)!nu_write_all(s->ready_fd, line, strlen(line));
    close(s->ready_fd);
    s->ready_fd = -1;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_all(void *arg)
{
    struct sup *s = arg;
    uv_walk(&s->loop, close_handle, NULL);
}

/* Nothing of ours may fire while the metrics listener closes (close_all
 * waits for it). */
static void stop_timers(struct sup *s)
{
    uv_timer_t *timers[] = {&s->t_backoff, &s->t_stop,   &s->t_drain,    &s->t_probe,
                            &s->t_prev,    &s->t_jitter, &s->t_watchdog, &s->t_chain};
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
        uv_timer_stop(timers[i]);
}

void sup_finish(struct sup *s, enum sup_state st, int rc)
{
    char line[sizeof(s->reason) + 64];
    if (s->closing)
        return;
    if (s->child.pid > 0 && !s->child.exited) {
        int status; /* never leave neard behind (not reached in normal flows) */
        kill(s->child.pid, SIGKILL);
        waitpid(s->child.pid, &status, 0);
        node_pidfile_remove(s->home, NODE_NEARD_PID);
    }
    s->exit_rc = rc;
    s->state = st;
    s->child.pid = 0;
    sup_write_status(s);
    if (s->ready_fd >= 0) {
        snprintf(line, sizeof(line), "error %s\n",
                 s->reason[0] != '\0' ? s->reason
                                      : "the supervisor stopped before neard was ready");
        sup_report_ready(s, line);
    }
    if (!s->stop_requested) /* else request_stop said it already */
        sup_notify(s, "STOPPING=1\nSTATUS=%s", state_names[st]);
    s->closing = true;
    sup_child_close_output(s);
    nu_sigs_close(&s->sigs);
    sup_probe_close(s); /* its connections free themselves as they close */
    sup_chain_close(s);
    stop_timers(s);
    sup_metrics_close(s, close_all, s);
}

/* ---- starting neard ---- */

static void spawn_checked(struct sup *s);

static void on_binary_checked(struct sup *s, int rc, const char *err)
{
    if (s->stop_requested)
        return; /* request_stop finishes: no neard runs */
    if (rc < 0) {
        snprintf(s->reason, sizeof(s->reason), "%s", err);
        sup_log(s, NU_LOG_ERROR, "refused to start neard", "error", err, NULL);
        sup_finish(s, SUP_GAVE_UP, 1);
        return;
    }
    spawn_checked(s);
}

/* A binary this supervisor has not run yet is hashed first (sup_verify.c). */
static void spawn_now(struct sup *s)
{
    if (sup_verify_needed(s, s->cfg.binary, s->cfg.neard_sha256)) {
        sup_set_state(s, SUP_STARTING);
        sup_verify_start(s, s->cfg.binary, s->cfg.neard_sha256, on_binary_checked);
        return;
    }
    spawn_checked(s);
}

static void spawn_checked(struct sup *s)
{
    char err[NU_ERRMSG_MAX], pid[24];
    s->ready = false;
    s->head_moved_ms = 0; /* advancing again only past the highest head seen */
    s->probe_delay_ms = SUP_PROBE_FIRST_MS;
    if (sup_child_spawn(s, err) < 0) {
        snprintf(s->reason, sizeof(s->reason), "cannot start neard: %s", err);
        sup_log(s, NU_LOG_ERROR, "cannot start neard", "error", err, NULL);
        sup_finish(s, SUP_GAVE_UP, 1);
        return;
    }
    if (node_pidfile_write(s->home, NODE_NEARD_PID, s->child.pid, err) < 0)
        sup_log(s, NU_LOG_WARN, "cannot write neard.pid", "error", err, NULL);
    snprintf(pid, sizeof(pid), "%ld", (long)s->child.pid);
    sup_log(s, NU_LOG_INFO, "started neard", "pid", pid, "binary", s->cfg.binary, "version",
            s->version, NULL);
    sup_set_state(s, SUP_STARTING);
    sup_notify(s, "STATUS=neard %s starting (pid %ld)", s->version, (long)s->child.pid);
    sup_probe_schedule(s);
}

/* A neard of this home from before (its supervisor was killed) must be
 * gone before ours starts: never two neards on one home. */
static void on_prev_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    char pid[24];
    snprintf(pid, sizeof(pid), "%ld", (long)s->prev_pid);
    if (!nu_proc_is_same(s->prev_pid, s->prev_start)) {
        uv_timer_stop(t);
        s->prev_pid = 0;
        node_pidfile_remove(s->home, NODE_NEARD_PID);
        sup_log(s, NU_LOG_INFO, "previous neard is gone", "pid", pid, NULL);
        spawn_now(s);
        return;
    }
    uint64_t waited = nu_mono_ms() - s->prev_since_ms;
    if (!s->prev_termed) {
        kill(s->prev_pid, SIGTERM);
        s->prev_termed = true;
    } else if (!s->prev_killed && waited > (uint64_t)s->cfg.stop_timeout_s * 1000u) {
        sup_log(s, NU_LOG_WARN, "previous neard did not stop in time; sending SIGKILL", "pid", pid,
                NULL);
        kill(s->prev_pid, SIGKILL);
        s->prev_killed = true;
    }
}

void sup_start_neard(struct sup *s)
{
    struct node_pidfile pf;
    char pid[24];
    if (s->closing || s->stop_requested)
        return;
    s->reason[0] = '\0';
    if (node_pidfile_alive(s->home, NODE_NEARD_PID, &pf)) {
        s->prev_pid = pf.pid;
        s->prev_start = pf.start_time;
        s->prev_since_ms = nu_mono_ms();
        s->prev_termed = s->prev_killed = false;
        snprintf(pid, sizeof(pid), "%ld", (long)pf.pid);
        sup_log(s, NU_LOG_WARN, "waiting for a previous neard of this home to exit", "pid", pid,
                NULL);
        sup_set_state(s, SUP_STARTING);
        uv_timer_start(&s->t_prev, on_prev_timer, 0, SUP_PREV_POLL_MS);
        return;
    }
    node_pidfile_remove(s->home, NODE_NEARD_PID); /* stale after a reboot or kill -9 */
    spawn_now(s);
}

/* ---- neard exited ---- */

static void on_backoff(uv_timer_t *t)
{
    struct sup *s = t->data;
    s->restarts++;
    sup_start_neard(s);
}

static void describe_exit(struct sup *s, char *out, size_t outsz)
{
    if (s->exit_signal)
        snprintf(out, outsz, "killed by signal %d (%s)", s->exit_signal, strsignal(s->exit_signal));
    else
        snprintf(out, outsz, "exit code %d", s->exit_code);
}

/* Gives up with the reason and neard's last lines in the log and status. */
static void give_up(struct sup *s, enum sup_state st, const char *why)
{
    char tail[4096];
    sup_child_tail(s, SUP_TAIL_LINES, tail, sizeof(tail));
    if (tail[0] != '\0')
        format_cut(s->reason, sizeof(s->reason), "%s; last lines of neard:\n%s", why, tail);
    else
        snprintf(s->reason, sizeof(s->reason), "%s; neard printed nothing", why);
    sup_log(s, NU_LOG_ERROR, why, "last_lines", tail, NULL);
    sup_finish(s, st, 1);
}

static void schedule_restart(struct sup *s, uint64_t ran_ms, const char *how)
{
    char why[256], secs[24];
    s->fast_crashes = ran_ms < SUP_FAST_CRASH_MS ? s->fast_crashes + 1 : 0;
    if (ran_ms >= SUP_HEALTHY_RESET_MS)
        s->backoff_ms = 0;
    if (s->fast_crashes >= SUP_MAX_FAST_CRASHES) {
        snprintf(why, sizeof(why),
                 "neard exited %u times in a row within %u s of starting (last: %s); not "
                 "restarting it",
                 s->fast_crashes, SUP_FAST_CRASH_MS / 1000, how);
        give_up(s, SUP_GAVE_UP, why);
        return;
    }
    s->backoff_ms = s->backoff_ms == 0 ? SUP_BACKOFF_MIN_MS : s->backoff_ms * 2;
    if (s->backoff_ms > SUP_BACKOFF_MAX_MS)
        s->backoff_ms = SUP_BACKOFF_MAX_MS;
    snprintf(secs, sizeof(secs), "%u", s->backoff_ms / 1000);
    sup_log(s, NU_LOG_WARN, "restarting neard", "in_s", secs, NULL);
    sup_set_state(s, SUP_BACKOFF);
    sup_notify(s, "STATUS=neard %s; restarting in %s s", how, secs);
    uv_timer_start(&s->t_backoff, on_backoff, s->backoff_ms, 0);
}

static void record_exit(struct sup *s, uint64_t *ran_ms, char *how, size_t howsz)
{
    int st = s->child.wstatus;
    char pid[24], ran[24];
    s->have_exit = true;
    s->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    s->exit_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    s->exit_at = (int64_t)time(NULL);
    *ran_ms = nu_mono_ms() - s->child.started_ms;
    describe_exit(s, how, howsz);
    snprintf(pid, sizeof(pid), "%ld", (long)s->child.pid);
    snprintf(ran, sizeof(ran), "%.1f", (double)*ran_ms / 1000.0);
    sup_log(s, s->stop_requested ? NU_LOG_INFO : NU_LOG_WARN, "neard exited", "pid", pid, "how",
            how, "after_s", ran, NULL);
    s->child.pid = 0;
    node_pidfile_remove(s->home, NODE_NEARD_PID);
    uv_timer_stop(&s->t_stop);
    uv_timer_stop(&s->t_probe);
}

void sup_on_neard_exit(struct sup *s)
{
    char how[128], why[256];
    uint64_t ran_ms;
    bool immediate = false;
    record_exit(s, &ran_ms, how, sizeof(how));
    bool failed = s->exit_signal != 0 || s->exit_code != 0;
    if (sup_chain_on_exit(s)) {
        /* the chain check failed: the data went aside, the supervisor gave up */
    } else if (s->stop_requested) {
        sup_finish(s, SUP_STOPPED, 0);
    } else if (s->upgrade_requested || (!failed && sup_upgrade_pending(s, &immediate))) {
        s->upgrade_requested = false;
        sup_upgrade_begin(s);
    } else if (!s->ready && s->ready_fd >= 0) {
        snprintf(why, sizeof(why), "neard exited at start (%s)", how);
        give_up(s, SUP_STOPPED, why);
    } else if (s->cfg.restart == NODE_RESTART_NO ||
               (s->cfg.restart == NODE_RESTART_ON_FAILURE && !failed)) {
        snprintf(s->reason, sizeof(s->reason), "neard exited (%s); restart policy is %s", how,
                 node_restart_policy_name(s->cfg.restart));
        sup_log(s, NU_LOG_INFO, "not restarting neard", "restart",
                node_restart_policy_name(s->cfg.restart), NULL);
        sup_finish(s, SUP_STOPPED, failed ? 1 : 0);
    } else {
        schedule_restart(s, ran_ms, how);
    }
}

/* ---- signals ---- */

static void on_stop_timeout(uv_timer_t *t)
{
    struct sup *s = t->data;
    char secs[24], pid[24];
    if (s->child.pid <= 0 || s->child.exited)
        return;
    snprintf(secs, sizeof(secs), "%u", s->cfg.stop_timeout_s);
    snprintf(pid, sizeof(pid), "%ld", (long)s->child.pid);
    sup_log(s, NU_LOG_WARN, "neard did not stop in time after SIGTERM; sending SIGKILL", "pid", pid,
            "timeout_s", secs, NULL);
    kill(s->child.pid, SIGKILL);
    s->child.kill_sent = true;
}

void sup_stop_neard(struct sup *s)
{
    kill(s->child.pid, SIGTERM);
    uv_timer_start(&s->t_stop, on_stop_timeout, (uint64_t)s->cfg.stop_timeout_s * 1000u, 0);
}

static void request_stop(struct sup *s, const char *signame)
{
    if (s->closing)
        return;
    if (s->stop_requested) {
        /* neard's clean stop must not be cut: stop_timeout bounds it */
        sup_log(s, NU_LOG_INFO, "already stopping; signal ignored", "signal", signame, NULL);
        return;
    }
    s->stop_requested = true;
    sup_log(s, NU_LOG_INFO, "stopping", "signal", signame, NULL);
    sup_notify(s, "STOPPING=1\nSTATUS=stopping neard");
    uv_timer_stop(&s->t_backoff);
    uv_timer_stop(&s->t_jitter);
    uv_timer_stop(&s->t_prev);
    if (s->child.pid > 0 && !s->child.exited) {
        sup_set_state(s, SUP_STOPPING);
        sup_stop_neard(s);
    } else if (s->child.pid > 0) {
        sup_set_state(s, SUP_STOPPING); /* exited; its output is draining */
    } else {
        sup_finish(s, SUP_STOPPED, 0);
    }
}

static void on_hup(struct sup *s)
{
    bool immediate = false;
    if (s->closing)
        return;
    if (s->stop_requested) {
        sup_log(s, NU_LOG_INFO, "stopping; SIGHUP ignored", NULL);
        return;
    }
    if (s->state == SUP_UPGRADING) {
        sup_log(s, NU_LOG_INFO, "upgrade in progress; SIGHUP ignored", NULL);
        return;
    }
    if (!sup_upgrade_pending(s, &immediate)) {
        sup_log(s, NU_LOG_INFO, "SIGHUP: no pending upgrade", NULL);
        return;
    }
    sup_metrics_update(s); /* `nearup upgrade` signals: its height is pending now */
    if (!immediate) {
        sup_log(s, NU_LOG_INFO, "SIGHUP: upgrade waits for neard to stop at its height", NULL);
        return;
    }
    if (s->state == SUP_BACKOFF) {
        uv_timer_stop(&s->t_backoff);
        sup_upgrade_begin(s);
    } else if (s->child.pid > 0 && !s->child.exited && !s->upgrade_requested) {
        s->upgrade_requested = true;
        sup_log(s, NU_LOG_INFO, "SIGHUP: stopping neard for the pending upgrade", NULL);
        sup_set_state(s, SUP_UPGRADING);
        sup_stop_neard(s);
    }
}

/* Every phase: a signal during setup waits for the loop (node_supervise
 * lets it through before neard starts); while neard starts, runs or the
 * supervisor waits to restart it, SIGTERM/SIGINT stop and SIGHUP applies
 * a pending upgrade; while upgrading or stopping, SIGHUP is logged and
 * ignored, and so is a second SIGTERM/SIGINT while stopping. */
static void on_signal(void *data, int signum)
{
    struct sup *s = data;
    if (signum == SIGHUP)
        on_hup(s);
    else
        request_stop(s, nu_sig_name(signum));
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    (void)signum;
    sup_child_reap(h->data);
}

/* ---- setup ---- */

static int init_handles(struct sup *s, char *errbuf)
{
    uv_timer_t *timers[] = {&s->t_backoff, &s->t_stop, &s->t_drain, &s->t_prev, &s->t_jitter};
    uv_signal_init(&s->loop, &s->sig_chld);
    s->sig_chld.data = s;
    uv_signal_start(&s->sig_chld, on_sigchld, SIGCHLD);
    for (size_t i = 0; i < 5; i++) {
        uv_timer_init(&s->loop, timers[i]);
        timers[i]->data = s;
    }
    sup_notify_init(s);
    int rc = sup_probe_init(s, errbuf);
    if (rc == 0)
        rc = sup_chain_init(s, errbuf);
    return rc == 0 ? sup_metrics_init(s, errbuf) : rc;
}

static int open_log(struct sup *s, char *errbuf)
{
    char path[PATH_MAX];
    if (node_state_path(s->home, NODE_NEARD_LOG, path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", s->home);
    return node_log_open(path, s->cfg.log_max_size, s->cfg.log_keep, &s->log, errbuf);
}

static void resolve_names(struct sup *s)
{
    char err[NU_ERRMSG_MAX];
    if (s->cfg.neard_version[0] != '\0')
        snprintf(s->version, sizeof(s->version), "%s", s->cfg.neard_version);
    else if (node_neard_version(s->cfg.binary, s->version, sizeof(s->version), err) < 0)
        snprintf(s->version, sizeof(s->version), "unknown");
    if (node_runcfg_rpc_addr(s->home, &s->cfg, s->rpc_addr, sizeof(s->rpc_addr), err) < 0)
        s->rpc_addr[0] = '\0';
}

/* Lock, pid file, run.json, log: everything before the loop. */
static int setup(struct sup *s, char *errbuf)
{
    int rc = node_state_init(s->home, errbuf);
    if (rc == 0)
        rc = node_state_lock(s->home, &s->lock_fd, errbuf);
    if (rc < 0)
        return rc;
    rc = node_pidfile_write(s->home, NODE_SUPERVISOR_PID, getpid(), errbuf);
    if (rc == 0)
        rc = node_runcfg_load(s->home, &s->cfg, errbuf);
    if (rc == 0)
        rc = open_log(s, errbuf);
    if (rc == 0)
        rc = sup_swap_recover(s, errbuf);
    if (rc == 0)
        rc = sup_chain_load(s, errbuf);
    if (rc == 0)
        resolve_names(s);
    return rc;
}

static void teardown(struct sup *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT); /* runs close callbacks and a pending probe */
    uv_loop_close(&s->loop);
    sup_notify_close(s);
    node_log_close(s->log);
    s->log = NULL;
    if (s->lock_fd >= 0) /* else the pid file is another supervisor's */
        node_pidfile_remove(s->home, NODE_SUPERVISOR_PID);
    node_runcfg_release(&s->cfg);
    nu_buf_release(&s->tail);
    sup_chain_free(s);
    node_state_unlock(s->lock_fd);
}

int node_supervise(const struct node_sup_opts *o, char *errbuf)
{
    char line[NU_ERRMSG_MAX + 16];
    struct sup *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory"), 1;
    s->home = o->home;
    s->ready_fd = o->ready_fd;
    if (s->ready_fd >= 0) /* neard must not hold the starter's pipe open */
        fcntl(s->ready_fd, F_SETFD, FD_CLOEXEC);
    s->notify = o->notify;
    s->notify_fd = -1;
    s->lock_fd = -1;
    nu_buf_init(&s->tail, SUP_TAIL_MAX);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&s->loop);
    s->loop.data = s;
    int rc = nu_sigs_start(&s->sigs, &s->loop, on_signal, s, errbuf);
    if (rc == 0)
        rc = setup(s, errbuf);
    if (rc == 0)
        rc = init_handles(s, errbuf);
    if (rc < 0) {
        snprintf(line, sizeof(line), "error %s\n", errbuf);
        sup_report_ready(s, line);
        s->exit_rc = 1;
        nu_sigs_close(&s->sigs);
        sup_probe_close(s);
        if (s->t_chain.data != NULL)
            sup_chain_close(s);
        uv_walk(&s->loop, close_handle, NULL);
    } else {
        sup_log(s, NU_LOG_INFO, "supervisor started", "home", s->home, "restart",
                node_restart_policy_name(s->cfg.restart), NULL);
        /* A SIGTERM/SIGINT that came during setup stops us before neard
         * starts; a SIGHUP is seen by on_hup first. */
        uv_run(&s->loop, UV_RUN_NOWAIT);
        sup_start_neard(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        sup_log(s, NU_LOG_INFO, "supervisor exiting", "state", state_names[s->state], NULL);
    }
    teardown(s);
    int exit_rc = s->exit_rc;
    if (exit_rc != 0 && rc == 0)
        nu_err_set(errbuf, NU_ECHILD, "%s", s->reason[0] != '\0' ? s->reason : "neard failed");
    free(s);
    return exit_rc;
}
