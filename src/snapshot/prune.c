/* nearup snapshot prune --keep N: deletes all but the newest N manifests
 * (never the one `latest` names), then every chunk no remaining manifest
 * references, except chunks younger than the grace period. While a create
 * marker is live no chunk is deleted at all (see the marker protocol in
 * locks.h): the create may have decided to reuse any of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "snap.h"
#include "chunkset.h"
#include "fetch.h"
#include "locks.h"
#include "testhooks.h"
#include "workers.h"

struct snap {
    char name[SNAP_NAME_MAX];
    int64_t created;
    bool keep;
};

struct candidate {
    uint8_t sha[SNAP_SHA256_LEN];
    uint64_t size;
};

struct prune {
    const struct snap_prune_opts *o;
    struct snap_prune_result *r;
    struct snap_store_spec spec;
    struct snap_store *store;
    char marker[SNAP_KEY_MAX];
    int64_t now;
    uint64_t marker_ns;
    struct snap *snaps;
    size_t nsnaps;
    struct snap_chunkset referenced;
    struct candidate *cand;
    size_t ncand, capcand;
    atomic_size_t deleted;
    atomic_uint_fast64_t bytes_deleted;
};

/* ---- markers ---- */

static bool is_create(const char *key)
{
    return strncmp(key, SNAP_LOCK_CREATE, strlen(SNAP_LOCK_CREATE)) == 0;
}

static bool is_prune(const char *key)
{
    return strncmp(key, SNAP_LOCK_PRUNE, strlen(SNAP_LOCK_PRUNE)) == 0;
}

/* Reads the markers after ours is written; live creates defer chunk
 * deletion, dead markers are removed. */
static int check_markers(struct prune *p, char *errbuf)
{
    struct snap_markers mk;
    int rc = snap_markers_list(p->store, p->marker, &mk, errbuf);
    if (rc < 0)
        return rc;
    p->now = mk.now;
    for (size_t i = 0; i < mk.n && rc == 0; i++) {
        const struct snap_marker *m = &mk.m[i];
        int64_t age = mk.now - m->mtime;
        if (strcmp(m->key, p->marker) == 0)
            continue;
        bool dead = (is_create(m->key) && age >= p->o->stale_s) ||
                    (is_prune(m->key) && age >= SNAP_PRUNE_STALE_S);
        if (dead) {
            p->r->stale_markers++;
            if (!p->o->dry_run)
                rc = snap_store_delete(p->store, m->key, errbuf);
        } else if (is_create(m->key) && !p->r->chunks_deferred) {
            p->r->chunks_deferred = true;
            snprintf(p->r->deferred_by, sizeof(p->r->deferred_by), "%s",
                     m->key + strlen(SNAP_LOCK_CREATE));
        }
    }
    snap_markers_release(&mk);
    return rc;
}

static void refresh_marker(void *ctx)
{
    struct prune *p = ctx;
    uint64_t now = nu_mono_ns();
    if (now - p->marker_ns < (uint64_t)SNAP_PRUNE_REFRESH_S * 1000000000ull)
        return;
    p->marker_ns = now;
    (void)!snap_marker_put(p->store, p->marker, NULL); /* retried at the next refresh */
}

/* ---- snapshots ---- */

static int cmp_snap(const void *a, const void *b)
{
    const struct snap *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Adds the chunks of a kept snapshot to the referenced set. */
static int reference(struct prune *p, const struct snap_manifest *m, char *errbuf)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        for (size_t k = 0; k < m->files[i].nchunks; k++) {
            if (snap_chunkset_add(&p->referenced, &m->files[i].chunks[k]) < 0)
                return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Reads every manifest. One that cannot be read stops the prune: its
 * chunks would look unreferenced. */
static int load_snaps(struct prune *p, char *errbuf)
{
    struct snap_names ns;
    char latest[SNAP_NAME_MAX] = "";
    int rc = snap_names_list(p->store, &ns, errbuf);
    if (rc < 0)
        return rc;
    if (snap_read_latest(p->store, latest, sizeof(latest), NULL) < 0)
        latest[0] = '\0';
    p->snaps = calloc(ns.n ? ns.n : 1, sizeof(*p->snaps));
    if (p->snaps == NULL)
        rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < ns.n; i++) {
        struct nu_buf raw;
        struct snap_manifest m;
        if (!(ns.flags[i] & SNAP_NAME_HAS_MANIFEST))
            continue;
        nu_buf_init(&raw, SNAP_MANIFEST_MAX);
        rc = snap_fetch_manifest(p->store, ns.v[i], NULL, &raw, &m, errbuf);
        if (rc < 0) {
            char why[NU_ERRMSG_MAX];
            snprintf(why, sizeof(why), "%s", errbuf);
            rc = nu_err_set(errbuf, rc,
                            "snapshot %s cannot be read (%.300s); nothing was "
                            "pruned",
                            ns.v[i], why);
        }
        struct snap *s = &p->snaps[p->nsnaps];
        if (rc == 0) {
            snprintf(s->name, sizeof(s->name), "%s", m.name);
            s->created = m.created_unix;
            s->keep = strcmp(m.name, latest) == 0;
            p->nsnaps++;
        }
        snap_manifest_release(&m);
        nu_buf_release(&raw);
    }
    snap_names_release(&ns);
    if (rc == 0) {
        qsort(p->snaps, p->nsnaps, sizeof(*p->snaps), cmp_snap);
        for (size_t i = p->nsnaps > p->o->keep ? p->nsnaps - p->o->keep : 0; i < p->nsnaps; i++)
            p->snaps[i].keep = true;
    }
    return rc;
}

static int delete_snaps(struct prune *p, char *errbuf)
{
    char key[SNAP_KEY_MAX];
    int rc = 0;
    p->r->snapshots = p->nsnaps;
    for (size_t i = 0; i < p->nsnaps && rc == 0; i++) {
        if (p->snaps[i].keep) {
            p->r->kept++;
            continue;
        }
        p->r->manifests_deleted++;
        if (p->o->dry_run)
            continue;
        snap_manifest_key(p->snaps[i].name, key, sizeof(key));
        rc = snap_store_delete(p->store, key, errbuf);
        snap_signature_key(p->snaps[i].name, key, sizeof(key));
        if (rc == 0)
            rc = snap_store_delete(p->store, key, errbuf);
    }
    return rc;
}

/* Re-reads the kept manifests after the deletions, for their chunks. */
static int load_referenced(struct prune *p, char *errbuf)
{
    int rc = 0;
    for (size_t i = 0; i < p->nsnaps && rc == 0; i++) {
        struct nu_buf raw;
        struct snap_manifest m;
        if (!p->snaps[i].keep)
            continue;
        nu_buf_init(&raw, SNAP_MANIFEST_MAX);
        rc = snap_fetch_manifest(p->store, p->snaps[i].name, NULL, &raw, &m, errbuf);
        if (rc == 0)
            rc = reference(p, &m, errbuf);
        snap_manifest_release(&m);
        nu_buf_release(&raw);
    }
    return rc;
}

/* ---- chunks ---- */

static int sweep_one(void *ud, const struct snap_obj_info *o)
{
    struct prune *p = ud;
    uint8_t sha[SNAP_SHA256_LEN];
    const char *k = o->key + strlen("chunks/");
    /* Only chunks/<ab>/<ab...64 hex>: anything else in the store is not ours to delete. */
    if (snap_chunk_key_parse(k, sha) < 0)
        return 0;
    p->r->chunks++;
    if (snap_chunkset_find(&p->referenced, sha) != NULL) {
        p->r->chunks_referenced++;
        return 0;
    }
    if (p->now - o->mtime < p->o->grace_s) {
        p->r->chunks_young++;
        return 0;
    }
    struct candidate *c = nu_grow(p->cand, p->ncand, &p->capcand, sizeof(*c), 1024);
    if (c == NULL)
        return NU_ENOMEM;
    p->cand = c;
    memcpy(p->cand[p->ncand].sha, sha, SNAP_SHA256_LEN);
    p->cand[p->ncand++].size = o->size;
    return 0;
}

static int d_init(void *ctx, size_t index, void **state, char *errbuf)
{
    struct prune *p = ctx;
    return snap_store_open(&p->spec, (struct snap_store **)state, errbuf);
}

static int d_fini(void *ctx, void *state, bool ok, char *errbuf)
{
    snap_store_free(state);
    return 0;
}

static int d_job(void *ctx, void *state, size_t job, char *errbuf)
{
    struct prune *p = ctx;
    char key[SNAP_CHUNK_KEY_MAX];
    snap_test_delay();
    snap_chunk_key(p->cand[job].sha, key);
    int rc = snap_store_delete(state, key, errbuf);
    if (rc == 0) {
        atomic_fetch_add(&p->deleted, 1);
        atomic_fetch_add(&p->bytes_deleted, p->cand[job].size);
    }
    return rc;
}

static int sweep(struct prune *p, char *errbuf)
{
    int rc = load_referenced(p, errbuf);
    if (rc == 0)
        rc = snap_store_list(p->store, "chunks/", sweep_one, p, errbuf);
    if (rc == NU_ENOMEM)
        return nu_err_set(errbuf, rc, "out of memory");
    if (rc < 0 || p->o->dry_run) {
        p->r->chunks_deleted = p->ncand;
        for (size_t i = 0; i < p->ncand; i++)
            p->r->bytes_deleted += p->cand[i].size;
        return rc;
    }
    struct snap_pool_def pool = {
        .nworkers = p->o->c.parallel ? p->o->c.parallel : SNAP_PARALLEL_DEFAULT,
        .njobs = p->ncand,
        .ctx = p,
        .init = d_init,
        .job = d_job,
        .fini = d_fini,
        .tick = refresh_marker,
        .cancel = p->o->c.cancel,
    };
    rc = snap_pool_run(&pool, errbuf);
    p->r->chunks_deleted = atomic_load(&p->deleted);
    p->r->bytes_deleted = atomic_load(&p->bytes_deleted);
    return rc;
}

static int run(struct prune *p, char *errbuf)
{
    struct snap_store_opts so = {.s3_endpoint = p->o->c.s3_endpoint};
    char host[64] = "";
    int rc = snap_store_spec_parse(p->o->c.store, &so, &p->spec, errbuf);
    if (rc == 0 && p->spec.kind == SNAP_STORE_HTTP)
        rc = nu_err_set(errbuf, NU_EPERM, "store %s is read-only (plain HTTP)", p->o->c.store);
    if (rc == 0)
        rc = snap_store_open(&p->spec, &p->store, errbuf);
    if (rc < 0)
        return rc;
    if (gethostname(host, sizeof(host) - 1) < 0 || !snap_name_valid(host))
        snprintf(host, sizeof(host), "host");
    snprintf(p->marker, sizeof(p->marker), SNAP_LOCK_PRUNE "%s-%ld-%lld", host, (long)getpid(),
             (long long)time(NULL));
    if (!p->o->dry_run) {
        if ((rc = snap_marker_put(p->store, p->marker, errbuf)) < 0)
            return rc;
        p->marker_ns = nu_mono_ns();
    }
    rc = check_markers(p, errbuf);
    if (rc == 0)
        rc = load_snaps(p, errbuf);
    if (rc == 0)
        rc = delete_snaps(p, errbuf);
    if (rc == 0 && !p->r->chunks_deferred)
        rc = sweep(p, errbuf);
    if (!p->o->dry_run)
        (void)!snap_store_delete(p->store, p->marker, NULL); /* goes stale otherwise */
    return rc;
}

int snap_prune(const struct snap_prune_opts *o, struct snap_prune_result *r, char *errbuf)
{
    memset(r, 0, sizeof(*r));
    if (o->keep < 1)
        return nu_err_set(errbuf, NU_EINVAL, "--keep must be at least 1");
    struct prune *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    p->o = o;
    p->r = r;
    snap_chunkset_init(&p->referenced);
    int rc = run(p, errbuf);
    snap_store_free(p->store);
    snap_chunkset_release(&p->referenced);
    free(p->snaps);
    free(p->cand);
    free(p);
    return rc;
}
