/* status, health and network_info: the node-level views (neard's
 * StatusResponse, the health rule of client_actor.rs, NetworkInfoResponse).
 * The serialized status is cached: rebuilt only when head, tail, sync
 * state or the uptime second change, so /status stays cheap. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "base58.h"
#include "clock.h"
#include "json.h"
#include "rpc.h"
#include "sha256.h"

void rpc_hash_text(const void *data, size_t len, char out[SIM_HASH_MAX])
{
    unsigned char md[NU_SHA256_LEN];
    nu_sha256(data, len, md);
    if (nu_base58_encode(md, sizeof(md), out, SIM_HASH_MAX) < 0)
        out[0] = '\0';
}

void rpc_time_text(uint64_t unix_ns, char *out, size_t outsz)
{
    time_t secs = (time_t)(unix_ns / 1000000000ull);
    struct tm tm;
    char base[32];
    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%09" PRIu64 "Z", base, (uint64_t)(unix_ns % 1000000000u));
}

/* Block h as stored, or as derived when the store lacks it. */
static void block_or_derived(const struct sim_node *n, uint64_t h, struct sim_block *b)
{
    if (rpc_get_block(n, h, b) != 0)
        sim_chain_block(n, h, b);
}

static json_t *sync_info(const struct sim_node *n)
{
    struct sim_block head, early;
    char t1[64], t2[64];
    block_or_derived(n, n->head, &head);
    block_or_derived(n, n->earliest, &early);
    rpc_time_text(head.timestamp_ns, t1, sizeof(t1));
    rpc_time_text(early.timestamp_ns, t2, sizeof(t2));
    return json_pack("{s:s,s:I,s:s,s:s,s:b,s:s,s:I,s:s,s:s,s:I}", "latest_block_hash", head.hash,
                     "latest_block_height", (json_int_t)head.height, "latest_state_root",
                     head.state_root, "latest_block_time", t1, "syncing",
                     n->sync_status != SIM_SYNC_NO_SYNC, "earliest_block_hash", early.hash,
                     "earliest_block_height", (json_int_t)early.height, "earliest_block_time", t2,
                     "epoch_id", head.epoch_id, "epoch_start_height",
                     (json_int_t)head.epoch_start_height);
}

static json_t *validators_list(const struct sim_node *n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n->gen.nvalidators; i++)
        json_array_append_new(a, json_pack("{s:s,s:b}", "account_id",
                                           n->gen.validators[i].account_id, "is_slashed", 0));
    return a;
}

static json_t *status_object(const struct sim_node *n, uint64_t uptime)
{
    char node_pk[NU_KEY_TEXT_MAX], val_pk[NU_KEY_TEXT_MAX];
    nu_key_pub_text(&n->node_key, node_pk, sizeof(node_pk));
    json_t *vaccount = json_null(), *vkey = json_null(), *nkey = json_null();
    if (n->has_validator_key) {
        nu_key_pub_text(&n->validator_key, val_pk, sizeof(val_pk));
        vaccount = json_string(n->validator_key.account_id);
        vkey = json_string(val_pk);
        nkey = json_string(val_pk); /* node_key: deprecated alias of validator_public_key */
    }
    json_t *o = json_object();
    json_object_set_new(o, "version",
                        json_pack("{s:s,s:s,s:s}", "version", sim_release(), "build", SIM_BUILD,
                                  "rustc_version", SIM_RUSTC));
    json_object_set_new(o, "chain_id", json_string(n->gen.chain_id));
    json_object_set_new(o, "genesis_hash", json_string(n->gen.genesis_hash));
    json_object_set_new(
        o, "protocol_version",
        json_integer(sim_protocol_version(&n->gen)));
    json_object_set_new(o, "latest_protocol_version", json_integer(sim_protocol()));
    if (n->cfg.rpc_addr[0])
        json_object_set_new(o, "rpc_addr", json_string(n->cfg.rpc_addr));
    json_object_set_new(o, "validators", validators_list(n));
    json_object_set_new(o, "sync_info", sync_info(n));
    json_object_set_new(o, "validator_account_id", vaccount);
    json_object_set_new(o, "validator_public_key", vkey);
    json_object_set_new(o, "node_public_key", json_string(node_pk));
    json_object_set_new(o, "node_key", nkey);
    json_object_set_new(o, "uptime_sec", json_integer((json_int_t)uptime));
    return o;
}

int rpc_status_json(struct sim_rpc *rpc, const char **json, size_t *len)
{
    const struct sim_node *n = rpc->n;
    uint64_t now = nu_real_ns();
    uint64_t uptime = now > n->boot_time_ns ? (now - n->boot_time_ns) / 1000000000ull : 0;
    if (!rpc->status_valid || rpc->status_head != n->head || rpc->status_earliest != n->earliest ||
        rpc->status_sync != (int)n->sync_status || rpc->status_uptime != uptime) {
        json_t *o = status_object(n, uptime);
        nu_buf_reset(&rpc->status_json);
        int rc = o ? nu_json_dump_buf(o, &rpc->status_json, JSON_COMPACT) : NU_ENOMEM;
        json_decref(o);
        if (rc) {
            rpc->status_valid = false;
            return rc;
        }
        rpc->status_valid = true;
        rpc->status_head = n->head;
        rpc->status_earliest = n->earliest;
        rpc->status_sync = (int)n->sync_status;
        rpc->status_uptime = uptime;
    }
    *json = rpc->status_json.data;
    *len = rpc->status_json.len;
    return 0;
}

json_t *rpc_health_error(const struct sim_node *n)
{
    struct sim_block head;
    sim_chain_block(n, n->head, &head);
    uint64_t now = nu_real_ns();
    uint64_t elapsed = now > head.timestamp_ns ? now - head.timestamp_ns : 0;
    uint64_t limit = n->cfg.max_block_production_delay_ms * 1000000ull * SIM_RPC_HEALTH_MULTIPLIER;
    if (elapsed > limit) {
        json_t *dur = json_pack("{s:I,s:I}", "secs", (json_int_t)(elapsed / 1000000000ull), "nanos",
                                (json_int_t)(elapsed % 1000000000ull));
        return json_pack("{s:s,s:{s:o}}", "name", "NO_NEW_BLOCKS", "info", "elapsed", dur);
    }
    if (n->sync_status != SIM_SYNC_NO_SYNC)
        return json_pack("{s:s}", "name", "NODE_IS_SYNCING");
    return NULL;
}

json_t *rpc_network_info(const struct sim_node *n)
{
    json_t *active = json_array(), *producers = json_array();
    for (unsigned i = 0; i < n->npeers && i < SIM_MAX_PEERS; i++) {
        const struct sim_peer *p = &n->peers[i];
        json_t *acct = p->account_id[0] ? json_string(p->account_id) : json_null();
        json_array_append_new(
            active, json_pack("{s:s,s:s,s:o}", "id", p->id, "addr", p->addr, "account_id", acct));
        if (p->account_id[0])
            json_array_append_new(producers, json_pack("{s:s,s:s,s:s}", "account_id", p->account_id,
                                                       "addr", p->addr, "peer_id", p->id));
    }
    uint64_t now = nu_real_ns();
    uint64_t up = now > n->boot_time_ns ? (now - n->boot_time_ns) / 1000000000ull : 0;
    if (up == 0)
        up = 1;
    return json_pack("{s:o,s:I,s:I,s:I,s:I,s:o}", "active_peers", active, "num_active_peers",
                     (json_int_t)n->npeers, "peer_max_count", (json_int_t)n->cfg.max_num_peers,
                     "sent_bytes_per_sec", (json_int_t)(n->sent_bytes / up),
                     "received_bytes_per_sec", (json_int_t)(n->received_bytes / up),
                     "known_producers", producers);
}

void rpc_m_status(struct rpc_call *c)
{
    const char *json;
    size_t len;
    if (rpc_status_json(c->ex->rpc, &json, &len) != 0) {
        rpc_call_fail(c, rpc_err_internal("status unavailable"), 500);
        return;
    }
    rpc_call_ok_raw(c, json, len);
}

/* health: result null, or HANDLER_ERROR whose data is the error object. */
void rpc_m_health(struct rpc_call *c)
{
    json_t *err = rpc_health_error(c->n);
    if (!err) {
        rpc_call_ok(c, json_null());
        return;
    }
    const char *name = json_string_value(json_object_get(err, "name"));
    json_t *info = json_object_get(err, "info");
    rpc_call_fail(c, rpc_err_handler(name, json_incref(info), err), 200);
}

void rpc_m_network_info(struct rpc_call *c)
{
    rpc_call_ok(c, rpc_network_info(c->n));
}
