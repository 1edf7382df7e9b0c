/* nearup logs [--home DIR] [--node I] [-f] [-n N]: the last lines of a
 * node's neard.log, and with -f everything written after, following the
 * file across rotation the way `tail -F` does (the rest of the old file is
 * read before switching to the new one). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "fs.h"
#include "legacy.h"
#include "localnet.h"
#include "state.h"

#define DEFAULT_LINES 100
#define MAX_LINES 10000000
#define CHUNK 65536
#define FOLLOW_POLL_MS 100

struct logs_opts {
    const char *home_arg;
    int64_t node; /* -1: not given */
    bool follow;
    unsigned lines;
};

static const struct nu_setting opts[] = {
    {.name = "home",
     .type = NU_T_STR,
     NU_FIELD(struct logs_opts, home_arg),
     .metavar = "DIR",
     .help = "the node's home or a localnet root; default: the one running (or registered) node"},
    {.name = "node",
     .type = NU_T_I64,
     NU_FIELD(struct logs_opts, node),
     .max = NODE_MAX_HOMES - 1,
     .metavar = "I",
     .help = "which node of the localnet root --home names (node0 is 0)"},
    {.name = "follow",
     .short_name = 'f',
     .type = NU_T_BOOL,
     NU_FIELD(struct logs_opts, follow),
     .help = "keep printing what is written, across log rotation (as tail -F)"},
    {.name = "lines",
     .short_name = 'n',
     .type = NU_T_UINT,
     NU_FIELD(struct logs_opts, lines),
     .def = NU_TEXT(DEFAULT_LINES),
     .max = MAX_LINES,
     .help = "print the last N lines first"},
    {.short_name = 'l', .alias_of = "lines", .help = "the Python nearup's spelling"},
};

const struct cli_doc cli_logs_doc = {
    .prog = "logs",
    .summary = "print or follow a node's neard log across rotation",
    .usage = "nearup logs [--home DIR] [--node I] [-f] [-n N]",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static int parse(int argc, char **argv, struct logs_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->node = -1;
    return cli_parse(&cli_logs_doc, argc, argv, o, NULL, 0, NULL);
}

/* ---- which home ---- */

static void copy_path(char *out, const char *src)
{
    size_t n = strnlen(src, PATH_MAX - 1);
    memcpy(out, src, n);
    out[n] = '\0';
}

static int pick_node(const struct logs_opts *o, const char *root, char (*homes)[PATH_MAX], size_t n,
                     char *out)
{
    if (o->node >= 0 && (size_t)o->node >= n) {
        cli_error("logs", "--node %lld: %s has %zu node%s (0-%zu)", (long long)o->node, root, n,
                  n == 1 ? "" : "s", n - 1);
        return 2;
    }
    if (o->node < 0 && n > 1) {
        cli_error("logs", "%s holds %zu nodes; pass --node I (0-%zu)", root, n, n - 1);
        return 2;
    }
    copy_path(out, homes[o->node >= 0 ? o->node : 0]);
    return 0;
}

static bool has_log(const char *home)
{
    char path[PATH_MAX];
    return node_state_path(home, NODE_NEARD_LOG, path, sizeof(path)) == 0 && nu_fs_exists(path);
}

/* No node was run with nearup: the log the Python nearup left, if any,
 * into log. */
static int python_default_log(char *log)
{
    char err[NU_ERRMSG_MAX];
    int rc = node_legacy_default_log(log, PATH_MAX, err);
    if (rc == NU_EEXIST)
        cli_error("logs", "%s", err);
    else if (rc != 0)
        cli_error("logs", "no node has been run with nearup yet; pass --home DIR");
    return rc == 0 ? 0 : rc == NU_EEXIST ? 2 : 1;
}

/* Without --home: the one running node (the Python nearup's too), else
 * the one registered node, else (into log, out left "") the log the
 * Python nearup left. */
static int default_home(char *out, char *log)
{
    static char homes[NODE_MAX_HOMES][PATH_MAX];
    struct cli_homes_sel sel = {.pick = CLI_HOMES_RUNNING, .python = true};
    size_t n = 0, native = 0;
    int rc = cli_list_homes("logs", &sel, homes, &n, &native);
    if (rc == 0 && (native == 1 || (native == 0 && n == 1))) {
        copy_path(out, homes[0]); /* nearup's nodes come first */
        return 0;
    }
    if (rc == 0 && native > 1)
        return cli_homes_ambiguous("logs", "running", homes, native, false);
    sel = (struct cli_homes_sel){.pick = CLI_HOMES_REGISTERED};
    if (rc == 0)
        rc = cli_list_homes("logs", &sel, homes, &n, &native);
    if (rc == 0 && n == 1)
        copy_path(out, homes[0]);
    if (rc != 0 || n == 1)
        return rc;
    return n == 0 ? python_default_log(log)
                  : cli_homes_ambiguous("logs", "registered", homes, n, false);
}

/* The home whose log to show into out, or (out "") the log itself into
 * log. */
static int choose_home(const struct logs_opts *o, char *out, char *log)
{
    static char homes[NODE_MAX_HOMES][PATH_MAX];
    char root[PATH_MAX], err[NU_ERRMSG_MAX];
    size_t n = 0;
    out[0] = log[0] = '\0';
    if (o->home_arg == NULL) {
        if (o->node >= 0) {
            cli_error("logs", "--node needs --home (the localnet root)");
            return 2;
        }
        return default_home(out, log);
    }
    if (node_abspath(o->home_arg, root, sizeof(root), err) < 0) {
        cli_error("logs", "%s", err);
        return 2;
    }
    if (o->node < 0 && has_log(root)) {
        copy_path(out, root);
        return 0;
    }
    /* A localnet nearup did not start (the Python nearup's) has nodes
     * without a run.json. */
    if (node_homes_expand(root, homes, NODE_MAX_HOMES, &n, err) < 0 &&
        (node_localnet_nodes(root, homes, NODE_MAX_HOMES, &n, NULL) < 0 || n == 0)) {
        cli_error("logs", "%s", err);
        return 1;
    }
    return pick_node(o, root, homes, n, out);
}

/* home's neard.log, else the log the Python nearup keeps for it. */
static int open_log(const char *home, char *path)
{
    char legacy[PATH_MAX];
    if (node_state_path(home, NODE_NEARD_LOG, path, PATH_MAX) < 0) {
        copy_path(path, home);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC), e = errno;
    if (fd < 0 && node_legacy_log(home, legacy, sizeof(legacy)) == 0) {
        copy_path(path, legacy);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        e = errno;
    }
    errno = e; /* for the caller's message */
    return fd;
}

/* ---- output ---- */

/* Copies from fd's position to its end onto stdout. */
static int copy_rest(int fd)
{
    char buf[CHUNK];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -1 : 0;
        if (nu_write_all(1, buf, (size_t)r) < 0) /* a closed pipe (`| head`) ends us quietly */
            return -1;
    }
}

/* Where the last n lines of fd start: scans backwards chunk by chunk. */
static off_t tail_start(int fd, off_t size, unsigned n)
{
    char buf[CHUNK];
    off_t pos = size;
    unsigned seen = 0;
    if (n == 0)
        return size;
    while (pos > 0) {
        size_t len = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
        pos -= (off_t)len;
        if (pread(fd, buf, len, pos) != (ssize_t)len)
            return 0;
        for (size_t i = len; i > 0; i--) {
            /* The final newline ends the last line; it does not start one. */
            if (buf[i - 1] == '\n' && pos + (off_t)i != size && ++seen == n)
                return pos + (off_t)i;
        }
    }
    return 0;
}

static void nap(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* tail -F: new data on the open file; a new inode at path (rotation) is
 * switched to after the old one is read to its end; a shrunk file
 * (truncation) is read again from the start. */
static int follow(const char *path, int fd)
{
    struct stat cur, at;
    while (!cli_cancelled) {
        if (copy_rest(fd) < 0)
            return 0;
        if (fstat(fd, &cur) < 0)
            return 1;
        if (stat(path, &at) == 0 && (at.st_ino != cur.st_ino || at.st_dev != cur.st_dev)) {
            int nfd = open(path, O_RDONLY | O_CLOEXEC);
            if (nfd >= 0) {
                if (copy_rest(fd) < 0) {
                    close(nfd);
                    return 0;
                }
                close(fd);
                fd = nfd;
                continue;
            }
        } else if (stat(path, &at) == 0 && at.st_size < lseek(fd, 0, SEEK_CUR)) {
            lseek(fd, 0, SEEK_SET);
            continue;
        }
        nap(FOLLOW_POLL_MS);
    }
    close(fd);
    return 0;
}

int cmd_logs(int argc, char **argv)
{
    struct logs_opts o;
    char home[PATH_MAX], path[PATH_MAX];
    struct stat st;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if ((rc = choose_home(&o, home, path)) != 0)
        return rc;
    int fd = home[0] != '\0' ? open_log(home, path) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        cli_error("logs", "no log at %s (%s); start the node with 'nearup run'", path,
                  strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    off_t start = tail_start(fd, st.st_size, o.lines);
    if (lseek(fd, start, SEEK_SET) < 0 || copy_rest(fd) < 0 || !o.follow) {
        close(fd);
        return 0;
    }
    cli_catch_signals();
    return follow(path, fd);
}
