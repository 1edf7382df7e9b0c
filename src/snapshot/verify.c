/* nearup snapshot list and verify. verify downloads every chunk the named
 * snapshots reference, once, and checks its header, size and sha256; it
 * reports every missing or damaged chunk instead of stopping at the first. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"
#include "chunkset.h"
#include "fetch.h"
#include "verify_home.h"
#include "workers.h"

static void fill_info(struct snap_store *s, const char *name, struct snap_info *in)
{
    struct nu_buf raw;
    struct snap_manifest m;
    nu_buf_init(&raw, SNAP_MANIFEST_MAX);
    snprintf(in->name, sizeof(in->name), "%s", name);
    in->height = -1;
    if (snap_fetch_manifest(s, name, NULL, &raw, &m, in->error) == 0) {
        in->error[0] = '\0';
        snprintf(in->created_at, sizeof(in->created_at), "%s", m.created_at);
        in->created_unix = m.created_unix;
        snprintf(in->chain_id, sizeof(in->chain_id), "%s", m.chain_id);
        in->height = m.height;
        snprintf(in->block_hash, sizeof(in->block_hash), "%s", m.block_hash);
        snprintf(in->neard_version, sizeof(in->neard_version), "%s", m.neard_version);
        in->files = m.nfiles;
        in->chunks = m.total_chunks;
        in->bytes = m.total_size;
    }
    snap_manifest_release(&m);
    nu_buf_release(&raw);
}

static int cmp_info(const void *a, const void *b)
{
    const struct snap_info *x = a, *y = b;
    if (x->created_unix != y->created_unix)
        return x->created_unix < y->created_unix ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int open_store(const struct snap_common *c, struct snap_store_spec *spec,
                      struct snap_store **s, char *errbuf)
{
    struct snap_store_opts so = {.s3_endpoint = c->s3_endpoint};
    int rc = snap_store_spec_parse(c->store, &so, spec, errbuf);
    return rc < 0 ? rc : snap_store_open(spec, s, errbuf);
}

int snap_list(const struct snap_common *c, struct snap_info **out, size_t *n, char *errbuf)
{
    struct snap_store_spec spec;
    struct snap_store *s = NULL;
    struct snap_names ns = {0};
    char latest[SNAP_NAME_MAX] = "";
    *out = NULL;
    *n = 0;
    int rc = open_store(c, &spec, &s, errbuf);
    if (rc == 0)
        rc = snap_names_list(s, &ns, errbuf);
    if (rc == 0 && snap_read_latest(s, latest, sizeof(latest), NULL) < 0)
        latest[0] = '\0';
    struct snap_info *v = rc == 0 ? calloc(ns.n ? ns.n : 1, sizeof(*v)) : NULL;
    if (rc == 0 && v == NULL)
        rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < ns.n; i++) {
        if (!(ns.flags[i] & SNAP_NAME_HAS_MANIFEST))
            continue; /* a signature whose manifest is gone (or not written yet) */
        fill_info(s, ns.v[i], &v[k]);
        v[k].has_signature = (ns.flags[i] & SNAP_NAME_HAS_SIG) != 0;
        v[k].latest = strcmp(ns.v[i], latest) == 0;
        k++;
    }
    if (rc == 0) {
        qsort(v, k, sizeof(*v), cmp_info);
        *out = v;
        *n = k;
    } else {
        free(v);
    }
    snap_names_release(&ns);
    snap_store_free(s);
    return rc;
}

/* ---- verify ---- */

struct verify {
    struct snap_store_spec spec;
    struct snap_chunkset set;
    struct snap_chunk *chunks;
    size_t nchunks;
    atomic_size_t bad;
    pthread_mutex_t lock;
    char first_bad[NU_ERRMSG_MAX];
    struct snap_progress progress;
};

struct worker {
    struct snap_store *store;
    struct nu_buf obj;
    uint8_t *plain;
};

static int v_init(void *ctx, size_t index, void **state, char *errbuf)
{
    struct verify *v = ctx;
    struct worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    *state = w;
    nu_buf_init(&w->obj, snap_chunk_stored_max(SNAP_CHUNK_MAX));
    if ((w->plain = malloc(SNAP_CHUNK_MAX)) == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return snap_store_open(&v->spec, &w->store, errbuf);
}

static int v_fini(void *ctx, void *state, bool ok, char *errbuf)
{
    struct worker *w = state;
    if (w != NULL) {
        snap_store_free(w->store);
        nu_buf_release(&w->obj);
        free(w->plain);
        free(w);
    }
    return 0;
}

static int v_job(void *ctx, void *state, size_t job, char *errbuf)
{
    struct verify *v = ctx;
    struct worker *w = state;
    const struct snap_chunk *c = &v->chunks[job];
    int rc = snap_fetch_chunk(w->store, c, &w->obj, w->plain, errbuf);
    if (rc == NU_ENOENT || rc == NU_EVERIFY) {
        if (atomic_fetch_add(&v->bad, 1) == 0) {
            pthread_mutex_lock(&v->lock);
            snprintf(v->first_bad, sizeof(v->first_bad), "%s", errbuf);
            pthread_mutex_unlock(&v->lock);
        }
        rc = 0;
    }
    atomic_fetch_add(&v->progress.done, c->size);
    return rc;
}

/* Adds the chunks of one snapshot to the set. */
static int collect(struct verify *v, struct snap_store *s, const char *name, const char *key,
                   char *errbuf)
{
    struct nu_buf raw;
    struct snap_manifest m;
    nu_buf_init(&raw, SNAP_MANIFEST_MAX);
    int rc = snap_fetch_manifest(s, name, key, &raw, &m, errbuf);
    for (size_t i = 0; rc == 0 && i < m.nfiles; i++) {
        for (size_t k = 0; rc == 0 && k < m.files[i].nchunks; k++) {
            if (snap_chunkset_add(&v->set, &m.files[i].chunks[k]) < 0)
                rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        }
    }
    snap_manifest_release(&m);
    nu_buf_release(&raw);
    return rc < 0 && rc != NU_ENOMEM ? nu_err_prefix(errbuf, rc, name) : rc;
}

static int collect_all(struct verify *v, struct snap_store *s, const struct snap_verify_opts *o,
                       struct snap_verify_result *r, char *errbuf)
{
    struct snap_names ns = {0};
    if (o->name != NULL) {
        r->snapshots = 1;
        return collect(v, s, o->name, o->verify_key, errbuf);
    }
    int rc = snap_names_list(s, &ns, errbuf);
    for (size_t i = 0; rc == 0 && i < ns.n; i++) {
        if (ns.flags[i] & SNAP_NAME_HAS_MANIFEST) {
            rc = collect(v, s, ns.v[i], o->verify_key, errbuf);
            r->snapshots++;
        }
    }
    snap_names_release(&ns);
    if (rc == 0 && r->snapshots == 0)
        rc = nu_err_set(errbuf, NU_ENOENT, "store %s has no snapshot", o->c.store);
    return rc;
}

static int check_chunks(struct verify *v, const struct snap_verify_opts *o, char *errbuf)
{
    uint64_t total = 0;
    v->chunks = calloc(v->set.n ? v->set.n : 1, sizeof(*v->chunks));
    if (v->chunks == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t i = 0; i < v->set.cap; i++) {
        if (v->set.used[i]) {
            v->chunks[v->nchunks++] = v->set.slots[i];
            total += v->set.slots[i].size;
        }
    }
    snap_progress_init(&v->progress, "verifying", o->c.progress_fd, o->c.progress_tty, total);
    struct snap_pool_def pool = {
        .nworkers = o->c.parallel ? o->c.parallel : SNAP_PARALLEL_DEFAULT,
        .njobs = v->nchunks,
        .ctx = v,
        .init = v_init,
        .job = v_job,
        .fini = v_fini,
        .progress = &v->progress,
        .cancel = o->c.cancel,
    };
    int rc = snap_pool_run(&pool, errbuf);
    snap_progress_finish(&v->progress);
    return rc;
}

int snap_verify(const struct snap_verify_opts *o, struct snap_verify_result *r, char *errbuf)
{
    if (o->home != NULL)
        return snap_verify_home(o, r, errbuf);
    struct snap_store *s = NULL;
    struct verify *v = calloc(1, sizeof(*v));
    memset(r, 0, sizeof(*r));
    if (v == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    pthread_mutex_init(&v->lock, NULL);
    snap_chunkset_init(&v->set);
    int rc = open_store(&o->c, &v->spec, &s, errbuf);
    if (rc == 0)
        rc = collect_all(v, s, o, r, errbuf);
    if (rc == 0)
        rc = check_chunks(v, o, errbuf);
    r->chunks = v->nchunks;
    r->chunks_bad = atomic_load(&v->bad);
    r->bytes = atomic_load(&v->progress.total);
    snprintf(r->first_bad, sizeof(r->first_bad), "%s", v->first_bad);
    if (rc == 0 && r->chunks_bad > 0)
        rc = nu_err_set(errbuf, NU_EVERIFY, "%zu of %zu chunks are missing or damaged; first: %s",
                        r->chunks_bad, r->chunks, v->first_bad);
    snap_store_free(s);
    snap_chunkset_release(&v->set);
    pthread_mutex_destroy(&v->lock);
    free(v->chunks);
    free(v);
    return rc;
}
