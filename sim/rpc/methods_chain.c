/* Chain views: block, chunk, gas_price, validators,
 * EXPERIMENTAL_protocol_config and EXPERIMENTAL_genesis_config, plus block
 * reference resolution shared with query. Blocks come from the store (or
 * are derived with sim_chain_block when there is none, as in the fuzzer). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "base58.h"
#include "rpc.h"

#define CHUNK_SCAN_MAX 10000 /* chunk_id lookups search this many recent blocks */
#define EPOCH_SCAN_MAX 16    /* validators {"epoch_id"} looks this many epochs back */
#define SIM_GAS_LIMIT 1000000000000000ll

int rpc_get_block(const struct sim_node *n, uint64_t h, struct sim_block *out)
{
    if (h > n->head || h < n->earliest || h < n->gen.genesis_height)
        return NU_ENOENT;
    if (!n->store) {
        sim_chain_block(n, h, out);
        return 0;
    }
    return sim_store_get_block(n->store, h, out);
}

static void ref_set(struct rpc_ref *r, enum rpc_ref_err e, const char *what)
{
    r->err = e;
    if (what)
        snprintf(r->what, sizeof(r->what), "%s", what);
}

static void resolve_height(const struct sim_node *n, uint64_t h, struct rpc_ref *r,
                           struct sim_block *blk)
{
    r->height = h;
    if (h > n->head || h < n->gen.genesis_height) {
        r->err = REF_UNKNOWN_HEIGHT;
        return;
    }
    if (h < n->earliest && !n->cfg.archive) {
        r->err = REF_GC;
        return;
    }
    r->err = rpc_get_block(n, h, blk) == 0 ? REF_OK : REF_UNKNOWN_HEIGHT;
}

void rpc_resolve_block_id(const struct sim_node *n, const json_t *id, struct rpc_ref *r,
                          struct sim_block *blk)
{
    memset(r, 0, sizeof(*r));
    if (json_is_integer(id) && json_integer_value(id) >= 0) {
        resolve_height(n, (uint64_t)json_integer_value(id), r, blk);
        return;
    }
    uint8_t raw[64];
    size_t rawlen = 0;
    if (!json_is_string(id) || nu_base58_decode(json_string_value(id), raw, sizeof(raw), &rawlen) ||
        rawlen != 32) {
        ref_set(r, REF_PARSE, "data did not match any variant of untagged enum BlockId");
        return;
    }
    snprintf(r->hash, sizeof(r->hash), "%s", json_string_value(id));
    uint64_t h;
    if (!n->store || sim_store_height_by_hash(n->store, r->hash, &h) != 0) {
        r->err = REF_UNKNOWN_HASH;
        return;
    }
    resolve_height(n, h, r, blk);
    if (r->err == REF_UNKNOWN_HEIGHT)
        r->err = REF_UNKNOWN_HASH;
}

/* Still at genesis while syncing, or the /sim/control not_synced fault: a
 * node whose status says synced but whose finality lookups fail, which a
 * status-based health check does not see. */
static bool not_synced(const struct sim_node *n)
{
    return n->faults.not_synced ||
           (n->sync_status != SIM_SYNC_NO_SYNC && n->head <= n->gen.genesis_height);
}

static void resolve_finality(const struct sim_node *n, const char *f, struct rpc_ref *r,
                             struct sim_block *blk)
{
    uint64_t back;
    if (!f)
        back = UINT64_MAX;
    else if (strcmp(f, "optimistic") == 0)
        back = 0;
    else if (strcmp(f, "near-final") == 0)
        back = 1;
    else if (strcmp(f, "final") == 0)
        back = 2;
    else
        back = UINT64_MAX;
    if (back == UINT64_MAX) {
        ref_set(r, REF_PARSE,
                "unknown variant, expected one of `optimistic`, `near-final`, "
                "`final`");
        return;
    }
    if (not_synced(n)) {
        r->err = REF_NOT_SYNCED;
        return;
    }
    uint64_t h = n->head >= back ? n->head - back : 0;
    if (h < n->earliest)
        h = n->earliest;
    resolve_height(n, h, r, blk);
}

void rpc_resolve_ref(const struct sim_node *n, const json_t *obj, struct rpc_ref *r,
                     struct sim_block *blk)
{
    memset(r, 0, sizeof(*r));
    json_t *fin = json_object_get(obj, "finality");
    json_t *bid = json_object_get(obj, "block_id");
    json_t *cp = json_object_get(obj, "sync_checkpoint");
    int count = (fin != NULL) + (bid != NULL) + (cp != NULL);
    if (!json_is_object(obj) || count != 1) {
        ref_set(r, REF_PARSE, "data did not match any variant of untagged enum BlockReference");
        return;
    }
    if (fin) {
        resolve_finality(n, json_string_value(fin), r, blk);
    } else if (bid) {
        rpc_resolve_block_id(n, bid, r, blk);
    } else {
        const char *s = json_string_value(cp);
        if (s && strcmp(s, "genesis") == 0)
            resolve_height(n, n->gen.genesis_height, r, blk);
        else if (s && strcmp(s, "earliest_available") == 0)
            resolve_height(n, n->earliest, r, blk);
        else
            ref_set(r, REF_PARSE, "unknown variant, expected `genesis` or `earliest_available`");
    }
}

void rpc_fail_ref(struct rpc_call *c, const struct rpc_ref *r)
{
    switch (r->err) {
    case REF_PARSE:
        rpc_fail_args(c, "%s", r->what);
        break;
    case REF_UNKNOWN_HASH:
        rpc_call_fail(c, rpc_err_unknown_block_hash(r->hash), 200);
        break;
    case REF_NOT_SYNCED:
        rpc_call_fail(c,
                      rpc_err_handler("NOT_SYNCED_YET", NULL,
                                      json_string("There are no fully synchronized blocks yet")),
                      200);
        break;
    case REF_UNKNOWN_HEIGHT:
    case REF_GC:
    default:
        rpc_fail_unknown_height(c, r->height);
        break;
    }
}

/* A hash derived from the block and a field name: stable per chain. */
static void derived_hash(const struct sim_block *b, const char *what, char out[SIM_HASH_MAX])
{
    char seed[160];
    int len = snprintf(seed, sizeof(seed), "%s/%s", b->hash, what);
    rpc_hash_text(seed, (size_t)len, out);
}

static json_t *chunk_header(const struct sim_node *n, const struct sim_block *b, unsigned shard)
{
    char outcome[SIM_HASH_MAX], merkle[SIM_HASH_MAX], receipts[SIM_HASH_MAX], txr[SIM_HASH_MAX];
    char sig[SIM_HASH_MAX + 8];
    derived_hash(b, "chunk_outcome_root", outcome);
    derived_hash(b, "chunk_encoded_merkle_root", merkle);
    derived_hash(b, "chunk_receipts_root", receipts);
    derived_hash(b, "chunk_tx_root", txr);
    snprintf(sig, sizeof(sig), "ed25519:%s", merkle);
    json_t *h = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:i,s:i,s:I,s:s,s:s,s:s,s:s,s:s,s:[]}", "chunk_hash",
        b->chunk_hashes[shard], "prev_block_hash", b->prev_hash, "outcome_root", outcome,
        "prev_state_root", b->state_root, "encoded_merkle_root", merkle, "encoded_length", 8,
        "height_created", (json_int_t)b->height, "height_included", (json_int_t)b->height,
        "shard_id", (int)shard, "gas_used", 0, "gas_limit", SIM_GAS_LIMIT, "rent_paid", "0",
        "validator_reward", "0", "balance_burnt", "0", "outgoing_receipts_root", receipts,
        "tx_root", txr, "validator_proposals");
    json_object_set_new(h, "signature", json_string(sig));
    (void)n;
    return h;
}

unsigned rpc_num_shards(const struct sim_node *n)
{
    unsigned s = n->gen.num_shards;
    return s == 0 ? 1 : (s > SIM_MAX_SHARDS ? SIM_MAX_SHARDS : s);
}

const char *rpc_gas_price_text(const struct sim_node *n)
{
    const char *p = json_string_value(json_object_get(n->gen.json, "min_gas_price"));
    return p ? p : "100000000";
}

static json_t *block_header(const struct sim_node *n, const struct sim_block *b)
{
    char ts[32], names[9][SIM_HASH_MAX], sig[SIM_HASH_MAX + 8];
    static const char *const fields[9] = {
        "block_body_hash", "chunk_receipts_root", "chunk_headers_root",
        "chunk_tx_root",   "outcome_root",        "challenges_root",
        "random_value",    "next_bp_hash",        "block_merkle_root"};
    struct sim_block f1, f2;
    sim_chain_block(n, b->height > 2 ? b->height - 2 : b->height, &f2);
    sim_chain_block(n, b->height > 1 ? b->height - 1 : b->height, &f1);
    snprintf(ts, sizeof(ts), "%" PRIu64, b->timestamp_ns);
    json_t *h = json_object(), *mask = json_array();
    for (unsigned i = 0; i < rpc_num_shards(n); i++)
        json_array_append_new(mask, json_true());
    json_object_set_new(h, "height", json_integer((json_int_t)b->height));
    json_object_set_new(h, "prev_height",
                        json_integer((json_int_t)(b->height ? b->height - 1 : 0)));
    json_object_set_new(h, "epoch_id", json_string(b->epoch_id));
    json_object_set_new(h, "next_epoch_id", json_string(b->next_epoch_id));
    json_object_set_new(h, "hash", json_string(b->hash));
    json_object_set_new(h, "prev_hash", json_string(b->prev_hash));
    json_object_set_new(h, "prev_state_root", json_string(b->state_root));
    for (int i = 0; i < 9; i++) {
        derived_hash(b, fields[i], names[i]);
        json_object_set_new(h, fields[i], json_string(names[i]));
    }
    json_object_set_new(h, "chunks_included", json_integer(rpc_num_shards(n)));
    json_object_set_new(h, "timestamp", json_integer((json_int_t)b->timestamp_ns));
    json_object_set_new(h, "timestamp_nanosec", json_string(ts));
    json_object_set_new(h, "validator_proposals", json_array());
    json_object_set_new(h, "chunk_mask", mask);
    json_object_set_new(h, "gas_price", json_string(rpc_gas_price_text(n)));
    json_object_set_new(h, "block_ordinal",
                        json_integer((json_int_t)(b->height - n->gen.genesis_height + 1)));
    json_object_set_new(h, "rent_paid", json_string("0"));
    json_object_set_new(h, "validator_reward", json_string("0"));
    json_t *supply = json_object_get(n->gen.json, "total_supply");
    json_object_set_new(h, "total_supply", supply ? json_incref(supply) : json_string("0"));
    json_object_set_new(h, "challenges_result", json_array());
    json_object_set_new(h, "last_final_block", json_string(f2.hash));
    json_object_set_new(h, "last_ds_final_block", json_string(f1.hash));
    json_object_set_new(h, "epoch_sync_data_hash", json_null());
    json_object_set_new(h, "approvals", json_array());
    snprintf(sig, sizeof(sig), "ed25519:%s", names[6]);
    json_object_set_new(h, "signature", json_string(sig));
    json_object_set_new(h, "latest_protocol_version", json_integer(sim_protocol()));
    return h;
}

static json_t *block_view(const struct sim_node *n, const struct sim_block *b)
{
    json_t *chunks = json_array();
    for (unsigned s = 0; s < rpc_num_shards(n); s++)
        json_array_append_new(chunks, chunk_header(n, b, s));
    return json_pack("{s:s,s:o,s:o}", "author", b->author, "header", block_header(n, b), "chunks",
                     chunks);
}

/* block: params {"finality"|"block_id"|"sync_checkpoint"} or legacy [block_id]. */
void rpc_m_block(struct rpc_call *c)
{
    struct rpc_ref r;
    struct sim_block b;
    if (!c->params) {
        rpc_call_fail(c, rpc_err_parse("Require at least one parameter"), 400);
        return;
    }
    if (json_is_array(c->params) && json_array_size(c->params) == 1)
        rpc_resolve_block_id(c->n, json_array_get(c->params, 0), &r, &b);
    else
        rpc_resolve_ref(c->n, c->params, &r, &b);
    if (r.err != REF_OK) {
        rpc_fail_ref(c, &r);
        return;
    }
    rpc_call_ok(c, block_view(c->n, &b));
}

/* Finds a chunk by hash among recent retained blocks. */
static bool find_chunk(const struct sim_node *n, const char *hash, struct sim_block *b,
                       unsigned *shard)
{
    uint64_t lo = n->earliest > n->gen.genesis_height ? n->earliest : n->gen.genesis_height;
    if (n->head >= lo + CHUNK_SCAN_MAX)
        lo = n->head - CHUNK_SCAN_MAX + 1;
    for (uint64_t h = n->head + 1; h-- > lo;) {
        sim_chain_block(n, h, b);
        for (unsigned s = 0; s < rpc_num_shards(n); s++) {
            if (strcmp(b->chunk_hashes[s], hash) == 0) {
                *shard = s;
                return rpc_get_block(n, h, b) == 0;
            }
        }
    }
    return false;
}

static void chunk_by_hash(struct rpc_call *c, const json_t *id)
{
    struct sim_block b;
    unsigned shard = 0;
    const char *hash = json_string_value(id);
    uint8_t raw[64];
    size_t rawlen = 0;
    if (!hash || nu_base58_decode(hash, raw, sizeof(raw), &rawlen) || rawlen != 32) {
        rpc_fail_args(c, "invalid chunk_id");
        return;
    }
    if (!find_chunk(c->n, hash, &b, &shard)) {
        char data[200];
        snprintf(data, sizeof(data),
                 "Chunk Missing (unavailable on the node): ChunkHash(`%s`) \n Cause: Unknown",
                 hash);
        rpc_call_fail(c,
                      rpc_err_handler("UNKNOWN_CHUNK", json_pack("{s:s}", "chunk_hash", hash),
                                      json_string(data)),
                      200);
        return;
    }
    rpc_call_ok(c, json_pack("{s:s,s:o,s:[],s:[]}", "author", b.author, "header",
                             chunk_header(c->n, &b, shard), "transactions", "receipts"));
}

/* chunk: {"chunk_id"} or {"block_id","shard_id"} (or the legacy [chunk_id]). */
void rpc_m_chunk(struct rpc_call *c)
{
    json_t *p = c->params;
    if (json_is_array(p) && json_array_size(p) == 1)
        p = json_array_get(p, 0);
    if (json_is_string(p)) {
        chunk_by_hash(c, p);
        return;
    }
    if (json_object_get(p, "chunk_id")) {
        chunk_by_hash(c, json_object_get(p, "chunk_id"));
        return;
    }
    json_t *bid = json_object_get(p, "block_id"), *sid = json_object_get(p, "shard_id");
    if (!bid || !json_is_integer(sid) || json_integer_value(sid) < 0) {
        rpc_fail_args(c, "data did not match any variant of untagged enum ChunkReference");
        return;
    }
    struct rpc_ref r;
    struct sim_block b;
    rpc_resolve_block_id(c->n, bid, &r, &b);
    if (r.err != REF_OK) {
        rpc_fail_ref(c, &r);
        return;
    }
    json_int_t shard = json_integer_value(sid);
    if (shard >= (json_int_t)rpc_num_shards(c->n)) {
        char data[80];
        snprintf(data, sizeof(data), "Shard id %" JSON_INTEGER_FORMAT " does not exist", shard);
        rpc_call_fail(c,
                      rpc_err_handler("INVALID_SHARD_ID", json_pack("{s:I}", "shard_id", shard),
                                      json_string(data)),
                      200);
        return;
    }
    rpc_call_ok(c, json_pack("{s:s,s:o,s:[],s:[]}", "author", b.author, "header",
                             chunk_header(c->n, &b, (unsigned)shard), "transactions", "receipts"));
}

/* gas_price: [null] | [height] | [hash] (or {"block_id": ...}). */
void rpc_m_gas_price(struct rpc_call *c)
{
    json_t *id = NULL;
    if (json_is_array(c->params) && json_array_size(c->params) == 1)
        id = json_array_get(c->params, 0);
    else if (json_is_object(c->params))
        id = json_object_get(c->params, "block_id");
    else if (c->params) {
        rpc_fail_args(c, "invalid type: expected a tuple of size 1");
        return;
    }
    if (id && !json_is_null(id)) {
        struct rpc_ref r;
        struct sim_block b;
        rpc_resolve_block_id(c->n, id, &r, &b);
        if (r.err != REF_OK) {
            rpc_fail_ref(c, &r);
            return;
        }
    }
    rpc_call_ok(c, json_pack("{s:s}", "gas_price", rpc_gas_price_text(c->n)));
}
