/* nearup snapshot verify --home: reads every file of a home's data dirs
 * and checks it against a snapshot's manifest: each file there with its
 * size and the sha256 of every chunk, and no file the snapshot has not.
 * Run after a restore, before the node's first start, it proves the
 * restored data as neard opening it would, and then the old data a
 * --replace kept aside is removed (dataswap.h). Every difference is
 * counted; the first is reported. */
#include "verify_home.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataswap.h"
#include "home.h"
#include "snap.h"
#include "staging.h"
#include "fetch.h"
#include "workers.h"

struct vhome {
    const struct snap_verify_opts *o;
    struct snap_manifest m;
    struct nu_buf raw;
    struct snap_home_dirs dirs;
    int root[2];
    char *const *sorted[2]; /* manifest paths per dir, sorted */
    size_t nsorted[2];
    uint32_t chunk_max;
    atomic_size_t bad;
    pthread_mutex_t lock;
    char first_bad[NU_ERRMSG_MAX];
    struct snap_progress progress;
};

static void differs(struct vhome *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void differs(struct vhome *v, const char *fmt, ...)
{
    if (atomic_fetch_add(&v->bad, 1) != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&v->lock);
    vsnprintf(v->first_bad, sizeof(v->first_bad), fmt, ap);
    pthread_mutex_unlock(&v->lock);
    va_end(ap);
}

static const char *dir_path(const struct vhome *v, enum snap_dir d)
{
    return d == SNAP_DIR_HOT ? v->dirs.hot : v->dirs.cold;
}

/* ---- one file per job ---- */

static int w_init(void *ctx, size_t index, void **state, char *errbuf)
{
    struct vhome *v = ctx;
    if ((*state = malloc(v->chunk_max ? v->chunk_max : 1)) == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return 0;
}

static int w_fini(void *ctx, void *state, bool ok, char *errbuf)
{
    free(state);
    return 0;
}

static bool read_at(int fd, uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n <= 0)
            return false;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return true;
}

/* The chunks of f in fd; the first that differs is reported. */
static void check_chunks(struct vhome *v, const struct snap_file *f, int fd, uint8_t *buf)
{
    uint64_t off = 0;
    for (size_t k = 0; k < f->nchunks; k++) {
        const struct snap_chunk *c = &f->chunks[k];
        uint8_t sha[SNAP_SHA256_LEN];
        if (!read_at(fd, buf, c->size, off)) {
            differs(v, "%s/%s cannot be read at byte %llu", dir_path(v, f->dir), f->path,
                    (unsigned long long)off);
            return;
        }
        nu_sha256(buf, c->size, sha);
        atomic_fetch_add(&v->progress.done, c->size);
        if (memcmp(sha, c->sha, SNAP_SHA256_LEN) != 0) {
            differs(v, "%s/%s differs from the snapshot at byte %llu", dir_path(v, f->dir), f->path,
                    (unsigned long long)off);
            return;
        }
        off += c->size;
    }
}

static int w_job(void *ctx, void *state, size_t job, char *errbuf)
{
    struct vhome *v = ctx;
    const struct snap_file *f = &v->m.files[job];
    struct stat st;
    int fd = snap_openat_safe(v->root[f->dir], f->path, O_RDONLY, 0, errbuf);
    if (fd == NU_ENOENT) {
        differs(v, "%s/%s is missing", dir_path(v, f->dir), f->path);
        return 0;
    }
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size)
        differs(v, "%s/%s has %lld bytes, the snapshot %llu", dir_path(v, f->dir), f->path,
                (long long)st.st_size, (unsigned long long)f->size);
    else
        check_chunks(v, f, fd, state);
    close(fd);
    return 0;
}

/* ---- no file more than the snapshot's ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(struct vhome *v, enum snap_dir d, int dfd, char *rel, size_t rellen, int depth)
{
    int fd = dup(dfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        differs(v, "%s/%s cannot be listed", dir_path(v, d), rel);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(rel + rellen, SNAP_RELPATH_MAX + 2 - rellen, "%s%s", rellen ? "/" : "",
                 de->d_name);
        const char *key = rel;
        bool is_dir =
            fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        int sub = is_dir && depth < SNAP_DEPTH_MAX && strlen(rel) < SNAP_RELPATH_MAX
                      ? openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : -1;
        if (sub >= 0) {
            walk(v, d, sub, rel, strlen(rel), depth + 1);
            close(sub);
        } else if (!S_ISREG(st.st_mode) ||
                   bsearch(&key, v->sorted[d], v->nsorted[d], sizeof(char *), cmp_str) == NULL) {
            differs(v, "%s/%s is not in snapshot %s", dir_path(v, d), rel, v->m.name);
        }
        rel[rellen] = '\0';
    }
    closedir(dir);
}

static int check_extras(struct vhome *v, char *errbuf)
{
    char **paths = calloc(v->m.nfiles ? v->m.nfiles : 1, sizeof(*paths));
    if (paths == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    size_t n = 0;
    for (int d = 0; d < 2; d++) {
        char rel[SNAP_RELPATH_MAX + 2] = "";
        size_t first = n;
        for (size_t i = 0; i < v->m.nfiles; i++) {
            if (v->m.files[i].dir == (enum snap_dir)d)
                paths[n++] = v->m.files[i].path;
        }
        qsort(paths + first, n - first, sizeof(*paths), cmp_str);
        v->sorted[d] = paths + first;
        v->nsorted[d] = n - first;
        if (v->root[d] >= 0)
            walk(v, (enum snap_dir)d, v->root[d], rel, 0, 0);
    }
    free(paths);
    return 0;
}

/* ---- the whole check ---- */

static int open_roots(struct vhome *v, char *errbuf)
{
    bool use[2] = {true, false};
    for (size_t i = 0; i < v->m.nfiles; i++)
        use[v->m.files[i].dir] = true;
    if (use[SNAP_DIR_COLD] && v->dirs.cold[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL,
                          "snapshot %s has cold (split storage) data but %s/config.json has no "
                          "cold_store.path",
                          v->m.name, v->o->home);
    for (int d = 0; d < 2; d++) {
        if (!use[d])
            continue;
        v->root[d] = open(dir_path(v, d), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (v->root[d] < 0)
            return nu_err_set(errbuf, NU_ENOENT, "data dir %s cannot be opened; nothing to verify",
                              dir_path(v, d));
    }
    return 0;
}

static int load(struct vhome *v, const char *name, char *errbuf)
{
    struct snap_store_spec spec;
    struct snap_store *s = NULL;
    struct snap_store_opts so = {.s3_endpoint = v->o->c.s3_endpoint};
    char chain[SNAP_CHAIN_MAX], latest[SNAP_NAME_MAX];
    int rc = snap_store_spec_parse(v->o->c.store, &so, &spec, errbuf);
    if (rc == 0)
        rc = node_home_chain_id(v->o->home, chain, sizeof(chain), errbuf);
    if (rc == 0)
        rc = snap_store_open(&spec, &s, errbuf);
    if (rc == 0 && name == NULL && (rc = snap_read_latest(s, latest, sizeof(latest), errbuf)) == 0)
        name = latest;
    if (rc == 0)
        rc = snap_fetch_manifest(s, name, v->o->verify_key, &v->raw, &v->m, errbuf);
    snap_store_free(s);
    if (rc == 0 && strcmp(v->m.chain_id, chain) != 0)
        rc = nu_err_set(errbuf, NU_EINVAL, "snapshot %s is of chain %s, but %s is a %s home",
                        v->m.name, v->m.chain_id, v->o->home, chain);
    for (size_t i = 0; rc == 0 && i < v->m.nfiles; i++) {
        for (size_t k = 0; k < v->m.files[i].nchunks; k++) {
            if (v->m.files[i].chunks[k].size > v->chunk_max)
                v->chunk_max = v->m.files[i].chunks[k].size;
        }
    }
    return rc;
}

static int check(struct vhome *v, char *errbuf)
{
    int rc = open_roots(v, errbuf);
    if (rc == 0)
        rc = check_extras(v, errbuf);
    if (rc < 0)
        return rc;
    const struct snap_verify_opts *o = v->o;
    snap_progress_init(&v->progress, "verifying", o->c.progress_fd, o->c.progress_tty,
                       v->m.total_size);
    struct snap_pool_def pool = {
        .nworkers = o->c.parallel ? o->c.parallel : SNAP_PARALLEL_DEFAULT,
        .njobs = v->m.nfiles,
        .ctx = v,
        .init = w_init,
        .job = w_job,
        .fini = w_fini,
        .progress = &v->progress,
        .cancel = o->c.cancel,
    };
    rc = snap_pool_run(&pool, errbuf);
    snap_progress_finish(&v->progress);
    return rc;
}

/* Under the home lock: the snapshot the last restore put in place (or
 * --name, or latest) against the data dirs, then the old data's removal. */
static int verify_locked(struct vhome *v, struct snap_verify_result *r, char *errbuf)
{
    char pending[SNAP_NAME_MAX];
    const struct snap_verify_opts *o = v->o;
    if (snap_home_in_use(o->home, &v->dirs))
        return nu_err_set(errbuf, NU_ESTATE,
                          "the node of %s is running, so its data is no longer the snapshot's; "
                          "stop it first with 'nearup stop --home %s'",
                          o->home, o->home);
    bool have = node_swap_removal_pending(o->home, pending, sizeof(pending));
    int rc = load(v, o->name != NULL ? o->name : have ? pending : NULL, errbuf);
    if (rc == 0)
        rc = check(v, errbuf);
    r->snapshots = 1;
    r->files = v->m.nfiles;
    r->chunks = v->m.total_chunks;
    r->bytes = atomic_load(&v->progress.done);
    r->files_bad = atomic_load(&v->bad);
    snprintf(r->name, sizeof(r->name), "%s", v->m.name);
    snprintf(r->first_bad, sizeof(r->first_bad), "%s", v->first_bad);
    if (rc == 0 && r->files_bad > 0)
        return nu_err_set(errbuf, NU_EVERIFY,
                          "the data of %.150s differs from snapshot %s in %zu file%s, the "
                          "first: %.200s; any old data kept aside stays",
                          o->home, v->m.name, r->files_bad, r->files_bad == 1 ? "" : "s",
                          v->first_bad);
    if (rc == 0 && have && (o->name == NULL || strcmp(o->name, pending) == 0))
        rc = node_swap_remove_old(o->home, &r->old_removed, errbuf);
    return rc;
}

int snap_verify_home(const struct snap_verify_opts *o, struct snap_verify_result *r, char *errbuf)
{
    struct snap_restore_locks locks = {-1, -1};
    struct vhome *v = calloc(1, sizeof(*v));
    memset(r, 0, sizeof(*r));
    if (v == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    v->o = o;
    v->root[0] = v->root[1] = -1;
    pthread_mutex_init(&v->lock, NULL);
    nu_buf_init(&v->raw, SNAP_MANIFEST_MAX);
    snap_manifest_init(&v->m);
    int rc = snap_home_dirs(o->home, &v->dirs, errbuf);
    if (rc == 0)
        rc = snap_home_begin(o->home, NODE_LOCK_VERIFY, false, o->c.note, o->c.note_ud, &locks,
                             NULL, errbuf);
    if (rc == 0)
        rc = verify_locked(v, r, errbuf);
    snap_restore_end(&locks);
    for (int d = 0; d < 2; d++) {
        if (v->root[d] >= 0)
            close(v->root[d]);
    }
    snap_manifest_release(&v->m);
    nu_buf_release(&v->raw);
    pthread_mutex_destroy(&v->lock);
    free(v);
    return rc;
}
