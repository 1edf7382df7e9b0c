/* The Python nearup's pid file and logs (legacy.h). */
#include "legacy.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "home.h"
#include "proc.h"
#include "settings.h"
#include "state.h"

#define CMDLINE_MAX 65536 /* bytes of /proc/<pid>/cmdline read */

/* ---- reading the pid file ---- */

static bool copy_field(char *out, size_t outsz, const char *p, size_t len)
{
    if (len == 0 || len >= outsz)
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

/* "pid|name|network" (len bytes, no newline) into e. */
static bool parse_line(const char *line, size_t len, struct node_legacy_node *e)
{
    const char *bar1 = memchr(line, '|', len);
    const char *bar2 = bar1 != NULL ? memchr(bar1 + 1, '|', len - (size_t)(bar1 + 1 - line)) : NULL;
    char pid[16];
    uint64_t v;
    if (bar2 == NULL || !copy_field(pid, sizeof(pid), line, (size_t)(bar1 - line)) ||
        nu_parse_uint(pid, INT32_MAX, &v) != 0 || v == 0)
        return false;
    memset(e, 0, sizeof(*e));
    e->pid = (pid_t)v;
    return copy_field(e->name, sizeof(e->name), bar1 + 1, (size_t)(bar2 - bar1 - 1)) &&
           copy_field(e->network, sizeof(e->network), bar2 + 1, len - (size_t)(bar2 + 1 - line));
}

/* The value after --home in a NUL-separated command line, or NULL. */
static const char *home_arg(const char *argv, size_t len)
{
    for (const char *p = argv; p < argv + len; p += strlen(p) + 1) {
        const char *next = p + strlen(p) + 1;
        if (strcmp(p, "--home") == 0 && next < argv + len)
            return next;
        if (strncmp(p, "--home=", 7) == 0)
            return p + 7;
    }
    return NULL;
}

/* The --home of a running neard's command line (NUL-separated words,
 * len bytes) into e->home, when it runs a program named e->name. */
static bool named_home(const char *argv, size_t len, struct node_legacy_node *e)
{
    const char *slash = strrchr(argv, '/'), *home = home_arg(argv, len);
    return strcmp(slash != NULL ? slash + 1 : argv, e->name) == 0 && home != NULL &&
           node_abspath(home, e->home, sizeof(e->home), NULL) == 0;
}

/* Running: alive (not a zombie), its program named as recorded, and that
 * name a neard's; then its start time and --home are recorded. */
static void check_running(struct node_legacy_node *e)
{
    char path[64], *argv = NULL;
    size_t len = 0;
    uint64_t start;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)e->pid);
    if (strncmp(e->name, "neard", 5) == 0 && nu_proc_start_time(e->pid, &start) == 0 &&
        nu_proc_is_same(e->pid, start) &&
        nu_fs_read_file(path, CMDLINE_MAX, &argv, &len, NULL) == 0 && len > 0) {
        argv[len - 1] = '\0'; /* the kernel ends each word with a NUL; be sure of the last */
        e->running = named_home(argv, len, e);
        e->start_time = e->running ? start : 0;
    }
    if (!e->running)
        e->home[0] = '\0';
    free(argv);
}

static void parse_file(struct node_legacy *l, const char *text, size_t len)
{
    for (const char *p = text; p < text + len && l->n < NODE_LEGACY_MAX;) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t k = nl != NULL ? (size_t)(nl - p) : (size_t)(text + len - p);
        struct node_legacy_node *e = &l->node[l->n];
        if (parse_line(p, k, e)) {
            check_running(e);
            l->n++;
        }
        p += k + (nl != NULL);
    }
}

int node_legacy_load(struct node_legacy **out, char *errbuf)
{
    char *text = NULL;
    size_t len = 0;
    struct node_legacy *l = calloc(1, sizeof(*l));
    *out = NULL;
    if (l == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (node_abspath(NODE_LEGACY_PIDFILE, l->pidfile, sizeof(l->pidfile), errbuf) != 0) {
        free(l);
        return NU_EINVAL;
    }
    int rc = nu_fs_read_file(l->pidfile, NODE_LEGACY_FILE_MAX, &text, &len, errbuf);
    if (rc == NU_ENOENT)
        rc = 0;
    else if (rc == 0)
        parse_file(l, text, len);
    else
        rc = nu_err_set(errbuf, NU_EIO, "cannot read the Python nearup's pid file %s", l->pidfile);
    free(text);
    if (rc != 0) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void node_legacy_free(struct node_legacy *l)
{
    free(l);
}

/* ---- what runs ---- */

size_t node_legacy_running(const struct node_legacy *l, char *pids, size_t pidsz)
{
    size_t n = 0, used = 0;
    if (pidsz > 0)
        pids[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        if (!l->node[i].running)
            continue;
        int k = used < pidsz ? snprintf(pids + used, pidsz - used, "%s%ld", n > 0 ? ", " : "",
                                        (long)l->node[i].pid)
                             : 0;
        used += k > 0 ? (size_t)k : 0;
        n++;
    }
    return n;
}

/* True when path is dir or directly in it. */
static bool in_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0)
        return false;
    return path[n] == '\0' || (path[n] == '/' && strchr(path + n + 1, '/') == NULL);
}

void node_legacy_homes(const struct node_legacy *l, const char *under, char (*out)[PATH_MAX],
                       size_t max, size_t *n)
{
    for (size_t i = 0; i < l->n && *n < max; i++) {
        const struct node_legacy_node *e = &l->node[i];
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = strcmp(out[j], e->home) == 0;
        if (e->running && !seen && (under == NULL || in_dir(e->home, under)))
            memcpy(out[(*n)++], e->home, strlen(e->home) + 1);
    }
}

bool node_legacy_find(const char *home, struct node_legacy_node *out)
{
    struct node_legacy *l;
    bool found = false;
    if (node_legacy_load(&l, NULL) != 0)
        return false;
    for (size_t i = 0; i < l->n && !found; i++) {
        found = l->node[i].running && strcmp(l->node[i].home, home) == 0;
        if (found && out != NULL)
            *out = l->node[i];
    }
    node_legacy_free(l);
    return found;
}

/* ---- forgetting a stopped node ---- */

/* The file's lines but pid's, in place into text (l read just now); true
 * when one of those left still runs. */
static bool drop_lines(const struct node_legacy *l, pid_t pid, char *text, size_t *len)
{
    size_t out = 0;
    bool live = false;
    for (size_t p = 0; p < *len;) {
        const char *nl = memchr(text + p, '\n', *len - p);
        size_t k = nl != NULL ? (size_t)(nl - (text + p)) + 1 : *len - p;
        struct node_legacy_node e;
        bool ours = parse_line(text + p, k - (nl != NULL), &e) && e.pid == pid;
        if (!ours) {
            memmove(text + out, text + p, k);
            out += k;
        }
        p += k;
    }
    for (size_t i = 0; i < l->n; i++)
        live = live || (l->node[i].running && l->node[i].pid != pid);
    *len = out;
    return live;
}

int node_legacy_forget(pid_t pid, char *errbuf)
{
    struct node_legacy *l;
    char *text = NULL;
    size_t len = 0;
    int rc = node_legacy_load(&l, errbuf);
    if (rc != 0)
        return rc;
    rc = nu_fs_read_file(l->pidfile, NODE_LEGACY_FILE_MAX, &text, &len, errbuf);
    if (rc == 0 && !drop_lines(l, pid, text, &len)) {
        if (unlink(l->pidfile) != 0 && errno != ENOENT)
            rc = nu_err_set(errbuf, NU_EIO, "cannot remove %s: %s", l->pidfile, strerror(errno));
    } else if (rc == 0) {
        rc = nu_fs_write_atomic(l->pidfile, text, len, 0644, errbuf);
    } else if (rc == NU_ENOENT) {
        rc = 0;
    }
    free(text);
    node_legacy_free(l);
    return rc;
}

/* ---- logs ---- */

/* ~/.nearup/logs/<rel> into out when that file exists. */
static int log_file(const char *rel, char *out, size_t outsz)
{
    char logs[PATH_MAX];
    if (node_abspath(NODE_LEGACY_LOGS, logs, sizeof(logs), NULL) != 0 ||
        nu_fs_join(out, outsz, logs, rel) != 0 || !nu_fs_exists(out))
        return NU_ENOENT;
    return 0;
}

/* The log of network; a localnet's is its node's, from the home's name. */
static int network_log(const char *network, const char *home, char *out, size_t outsz)
{
    char rel[PATH_MAX];
    const char *base = strrchr(home, '/') != NULL ? strrchr(home, '/') + 1 : home;
    uint64_t i;
    if (strcmp(network, "localnet") == 0) {
        if (strncmp(base, "node", 4) != 0 || nu_parse_uint(base + 4, 1u << 20, &i) != 0)
            return NU_ENOENT;
        snprintf(rel, sizeof(rel), "localnet/node%llu.log", (unsigned long long)i);
    } else {
        snprintf(rel, sizeof(rel), "%s.log", network);
    }
    return log_file(rel, out, outsz);
}

int node_legacy_log(const char *home, char *out, size_t outsz)
{
    struct node_legacy_node e;
    char chain[128];
    const char *base = strrchr(home, '/') != NULL ? strrchr(home, '/') + 1 : home;
    if (node_legacy_find(home, &e))
        return network_log(e.network, home, out, outsz);
    if (network_log("localnet", home, out, outsz) == 0)
        return 0;
    if (node_home_chain_id(home, chain, sizeof(chain), NULL) == 0 &&
        network_log(chain, home, out, outsz) == 0)
        return 0;
    return base[0] != '\0' && base[0] != '.' ? network_log(base, home, out, outsz) : NU_ENOENT;
}

/* Names of the <network>.log files in ~/.nearup/logs (not nearup.log or
 * watcher.log, the Python nearup's own), as "a, b" in names; the count. */
static size_t network_logs(char *names, size_t namesz, char *first, size_t firstsz)
{
    char logs[PATH_MAX];
    size_t n = 0, used = 0;
    names[0] = '\0';
    DIR *d = node_abspath(NODE_LEGACY_LOGS, logs, sizeof(logs), NULL) == 0 ? opendir(logs) : NULL;
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
        size_t k = strlen(de->d_name);
        if (k <= 4 || strcmp(de->d_name + k - 4, ".log") != 0 ||
            strcmp(de->d_name, "nearup.log") == 0 || strcmp(de->d_name, "watcher.log") == 0)
            continue;
        if (n++ == 0)
            snprintf(first, firstsz, "%.*s", (int)(k - 4), de->d_name);
        int w = used < namesz ? snprintf(names + used, namesz - used, "%s%.*s", used ? ", " : "",
                                         (int)(k - 4), de->d_name)
                              : 0;
        used += w > 0 ? (size_t)w : 0;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

int node_legacy_default_log(char *out, size_t outsz, char *errbuf)
{
    struct node_legacy *l;
    char names[512], network[64] = "";
    int rc = node_legacy_load(&l, errbuf);
    if (rc != 0)
        return rc;
    if (l->n > 0)
        snprintf(network, sizeof(network), "%s", l->node[0].network);
    node_legacy_free(l);
    if (strcmp(network, "localnet") == 0) {
        char dir[PATH_MAX];
        if (log_file("localnet", dir, sizeof(dir)) != 0)
            return NU_ENOENT;
        return nu_err_set(errbuf, NU_EEXIST,
                          "the Python nearup ran a localnet, one log per node in %s; pass --home "
                          "ROOT --node I",
                          dir);
    }
    if (network[0] != '\0')
        return network_log(network, "", out, outsz);
    size_t n = network_logs(names, sizeof(names), network, sizeof(network));
    if (n > 1)
        return nu_err_set(errbuf, NU_EEXIST,
                          "the Python nearup left logs of %s; pass --home DIR of one of them",
                          names);
    return n == 1 ? network_log(network, "", out, outsz) : NU_ENOENT;
}
