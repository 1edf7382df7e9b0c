/* Reading what a store holds: the `latest` pointer, manifests (checked
 * against a signature first when asked), the names of the snapshots, and
 * chunks, retried on transient failures and verified. */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"

#define SIG_MAX 4096
#define LATEST_MAX 1024
#define FETCH_ATTEMPTS 5
#define RETRY_BASE_MS 200

int snap_read_latest(struct snap_store *s, char *out, size_t outsz, char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, LATEST_MAX);
    int rc = snap_store_get(s, "latest", LATEST_MAX, &b, errbuf);
    if (rc == NU_ENOENT)
        rc = nu_err_set(errbuf, rc, "store %s has no snapshot (no 'latest')", s->spec->text);
    while (rc == 0 && b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    if (rc == 0 && (strlen(b.data) != b.len || !snap_name_valid(b.data) || b.len >= outsz))
        rc = nu_err_set(errbuf, NU_EPARSE, "store %s: 'latest' does not name a snapshot",
                        s->spec->text);
    if (rc == 0)
        snprintf(out, outsz, "%s", b.data);
    nu_buf_release(&b);
    return rc;
}

static int check_sig(struct snap_store *s, const char *name, const char *verify_key,
                     const struct nu_buf *raw, char *errbuf)
{
    char key[SNAP_KEY_MAX];
    struct nu_buf sig;
    nu_buf_init(&sig, SIG_MAX);
    snap_signature_key(name, key, sizeof(key));
    int rc = snap_store_get(s, key, SIG_MAX, &sig, errbuf);
    if (rc == NU_ENOENT)
        rc = nu_err_set(errbuf, NU_EVERIFY,
                        "snapshot %s is not signed, and --verify-key "
                        "requires a signature",
                        name);
    if (rc == 0)
        rc = snap_verify_sig(verify_key, raw->data, raw->len, sig.data, sig.len, errbuf);
    nu_buf_release(&sig);
    return rc;
}

int snap_fetch_manifest(struct snap_store *s, const char *name, const char *verify_key,
                        struct nu_buf *raw, struct snap_manifest *m, char *errbuf)
{
    char key[SNAP_KEY_MAX];
    snap_manifest_init(m);
    if (!snap_name_valid(name))
        return nu_err_set(errbuf, NU_EINVAL, "'%.200s' is not a snapshot name", name);
    snap_manifest_key(name, key, sizeof(key));
    int rc = snap_store_get(s, key, SNAP_MANIFEST_MAX, raw, errbuf);
    if (rc == NU_ENOENT)
        return nu_err_set(errbuf, rc, "store %s has no snapshot %s", s->spec->text, name);
    if (rc == NU_ETOOBIG)
        return nu_err_set(errbuf, rc,
                          "manifest of %s is larger than the limit of %u bytes "
                          "(SNAP_MANIFEST_MAX)",
                          name, SNAP_MANIFEST_MAX);
    if (rc < 0)
        return rc;
    /* The signature covers the bytes: check it before parsing them. */
    if (verify_key != NULL && (rc = check_sig(s, name, verify_key, raw, errbuf)) < 0)
        return rc;
    if ((rc = snap_manifest_parse(raw->data, raw->len, m, errbuf)) < 0)
        return rc;
    if (strcmp(m->name, name) != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "manifest %s names itself %s", name, m->name);
    return 0;
}

static int add_name(void *ud, const struct snap_obj_info *o)
{
    struct snap_names *ns = ud;
    const char *base = o->key + strlen("manifests/");
    size_t len = strlen(base);
    bool sig = len > 4 && strcmp(base + len - 4, ".sig") == 0;
    if (!sig && (len <= 5 || strcmp(base + len - 5, ".json") != 0))
        return 0;
    len -= sig ? 4 : 5;
    if (len >= SNAP_NAME_MAX || ns->n >= SNAP_NAMES_MAX)
        return 0;
    char name[SNAP_NAME_MAX];
    memcpy(name, base, len);
    name[len] = '\0';
    if (!snap_name_valid(name))
        return 0;
    for (size_t i = 0; i < ns->n; i++) {
        if (strcmp(ns->v[i], name) == 0) {
            ns->flags[i] |= sig ? SNAP_NAME_HAS_SIG : SNAP_NAME_HAS_MANIFEST;
            return 0;
        }
    }
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 16;
        void *v = realloc(ns->v, cap * sizeof(*ns->v)), *s = realloc(ns->flags, cap);
        if (v != NULL)
            ns->v = v;
        if (s != NULL)
            ns->flags = s;
        if (v == NULL || s == NULL)
            return NU_ENOMEM;
        ns->cap = cap;
    }
    snprintf(ns->v[ns->n], SNAP_NAME_MAX, "%s", name);
    ns->flags[ns->n++] = sig ? SNAP_NAME_HAS_SIG : SNAP_NAME_HAS_MANIFEST;
    return 0;
}

int snap_names_list(struct snap_store *s, struct snap_names *ns, char *errbuf)
{
    memset(ns, 0, sizeof(*ns));
    int rc = snap_store_list(s, "manifests/", add_name, ns, errbuf);
    if (rc == NU_ENOMEM)
        nu_err_set(errbuf, rc, "out of memory");
    return rc;
}

void snap_names_release(struct snap_names *ns)
{
    free(ns->v);
    free(ns->flags);
    memset(ns, 0, sizeof(*ns));
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool transient(int rc)
{
    return rc == NU_ENET || rc == NU_EHTTP || rc == NU_EIO || rc == NU_ETIMEDOUT;
}

int snap_fetch_chunk(struct snap_store *s, const struct snap_chunk *c, struct nu_buf *obj,
                     uint8_t *plain, char *errbuf)
{
    char key[SNAP_CHUNK_KEY_MAX];
    int rc = NU_EIO;
    snap_chunk_key(c->sha, key);
    for (int attempt = 0; attempt < FETCH_ATTEMPTS; attempt++) {
        if (attempt > 0)
            nap_ms(RETRY_BASE_MS << (attempt - 1));
        nu_buf_reset(obj);
        rc = snap_store_get(s, key, snap_chunk_stored_max(c->size), obj, errbuf);
        if (rc == NU_ENOENT)
            return nu_err_set(errbuf, rc, "chunk %s is missing from the store", key);
        if (rc == NU_ETOOBIG)
            return nu_err_set(errbuf, NU_EVERIFY, "chunk %s is larger than its size allows", key);
        if (rc == 0) {
            rc = snap_chunk_decode(obj->data, obj->len, c->sha, c->size, plain, key, errbuf);
            /* One more read settles a transfer that went wrong; a damaged
             * object stays damaged. */
            if (rc == NU_EVERIFY && attempt + 2 < FETCH_ATTEMPTS)
                attempt = FETCH_ATTEMPTS - 2;
            else if (rc == NU_EVERIFY)
                return rc;
        }
        if (rc == 0 || (!transient(rc) && rc != NU_EVERIFY))
            return rc;
    }
    return rc;
}
