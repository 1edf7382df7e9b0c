/* Per-home state of nearup: everything nearup keeps about one neard home
 * lives in that home's state dir, <home>/.nearup/, so two homes never share
 * a pid file, a lock or a log (the old nearup kept one global ~/.nearup).
 *
 *   <home>/.nearup/supervisor.lock   the home lock (flock; see node_home_lock)
 *   <home>/.nearup/supervisor.pid    "<pid> <start time>\n" of the supervisor
 *   <home>/.nearup/neard.pid         "<pid> <start time>\n" of neard
 *   <home>/.nearup/run.json          how to run this home (network, binary, args, env, policy)
 *   <home>/.nearup/status.json       supervisor's view: state, restarts, last exit, version
 *   <home>/.nearup/upgrade.json      pending upgrade (version, binary, height, jitter)
 *   <home>/.nearup/logs/neard.log    neard's stdout+stderr, rotated (neard.log.1.zst ...)
 *   <home>/.nearup/restore.json      a restore's swap journal and old data awaiting removal
 *                                    (dataswap.h)
 *   <home>/.nearup/snapshot.lock     one snapshot create or restore at a time (flock;
 *                                    snapshot/paths.h)
 *
 * A registry of homes under $XDG_STATE_HOME/nearup/homes/ (default
 * ~/.local/state/nearup/homes/) lets `--all` find every node. */
#ifndef NODE_STATE_H
#define NODE_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define NODE_STATE_DIRNAME ".nearup"
#define NODE_MAX_HOMES 256
/* Names in the state dir (node_state_path): the pid files and the log. */
#define NODE_SUPERVISOR_PID "supervisor.pid"
#define NODE_NEARD_PID "neard.pid"
#define NODE_NEARD_LOG "logs/neard.log"

/* A pid file's contents: a process and the start time that identifies it. */
struct node_pidfile {
    pid_t pid;
    uint64_t start_time; /* clock ticks since boot, as nu_proc_start_time */
};

/* <home>/.nearup/<name> into out. */
NU_WUR int node_state_path(const char *home, const char *name, char *out, size_t outsz);
/* Creates <home>/.nearup and <home>/.nearup/logs (0700). */
NU_WUR int node_state_init(const char *home, char *errbuf);

/* The home lock: one flock per home that everything taking the home's
 * data dirs for itself holds for as long as it needs them: the supervisor
 * (neard runs only under it, restarts and upgrades included), `nearup run`
 * while it prepares a home, a snapshot restore from its first check to
 * after the swap, `snapshot verify --home`, `snapshot create` while it
 * links the checkpoint of a stopped node. So no neard starts while a
 * restore writes, and no restore starts while a supervisor runs. The file
 * keeps its old name, supervisor.lock, so that an older supervisor still
 * running excludes a newer nearup. Its holder writes "<role> <pid>
 * <start time>\n" into it, so a refusal can say who holds the home. */
#define NODE_HOME_LOCK "supervisor.lock"

enum node_lock_role {
    NODE_LOCK_SUPERVISOR, /* a supervisor runs the node */
    NODE_LOCK_RUN,        /* nearup run prepares the home (init, --reset-data) */
    NODE_LOCK_RESTORE,    /* a snapshot restore writes the data dirs */
    NODE_LOCK_VERIFY,     /* snapshot verify --home reads them */
    NODE_LOCK_CHECKPOINT, /* snapshot create links them while the node is down */
};

struct node_lock_owner {
    enum node_lock_role role;
    pid_t pid; /* 0 when unknown */
};

/* A nearup run holds the home lock only while it prepares the home (its
 * data-dir work: an interrupted swap, --reset-data); others wait this
 * long for it rather than fail, so concurrent runs end with one node. */
#define NODE_HOME_LOCK_WAIT_MS 60000

/* Takes the home lock (flock LOCK_EX|LOCK_NB) for role; the state dir
 * must exist. When another process holds it (after waiting for a nearup
 * run that prepares, see NODE_HOME_LOCK_WAIT_MS): NU_EEXIST for a
 * supervisor ("a node is already running for HOME (supervisor pid N)"),
 * NU_ESTATE for the others, with a message naming the holder, its pid and
 * what to do. The fd stays open for the life of the lock;
 * node_state_unlock closes it. */
NU_WUR int node_home_lock(const char *home, enum node_lock_role role, int *fd, char *errbuf);
/* Records another role for a held lock (nearup run restoring a
 * --from-snapshot). NU_EIO when the record cannot be written. */
NU_WUR int node_home_lock_relabel(int fd, enum node_lock_role role);
/* True if some process holds the home lock; *o (may be NULL) gets its
 * role and pid, waiting up to 1 s for the record of one that has just
 * taken it (pid 0 when there is none). */
bool node_home_lock_owner(const char *home, struct node_lock_owner *o);
/* 0 when the home lock is free or held by a nearup run that prepares
 * (node_home_lock waits for it); else the error node_home_lock gives. */
NU_WUR int node_home_busy(const char *home, char *errbuf);

/* node_home_lock for the supervisor. */
NU_WUR int node_state_lock(const char *home, int *fd, char *errbuf);
void node_state_unlock(int fd);
/* True if some process holds the home lock (in any role). */
bool node_state_locked(const char *home);
/* The pid of the live supervisor of home, waiting up to 1 s for the pid
 * file of one that has just taken the lock; 0 when there is none. */
pid_t node_state_lock_holder(const char *home);

/* Writes "<pid> <start>\n" atomically. */
NU_WUR int node_pidfile_write(const char *home, const char *name, pid_t pid, char *errbuf);
/* Reads a pid file. NU_ENOENT when absent; NU_EPARSE when malformed. */
NU_WUR int node_pidfile_read(const char *home, const char *name, struct node_pidfile *pf,
                             char *errbuf);
/* True if the pid file names a live process with the recorded start time
 * (a stale file after a reboot or kill -9 reads false). */
bool node_pidfile_alive(const char *home, const char *name, struct node_pidfile *pf);
void node_pidfile_remove(const char *home, const char *name);
/* True while home's node runs: its supervisor or its neard is alive (by
 * their pid files). */
bool node_running(const char *home);

/* Registry of homes for --all. Paths are stored absolute. */
NU_WUR int node_registry_add(const char *home, char *errbuf);
NU_WUR int node_registry_remove(const char *home, char *errbuf);
/* Fills homes[] (each PATH_MAX) with registered homes that still exist;
 * *n gets the count. */
NU_WUR int node_registry_list(char (*homes)[PATH_MAX], size_t max, size_t *n, char *errbuf);

/* The node homes behind a --home argument: the home itself when it has a
 * config.json, else (a localnet root) its children that hold a run.json,
 * in natural order (node0, node1, ..., node10). NU_ENOENT when neither. */
NU_WUR int node_homes_expand(const char *home, char (*out)[PATH_MAX], size_t max, size_t *n,
                             char *errbuf);

/* Expands "~/" and makes path absolute into out. */
NU_WUR int node_abspath(const char *path, char *out, size_t outsz, char *errbuf);

#endif
