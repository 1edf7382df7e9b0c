/* Stop, checkpoint, restart (see checkpoint.h). The node is down only for
 * the file-system work of linking and copying; uploading happens later
 * from the checkpoint while the node runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "clock.h"
#include "dataswap.h"
#include "fs.h"
#include "httpc.h"
#include "json.h"
#include "state.h"
#include "runcfg.h"
#include "supctl.h"
#include "sysunit.h"
#include "testhooks.h"
#include "workers.h"

#define START_TIMEOUT_DEFAULT_S 60
#define COPY_BUF (1u << 20)
#define WALK_DEPTH_MAX 16
#define UNIT_STOP_TIMEOUT_S 120 /* systemd applies the unit's own TimeoutStopSec first */

struct cp_walk {
    struct snap_create_result *r;
    bool no_links; /* test hook: behave as if hard links were impossible */
    char *errbuf;
};

static void note(const struct snap_create_opts *o, const char *msg)
{
    if (o->c.note != NULL)
        o->c.note(o->c.note_ud, msg);
}

static uint64_t ms_since(uint64_t start_ns)
{
    return (nu_mono_ns() - start_ns) / 1000000u;
}

/* ---- the node's own account of its head ---- */

static void read_status(const char *home, struct snap_node_info *info)
{
    char addr[256], url[300];
    struct nu_buf body;
    struct nu_httpc_opts ho;
    json_t *st = NULL;
    long status = 0;
    const char *s;
    int64_t h;
    struct node_run_config rc;
    bool have_rc = node_runcfg_load(home, &rc, NULL) == 0;
    info->height = -1;
    int found = node_runcfg_rpc_addr(home, have_rc ? &rc : NULL, addr, sizeof(addr), NULL);
    if (have_rc)
        node_runcfg_release(&rc);
    if (found < 0)
        return;
    snprintf(url, sizeof(url), "http://%s/status", addr);
    nu_httpc_opts_init(&ho);
    ho.timeout_ms = SNAP_STATUS_TIMEOUT_MS;
    ho.max_bytes = 1u << 20;
    nu_buf_init(&body, 1u << 20);
    if (nu_http_get(url, &ho, &body, &status, NULL) == 0 &&
        nu_json_parse("status", body.data, body.len, false, &st, NULL) == 0) {
        if (nu_json_get_int(st, "sync_info.latest_block_height", &h) == 0 && h >= 0)
            info->height = h;
        if (nu_json_get_str(st, "sync_info.latest_block_hash", &s) == 0)
            snprintf(info->block_hash, sizeof(info->block_hash), "%s", s);
        if (nu_json_get_str(st, "version.version", &s) == 0)
            snprintf(info->version, sizeof(info->version), "%s", s);
        if (nu_json_get_str(st, "chain_id", &s) == 0)
            snprintf(info->chain_id, sizeof(info->chain_id), "%s", s);
    }
    json_decref(st);
    nu_buf_release(&body);
}

/* ---- linking and copying ---- */

enum cp_action { CP_SKIP, CP_LINK, CP_COPY };

/* RocksDB never rewrites *.sst / *.blob (BlobDB) files, so a hard link is
 * a stable copy. LOCK is the live process's; LOG* are its info logs. */
static enum cp_action classify(const char *name)
{
    size_t len = strlen(name);
    if (strcmp(name, "LOCK") == 0 || strcmp(name, "LOG") == 0 || strncmp(name, "LOG.old", 7) == 0)
        return CP_SKIP;
    if ((len > 4 && strcmp(name + len - 4, ".sst") == 0) ||
        (len > 5 && strcmp(name + len - 5, ".blob") == 0))
        return CP_LINK;
    return CP_COPY;
}

static int copy_fd(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, COPY_BUF, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return -1;
        break;
    }
    static __thread char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (int)n;
        if (nu_write_all(out, buf, (size_t)n) < 0)
            return -1;
    }
}

static int copy_file(int sdir, int ddir, const char *name, mode_t mode, const char *path,
                     struct cp_walk *w)
{
    int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out = in < 0 ? -1
                     : openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                              mode & 0777);
    int rc = 0;
    struct stat st;
    if (in < 0 || out < 0 || copy_fd(in, out) < 0 || fstat(out, &st) < 0)
        rc = nu_err_set(w->errbuf, NU_EIO, "checkpoint: copy %s/%s: %s", path, name,
                        strerror(errno));
    else {
        w->r->files_copied++;
        w->r->bytes_copied += (uint64_t)st.st_size;
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

static int link_file(int sdir, int ddir, const char *name, mode_t mode, const char *path,
                     struct cp_walk *w)
{
    int e = EPERM;
    if (!w->no_links) {
        if (linkat(sdir, name, ddir, name, 0) == 0) {
            w->r->files_linked++;
            return 0;
        }
        e = errno;
    }
    if (e != EXDEV && e != EPERM && e != EMLINK && e != ENOTSUP)
        return nu_err_set(w->errbuf, NU_EIO, "checkpoint: link %s/%s: %s", path, name, strerror(e));
    if (!w->r->link_fallback) {
        w->r->link_fallback = true;
        snprintf(w->r->link_fallback_why, sizeof(w->r->link_fallback_why), "%s", strerror(e));
    }
    return copy_file(sdir, ddir, name, mode, path, w);
}

static int walk(int sdir, int ddir, const char *path, int depth, struct cp_walk *w);

static int entry(int sdir, int ddir, const char *name, const char *path, int depth,
                 struct cp_walk *w)
{
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nu_err_set(w->errbuf, NU_EIO, "checkpoint: stat %s/%s: %s", path, name,
                          strerror(errno));
    if (S_ISLNK(st.st_mode))
        return nu_err_set(w->errbuf, NU_EPERM,
                          "checkpoint: %s/%s is a symlink; nearup does not follow links in a "
                          "data dir",
                          path, name);
    if (S_ISREG(st.st_mode)) {
        enum cp_action a = classify(name);
        if (a == CP_LINK)
            return link_file(sdir, ddir, name, st.st_mode, path, w);
        return a == CP_COPY ? copy_file(sdir, ddir, name, st.st_mode, path, w) : 0;
    }
    if (!S_ISDIR(st.st_mode))
        return 0; /* sockets, fifos: not data */
    if (depth >= WALK_DEPTH_MAX)
        return nu_err_set(w->errbuf, NU_ETOOBIG, "checkpoint: %s nested too deep", path);
    char sub[PATH_MAX];
    snprintf(sub, sizeof(sub), "%s/%s", path, name);
    if (mkdirat(ddir, name, st.st_mode & 0777) < 0)
        return nu_err_set(w->errbuf, NU_EIO, "checkpoint: mkdir %s: %s", sub, strerror(errno));
    int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = s2 < 0 || d2 < 0
                 ? nu_err_set(w->errbuf, NU_EIO, "checkpoint: open %s: %s", sub, strerror(errno))
                 : walk(s2, d2, sub, depth + 1, w);
    if (s2 >= 0)
        close(s2);
    if (d2 >= 0)
        close(d2);
    return rc;
}

static int walk(int sdir, int ddir, const char *path, int depth, struct cp_walk *w)
{
    int fd = dup(sdir);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return nu_err_set(w->errbuf, NU_EIO, "checkpoint: read %s: %s", path, strerror(errno));
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = entry(sdir, ddir, de->d_name, path, depth, w);
    }
    closedir(dir);
    return rc;
}

/* Checkpoints one data dir into <dir>.nearup-checkpoint. */
static int checkpoint_dir(const char *dir, char *out, size_t outsz, struct cp_walk *w)
{
    struct stat st;
    if ((size_t)snprintf(out, outsz, "%s%s", dir, SNAP_CHECKPOINT_SUFFIX) >= outsz)
        return nu_err_set(w->errbuf, NU_ETOOBIG, "checkpoint path too long");
    int sdir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sdir < 0)
        return nu_err_set(w->errbuf, nu_err_from_errno(errno), "data dir %s: %s", dir,
                          strerror(errno));
    int rc = 0, ddir = -1;
    if (fstat(sdir, &st) < 0 || mkdir(out, st.st_mode & 0777) < 0 ||
        (ddir = open(out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        rc = nu_err_set(w->errbuf, NU_EIO, "checkpoint: mkdir %s: %s", out, strerror(errno));
    if (rc == 0)
        rc = walk(sdir, ddir, dir, 0, w);
    close(sdir);
    if (ddir >= 0)
        close(ddir);
    return rc;
}

void snap_checkpoint_remove(const struct snap_checkpoint *cp)
{
    /* Best effort: a leftover is removed by the next create. */
    if (cp->hot[0] != '\0')
        (void)!nu_fs_rm_tree(cp->hot, NULL);
    if (cp->cold[0] != '\0')
        (void)!nu_fs_rm_tree(cp->cold, NULL);
}

int snap_checkpoint_clean(const struct snap_home_dirs *dirs, char *errbuf)
{
    struct snap_checkpoint cp;
    memset(&cp, 0, sizeof(cp));
    if ((size_t)snprintf(cp.hot, sizeof(cp.hot), "%s%s", dirs->hot, SNAP_CHECKPOINT_SUFFIX) >=
            sizeof(cp.hot) ||
        (dirs->cold[0] != '\0' && (size_t)snprintf(cp.cold, sizeof(cp.cold), "%s%s", dirs->cold,
                                                   SNAP_CHECKPOINT_SUFFIX) >= sizeof(cp.cold)))
        return nu_err_set(errbuf, NU_ETOOBIG, "checkpoint path too long");
    int rc = nu_fs_rm_tree(cp.hot, errbuf);
    if (rc == 0 && cp.cold[0] != '\0')
        rc = nu_fs_rm_tree(cp.cold, errbuf);
    return rc;
}

static int take(const struct snap_home_dirs *dirs, struct snap_checkpoint *cp, struct cp_walk *w)
{
    memset(cp, 0, sizeof(*cp));
    int rc = checkpoint_dir(dirs->hot, cp->hot, sizeof(cp->hot), w);
    if (rc == 0 && dirs->cold[0] != '\0')
        rc = checkpoint_dir(dirs->cold, cp->cold, sizeof(cp->cold), w);
    if (rc < 0) {
        snap_checkpoint_remove(cp);
        memset(cp, 0, sizeof(*cp));
    }
    return rc;
}

/* Stops the node: through its systemd unit when it has one (*unit set),
 * else through its supervisor. */
static int stop(const struct snap_create_opts *o, struct snap_unit *unit, bool *by_unit,
                char *errbuf)
{
    struct node_stop_result sr;
    char msg[512];
    *by_unit = snap_systemd_unit(o->home, unit) == 0;
    if (!*by_unit) {
        note(o, "stopping the node for the checkpoint");
        return node_stop_ex(o->home, o->stop_timeout_s, &sr, errbuf);
    }
    snprintf(msg, sizeof(msg), "stopping the node for the checkpoint (systemd unit %s)",
             unit->name);
    note(o, msg);
    return snap_unit_stop(unit, o->stop_timeout_s ? o->stop_timeout_s + 30 : UNIT_STOP_TIMEOUT_S,
                          errbuf);
}

static int restart(const struct snap_create_opts *o, const struct snap_unit *unit, bool by_unit,
                   struct snap_create_result *r, char *errbuf)
{
    unsigned timeout = o->start_timeout_s ? o->start_timeout_s : START_TIMEOUT_DEFAULT_S;
    uint64_t t = nu_mono_ns();
    int rc = by_unit ? snap_unit_start(unit, timeout, errbuf)
                     : node_supervisor_start(o->home, timeout, errbuf);
    r->start_ms = ms_since(t);
    r->restarted = rc == 0;
    return rc;
}

/* Links the checkpoint under the home lock, so no nearup run, restart or
 * restore starts neard on the data while its files are linked. NU_EEXIST
 * when a node was started in the moment after the stop. */
static int take_locked(const struct snap_create_opts *o, const struct snap_home_dirs *dirs,
                       struct snap_checkpoint *cp, struct cp_walk *w)
{
    int lock = -1;
    int rc = node_home_lock(o->home, NODE_LOCK_CHECKPOINT, &lock, w->errbuf);
    if (rc == NU_EEXIST)
        return nu_err_prefix(w->errbuf, rc, "the node was started again before the checkpoint");
    if (rc < 0)
        return rc;
    snap_test_checkpoint_delay();
    if (node_data_locked(dirs->hot) || (dirs->cold[0] != '\0' && node_data_locked(dirs->cold)))
        rc = nu_err_set(w->errbuf, NU_ESTATE, "%s is still locked after the node stopped",
                        dirs->hot);
    else
        rc = take(dirs, cp, w);
    node_state_unlock(lock);
    return rc;
}

int snap_checkpoint_take(const struct snap_create_opts *o, const struct snap_home_dirs *dirs,
                         struct snap_checkpoint *cp, struct snap_node_info *info,
                         struct snap_create_result *r, char *errbuf)
{
    struct cp_walk w = {r, getenv("NEARUP_SNAPSHOT_TEST_NOLINK") != NULL, errbuf};
    struct snap_unit unit;
    bool by_unit = false;
    char err2[NU_ERRMSG_MAX];
    memset(info, 0, sizeof(*info));
    info->height = -1;
    r->was_running = node_running(o->home);
    if (!r->was_running &&
        (node_data_locked(dirs->hot) || (dirs->cold[0] != '\0' && node_data_locked(dirs->cold))))
        return nu_err_set(errbuf, NU_ESTATE,
                          "the database in %s is open by a process nearup does not supervise; "
                          "run the node with 'nearup run' or stop it first",
                          dirs->hot);
    if (r->was_running)
        read_status(o->home, info);
    uint64_t t0 = nu_mono_ns();
    if (r->was_running) {
        int rc = stop(o, &unit, &by_unit, errbuf);
        r->stop_ms = ms_since(t0);
        if (rc < 0)
            return rc;
    }
    uint64_t t1 = nu_mono_ns();
    int rc = take_locked(o, dirs, cp, &w);
    r->checkpoint_ms = ms_since(t1);
    if (rc == NU_EEXIST) /* someone started the node meanwhile: it runs, leave it */
        return rc;
    if (r->was_running) {
        int src = restart(o, &unit, by_unit, r, err2);
        if (src < 0 && rc == 0) {
            snap_checkpoint_remove(cp);
            memset(cp, 0, sizeof(*cp));
            rc = nu_err_set(errbuf, src, "restarting the node failed: %s", err2);
        } else if (src < 0) {
            char first[NU_ERRMSG_MAX];
            snprintf(first, sizeof(first), "%s", errbuf);
            rc = nu_err_set(errbuf, rc, "%s; restarting the node also failed: %.200s", first, err2);
        }
    }
    r->downtime_ms = r->was_running ? ms_since(t0) : 0;
    return rc;
}
