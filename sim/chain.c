/* The simulated chain: every quantity is a pure function of genesis,
 * config and height, so all nodes of one chain agree without talking.
 *
 *   block_time   = consensus.min_block_production_delay
 *   head(now)    = genesis_height + floor((now - genesis_time) / block_time)
 *   timestamp(h) = genesis_time + (h - genesis_height) * block_time
 *   epoch(h)     = 0 for h <= genesis_height, else (h - genesis_height - 1) / epoch_length
 *   start(e)     = genesis_height for e = 0, else genesis_height + 1 + e * epoch_length
 *   epoch_id(e)  = 32 zero bytes for e = 0, else hash(last block of epoch e - 2),
 *                  where the last block of "epoch -1" is the genesis block (as neard)
 *   hash(h)      = base58(sha256("block" | chain_id | genesis_hash | h)), genesis: genesis_hash
 *   author(h)    = validators[h % nvalidators]
 *
 * A forked node (fork_from F, /sim/control or sim.fork_from_height) hashes
 * F in last for every h >= F: its blocks, state roots and chunks from F on,
 * the prev_hash of F + 1, the epoch ids that name those blocks, all differ
 * from the chain's, consistently. */
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "core.h"
#include "base58.h"
#include "sha256.h"

#define ZERO_HASH "11111111111111111111111111111111"

uint64_t sim_chain_block_time_ms(const struct sim_node *n)
{
    uint64_t ms = n->cfg.min_block_production_delay_ms;
    return ms > 0 ? ms : 1;
}

uint64_t sim_chain_network_head(const struct sim_node *n, uint64_t now_ns)
{
    const struct sim_genesis *g = &n->gen;
    if (now_ns <= g->genesis_time_ns)
        return g->genesis_height;
    return g->genesis_height +
           (now_ns - g->genesis_time_ns) / (sim_chain_block_time_ms(n) * 1000000ull);
}

uint64_t sim_chain_epoch_index(const struct sim_node *n, uint64_t height)
{
    const struct sim_genesis *g = &n->gen;
    if (height <= g->genesis_height)
        return 0;
    return (height - g->genesis_height - 1) / g->epoch_length;
}

static uint64_t epoch_start_of(const struct sim_node *n, uint64_t e)
{
    return e == 0 ? n->gen.genesis_height : n->gen.genesis_height + 1 + e * n->gen.epoch_length;
}

uint64_t sim_chain_epoch_start(const struct sim_node *n, uint64_t height)
{
    return epoch_start_of(n, sim_chain_epoch_index(n, height));
}

void sim_chain_hash(const struct sim_node *n, const char *tag, uint64_t height, uint64_t extra,
                    char out[SIM_HASH_MAX])
{
    struct nu_sha256 st;
    uint8_t h[NU_SHA256_LEN];
    uint8_t num[24];
    bool forked = n->fork_from != 0 && height >= n->fork_from;
    for (int i = 0; i < 8; i++) {
        num[i] = (uint8_t)(height >> (8 * i));
        num[8 + i] = (uint8_t)(extra >> (8 * i));
        num[16 + i] = (uint8_t)(n->fork_from >> (8 * i));
    }
    nu_sha256_init(&st);
    nu_sha256_update(&st, tag, strlen(tag) + 1);
    nu_sha256_update(&st, n->gen.chain_id, strlen(n->gen.chain_id) + 1);
    nu_sha256_update(&st, n->gen.genesis_hash, strlen(n->gen.genesis_hash) + 1);
    nu_sha256_update(&st, num, forked ? 24 : 16);
    nu_sha256_final(&st, h);
    if (nu_base58_encode(h, sizeof(h), out, SIM_HASH_MAX) < 0)
        out[0] = '\0'; /* cannot happen: 32 bytes always fit in SIM_HASH_MAX */
}

static void block_hash(const struct sim_node *n, uint64_t height, char out[SIM_HASH_MAX])
{
    if (height <= n->gen.genesis_height)
        memcpy(out, n->gen.genesis_hash, SIM_HASH_MAX);
    else
        sim_chain_hash(n, "block", height, 0, out);
}

static void epoch_id(const struct sim_node *n, uint64_t e, char out[SIM_HASH_MAX])
{
    if (e == 0) {
        snprintf(out, SIM_HASH_MAX, "%s", ZERO_HASH);
        return;
    }
    /* Last block of epoch e - 2; for e = 1 that is the genesis block. */
    uint64_t last = e == 1 ? n->gen.genesis_height : epoch_start_of(n, e - 1) - 1;
    block_hash(n, last, out);
}

void sim_chain_block(const struct sim_node *n, uint64_t height, struct sim_block *out)
{
    const struct sim_genesis *g = &n->gen;
    uint64_t e = sim_chain_epoch_index(n, height);
    memset(out, 0, sizeof(*out));
    out->height = height;
    block_hash(n, height, out->hash);
    if (height <= g->genesis_height)
        snprintf(out->prev_hash, sizeof(out->prev_hash), "%s", ZERO_HASH);
    else
        block_hash(n, height - 1, out->prev_hash);
    uint64_t delta = height > g->genesis_height ? height - g->genesis_height : 0;
    out->timestamp_ns = g->genesis_time_ns + delta * sim_chain_block_time_ms(n) * 1000000ull;
    epoch_id(n, e, out->epoch_id);
    epoch_id(n, e + 1, out->next_epoch_id);
    out->epoch_start_height = epoch_start_of(n, e);
    if (g->nvalidators > 0)
        snprintf(out->author, sizeof(out->author), "%s",
                 g->validators[height % g->nvalidators].account_id);
    sim_chain_hash(n, "state", height, 0, out->state_root);
    unsigned shards = g->num_shards ? g->num_shards : 1;
    for (unsigned s = 0; s < shards && s < SIM_MAX_SHARDS; s++)
        sim_chain_hash(n, "chunk", height, s, out->chunk_hashes[s]);
}

void sim_chain_payload(const struct sim_node *n, uint64_t height, uint8_t *out, size_t len)
{
    /* ChaCha20 keystream keyed by the block hash: deterministic per block
     * and incompressible, so RocksDB's size on disk tracks the knob. */
    uint8_t key[crypto_stream_chacha20_KEYBYTES];
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
    char hash[SIM_HASH_MAX];
    block_hash(n, height, hash);
    crypto_generichash(key, sizeof(key), (const uint8_t *)hash, strlen(hash), NULL, 0);
    crypto_stream_chacha20(out, len, nonce, key);
}
