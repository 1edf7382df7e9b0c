/* nearup snapshot restore: manifest (signature, chain, hostile-input
 * checks) first, then N workers fetch, verify and write chunks into a
 * staging dir beside data/, then fsync and swap in. A rerun continues in
 * the same staging dir and downloads only chunks whose bytes there do not
 * already hash right. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "home.h"
#include "httpc.h"
#include "snap.h"
#include "staging.h"
#include "fetch.h"
#include "public.h"
#include "refcheck.h"
#include "testhooks.h"
#include "workers.h"

#define FETCH_ATTEMPTS 5
#define RETRY_BASE_MS 200

struct job {
    uint32_t file, chunk;
    uint64_t offset;
};

struct restore {
    const struct snap_restore_opts *o;
    struct snap_store_spec spec;
    struct snap_store *store;
    struct nu_buf raw;
    struct snap_manifest m;
    struct snap_home_dirs dirs;
    struct snap_staging st;
    struct job *jobs;
    size_t njobs;
    uint8_t *existed; /* per file: was in staging before this run, so chunks may be done */
    atomic_size_t present, downloaded;
    atomic_uint_fast64_t bytes_downloaded;
    struct snap_progress progress;
};

/* ---- workers ---- */

struct worker {
    struct snap_store *store;
    struct nu_buf obj;
    uint8_t *plain;
    int fd;
    long fd_file;
};

static int w_init(void *ctx, size_t index, void **state, char *errbuf)
{
    struct restore *r = ctx;
    struct worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    *state = w;
    w->fd = -1;
    w->fd_file = -1;
    nu_buf_init(&w->obj, snap_chunk_stored_max(SNAP_CHUNK_MAX));
    if ((w->plain = malloc(SNAP_CHUNK_MAX)) == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return snap_store_open(&r->spec, &w->store, errbuf);
}

static int w_fini(void *ctx, void *state, bool ok, char *errbuf)
{
    struct worker *w = state;
    if (w == NULL)
        return 0;
    if (w->fd >= 0)
        close(w->fd);
    snap_store_free(w->store);
    nu_buf_release(&w->obj);
    free(w->plain);
    free(w);
    return 0;
}

static int open_file(struct restore *r, struct worker *w, uint32_t file, char *errbuf)
{
    const struct snap_file *f = &r->m.files[file];
    if (w->fd_file == (long)file)
        return 0;
    if (w->fd >= 0)
        close(w->fd);
    w->fd_file = -1;
    w->fd = snap_openat_safe(r->st.fd[f->dir], f->path, O_RDWR, 0, errbuf);
    if (w->fd < 0)
        return w->fd;
    w->fd_file = file;
    return 0;
}

/* True when the staging file already holds this chunk's bytes. */
static bool already_there(struct worker *w, const struct snap_chunk *c, uint64_t off)
{
    uint8_t sha[SNAP_SHA256_LEN];
    size_t got = 0;
    while (got < c->size) {
        ssize_t n = pread(w->fd, w->plain + got, c->size - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    nu_sha256(w->plain, c->size, sha);
    return memcmp(sha, c->sha, SNAP_SHA256_LEN) == 0;
}

static int w_job(void *ctx, void *state, size_t job, char *errbuf)
{
    struct restore *r = ctx;
    struct worker *w = state;
    const struct job *j = &r->jobs[job];
    const struct snap_file *f = &r->m.files[j->file];
    const struct snap_chunk *c = &f->chunks[j->chunk];
    int rc = open_file(r, w, j->file, errbuf);
    if (rc < 0)
        return rc;
    if (r->existed[j->file] && already_there(w, c, j->offset)) {
        atomic_fetch_add(&r->present, 1);
        atomic_fetch_add(&r->progress.done, c->size);
        return 0;
    }
    snap_test_delay();
    if ((rc = snap_fetch_chunk(w->store, c, &w->obj, w->plain, errbuf)) < 0)
        return nu_err_prefix(errbuf, rc, f->path);
    if (nu_pwrite_all(w->fd, w->plain, c->size, j->offset) < 0)
        return nu_err_set(errbuf, NU_EIO, "write %s: %s", f->path, strerror(errno));
    atomic_fetch_add(&r->downloaded, 1);
    atomic_fetch_add(&r->bytes_downloaded, w->obj.len);
    atomic_fetch_add(&r->progress.done, c->size);
    return 0;
}

/* Second pass, one job per file: permissions, then fsync. */
static int w_sync(void *ctx, void *state, size_t job, char *errbuf)
{
    struct restore *r = ctx;
    const struct snap_file *f = &r->m.files[job];
    int fd = snap_openat_safe(r->st.fd[f->dir], f->path, O_RDWR, 0, errbuf);
    if (fd < 0)
        return fd;
    int rc = 0;
    if (fchmod(fd, (f->mode & 0755) | 0600) < 0 || fsync(fd) < 0)
        rc = nu_err_set(errbuf, NU_EIO, "fsync %s: %s", f->path, strerror(errno));
    close(fd);
    return rc;
}

/* ---- preparing the staging dir ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes whatever is in staging but not in the manifest (an earlier
 * attempt at another manifest of the same name, or planted entries). */
static int clean_staging(struct restore *r, char *errbuf)
{
    char **paths = calloc(r->m.nfiles ? r->m.nfiles : 1, sizeof(*paths));
    int rc = paths == NULL ? nu_err_set(errbuf, NU_ENOMEM, "out of memory") : 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        size_t n = 0;
        for (size_t i = 0; i < r->m.nfiles; i++) {
            if (r->m.files[i].dir == (enum snap_dir)d)
                paths[n++] = r->m.files[i].path;
        }
        qsort(paths, n, sizeof(*paths), cmp_str);
        rc = snap_staging_clean(&r->st, (enum snap_dir)d, paths, n, errbuf);
    }
    free(paths);
    return rc;
}

/* Creates every file at its size (new files are sparse until written) and
 * remembers which existed, so only their chunks are checked in place. */
static int create_files(struct restore *r, char *errbuf)
{
    r->existed = calloc(r->m.nfiles ? r->m.nfiles : 1, 1);
    if (r->existed == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->m.nfiles; i++) {
        const struct snap_file *f = &r->m.files[i];
        int dfd = r->st.fd[f->dir];
        int fd = snap_openat_safe(dfd, f->path, O_RDWR, 0, NULL);
        r->existed[i] = fd >= 0;
        if (fd < 0)
            fd = snap_openat_safe(dfd, f->path, O_RDWR | O_CREAT | O_EXCL, 0600, errbuf);
        if (fd < 0)
            return fd;
        struct stat st;
        int rc = 0;
        if (fstat(fd, &st) < 0 ||
            ((uint64_t)st.st_size != f->size && ftruncate(fd, (off_t)f->size) < 0))
            rc = nu_err_set(errbuf, NU_EIO, "size %s: %s", f->path, strerror(errno));
        close(fd);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int build_jobs(struct restore *r, char *errbuf)
{
    r->jobs = calloc(r->m.total_chunks ? r->m.total_chunks : 1, sizeof(*r->jobs));
    if (r->jobs == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t f = 0; f < r->m.nfiles; f++) {
        uint64_t off = 0;
        for (size_t k = 0; k < r->m.files[f].nchunks; k++) {
            r->jobs[r->njobs++] = (struct job){(uint32_t)f, (uint32_t)k, off};
            off += r->m.files[f].chunks[k].size;
        }
    }
    return 0;
}

/* ---- the chain check (chaincheck.h) ---- */

static bool verifying(const struct snap_restore_opts *o)
{
    return o->verify.urls != NULL && o->verify.urls[0] != NULL;
}

/* A snapshot whose data this home's node already rejected is not
 * restored again (an autoscaling group would loop on it). */
static int refuse_rejected(const char *home, const struct snap_manifest *m, char *errbuf)
{
    struct node_chain_check *c = calloc(1, sizeof(*c));
    int rc = c == NULL ? nu_err_set(errbuf, NU_ENOMEM, "out of memory") : 0;
    if (rc == 0 && node_chain_load(home, c, NULL) == 0 && c->state == NODE_CHAIN_MISMATCH &&
        strcmp(c->snapshot, m->name) == 0 && c->height == m->height &&
        strcmp(c->expected_hash, m->block_hash) == 0)
        rc = nu_err_set(errbuf, NU_EVERIFY,
                        "snapshot %s failed the chain check of %.200s before (its block %lld is "
                        "%s there, not %s); not restoring it again: remove "
                        "%.200s/.nearup/" NODE_CHAIN_FILE " to try anyway",
                        m->name, home, (long long)c->height, c->node_hash, c->expected_hash, home);
    free(c);
    return rc;
}

/* Before anything is downloaded: the references' word on the block. */
static int check_references(struct restore *r, struct snap_restore_result *res, char *errbuf)
{
    char why[NU_ERRMSG_MAX];
    const struct snap_restore_opts *o = r->o;
    if (!verifying(o))
        return 0;
    if (r->m.height < 0 || r->m.block_hash[0] == '\0')
        return nu_err_set(errbuf, NU_EVERIFY,
                          "snapshot %s records no block (it was taken of a node that was not "
                          "running), so --verify-with has nothing to check; nothing was "
                          "downloaded",
                          r->m.name);
    size_t len = strlen(r->m.block_hash);
    if (len >= NODE_CHAIN_HASH_MAX ||
        strspn(r->m.block_hash, "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") !=
            len)
        return nu_err_set(errbuf, NU_EVERIFY,
                          "snapshot %s records a block hash that is not a base58 hash of at most "
                          "%d characters; nothing was downloaded",
                          r->m.name, NODE_CHAIN_HASH_MAX - 1);
    int rc = snap_check_references(&o->verify, r->m.chain_id, r->m.height, r->m.block_hash,
                                   o->c.cancel, &res->chain, why);
    if (rc == NU_EVERIFY)
        return nu_err_set(errbuf, rc,
                          "snapshot %s is not on the references' chain: %.300s; nothing was "
                          "downloaded",
                          r->m.name, why);
    return rc < 0 ? nu_err_set(errbuf, rc, "%s", why) : 0;
}

/* The pending check the node must pass, written before the swap. */
static int record_check(struct restore *r, const struct snap_restore_result *res, char *errbuf)
{
    const struct snap_chain_report *rep = &res->chain;
    struct node_chain_check *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    c->state = NODE_CHAIN_PENDING;
    snprintf(c->snapshot, sizeof(c->snapshot), "%s", r->m.name);
    snprintf(c->chain_id, sizeof(c->chain_id), "%s", r->m.chain_id);
    c->height = r->m.height;
    snprintf(c->expected_hash, sizeof(c->expected_hash), "%.*s", NODE_CHAIN_HASH_MAX - 1,
             r->m.block_hash);
    c->quorum = rep->quorum;
    c->nrefs = rep->nrefs;
    memcpy(c->refs, rep->refs, sizeof(c->refs));
    c->created_at = (int64_t)time(NULL);
    snprintf(c->data_dirs[c->ndirs++], PATH_MAX, "%s", r->dirs.hot);
    for (size_t i = 0; i < r->m.nfiles && r->dirs.cold[0] != '\0'; i++)
        if (r->m.files[i].dir == SNAP_DIR_COLD) {
            snprintf(c->data_dirs[c->ndirs++], PATH_MAX, "%s", r->dirs.cold);
            break;
        }
    int rc = node_chain_save(r->o->home, c, errbuf);
    free(c);
    return rc;
}

/* After the swap (or its failure): a check about data no longer in place goes. */
static int settle_check(struct restore *r, int swap_rc, char *errbuf)
{
    const char *home = r->o->home;
    if (swap_rc == 0 && !verifying(r->o))
        return node_chain_remove(home, errbuf); /* about the data this swap replaced */
    if (swap_rc < 0 && verifying(r->o) && !node_swap_in_progress(home))
        (void)!node_chain_remove(home, NULL); /* nothing was swapped */
    return swap_rc;
}

/* ---- the whole restore ---- */

static int load(struct restore *r, struct snap_restore_result *res, char *errbuf)
{
    const struct snap_restore_opts *o = r->o;
    struct snap_store_opts so = {.s3_endpoint = o->c.s3_endpoint};
    char name[SNAP_NAME_MAX], chain[SNAP_CHAIN_MAX];
    int rc = snap_store_spec_parse(o->c.store, &so, &r->spec, errbuf);
    if (rc == 0)
        rc = node_home_chain_id(o->home, chain, sizeof(chain), errbuf);
    if (rc == 0)
        rc = snap_store_open(&r->spec, &r->store, errbuf);
    if (rc < 0)
        return rc;
    if (o->name == NULL || strcmp(o->name, "latest") == 0)
        rc = snap_read_latest(r->store, name, sizeof(name), errbuf);
    else
        snprintf(name, sizeof(name), "%s", o->name);
    if (rc == 0)
        rc = snap_fetch_manifest(r->store, name, o->verify_key, &r->raw, &r->m, errbuf);
    if (rc < 0)
        return rc;
    res->signature_verified = o->verify_key != NULL;
    if (strcmp(r->m.chain_id, chain) != 0)
        return nu_err_set(errbuf, NU_EINVAL,
                          "snapshot %s is of chain %s, but %s is a %s home; refusing to mix "
                          "chains",
                          name, r->m.chain_id, o->home, chain);
    if ((rc = refuse_rejected(o->home, &r->m, errbuf)) == 0)
        rc = check_references(r, res, errbuf);
    return rc == 0 ? snap_home_dirs(o->home, &r->dirs, errbuf) : rc;
}

static int fill(struct restore *r, char *errbuf)
{
    const struct snap_restore_opts *o = r->o;
    bool use[2] = {true, false};
    for (size_t i = 0; i < r->m.nfiles; i++)
        use[r->m.files[i].dir] = true;
    int rc = snap_staging_open(&r->st, o->home, &r->dirs, use, r->m.name, o->replace, errbuf);
    if (rc == 0)
        rc = clean_staging(r, errbuf);
    if (rc == 0)
        rc = create_files(r, errbuf);
    if (rc == 0)
        rc = build_jobs(r, errbuf);
    if (rc < 0)
        return rc;
    snap_progress_init(&r->progress, "restoring", o->c.progress_fd, o->c.progress_tty,
                       r->m.total_size);
    struct snap_pool_def pool = {
        .nworkers = o->c.parallel ? o->c.parallel : SNAP_PARALLEL_DEFAULT,
        .njobs = r->njobs,
        .ctx = r,
        .init = w_init,
        .job = w_job,
        .fini = w_fini,
        .progress = &r->progress,
        .cancel = o->c.cancel,
    };
    rc = snap_pool_run(&pool, errbuf);
    snap_progress_finish(&r->progress);
    if (rc < 0)
        return rc;
    pool.njobs = r->m.nfiles;
    pool.init = NULL;
    pool.fini = NULL;
    pool.job = w_sync;
    pool.progress = NULL;
    if ((rc = snap_pool_run(&pool, errbuf)) == 0)
        rc = snap_staging_sync(&r->st, errbuf);
    return rc;
}

static void summarize(struct restore *r, struct snap_restore_result *res)
{
    snprintf(res->name, sizeof(res->name), "%s", r->m.name);
    snprintf(res->chain_id, sizeof(res->chain_id), "%s", r->m.chain_id);
    snprintf(res->data_dir, sizeof(res->data_dir), "%s", r->dirs.hot);
    res->height = r->m.height;
    res->layout = SNAP_LAYOUT_NEARUP;
    res->files = r->m.nfiles;
    res->bytes = r->m.total_size;
    res->chunks = r->m.total_chunks;
    res->chunks_present = atomic_load(&r->present);
    res->chunks_downloaded = atomic_load(&r->downloaded);
    res->bytes_downloaded = atomic_load(&r->bytes_downloaded);
    snprintf(res->checks, sizeof(res->checks), "sha256 of every chunk%s",
             res->signature_verified ? "; manifest signature" : "");
}

/* Locks, recovery of an interrupted swap, fill, swap. */
static int restore_locked(struct restore *r, struct snap_restore_result *res, char *errbuf)
{
    struct snap_restore_locks locks;
    struct node_swap_result sw;
    bool done = false;
    int rc = snap_restore_begin(r->o, r->m.name, &locks, &done, &sw, errbuf);
    if (rc == 0 && done) /* that swap was this very restore's */
        atomic_store(&r->present, r->m.total_chunks);
    if (rc == 0 && !done)
        rc = fill(r, errbuf);
    if (rc == 0 && verifying(r->o))
        rc = record_check(r, res, errbuf); /* before the data is in place */
    if (rc == 0 && !done)
        rc = settle_check(r, snap_staging_swap(&r->st, r->o->keep_old, &sw, errbuf), errbuf);
    else if (rc == 0)
        rc = settle_check(r, 0, errbuf);
    if (rc == 0)
        snap_restore_take_swap(res, &sw);
    snap_restore_end(&locks);
    return rc;
}

static int restore_nearup(const struct snap_restore_opts *o, struct snap_restore_result *res,
                          char *errbuf)
{
    struct restore *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    r->o = o;
    r->st.fd[0] = r->st.fd[1] = -1;
    nu_buf_init(&r->raw, SNAP_MANIFEST_MAX);
    snap_manifest_init(&r->m);
    int rc = load(r, res, errbuf);
    if (rc == 0)
        rc = restore_locked(r, res, errbuf);
    summarize(r, res);
    snap_staging_close(&r->st);
    snap_store_free(r->store);
    snap_manifest_release(&r->m);
    nu_buf_release(&r->raw);
    free(r->jobs);
    free(r->existed);
    free(r);
    return rc;
}

int snap_restore(const struct snap_restore_opts *o, struct snap_restore_result *res, char *errbuf)
{
    uint64_t t0 = nu_mono_ns();
    memset(res, 0, sizeof(*res));
    res->height = -1;
    bool public = o->layout == SNAP_LAYOUT_NEAR || o->layout == SNAP_LAYOUT_FASTNEAR;
    if (public && verifying(o))
        return nu_err_set(errbuf, NU_EINVAL,
                          "--verify-with needs a snapshot whose manifest records its block; the "
                          "public layouts record none");
    int rc = public ? snap_restore_public(o, res, errbuf) : restore_nearup(o, res, errbuf);
    res->total_ms = (nu_mono_ns() - t0) / 1000000u;
    return rc;
}

int snap_bootstrap_home(const struct snap_bootstrap_opts *b, struct snap_restore_result *r,
                        char *errbuf)
{
    struct snap_home_dirs dirs;
    struct snap_restore_opts o = {
        .c = {.store = b->store,
              .s3_endpoint = b->s3_endpoint,
              .progress_fd = 2,
              .progress_tty = isatty(2) == 1,
              .cancel = b->cancel},
        .home = b->home,
        .home_locked = true,
        .verify_key = b->verify_key,
        .verify = b->verify != NULL ? *b->verify : (struct snap_verify_refs){0},
    };
    memset(r, 0, sizeof(*r));
    int rc = snap_home_dirs(b->home, &dirs, errbuf);
    if (rc < 0)
        return rc;
    if (!nu_fs_dir_empty(dirs.hot)) {
        r->skipped = true;
        snprintf(r->data_dir, sizeof(r->data_dir), "%s", dirs.hot);
        return 0;
    }
    if (nu_httpc_global_init() < 0)
        return nu_err_set(errbuf, NU_ENET, "cannot initialise libcurl");
    rc = snap_restore(&o, r, errbuf);
    nu_httpc_global_cleanup();
    return rc;
}
