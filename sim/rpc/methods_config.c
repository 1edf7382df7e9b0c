/* validators, EXPERIMENTAL_protocol_config and EXPERIMENTAL_genesis_config:
 * views built from genesis.json and the epoch arithmetic of the chain. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "rpc.h"

#define EPOCH_SCAN_MAX 16 /* {"epoch_id"} is looked up this many epochs back */

struct epoch {
    uint64_t start, end; /* heights; end is the last block so far */
    uint64_t height;     /* epoch_height (1 for the first epoch) */
};

static void epoch_of(const struct sim_node *n, uint64_t h, struct epoch *e)
{
    uint64_t len = n->gen.epoch_length ? n->gen.epoch_length : 1;
    e->start = sim_chain_epoch_start(n, h);
    e->end = e->start + len - 1 < n->head ? e->start + len - 1 : n->head;
    e->height = (e->start - n->gen.genesis_height) / len + 1;
}

/* Blocks of the epoch split round-robin among the validators. */
static uint64_t share(uint64_t total, size_t nval, size_t i)
{
    return total / nval + (i < total % nval ? 1 : 0);
}

static json_t *current_validator(const struct sim_node *n, const struct epoch *e, size_t i)
{
    const struct sim_validator *v = &n->gen.validators[i];
    uint64_t blocks = share(e->end - e->start + 1, n->gen.nvalidators, i);
    unsigned shards = rpc_num_shards(n);
    json_t *shard_ids = json_array(), *per_shard = json_array();
    for (unsigned s = 0; s < shards; s++) {
        json_array_append_new(shard_ids, json_integer(s));
        json_array_append_new(per_shard, json_integer((json_int_t)blocks));
    }
    return json_pack("{s:s,s:s,s:b,s:s,s:o,s:I,s:I,s:I,s:I,s:O,s:o}", "account_id", v->account_id,
                     "public_key", v->public_key, "is_slashed", 0, "stake", v->amount, "shards",
                     shard_ids, "num_produced_blocks", (json_int_t)blocks, "num_expected_blocks",
                     (json_int_t)blocks, "num_produced_chunks", (json_int_t)(blocks * shards),
                     "num_expected_chunks", (json_int_t)(blocks * shards),
                     "num_produced_chunks_per_shard", per_shard, "num_expected_chunks_per_shard",
                     per_shard);
}

static json_t *validator_info(const struct sim_node *n, const struct epoch *e)
{
    json_t *cur = json_array(), *next = json_array();
    for (size_t i = 0; i < n->gen.nvalidators; i++) {
        const struct sim_validator *v = &n->gen.validators[i];
        json_t *shards = json_array();
        for (unsigned s = 0; s < rpc_num_shards(n); s++)
            json_array_append_new(shards, json_integer(s));
        json_array_append_new(cur, current_validator(n, e, i));
        json_array_append_new(next, json_pack("{s:s,s:s,s:s,s:o}", "account_id", v->account_id,
                                              "public_key", v->public_key, "stake", v->amount,
                                              "shards", shards));
    }
    return json_pack("{s:o,s:o,s:[],s:[],s:[],s:[],s:I,s:I}", "current_validators", cur,
                     "next_validators", next, "current_fishermen", "next_fishermen",
                     "current_proposals", "prev_epoch_kickout", "epoch_start_height",
                     (json_int_t)e->start, "epoch_height", (json_int_t)e->height);
}

static bool find_epoch_id(const struct sim_node *n, const char *id, struct epoch *e)
{
    uint64_t h = n->head;
    for (int k = 0; k < EPOCH_SCAN_MAX; k++) {
        struct sim_block b;
        epoch_of(n, h, e);
        sim_chain_block(n, e->start, &b);
        if (strcmp(b.epoch_id, id) == 0)
            return true;
        if (e->start <= n->gen.genesis_height)
            break;
        h = e->start - 1;
    }
    return false;
}

static void fail_unknown_epoch(struct rpc_call *c)
{
    rpc_call_fail(c, rpc_err_handler("UNKNOWN_EPOCH", NULL, json_string("Unknown Epoch")), 200);
}

/* validators: [null] | "latest" | {"epoch_id"} | {"block_id"} | [block_id]. */
void rpc_m_validators(struct rpc_call *c)
{
    const struct sim_node *n = c->n;
    json_t *p = c->params;
    struct epoch e;
    if (json_is_array(p) && json_array_size(p) == 1)
        p = json_is_null(json_array_get(p, 0)) ? NULL : json_array_get(p, 0);
    if (!p || (json_is_string(p) && strcmp(json_string_value(p), "latest") == 0) ||
        (json_is_array(p) && json_array_size(p) == 0)) {
        epoch_of(n, n->head, &e);
    } else if (json_is_string(json_object_get(p, "epoch_id"))) {
        if (!find_epoch_id(n, json_string_value(json_object_get(p, "epoch_id")), &e)) {
            fail_unknown_epoch(c);
            return;
        }
    } else if (json_is_integer(p) || json_is_string(p) || json_object_get(p, "block_id")) {
        struct rpc_ref r;
        struct sim_block b;
        rpc_resolve_block_id(n, json_is_object(p) ? json_object_get(p, "block_id") : p, &r, &b);
        if (r.err == REF_PARSE) {
            rpc_fail_ref(c, &r);
            return;
        }
        if (r.err != REF_OK && r.err != REF_GC) {
            fail_unknown_epoch(c);
            return;
        }
        epoch_of(n, r.height, &e);
    } else {
        rpc_fail_args(c, "unknown variant, expected one of `epoch_id`, `block_id`, `latest`");
        return;
    }
    rpc_call_ok(c, validator_info(n, &e));
}

/* Genesis fields that ProtocolConfigView shares with GenesisConfig. */
static const char *const protocol_fields[] = {
    "genesis_time",
    "genesis_height",
    "num_block_producer_seats",
    "num_block_producer_seats_per_shard",
    "avg_hidden_validator_seats_per_shard",
    "dynamic_resharding",
    "protocol_upgrade_stake_threshold",
    "epoch_length",
    "gas_limit",
    "min_gas_price",
    "max_gas_price",
    "block_producer_kickout_threshold",
    "chunk_producer_kickout_threshold",
    "online_min_threshold",
    "online_max_threshold",
    "gas_price_adjustment_rate",
    "transaction_validity_period",
    "protocol_reward_rate",
    "max_inflation_rate",
    "num_blocks_per_year",
    "protocol_treasury_account",
    "fishermen_threshold",
    "minimum_stake_divisor",
    "shard_layout",
    NULL,
};

static json_t *runtime_config(void)
{
    return json_pack("{s:s,s:{s:i,s:s}}", "storage_amount_per_byte", "10000000000000000000",
                     "account_creation_config", "min_allowed_top_level_account_length", 65,
                     "registrar_account_id", "registrar");
}

/* EXPERIMENTAL_protocol_config: {"finality"} or {"block_id"}. */
void rpc_m_protocol_config(struct rpc_call *c)
{
    struct rpc_ref r;
    struct sim_block b;
    if (!c->params) {
        rpc_call_fail(c, rpc_err_parse("Require at least one parameter"), 400);
        return;
    }
    rpc_resolve_ref(c->n, c->params, &r, &b);
    if (r.err != REF_OK) {
        rpc_fail_ref(c, &r);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(
        o, "protocol_version",
        json_integer(sim_protocol_version(&c->n->gen)));
    json_object_set_new(o, "chain_id", json_string(c->n->gen.chain_id));
    for (size_t i = 0; protocol_fields[i]; i++) {
        json_t *v = json_object_get(c->n->gen.json, protocol_fields[i]);
        if (v)
            json_object_set(o, protocol_fields[i], v);
    }
    json_object_set_new(o, "runtime_config", runtime_config());
    rpc_call_ok(c, o);
}

/* EXPERIMENTAL_genesis_config: genesis.json without its records. */
void rpc_m_genesis_config(struct rpc_call *c)
{
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(c->n->gen.json, key, v)
    {
        if (strcmp(key, "records") != 0)
            json_object_set(o, key, v);
    }
    rpc_call_ok(c, o);
}
