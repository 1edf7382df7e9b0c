/* nearup snapshot create: checkpoint with seconds of downtime, then chunk,
 * deduplicate and upload from the checkpoint while the node runs; the
 * manifest goes last, `latest` after it.
 *
 * Order in the store: the create marker, every new chunk (put-if-absent),
 * a sync, the signature, the manifest (put-if-absent), then `latest`. A
 * create killed at any point leaves chunks without a manifest (prune
 * collects them), never a manifest without its chunks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "clock.h"
#include "fs.h"
#include "home.h"
#include "snap.h"
#include "state.h"
#include "chunkset.h"
#include "fetch.h"
#include "locks.h"
#include "sign.h"
#include "testhooks.h"
#include "workers.h"

#define WALK_DEPTH_MAX 16
/* A first create lists the chunks in the store up to this many (1000
 * listing requests); past it, it looks each chunk up instead. */
#define CREATE_LISTED_MAX 1000000

struct job {
    uint32_t file, chunk;
};

struct create {
    const struct snap_create_opts *o;
    struct snap_store_spec spec;
    struct snap_store *store; /* the calling thread's */
    struct snap_checkpoint cp;
    struct snap_manifest m;
    struct snap_chunkset known; /* chunks of the latest manifest: present by the store invariant */
    struct snap_chunkset claimed; /* chunks a job of this run is uploading */
    struct snap_chunkset listed;  /* with listed_all: every chunk the store had after our marker */
    bool listed_all;
    pthread_mutex_t claim_lock;
    struct job *jobs;
    size_t njobs;
    uint8_t *fresh; /* per job: the chunk was not in the store */
    atomic_uint_fast64_t bytes_uploaded, bytes_new;
    atomic_size_t chunks_uploaded;
    struct snap_progress progress;
    char marker[SNAP_KEY_MAX];
    uint64_t marker_ns;
    bool marker_put;
};

static void note(const struct snap_create_opts *o, const char *fmt, const char *arg)
{
    char msg[NU_ERRMSG_MAX];
    if (o->c.note == NULL)
        return;
    snprintf(msg, sizeof(msg), fmt, arg);
    o->c.note(o->c.note_ud, msg);
}

/* ---- the file list, from the checkpoint ---- */

static int add_file(struct create *c, enum snap_dir dir, const char *rel, const struct stat *st)
{
    struct snap_manifest *m = &c->m;
    if (m->nfiles >= SNAP_FILES_MAX)
        return NU_ETOOBIG;
    if ((m->nfiles & (m->nfiles - 1)) == 0 || m->nfiles == 0) {
        size_t cap = m->nfiles ? m->nfiles * 2 : 64;
        struct snap_file *f = realloc(m->files, cap * sizeof(*f));
        if (f == NULL)
            return NU_ENOMEM;
        m->files = f;
    }
    struct snap_file *f = &m->files[m->nfiles];
    memset(f, 0, sizeof(*f));
    f->dir = dir;
    f->size = (uint64_t)st->st_size;
    f->mode = st->st_mode & 0777;
    f->nchunks = (size_t)((f->size + SNAP_CHUNK_SIZE - 1) / SNAP_CHUNK_SIZE);
    f->path = strdup(rel);
    if (f->path == NULL ||
        (f->nchunks > 0 && !(f->chunks = calloc(f->nchunks, sizeof(*f->chunks))))) {
        free(f->path);
        return NU_ENOMEM;
    }
    for (size_t i = 0; i < f->nchunks; i++) {
        uint64_t left = f->size - (uint64_t)i * SNAP_CHUNK_SIZE;
        f->chunks[i].size = left < SNAP_CHUNK_SIZE ? (uint32_t)left : SNAP_CHUNK_SIZE;
    }
    m->nfiles++;
    m->total_size += f->size;
    m->total_chunks += f->nchunks;
    return 0;
}

static int scan(struct create *c, enum snap_dir dir, const char *root, const char *rel, int depth,
                char *errbuf)
{
    char path[PATH_MAX], sub[PATH_MAX];
    snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (d == NULL)
        return nu_err_set(errbuf, NU_EIO, "read %s: %s", path, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            rc = nu_err_set(errbuf, NU_EIO, "stat %s/%s: %s", path, de->d_name, strerror(errno));
        else if (!snap_relpath_valid(sub))
            rc = nu_err_set(errbuf, NU_EINVAL, "%s/%s: a name a snapshot cannot hold", path,
                            de->d_name);
        else if (S_ISDIR(st.st_mode) && depth < WALK_DEPTH_MAX)
            rc = scan(c, dir, root, sub, depth + 1, errbuf);
        else if (S_ISREG(st.st_mode) && (rc = add_file(c, dir, sub, &st)) < 0)
            rc = nu_err_set(errbuf, rc, "listing %s: %s", path, nu_strerror(rc));
    }
    closedir(d);
    return rc;
}

static int cmp_file(const void *a, const void *b)
{
    const struct snap_file *x = a, *y = b;
    if (x->dir != y->dir)
        return (int)x->dir - (int)y->dir;
    return strcmp(x->path, y->path);
}

static int build_jobs(struct create *c, char *errbuf)
{
    int rc = scan(c, SNAP_DIR_HOT, c->cp.hot, "", 0, errbuf);
    if (rc == 0 && c->cp.cold[0] != '\0')
        rc = scan(c, SNAP_DIR_COLD, c->cp.cold, "", 0, errbuf);
    if (rc < 0)
        return rc;
    if (c->m.nfiles > 1) /* an empty data dir has no list at all */
        qsort(c->m.files, c->m.nfiles, sizeof(*c->m.files), cmp_file);
    c->jobs = calloc(c->m.total_chunks ? c->m.total_chunks : 1, sizeof(*c->jobs));
    c->fresh = calloc(c->m.total_chunks ? c->m.total_chunks : 1, 1);
    if (c->jobs == NULL || c->fresh == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t f = 0; f < c->m.nfiles; f++) {
        for (size_t k = 0; k < c->m.files[f].nchunks; k++)
            c->jobs[c->njobs++] = (struct job){(uint32_t)f, (uint32_t)k};
    }
    return 0;
}

/* ---- the upload workers ---- */

struct worker {
    struct snap_store *store;
    uint8_t *plain, *obj;
    size_t objcap;
    int fd;
    long fd_file; /* which file fd is open on */
};

static int w_init(void *ctx, size_t index, void **state, char *errbuf)
{
    struct create *c = ctx;
    struct worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    *state = w;
    w->fd = -1;
    w->fd_file = -1;
    w->objcap = snap_chunk_stored_max(SNAP_CHUNK_SIZE);
    w->plain = malloc(SNAP_CHUNK_SIZE);
    w->obj = malloc(w->objcap);
    if (w->plain == NULL || w->obj == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return snap_store_open(&c->spec, &w->store, errbuf);
}

static int w_fini(void *ctx, void *state, bool ok, char *errbuf)
{
    struct worker *w = state;
    int rc = 0;
    if (w == NULL)
        return 0;
    if (ok && w->store != NULL)
        rc = snap_store_sync(w->store, errbuf);
    if (w->fd >= 0)
        close(w->fd);
    snap_store_free(w->store);
    free(w->plain);
    free(w->obj);
    free(w);
    return rc;
}

static int read_chunk(struct create *c, struct worker *w, const struct job *j, char *errbuf)
{
    const struct snap_file *f = &c->m.files[j->file];
    char path[PATH_MAX];
    if (w->fd_file != (long)j->file) {
        if (w->fd >= 0)
            close(w->fd);
        if ((size_t)snprintf(path, sizeof(path), "%s/%s",
                             f->dir == SNAP_DIR_COLD ? c->cp.cold : c->cp.hot,
                             f->path) >= sizeof(path))
            return nu_err_set(errbuf, NU_ETOOBIG, "path too long: %s", f->path);
        w->fd = open(path, O_RDONLY | O_CLOEXEC);
        w->fd_file = w->fd >= 0 ? (long)j->file : -1;
        if (w->fd < 0)
            return nu_err_set(errbuf, NU_EIO, "open %s: %s", path, strerror(errno));
    }
    size_t want = f->chunks[j->chunk].size, got = 0;
    off_t off = (off_t)j->chunk * SNAP_CHUNK_SIZE;
    while (got < want) {
        ssize_t n = pread(w->fd, w->plain + got, want - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return nu_err_set(errbuf, NU_EIO, "read %s: %s", f->path,
                              n == 0 ? "file shrank in the checkpoint" : strerror(errno));
        got += (size_t)n;
    }
    return 0;
}

/* Is the chunk in the store already? Fills stored_size and compression. */
static int lookup(struct create *c, struct worker *w, struct snap_chunk *ch, const char *key,
                  char *errbuf)
{
    const struct snap_chunk *k = snap_chunkset_find(&c->known, ch->sha);
    struct nu_buf hdr;
    uint64_t size = 0, plain = 0;
    enum snap_compression comp;
    if (k != NULL && k->size == ch->size) {
        ch->stored_size = k->stored_size;
        ch->comp = k->comp;
        return 0;
    }
    if (c->listed_all && snap_chunkset_find(&c->listed, ch->sha) == NULL)
        return NU_ENOENT; /* not there when we listed, after our marker */
    nu_buf_init(&hdr, SNAP_CHUNK_HDR + 1);
    int rc = snap_store_peek(w->store, key, SNAP_CHUNK_HDR, &hdr, &size, errbuf);
    if (rc == 0 && (snap_chunk_header(hdr.data, hdr.len, &comp, &plain, NULL) < 0 ||
                    plain != ch->size || size > snap_chunk_stored_max(ch->size)))
        rc = NU_EVERIFY; /* a damaged object: upload over it */
    nu_buf_release(&hdr);
    if (rc == 0) {
        ch->stored_size = (uint32_t)size;
        ch->comp = (uint8_t)comp;
    }
    return rc;
}

/* True for the first job of this run to claim the hash: identical chunks
 * in one snapshot (equal OPTIONS files, say) are uploaded and counted once. */
static bool claim(struct create *c, const uint8_t *sha)
{
    struct snap_chunk k = {.size = 1};
    memcpy(k.sha, sha, SNAP_SHA256_LEN);
    pthread_mutex_lock(&c->claim_lock);
    int rc = snap_chunkset_add(&c->claimed, &k);
    pthread_mutex_unlock(&c->claim_lock);
    return rc != 0; /* out of memory: upload anyway, at worst twice */
}

/* lookup said absent (NU_ENOENT) or damaged (NU_EVERIFY). */
static int upload(struct create *c, struct worker *w, struct snap_chunk *ch, const char *key,
                  size_t job, int found, char *errbuf)
{
    size_t len;
    enum snap_compression comp;
    int rc = snap_chunk_encode(w->plain, ch->size, c->o->compress, w->obj, w->objcap, &len, &comp,
                               errbuf);
    if (rc < 0)
        return rc;
    ch->stored_size = (uint32_t)len;
    ch->comp = (uint8_t)comp;
    c->fresh[job] = 1;
    if (found == NU_ENOENT && !claim(c, ch->sha))
        return 0; /* same bytes, same settings: another job stores this object */
    rc = snap_store_put(w->store, key, w->obj, len,
                        found == NU_ENOENT ? SNAP_PUT_IF_ABSENT | SNAP_PUT_CONTENT_KEY : 0, errbuf);
    if (rc == NU_EEXIST)
        return 0; /* another create stored it meanwhile */
    if (rc < 0)
        return rc;
    atomic_fetch_add(&c->chunks_uploaded, 1);
    atomic_fetch_add(&c->bytes_uploaded, len);
    atomic_fetch_add(&c->bytes_new, ch->size);
    return 0;
}

static int w_job(void *ctx, void *state, size_t job, char *errbuf)
{
    struct create *c = ctx;
    struct worker *w = state;
    const struct job *j = &c->jobs[job];
    struct snap_chunk *ch = &c->m.files[j->file].chunks[j->chunk];
    char key[SNAP_CHUNK_KEY_MAX];
    snap_test_delay();
    int rc = read_chunk(c, w, j, errbuf);
    if (rc < 0)
        return rc;
    nu_sha256(w->plain, ch->size, ch->sha);
    snap_chunk_key(ch->sha, key);
    rc = lookup(c, w, ch, key, errbuf);
    if (rc == NU_ENOENT || rc == NU_EVERIFY)
        rc = upload(c, w, ch, key, job, rc, errbuf);
    if (rc == 0)
        atomic_fetch_add(&c->progress.done, ch->size);
    return rc;
}

/* Called from the pool's thread: keeps the create marker fresh. */
static void refresh_marker(void *ctx)
{
    struct create *c = ctx;
    uint64_t now = nu_mono_ns();
    if (now - c->marker_ns < (uint64_t)SNAP_MARKER_REFRESH_S * 1000000000ull)
        return;
    c->marker_ns = now;
    (void)!snap_marker_put(c->store, c->marker, NULL); /* retried at the next refresh */
}

/* ---- before the checkpoint ---- */

static bool prune_running(struct create *c, char *who, size_t whosz, char *errbuf, int *rc)
{
    struct snap_markers mk;
    bool running = false;
    *rc = snap_markers_list(c->store, c->marker, &mk, errbuf);
    for (size_t i = 0; *rc == 0 && i < mk.n; i++) {
        if (strncmp(mk.m[i].key, SNAP_LOCK_PRUNE, strlen(SNAP_LOCK_PRUNE)) == 0 &&
            mk.now - mk.m[i].mtime < SNAP_PRUNE_STALE_S) {
            running = true;
            snprintf(who, whosz, "%s", mk.m[i].key);
        }
    }
    snap_markers_release(&mk);
    return running;
}

/* A prune that started before our marker could delete chunks we are about
 * to find present: wait until it is gone before looking. */
static int wait_for_prune(struct create *c, char *errbuf)
{
    char who[SNAP_KEY_MAX] = "";
    int rc = 0;
    for (unsigned waited = 0; prune_running(c, who, sizeof(who), errbuf, &rc); waited++) {
        if (waited == 0)
            note(c->o, "waiting for a prune of the store to finish (%s)", who);
        if (waited >= SNAP_PRUNE_WAIT_S)
            return nu_err_set(errbuf, NU_ESTATE,
                              "a prune is still running on the store (%s); "
                              "try again later",
                              who);
        if (c->o->c.cancel != NULL && *c->o->c.cancel)
            return nu_err_set(errbuf, NU_ESTATE, "interrupted");
        sleep(1);
    }
    return rc;
}

/* Chunks the latest snapshot names exist (prune keeps them while its
 * manifest exists), so an incremental create asks the store only about
 * the others. */
static void load_known(struct create *c)
{
    char name[SNAP_NAME_MAX];
    struct nu_buf raw;
    struct snap_manifest prev;
    nu_buf_init(&raw, SNAP_MANIFEST_MAX);
    snap_manifest_init(&prev);
    if (snap_read_latest(c->store, name, sizeof(name), NULL) == 0 &&
        snap_fetch_manifest(c->store, name, NULL, &raw, &prev, NULL) == 0) {
        for (size_t i = 0; i < prev.nfiles; i++) {
            for (size_t k = 0; k < prev.files[i].nchunks; k++) {
                if (snap_chunkset_add(&c->known, &prev.files[i].chunks[k]) < 0) {
                    snap_chunkset_release(&c->known);
                    goto out;
                }
            }
        }
    }
out:
    snap_manifest_release(&prev);
    nu_buf_release(&raw);
}

static int add_listed(void *ud, const struct snap_obj_info *o)
{
    struct snap_chunkset *set = ud;
    struct snap_chunk k = {.size = 1};
    if (snap_chunk_key_parse(o->key + strlen("chunks/"), k.sha) < 0)
        return 0;
    if (set->n >= CREATE_LISTED_MAX)
        return NU_ETOOBIG;
    return snap_chunkset_add(set, &k) < 0 ? NU_ENOMEM : 0;
}

/* Without a latest snapshot (a first create, or the rerun of one that was
 * interrupted) the store holds only the chunks earlier attempts left: one
 * listing (a request per 1000 keys) tells which, where looking each chunk
 * up costs a request per chunk. Those listed are still looked up (their
 * header is checked); on any failure every chunk is. */
static void list_chunks(struct create *c)
{
    c->listed_all = snap_store_list(c->store, "chunks/", add_listed, &c->listed, NULL) == 0;
    if (!c->listed_all)
        snap_chunkset_release(&c->listed);
}

/* A free name: the given one, or the generated one with "-2", "-3", ...
 * appended when snapshots are taken within the same second. */
static int pick_name(struct create *c, bool generated, char *errbuf)
{
    char key[SNAP_KEY_MAX], base[SNAP_NAME_MAX];
    uint64_t size;
    snprintf(base, sizeof(base), "%s", c->m.name);
    for (int i = 1; i < 100; i++) {
        if (i > 1)
            snprintf(c->m.name, sizeof(c->m.name), "%.110s-%d", base, i);
        snap_manifest_key(c->m.name, key, sizeof(key));
        int rc = snap_store_head(c->store, key, &size, errbuf);
        if (rc == NU_ENOENT)
            return 0;
        if (rc < 0)
            return rc;
        if (!generated)
            break;
    }
    return nu_err_set(errbuf, NU_EEXIST, "store %s already has a snapshot named %s", c->o->c.store,
                      c->m.name);
}

static int prepare(struct create *c, const struct snap_home_dirs *dirs, char *errbuf)
{
    const struct snap_create_opts *o = c->o;
    struct snap_store_opts so = {.s3_endpoint = o->c.s3_endpoint, .create = true};
    char ts[32];
    int rc = snap_store_spec_parse(o->c.store, &so, &c->spec, errbuf);
    if (rc == 0 && c->spec.kind == SNAP_STORE_HTTP)
        rc = nu_err_set(errbuf, NU_EPERM,
                        "store %s is read-only (plain HTTP); create into a "
                        "directory or s3:// store",
                        o->c.store);
    if (rc == 0 && o->sign_key != NULL)
        rc = snap_sign_check_key(o->sign_key, errbuf);
    if (rc == 0)
        rc = node_home_chain_id(o->home, c->m.chain_id, sizeof(c->m.chain_id), errbuf);
    if (rc < 0)
        return rc;
    c->m.created_unix = (int64_t)time(NULL);
    snap_format_time(c->m.created_unix, c->m.created_at, sizeof(c->m.created_at));
    if (o->name != NULL) {
        snprintf(c->m.name, sizeof(c->m.name), "%s", o->name);
    } else {
        struct tm tm;
        time_t t = (time_t)c->m.created_unix;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(c->m.name, sizeof(c->m.name), "%.90s-%.20s", c->m.chain_id, ts);
    }
    if (o->name != NULL && (strlen(o->name) >= SNAP_NAME_MAX || !snap_name_valid(o->name)))
        return nu_err_set(errbuf, NU_EINVAL, "--name '%.200s': use 1-127 of [A-Za-z0-9._-]",
                          o->name);
    if ((rc = snap_store_open(&c->spec, &c->store, errbuf)) < 0)
        return rc;
    if ((rc = pick_name(c, o->name == NULL, errbuf)) < 0)
        return rc;
    snprintf(c->marker, sizeof(c->marker), SNAP_LOCK_CREATE "%s", c->m.name);
    if ((rc = snap_marker_put(c->store, c->marker, errbuf)) < 0)
        return rc;
    c->marker_put = true;
    c->marker_ns = nu_mono_ns();
    if ((rc = wait_for_prune(c, errbuf)) < 0)
        return rc;
    load_known(c);
    if (c->known.n == 0)
        list_chunks(c);
    return snap_checkpoint_clean(dirs, errbuf);
}

/* ---- after the upload ---- */

static int publish(struct create *c, struct snap_create_result *r, char *errbuf)
{
    struct nu_buf raw, sig;
    char key[SNAP_KEY_MAX];
    nu_buf_init(&raw, SNAP_MANIFEST_MAX);
    nu_buf_init(&sig, 4096);
    int rc = snap_manifest_dump(&c->m, &raw, errbuf);
    if (rc == 0 && c->o->sign_key != NULL) {
        snap_signature_key(c->m.name, key, sizeof(key));
        rc = snap_sign(c->o->sign_key, raw.data, raw.len, &sig, errbuf);
        if (rc == 0)
            rc = snap_store_put(c->store, key, sig.data, sig.len, 0, errbuf);
        r->signed_manifest = rc == 0;
    }
    if (rc == 0)
        rc = snap_store_sync(c->store, errbuf);
    snap_manifest_key(c->m.name, key, sizeof(key));
    if (rc == 0)
        rc = snap_store_put(c->store, key, raw.data, raw.len, SNAP_PUT_IF_ABSENT, errbuf);
    if (rc == 0) {
        nu_buf_reset(&raw);
        rc = nu_buf_printf(&raw, "%s\n", c->m.name);
        if (rc == 0)
            rc = snap_store_put(c->store, "latest", raw.data, raw.len, 0, errbuf);
    }
    nu_buf_release(&raw);
    nu_buf_release(&sig);
    return rc;
}

static void summarize(struct create *c, struct snap_create_result *r)
{
    snprintf(r->name, sizeof(r->name), "%s", c->m.name);
    r->height = c->m.height;
    r->files = c->m.nfiles;
    r->chunks = c->m.total_chunks;
    r->bytes = c->m.total_size;
    r->chunks_uploaded = atomic_load(&c->chunks_uploaded);
    r->bytes_uploaded = atomic_load(&c->bytes_uploaded);
    r->bytes_new = atomic_load(&c->bytes_new);
    size_t job = 0;
    for (size_t f = 0; f < c->m.nfiles; f++) {
        bool fresh = false;
        for (size_t k = 0; k < c->m.files[f].nchunks; k++)
            fresh |= c->fresh[job++] != 0;
        r->files_new += fresh;
    }
}

static int run(struct create *c, const struct snap_home_dirs *dirs, struct snap_create_result *r,
               char *errbuf)
{
    const struct snap_create_opts *o = c->o;
    struct snap_node_info info;
    int rc = snap_checkpoint_take(o, dirs, &c->cp, &info, r, errbuf);
    if (rc < 0)
        return rc;
    if (r->was_running) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%llu ms", (unsigned long long)r->downtime_ms);
        note(o, "node restarted after %s down; uploading from the checkpoint", msg);
    }
    c->m.height = info.height;
    snprintf(c->m.block_hash, sizeof(c->m.block_hash), "%s", info.block_hash);
    snprintf(c->m.neard_version, sizeof(c->m.neard_version), "%s", info.version);
    if ((rc = build_jobs(c, errbuf)) < 0)
        return rc;
    snap_progress_init(&c->progress, "uploading", o->c.progress_fd, o->c.progress_tty,
                       c->m.total_size);
    struct snap_pool_def pool = {
        .nworkers = o->c.parallel ? o->c.parallel : SNAP_PARALLEL_DEFAULT,
        .njobs = c->njobs,
        .ctx = c,
        .init = w_init,
        .job = w_job,
        .fini = w_fini,
        .tick = refresh_marker,
        .progress = &c->progress,
        .cancel = o->c.cancel,
    };
    rc = snap_pool_run(&pool, errbuf);
    snap_progress_finish(&c->progress);
    if (rc == 0)
        rc = publish(c, r, errbuf);
    summarize(c, r);
    return rc;
}

int snap_create(const struct snap_create_opts *o, struct snap_create_result *r, char *errbuf)
{
    struct snap_home_dirs dirs;
    int lock = -1;
    uint64_t t0 = nu_mono_ns();
    memset(r, 0, sizeof(*r));
    r->height = -1;
    struct create *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    c->o = o;
    snap_manifest_init(&c->m);
    snap_chunkset_init(&c->known);
    snap_chunkset_init(&c->claimed);
    snap_chunkset_init(&c->listed);
    pthread_mutex_init(&c->claim_lock, NULL);
    int rc = snap_home_dirs(o->home, &dirs, errbuf);
    if (rc == 0)
        rc = snap_home_lock(o->home, &lock, errbuf);
    if (rc == 0)
        rc = prepare(c, &dirs, errbuf);
    if (rc == 0)
        rc = run(c, &dirs, r, errbuf);
    snap_checkpoint_remove(&c->cp);
    if (c->marker_put)
        (void)!snap_store_delete(c->store, c->marker, NULL); /* a stale marker only delays prune */
    snap_home_unlock(lock);
    snap_store_free(c->store);
    snap_chunkset_release(&c->known);
    snap_chunkset_release(&c->claimed);
    snap_chunkset_release(&c->listed);
    pthread_mutex_destroy(&c->claim_lock);
    snap_manifest_release(&c->m);
    free(c->jobs);
    free(c->fresh);
    free(c);
    r->total_ms = (nu_mono_ns() - t0) / 1000000u;
    return rc;
}
