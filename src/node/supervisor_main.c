/* nearup-supervisor: the supervisor of one home as a program of its own.
 *
 *   nearup-supervisor --home DIR [--notify] [--ready-fd N] [--cmd NAME]
 *
 * `nearup run` starts it detached (reading "ok <pid>" or "error <msg>" from
 * the ready fd), `nearup run --foreground` (the systemd unit) and `nearup
 * supervise` replace themselves with it. It is apart from nearup so that it
 * maps only libc, libuv, jansson, libzstd and libcrypto (for SHA-256):
 * nearup itself links libsodium and loads libcurl and libssl on first use,
 * which would make every long-lived supervisor several MB larger. NAME is the nearup command its
 * errors are reported as ("nearup NAME: ..."; default supervise). */
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
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

struct args {
    const char *home, *cmd;
    bool notify;
    unsigned ready_fd; /* 0: none */
};

#define A(f) NU_FIELD(struct args, f)

static const struct nu_setting options[] = {
    {.name = "home", .type = NU_T_STR, A(home), .metavar = "DIR"},
    {.name = "notify", .type = NU_T_BOOL, A(notify)},
    {.name = "ready-fd", .type = NU_T_UINT, A(ready_fd), .min = 3, .max = INT_MAX},
    {.name = "cmd", .type = NU_T_STR, A(cmd), .def = "supervise"},
};

/* 0, or the exit code 2 after the usage error was printed. */
static int parse(int argc, char **argv, struct args *a)
{
    char what[NU_ERRMSG_MAX + 100];
    struct nu_args p = {.table = options, .n = sizeof(options) / sizeof(options[0]), .obj = a};
    NU_BUG_ON(nu_settings_defaults(options, p.n, a, what, sizeof(what)) != 0);
    if (nu_args_parse(&p, argc, argv, 1) != NU_ARGS_OK)
        nu_args_describe(&p.err, what, sizeof(what));
    else if (a->home == NULL)
        snprintf(what, sizeof(what), "--home DIR is required");
    else
        return 0;
    fprintf(stderr, "nearup %s: %s; %s\n", a->cmd, what, usage_text);
    return 2;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    char home[PATH_MAX], err[NU_ERRMSG_MAX] = "";
    tune_malloc();
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct node_sup_opts o = {
        .home = home, .notify = a.notify, .ready_fd = a.ready_fd ? (int)a.ready_fd : -1};
    if (node_abspath(a.home, home, sizeof(home), err) < 0) {
        print_error(a.cmd, err);
        return 2;
    }
    rc = node_supervise(&o, err);
    if (rc != 0 && err[0] != '\0')
        print_error(a.cmd, err);
    return rc;
}
