/* nearup-supervisor: the supervisor of one home as a program of its own.
 *
 *   nearup-supervisor --home DIR [--notify] [--ready-fd N] [--cmd NAME]
 *
 * `nearup run` starts it detached (reading "ok <pid>" or "error <msg>" from
 * the ready fd), `nearup run --foreground` (the systemd unit) and `nearup
 * supervise` replace themselves with it. It is apart from nearup so that it
 * maps only libc, libuv, jansson and libzstd: nearup itself links libcurl,
 * OpenSSL, libsodium, libsystemd and RocksDB, which would make every
 * long-lived supervisor several MB larger. NAME is the nearup command its
 * errors are reported as ("nearup NAME: ..."; default supervise). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "supervisor.h"

/* What `nearup supervise` accepts (--cmd is for nearup's own use). */
static const char usage_text[] = "usage: nearup supervise --home DIR [--notify] [--ready-fd N]";

/* "nearup <cmd>: <first line>", then the other lines indented (neard's
 * last lines after a failure). */
static void print_error(const char *cmd, const char *msg)
{
    const char *nl = strchr(msg, '\n');
    fprintf(stderr, "nearup %s: %.*s\n", cmd, nl != NULL ? (int)(nl - msg) : (int)strlen(msg), msg);
    for (const char *line = nl != NULL ? nl + 1 : ""; *line != '\0';) {
        nl = strchr(line, '\n');
        int len = nl != NULL ? (int)(nl - line) : (int)strlen(line);
        fprintf(stderr, "  %.*s\n", len, line);
        line += len + (nl != NULL);
    }
}

/* The supervisor lives as long as its node: memory it frees must go back
 * to the system. Log rotation's zstd compression (logrot.c) allocates a
 * few MB on a thread of its own; glibc would keep that in a per-thread
 * arena, and its adaptive mmap threshold would soon put such buffers on
 * the heap, where they stay mapped after free (measured: VmRSS 2.2 MB
 * before the first rotation, 5.0 MB after it). One arena and a fixed
 * threshold make every large buffer a mapping of its own, unmapped when
 * freed. */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 64 << 10);
#endif
}

static int parse_fd(const char *arg, int *fd)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < 3 || v > INT_MAX)
        return NU_EINVAL;
    *fd = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"home", required_argument, NULL, 'H'},
        {"notify", no_argument, NULL, 'n'},
        {"ready-fd", required_argument, NULL, 'r'},
        {"cmd", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL, *cmd = "supervise";
    char home[PATH_MAX], err[NU_ERRMSG_MAX] = "";
    struct node_sup_opts o = {.home = home, .notify = false, .ready_fd = -1};
    bool bad = false;
    int c;
    tune_malloc();
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'H')
            home_arg = optarg;
        else if (c == 'n')
            o.notify = true;
        else if (c == 'c')
            cmd = optarg;
        else if (c != 'r')
            bad = true;
        else if (parse_fd(optarg, &o.ready_fd) < 0)
            return print_error(cmd, "--ready-fd must be a descriptor number >= 3"), 2;
    }
    if (bad || home_arg == NULL || optind != argc) {
        fprintf(stderr, "nearup %s: %s\n", cmd, usage_text);
        return 2;
    }
    if (node_abspath(home_arg, home, sizeof(home), err) < 0) {
        print_error(cmd, err);
        return 2;
    }
    int rc = node_supervise(&o, err);
    if (rc != 0 && err[0] != '\0')
        print_error(cmd, err);
    return rc;
}
