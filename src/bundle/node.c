/* One node's members but its logs (bundle-int.h): its config and state
 * files, what its pid files and supervisor say, its binary, disk and
 * process, what neard answers, and a listing of its home. Only read: no
 * file of the home is written, locked or even opened if it is a key
 * file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bundle-int.h"
#include "json.h"
#include "paths.h"
#include "runcfg.h"
#include "sha256.h"
#include "state.h"

#define KEY_FILES_MAX 8 /* key file names config.json may give besides *key*.json */

static void member(const struct bundle_node *n, const char *file, char *out, size_t outsz)
{
    snprintf(out, outsz, "nodes/%s/%s", n->name, file);
}

static int add_home_file(struct bundle_ar *ar, const struct bundle_node *n, const char *file,
                         const char *as, char *errbuf)
{
    char name[PATH_MAX], path[PATH_MAX];
    member(n, as, name, sizeof(name));
    if (nu_fs_join(path, sizeof(path), n->home, file) < 0)
        return 0;
    return bundle_add_file(ar, name, path, BUNDLE_FILE_MAX, true, errbuf);
}

/* ---- genesis.json: its size and hash, never its contents (GBs) ---- */

static int add_genesis(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX], path[PATH_MAX], hex[NU_SHA256_HEX], err[NU_ERRMSG_MAX];
    member(n, "genesis-digest.json", name, sizeof(name));
    if (nu_fs_join(path, sizeof(path), n->home, "genesis.json") < 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 && errno == ENOENT) {
        bundle_ar_omit(ar, name, path, "absent");
        return 0;
    }
    int rc = fd < 0 || fstat(fd, &st) != 0
                 ? nu_err_set(err, NU_EIO, "open %s: %s", path, strerror(errno))
                 : nu_sha256_fd(fd, path, hex, err);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        bundle_ar_fail(ar, name, path, err);
        return 0;
    }
    return bundle_ar_add_json(ar, name, path,
                              json_pack("{s:s, s:I, s:s}", "file", "genesis.json", "bytes",
                                        (json_int_t)st.st_size, "sha256", hex),
                              errbuf);
}

/* ---- pid files and restarts ---- */

static json_t *pidfile_json(const char *home, const char *file)
{
    char path[PATH_MAX], err[NU_ERRMSG_MAX], *text = NULL;
    size_t len;
    struct node_pidfile pf;
    if (node_state_path(home, file, path, sizeof(path)) != 0 ||
        nu_fs_read_file(path, BUNDLE_PROC_MAX, &text, &len, err) != 0)
        return json_null();
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    bool parsed = node_pidfile_read(home, file, &pf, err) == 0;
    json_t *o = json_pack("{s:s, s:o, s:o, s:b}", "text", text, "pid",
                          parsed ? json_integer(pf.pid) : json_null(), "start_time",
                          parsed ? json_integer((json_int_t)pf.start_time) : json_null(), "alive",
                          node_pidfile_alive(home, file, &pf));
    free(text);
    return o != NULL ? o : json_null();
}

static int add_pids(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX];
    member(n, "pids.json", name, sizeof(name));
    return bundle_ar_add_json(ar, name, NULL,
                              json_pack("{s:o, s:o}", "supervisor.pid",
                                        pidfile_json(n->home, "supervisor.pid"), "neard.pid",
                                        pidfile_json(n->home, "neard.pid")),
                              errbuf);
}

static json_t *get_or_null(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v != NULL ? json_incref(v) : json_null();
}

/* The restarts as the supervisor keeps them (status.json) with the policy
 * they follow (run.json). */
static int add_restarts(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX], path[PATH_MAX], err[NU_ERRMSG_MAX];
    member(n, "restarts.json", name, sizeof(name));
    json_t *st = NULL;
    if (node_state_path(n->home, "status.json", path, sizeof(path)) != 0)
        return 0;
    int rc = nu_json_load_file(path, false, &st, err);
    if (rc < 0) {
        bundle_ar_omit(ar, name, path,
                       rc == NU_ENOENT ? "absent: no supervisor has run this node" : err);
        return 0;
    }
    struct node_run_config c;
    bool have = node_runcfg_load(n->home, &c, err) == 0;
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "restarts", get_or_null(st, "restarts"),
                          "state", get_or_null(st, "state"), "reason", get_or_null(st, "reason"),
                          "last_exit", get_or_null(st, "last_exit"), "started_at",
                          get_or_null(st, "started_at"), "restart_policy",
                          have ? json_string(node_restart_policy_name(c.restart)) : json_null());
    if (have)
        node_runcfg_release(&c);
    json_decref(st);
    return bundle_ar_add_json(ar, name, path, o, errbuf);
}

/* ---- the binary: what run.json expects, what the file hashes to ---- */

static json_t *binary_json(const char *path, const struct node_run_config *c,
                           const struct node_status *st)
{
    char hex[NU_SHA256_HEX], err[NU_ERRMSG_MAX];
    struct stat sb;
    bool have_stat = stat(path, &sb) == 0;
    bool hashed = have_stat && nu_sha256_file(path, hex, err) == 0;
    if (!have_stat)
        snprintf(err, sizeof(err), "stat %.400s: %s", path, strerror(errno));
    bool expect = c != NULL && c->neard_sha256[0] != '\0';
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "path", path, "bytes",
        have_stat ? json_integer((json_int_t)sb.st_size) : json_null(), "sha256",
        hashed ? json_string(hex) : json_null(), "expected_sha256",
        expect ? json_string(c->neard_sha256) : json_null(), "sha256_matches",
        expect && hashed ? json_boolean(strcmp(hex, c->neard_sha256) == 0) : json_null(),
        "neard_version",
        c != NULL && c->neard_version[0] ? json_string(c->neard_version) : json_null(),
        "neard_commit",
        c != NULL && c->neard_commit[0] ? json_string(c->neard_commit) : json_null(),
        "reported_version", st->neard_version[0] ? json_string(st->neard_version) : json_null(),
        "reported_build", st->neard_build[0] ? json_string(st->neard_build) : json_null(),
        "network", st->network[0] ? json_string(st->network) : json_null(), "error",
        hashed ? json_null() : json_string(err));
    return o;
}

static int add_binary(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX], err[NU_ERRMSG_MAX];
    member(n, "binary.json", name, sizeof(name));
    struct node_run_config c;
    if (node_runcfg_load(n->home, &c, err) != 0) {
        bundle_ar_omit(ar, name, NULL, "no run.json: nearup does not run this node");
        return 0;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", c.binary);
    json_t *o = binary_json(path, &c, n->st);
    node_runcfg_release(&c);
    return bundle_ar_add_json(ar, name, path, o, errbuf);
}

/* ---- disk: the file systems of the data dirs ---- */

static json_t *fs_json(const char *role, const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return json_pack("{s:s, s:s, s:s}", "role", role, "dir", dir, "error", strerror(errno));
    uint64_t f = v.f_frsize ? v.f_frsize : v.f_bsize;
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "role", role, "dir", dir, "total_bytes",
                     (json_int_t)(v.f_blocks * f), "free_bytes", (json_int_t)(v.f_bfree * f),
                     "available_bytes", (json_int_t)(v.f_bavail * f), "inodes",
                     (json_int_t)v.f_files, "inodes_free", (json_int_t)v.f_ffree);
}

static int add_disk(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX], err[NU_ERRMSG_MAX];
    member(n, "disk.json", name, sizeof(name));
    struct snap_home_dirs d;
    if (snap_home_dirs(n->home, &d, err) != 0) {
        bundle_ar_fail(ar, name, n->home, err);
        return 0;
    }
    json_t *dirs = json_array();
    json_array_append_new(dirs, fs_json("hot", d.hot));
    if (d.cold[0] != '\0')
        json_array_append_new(dirs, fs_json("cold", d.cold));
    json_array_append_new(dirs, fs_json("home", n->home));
    return bundle_ar_add_json(ar, name, NULL, json_pack("{s:o}", "filesystems", dirs), errbuf);
}

/* ---- what neard answers, and its process ---- */

static int add_neard(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX], url[NODE_URL_MAX + 16], why[NU_ERRMSG_MAX + 32];
    const struct node_status *st = n->st;
    static const char *const what[][2] = {{"neard-status.json", "/status"},
                                          {"metrics.txt", "/metrics"}};
    static const size_t max[] = {BUNDLE_STATUS_MAX, BUNDLE_METRICS_MAX};
    for (size_t i = 0; i < 2; i++) {
        member(n, what[i][0], name, sizeof(name));
        snprintf(url, sizeof(url), "%s%s", st->rpc_url, what[i][1]);
        if (st->pid <= 0 || st->rpc_url[0] == '\0') {
            /* Never ask the port of a node that is not running: another
             * process may hold it now. */
            snprintf(why, sizeof(why), "not asked: node %s%s%s%s", node_state_name(st->state),
                     st->error[0] ? " (" : "", st->error, st->error[0] ? ")" : "");
            bundle_ar_omit(ar, name, st->rpc_url[0] ? url : NULL, why);
            continue;
        }
        int rc = bundle_add_url(ar, name, url, max[i], i == 0, errbuf);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The value of the "Key:\t..." line of /proc/<pid>/status: its text, or
 * as a number its first one ("123 kB" is 123); null when absent. */
static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl != NULL && nl[1] != '\0' ? nl + 1 : NULL;
}

static json_t *status_field(const char *text, const char *key, bool number)
{
    size_t kl = strlen(key);
    for (const char *p = text; p != NULL; p = next_line(p)) {
        if (strncmp(p, key, kl) != 0 || p[kl] != ':')
            continue;
        const char *v = p + kl + 1;
        v += strspn(v, " \t");
        size_t len = strcspn(v, "\n");
        if (!number)
            return json_stringn(v, len);
        char *end;
        long long x = strtoll(v, &end, 10);
        return end != v ? json_integer(x) : json_null();
    }
    return json_null();
}

/* "Max open files   1024   524288   files" of /proc/<pid>/limits. */
static json_t *open_files_limit(const char *limits)
{
    const char *p = limits != NULL ? strstr(limits, "Max open files") : NULL;
    char soft[32], hard[32];
    if (p == NULL || sscanf(p + strlen("Max open files"), "%31s %31s", soft, hard) != 2)
        return json_null();
    return json_pack("{s:s, s:s}", "soft", soft, "hard", hard);
}

static json_t *open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return json_null();
    long n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        n += de->d_name[0] != '.';
    closedir(d);
    return json_integer(n);
}

static json_t *process_json(pid_t pid, const char *status, const char *limits)
{
    return json_pack(
        "{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pid", (int)pid, "name",
        status_field(status, "Name", false), "state", status_field(status, "State", false),
        "vm_rss_kib", status_field(status, "VmRSS", true), "vm_hwm_kib",
        status_field(status, "VmHWM", true), "vm_size_kib", status_field(status, "VmSize", true),
        "threads", status_field(status, "Threads", true), "open_fds", open_fds(pid),
        "max_open_files", open_files_limit(limits));
}

/* neard's memory and limits, from /proc while it runs. */
static int add_process(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    char name[PATH_MAX], lname[PATH_MAX], spath[64], lpath[64], err[NU_ERRMSG_MAX];
    char *status = NULL, *limits = NULL;
    size_t slen, llen = 0;
    pid_t pid = n->st->pid;
    member(n, "process.json", name, sizeof(name));
    member(n, "limits.txt", lname, sizeof(lname));
    if (pid <= 0) {
        bundle_ar_omit(ar, name, NULL, "neard is not running");
        bundle_ar_omit(ar, lname, NULL, "neard is not running");
        return 0;
    }
    snprintf(spath, sizeof(spath), "/proc/%ld/status", (long)pid);
    snprintf(lpath, sizeof(lpath), "/proc/%ld/limits", (long)pid);
    int rc = 0;
    if (nu_fs_read_file(spath, BUNDLE_PROC_MAX, &status, &slen, err) != 0)
        bundle_ar_fail(ar, name, spath, err);
    if (nu_fs_read_file(lpath, BUNDLE_PROC_MAX, &limits, &llen, err) != 0)
        bundle_ar_fail(ar, lname, lpath, err);
    if (status != NULL)
        rc = bundle_ar_add_json(ar, name, spath, process_json(pid, status, limits), errbuf);
    if (rc == 0 && limits != NULL)
        rc = bundle_ar_add(ar, lname, lpath, limits, llen, NULL, errbuf);
    free(status);
    free(limits);
    return rc;
}

/* ---- files.json: the home's files by name, type, mode and size ---- */

struct keynames {
    char name[KEY_FILES_MAX][NAME_MAX + 1];
    size_t n;
};

/* The key files config.json names (validator_key_file, node_key_file):
 * never read either, whatever they are called. */
static void config_key_files(const char *home, struct keynames *k)
{
    static const char *const fields[] = {"validator_key_file", "node_key_file"};
    char path[PATH_MAX], err[NU_ERRMSG_MAX];
    json_t *cfg = NULL;
    k->n = 0;
    if (nu_fs_join(path, sizeof(path), home, "config.json") < 0 ||
        nu_json_load_file(path, true, &cfg, err) != 0)
        return;
    for (size_t i = 0; i < 2 && k->n < KEY_FILES_MAX; i++) {
        const char *v;
        if (nu_json_get_str(cfg, fields[i], &v) == 0) {
            const char *base = strrchr(v, '/');
            snprintf(k->name[k->n++], NAME_MAX + 1, "%s", base != NULL ? base + 1 : v);
        }
    }
    json_decref(cfg);
}

static bool key_file(const struct keynames *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->name[i], name) == 0)
            return true;
    }
    return bundle_key_file_name(name);
}

static const char *type_name(mode_t m)
{
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

static json_t *entry_json(int dirfd, const char *rel, const char *file, const struct stat *st,
                          bool key)
{
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st->st_mode & 07777));
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "path", rel, "type", type_name(st->st_mode), "mode", mode);
    if (o == NULL || key) {
        if (o != NULL)
            json_object_set_new(o, "key_file", json_true());
        return o;
    }
    json_object_set_new(o, "bytes", json_integer((json_int_t)st->st_size));
    json_object_set_new(o, "mtime", json_integer((json_int_t)st->st_mtime));
    char target[PATH_MAX];
    ssize_t t = S_ISLNK(st->st_mode) ? readlinkat(dirfd, file, target, sizeof(target) - 1) : -1;
    if (t >= 0)
        json_object_set_new(o, "target", json_stringn(target, (size_t)t));
    return o;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of home/sub (sorted, at most BUNDLE_LIST_MAX) onto list;
 * *more counts those left out. */
static void list_dir(const char *home, const char *sub, const struct keynames *k, json_t *list,
                     size_t *more)
{
    char dir[PATH_MAX], rel[PATH_MAX];
    if (nu_fs_join(dir, sizeof(dir), home, sub) < 0)
        return;
    DIR *d = opendir(dir);
    char **names = calloc(BUNDLE_LIST_MAX, sizeof(*names));
    size_t n = 0;
    for (struct dirent *de; d != NULL && names != NULL && (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == BUNDLE_LIST_MAX || (names[n] = strdup(de->d_name)) == NULL)
            ++*more;
        else
            n++;
    }
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (nu_fs_join(rel, sizeof(rel), sub, names[i]) == 0 &&
            fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
            json_array_append_new(list,
                                  entry_json(dirfd(d), rel, names[i], &st, key_file(k, names[i])));
        free(names[i]);
    }
    free(names);
    if (d != NULL)
        closedir(d);
}

static int add_files(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    static const char *const dirs[] = {"", NODE_STATE_DIRNAME, NODE_STATE_DIRNAME "/logs"};
    char name[PATH_MAX];
    struct keynames k;
    size_t more = 0;
    member(n, "files.json", name, sizeof(name));
    config_key_files(n->home, &k);
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < sizeof(dirs) / sizeof(dirs[0]); i++)
        list_dir(n->home, dirs[i], &k, list, &more);
    return bundle_ar_add_json(ar, name, n->home,
                              json_pack("{s:s, s:o, s:I}", "home", n->home, "entries", list,
                                        "not_listed", (json_int_t)more),
                              errbuf);
}

int bundle_add_node(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf)
{
    static const char *const state_files[][2] = {
        {NODE_STATE_DIRNAME "/run.json", "run.json"},
        {NODE_STATE_DIRNAME "/status.json", "supervisor-status.json"},
        {NODE_STATE_DIRNAME "/upgrade.json", "upgrade.json"},
        {NODE_STATE_DIRNAME "/restore.json", "restore.json"},
    };
    int rc = add_home_file(ar, n, "config.json", "config.json", errbuf);
    if (rc == 0)
        rc = add_genesis(ar, n, errbuf);
    for (size_t i = 0; rc == 0 && i < sizeof(state_files) / sizeof(state_files[0]); i++)
        rc = add_home_file(ar, n, state_files[i][0], state_files[i][1], errbuf);
    int (*const steps[])(struct bundle_ar *, const struct bundle_node *, char *) = {
        add_pids, add_restarts, add_binary, add_disk, add_files, add_neard, add_process,
    };
    for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
        rc = steps[i](ar, n, errbuf);
        if (rc == 0 && bundle_ar_cancelled(ar))
            rc = nu_err_set(errbuf, NU_ESTATE, "interrupted");
    }
    return rc;
}
