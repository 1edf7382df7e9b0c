/* The node's RocksDB under store.path (<home>/data): real SST files, so
 * snapshot tools have a real database to copy.
 *
 * Keys (one column family, prefixed):
 *   "b" + be64(height) -> block hash, NUL, payload (sim.block_payload_bytes)
 *   "h" + hash         -> be64(height)
 *   "m" + name         -> meta: head, earliest, tail, archive, genesis, fork_from
 *                         (absent: no fork)
 *   "k" + key          -> generic values for the RPC side (sim_store_put/get)
 *
 * Writes happen on the loop thread: a simulator trade-off, since the
 * per-block amount is small; GC deletes are bounded per call. */
#include <stdlib.h>
#include <string.h>
#include <rocksdb/c.h>

#include "core.h"

#define KEY_MAX 256
#define HASH_INDEX_DELETE_MAX 100000 /* truncate: stale index entries beyond are verified away */

struct sim_store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    struct sim_node *node;
};

static void be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t from_be64(const uint8_t *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

static size_t block_key(uint8_t *k, uint64_t height)
{
    k[0] = 'b';
    be64(k + 1, height);
    return 9;
}

static size_t str_key(char *k, char prefix, const char *s)
{
    int n = snprintf(k, KEY_MAX, "%c%s", prefix, s);
    return n < 0 || n >= KEY_MAX ? KEY_MAX - 1 : (size_t)n;
}

static int db_err(char *errbuf, char *err, const char *what)
{
    int rc = nu_err_set(errbuf, NU_EIO, "%s: %s", what, err ? err : "unknown error");
    rocksdb_free(err);
    return rc;
}

int sim_store_open(const char *path, struct sim_node *n, struct sim_store **out, char *errbuf)
{
    struct sim_store *s = calloc(1, sizeof(*s));
    char *err = NULL;
    *out = NULL;
    if (s == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    s->node = n;
    s->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->opts, 1);
    rocksdb_options_set_max_open_files(s->opts, 1000);
    /* Keep the info LOG small: tests open many short-lived databases. */
    rocksdb_options_set_keep_log_file_num(s->opts, 2);
    s->wopts = rocksdb_writeoptions_create();
    s->ropts = rocksdb_readoptions_create();
    s->db = rocksdb_open(s->opts, path, &err);
    if (s->db == NULL) {
        int rc = db_err(errbuf, err, "unable to open database");
        sim_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sim_store_close(struct sim_store *s)
{
    if (s == NULL)
        return;
    if (s->db)
        rocksdb_close(s->db);
    rocksdb_writeoptions_destroy(s->wopts);
    rocksdb_readoptions_destroy(s->ropts);
    rocksdb_options_destroy(s->opts);
    free(s);
}

static int get_raw(struct sim_store *s, const void *key, size_t klen, char **val, size_t *len)
{
    char *err = NULL;
    *val = rocksdb_get(s->db, s->ropts, key, klen, len, &err);
    if (err != NULL) {
        rocksdb_free(err);
        return NU_EIO;
    }
    return *val == NULL ? NU_ENOENT : 0;
}

static int get_u64(struct sim_store *s, const char *name, uint64_t *v)
{
    char k[KEY_MAX];
    char *val;
    size_t len;
    int rc = get_raw(s, k, str_key(k, 'm', name), &val, &len);
    if (rc < 0)
        return rc;
    if (len == 8)
        *v = from_be64((const uint8_t *)val);
    else
        rc = NU_EPARSE;
    rocksdb_free(val);
    return rc;
}

static void put_u64(rocksdb_writebatch_t *b, const char *name, uint64_t v)
{
    char k[KEY_MAX];
    uint8_t val[8];
    be64(val, v);
    rocksdb_writebatch_put(b, k, str_key(k, 'm', name), (const char *)val, sizeof(val));
}

static int commit(struct sim_store *s, rocksdb_writebatch_t *b, char *errbuf)
{
    char *err = NULL;
    rocksdb_write(s->db, s->wopts, b, &err);
    rocksdb_writebatch_destroy(b);
    return err ? db_err(errbuf, err, "rocksdb write") : 0;
}

int sim_store_read_meta(struct sim_store *s, struct sim_store_meta *m, char *errbuf)
{
    uint64_t archive = 0;
    memset(m, 0, sizeof(*m));
    int rc = get_u64(s, "head", &m->head);
    if (rc == NU_ENOENT)
        return 0;
    if (rc == 0)
        rc = get_u64(s, "earliest", &m->earliest);
    if (rc == 0)
        rc = get_u64(s, "tail", &m->tail);
    if (rc == 0)
        rc = get_u64(s, "archive", &archive);
    if (rc == 0 && (rc = get_u64(s, "fork_from", &m->fork_from)) == NU_ENOENT) {
        m->fork_from = 0; /* a database from before forks, or never forked */
        rc = 0;
    }
    if (rc < 0)
        return nu_err_set(errbuf, rc, "database metadata is damaged (%s)", nu_strerror(rc));
    char k[KEY_MAX], *val;
    size_t len;
    if (get_raw(s, k, str_key(k, 'm', "genesis"), &val, &len) == 0) {
        bool same = len == strlen(s->node->gen.genesis_hash) &&
                    memcmp(val, s->node->gen.genesis_hash, len) == 0;
        rocksdb_free(val);
        if (!same)
            return nu_err_set(errbuf, NU_ESTATE,
                              "the database belongs to a different genesis than genesis.json");
    }
    m->found = true;
    m->archive = archive != 0;
    return 0;
}

int sim_store_write_meta(struct sim_store *s, const struct sim_store_meta *m, char *errbuf)
{
    char k[KEY_MAX];
    const char *gh = s->node->gen.genesis_hash;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    put_u64(b, "head", m->head);
    put_u64(b, "earliest", m->earliest);
    put_u64(b, "tail", m->tail);
    put_u64(b, "archive", m->archive ? 1 : 0);
    put_u64(b, "fork_from", m->fork_from);
    rocksdb_writebatch_put(b, k, str_key(k, 'm', "genesis"), gh, strlen(gh));
    return commit(s, b, errbuf);
}

static void put_block(struct sim_store *s, rocksdb_writebatch_t *b, uint64_t h, uint8_t *val,
                      size_t payload)
{
    uint8_t bk[9];
    char hk[KEY_MAX];
    uint8_t hv[8];
    char hash[SIM_HASH_MAX];
    struct sim_block blk;
    sim_chain_block(s->node, h, &blk);
    memcpy(hash, blk.hash, sizeof(hash));
    size_t hlen = strlen(hash) + 1;
    memcpy(val, hash, hlen);
    if (payload > 0)
        sim_chain_payload(s->node, h, val + hlen, payload);
    rocksdb_writebatch_put(b, (const char *)bk, block_key(bk, h), (const char *)val,
                           hlen + payload);
    be64(hv, h);
    rocksdb_writebatch_put(b, hk, str_key(hk, 'h', hash), (const char *)hv, sizeof(hv));
}

int sim_store_append(struct sim_store *s, uint64_t from, uint64_t to, char *errbuf)
{
    size_t payload = s->node->cfg.sim_block_payload_bytes;
    uint8_t *val = malloc(SIM_HASH_MAX + payload);
    if (val == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (uint64_t h = from; h <= to; h++)
        put_block(s, b, h, val, payload);
    put_u64(b, "head", to);
    free(val);
    return commit(s, b, errbuf);
}

static void delete_block(struct sim_store *s, rocksdb_writebatch_t *b, uint64_t h)
{
    uint8_t bk[9];
    char hk[KEY_MAX];
    struct sim_block blk;
    sim_chain_block(s->node, h, &blk);
    rocksdb_writebatch_delete(b, (const char *)bk, block_key(bk, h));
    rocksdb_writebatch_delete(b, hk, str_key(hk, 'h', blk.hash));
}

int sim_store_gc(struct sim_store *s, uint64_t below, unsigned budget, uint64_t *tail, char *errbuf)
{
    uint8_t k[9];
    int deleted = 0;
    uint64_t next = below;
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->ropts);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    /* Seek skips unstored ranges (e.g. left behind by state sync) at no cost. */
    rocksdb_iter_seek(it, (const char *)k, block_key(k, *tail));
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const uint8_t *key = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen != 9 || key[0] != 'b')
            break;
        uint64_t h = from_be64(key + 1);
        if (h >= below)
            break;
        if ((unsigned)deleted == budget) {
            next = h;
            break;
        }
        delete_block(s, b, h);
        deleted++;
    }
    rocksdb_iter_destroy(it);
    *tail = next;
    put_u64(b, "tail", next);
    int rc = commit(s, b, errbuf);
    return rc < 0 ? rc : deleted;
}

int sim_store_truncate_above(struct sim_store *s, uint64_t height, uint64_t old_head, char *errbuf)
{
    uint8_t from[9], to[9];
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range(b, (const char *)from, block_key(from, height + 1),
                                    (const char *)to, block_key(to, old_head + 1));
    for (uint64_t h = height + 1; h <= old_head && h - height <= HASH_INDEX_DELETE_MAX; h++) {
        char hk[KEY_MAX];
        struct sim_block blk;
        sim_chain_block(s->node, h, &blk);
        rocksdb_writebatch_delete(b, hk, str_key(hk, 'h', blk.hash));
    }
    put_u64(b, "head", height);
    return commit(s, b, errbuf);
}

int sim_store_get_block(struct sim_store *s, uint64_t height, struct sim_block *out)
{
    uint8_t k[9];
    char *val;
    size_t len;
    /* GC deletes in bounded steps; blocks below earliest are already gone. */
    if (s == NULL || height < s->node->earliest)
        return NU_ENOENT;
    int rc = get_raw(s, k, block_key(k, height), &val, &len);
    if (rc < 0)
        return rc;
    rocksdb_free(val);
    sim_chain_block(s->node, height, out);
    return 0;
}

int sim_store_height_by_hash(struct sim_store *s, const char *hash, uint64_t *height)
{
    char k[KEY_MAX], *val;
    size_t len;
    struct sim_block blk;
    if (s == NULL || strlen(hash) >= SIM_HASH_MAX)
        return NU_ENOENT;
    int rc = get_raw(s, k, str_key(k, 'h', hash), &val, &len);
    if (rc < 0)
        return rc;
    uint64_t h = len == 8 ? from_be64((const uint8_t *)val) : 0;
    rocksdb_free(val);
    if (len != 8)
        return NU_EIO;
    /* Index entries of truncated blocks may linger; the block must exist. */
    rc = sim_store_get_block(s, h, &blk);
    if (rc < 0)
        return rc;
    *height = h;
    return 0;
}

int sim_store_put(struct sim_store *s, const char *key, const void *val, size_t len)
{
    char k[KEY_MAX];
    char *err = NULL;
    if (s == NULL || strlen(key) >= KEY_MAX - 1)
        return NU_EINVAL;
    rocksdb_put(s->db, s->wopts, k, str_key(k, 'k', key), val, len, &err);
    if (err != NULL) {
        rocksdb_free(err);
        return NU_EIO;
    }
    return 0;
}

int sim_store_get(struct sim_store *s, const char *key, char **val, size_t *len)
{
    char k[KEY_MAX], *raw;
    if (s == NULL || strlen(key) >= KEY_MAX - 1)
        return NU_EINVAL;
    int rc = get_raw(s, k, str_key(k, 'k', key), &raw, len);
    if (rc < 0)
        return rc;
    /* rocksdb_get memory must go back through rocksdb_free; hand out malloc'd. */
    *val = malloc(*len + 1);
    if (*val != NULL) {
        memcpy(*val, raw, *len);
        (*val)[*len] = '\0';
    }
    rocksdb_free(raw);
    return *val ? 0 : NU_ENOMEM;
}
