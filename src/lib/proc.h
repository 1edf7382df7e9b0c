/* Process helpers: spawn with execve (never a shell), wait with a timeout,
 * and process identity by (pid, start time) so a recycled pid is never
 * mistaken for our child after a reboot or crash. */
#ifndef NU_PROC_H
#define NU_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

struct nu_spawn_opts {
    char *const *envp; /* NULL: inherit environ */
    const char *cwd;   /* NULL: inherit */
    int stdin_fd;      /* -1: /dev/null */
    int stdout_fd;     /* -1: inherit */
    int stderr_fd;     /* -1: inherit */
    bool new_session;  /* setsid() in the child */
};

/* Default options: inherit env/cwd/stdout/stderr, stdin from /dev/null. */
void nu_spawn_opts_init(struct nu_spawn_opts *o);
/* Starts argv[0] (a path; not searched in PATH) with execve. A failed exec
 * (missing file, not executable) is reported as NU_ECHILD with the errno
 * text, not as a child that exits 127. */
NU_WUR int nu_proc_spawn(char *const argv[], const struct nu_spawn_opts *o, pid_t *pid,
                         char *errbuf);
/* Waits up to timeout_ms (-1: forever) for pid; *status gets the raw wait
 * status. NU_ETIMEDOUT if still running. */
NU_WUR int nu_proc_wait(pid_t pid, int timeout_ms, int *status);
/* Start time of pid in clock ticks since boot (/proc/<pid>/stat field 22).
 * NU_ENOENT if no such process. */
NU_WUR int nu_proc_start_time(pid_t pid, uint64_t *start);
/* Parses the text of /proc/<pid>/stat: *state gets field 3 ('R', 'S',
 * 'Z', ...), *start field 22. Handles a comm (field 2) containing spaces
 * and parentheses. NU_EPARSE on malformed text. Exposed for tests. */
NU_WUR int nu_proc_parse_stat(const char *stat, char *state, uint64_t *start);
/* True if pid is alive (zombies are not) and its start time equals start. */
bool nu_proc_is_same(pid_t pid, uint64_t start);
/* Sends sig, waits up to timeout_ms, then SIGKILLs. *status as nu_proc_wait;
 * only for our own children. */
NU_WUR int nu_proc_stop(pid_t pid, int sig, int timeout_ms, int *status);
/* Runs argv as nu_proc_spawn does, its stdout into out (outsz >= 1 bytes,
 * NUL-terminated, *outlen of them; what does not fit is read and dropped,
 * so the child never blocks on a full pipe), until it exits: *status gets
 * its wait status. A child still running after timeout_ms is killed
 * (SIGKILL) and reaped: NU_ETIMEDOUT, with out holding what it printed.
 * Spawn failures as nu_proc_spawn. */
NU_WUR int nu_proc_run(char *const argv[], int timeout_ms, char *out, size_t outsz, size_t *outlen,
                       int *status, char *errbuf);
/* Raises the soft RLIMIT_NOFILE towards want, at most to the hard limit;
 * *got gets the soft limit in force afterwards. Returns 0, NU_ETOOBIG when
 * *got is still below want (the caller says so), NU_EIO when it cannot be
 * read or set. */
NU_WUR int nu_proc_raise_nofile(uint64_t want, uint64_t *got);

#endif
