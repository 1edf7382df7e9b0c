/* The supervisor: one per home. It holds the home's lock, runs neard with
 * execve, sends its output to the rotated log, restarts it on crash with
 * exponential backoff (giving up after a bounded number of fast crashes),
 * stops it with SIGTERM then SIGKILL after a timeout, speaks systemd's
 * notify protocol, and performs pending upgrades when neard stops at the
 * upgrade height. */
#ifndef NODE_SUPERVISOR_H
#define NODE_SUPERVISOR_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "release.h"

enum node_restart_policy { NODE_RESTART_ALWAYS, NODE_RESTART_ON_FAILURE, NODE_RESTART_NO };

#define NODE_MAX_ARGS 64
#define NODE_MAX_ENV 32
#define NODE_DEFAULT_STOP_TIMEOUT_S 60

/* <home>/.nearup/run.json: how to run this home. Written by `nearup run`,
 * read by the supervisor, restart, status and upgrade. */
struct node_run_config {
    char network[128];
    char chain_id[128];
    char binary[PATH_MAX];                /* neard to run */
    char neard_version[NODE_VERSION_MAX]; /* "" when --binary-path */
    char neard_commit[NODE_VERSION_MAX];
    char neard_sha256[NODE_SHA256_HEX];
    char release_url[NODE_URL_MAX]; /* saved with its userinfo redacted (redact.h) */
    char *args[NODE_MAX_ARGS + 1];  /* after `run`, NULL-terminated, owned */
    char *env[NODE_MAX_ENV + 1];    /* "KEY=VAL", NULL-terminated, owned */
    enum node_restart_policy restart;
    uint64_t log_max_size;
    unsigned log_keep;
    unsigned stop_timeout_s;
};

void node_runcfg_init(struct node_run_config *c);
void node_runcfg_release(struct node_run_config *c);
NU_WUR int node_runcfg_load(const char *home, struct node_run_config *c, char *errbuf);
NU_WUR int node_runcfg_save(const char *home, const struct node_run_config *c, char *errbuf);
NU_WUR int node_restart_policy_parse(const char *s, enum node_restart_policy *out);
const char *node_restart_policy_name(enum node_restart_policy p);

/* The value of a neard run flag in c->args ("--rpc-addr X" or
 * "--rpc-addr=X") into *value (borrowed); with value NULL only checks that
 * the flag is present. NU_ENOENT when absent. */
NU_WUR int node_runcfg_arg(const struct node_run_config *c, const char *flag, const char **value);
/* The address to probe neard's RPC on: --rpc-addr from c->args (c may be
 * NULL), else node_home_rpc_addr; 0.0.0.0 becomes 127.0.0.1. NU_ENOENT when
 * the node has no RPC (--disable-rpc, no rpc section). */
NU_WUR int node_runcfg_rpc_addr(const char *home, const struct node_run_config *c, char *out,
                                size_t outsz, char *errbuf);
/* The release a neard binary reports: runs `<binary> --version` and takes
 * "X" from "(release X)". */
NU_WUR int node_neard_version(const char *binary, char *out, size_t outsz, char *errbuf);

struct node_sup_opts {
    const char *home; /* absolute */
    bool notify;      /* sd_notify READY/WATCHDOG/STOPPING (systemd Type=notify) */
    int ready_fd;     /* -1, or a pipe: one line "ok <neard pid>\n" or "error <msg>\n" */
};

/* Runs the supervisor in this process until it is stopped (SIGTERM/SIGINT)
 * or gives up. Takes the home lock first (fails if held). Returns the
 * process exit code: 0 after a requested stop, 1 when it gave up. */
int node_supervise(const struct node_sup_opts *o, char *errbuf);
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
