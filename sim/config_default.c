/* The config.json `neard init` writes: Config::default() serialized by
 * serde_json in struct field order, with the per-chain block delays. Field
 * names and values follow nearcore/src/config.rs and
 * chain/network/src/config_json.rs. */
#include <string.h>

#include "core.h"
#include "json.h"

#define DUR(ms) nu_json_duration(ms)

static json_t *rpc_json(void)
{
    return json_pack("{s:s, s:n, s:[s], s:{s:o, s:o}, s:{s:I}, s:b, s:n}", "addr", "0.0.0.0:3030",
                     "prometheus_addr", "cors_allowed_origins", "*", "polling_config",
                     "polling_interval", DUR(500), "polling_timeout", DUR(10000), "limits_config",
                     "json_payload_max_size", (json_int_t)10485760, "enable_debug_rpc", 0,
                     "experimental_debug_pages_src_path");
}

static json_t *network_json(void)
{
    json_t *n =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:o, s:i, s:i, s:o, s:b}", "addr",
                  "0.0.0.0:24567", "external_address", "", "boot_nodes", "", "whitelist_nodes", "",
                  "max_num_peers", 40, "minimum_outbound_peers", 5, "ideal_connections_lo", 30,
                  "ideal_connections_hi", 35, "peer_recent_time_window", DUR(600000),
                  "safe_set_size", 20, "archival_peer_connections_lower_bound", 10,
                  "handshake_timeout", DUR(20000), "skip_sync_wait", 0);
    json_t *more =
        json_pack("{s:o, s:[], s:o, s:o, s:o, s:i, s:o, s:[], s:b, s:[s,s,s,s,s]}", "ban_window",
                  DUR(10800000), "blacklist", "ttl_account_id_router", DUR(3600000),
                  "peer_stats_period", DUR(5000), "monitor_peers_max_period", DUR(60000),
                  "peer_states_cache_size", 1000, "peer_expiration_duration", DUR(604800000),
                  "public_addrs", "allow_private_ip_in_public_addrs", 0, "trusted_stun_servers",
                  "stun.l.google.com:19302", "stun1.l.google.com:19302", "stun2.l.google.com:19302",
                  "stun3.l.google.com:19302", "stun4.l.google.com:19302");
    if (n == NULL || more == NULL || json_object_update(n, more) < 0) {
        json_decref(n);
        n = NULL;
    }
    json_decref(more);
    return n;
}

static json_t *consensus_json(uint64_t min_ms, uint64_t max_ms)
{
    json_t *c = json_pack("{s:i, s:o, s:o, s:o, s:o, s:b, s:i, s:i, s:o, s:o}", "min_num_peers", 3,
                          "block_production_tracking_delay", DUR(100), "min_block_production_delay",
                          DUR(min_ms), "max_block_production_delay", DUR(max_ms),
                          "max_block_wait_delay", DUR(6000), "produce_empty_blocks", 1,
                          "block_fetch_horizon", 50, "block_header_fetch_horizon", 50,
                          "catchup_step_period", DUR(100), "chunk_request_retry_period", DUR(400));
    json_t *more = json_pack(
        "{s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o, s:i, s:i}", "header_sync_initial_timeout",
        DUR(10000), "header_sync_progress_timeout", DUR(2000), "header_sync_stall_ban_timeout",
        DUR(120000), "state_sync_timeout", DUR(60000), "header_sync_expected_height_per_second", 10,
        "sync_check_period", DUR(10000), "sync_step_period", DUR(10), "doomslug_step_period",
        DUR(100), "sync_height_threshold", 1, "sync_max_block_requests", 10);
    if (c == NULL || more == NULL || json_object_update(c, more) < 0) {
        json_decref(c);
        c = NULL;
    }
    json_decref(more);
    return c;
}

static json_t *store_json(void)
{
    return json_pack("{s:n, s:b, s:b, s:i, s:b, s:i, s:b, s:b}", "path", "enable_statistics", 0,
                     "enable_statistics_export", 1, "max_open_files", 10000, "migration_snapshot",
                     1, "background_migration_threads", 8, "state_snapshot_enabled", 0,
                     "state_snapshot_compaction_enabled", 0);
}

static void block_delays(const char *chain_id, bool fast, uint64_t *min_ms, uint64_t *max_ms)
{
    if (strcmp(chain_id, "mainnet") == 0) {
        *min_ms = SIM_MAINNET_MIN_DELAY;
        *max_ms = SIM_MAINNET_MAX_DELAY;
    } else if (strcmp(chain_id, "testnet") == 0) {
        *min_ms = SIM_TESTNET_MIN_DELAY;
        *max_ms = SIM_TESTNET_MAX_DELAY;
    } else if (fast) {
        *min_ms = SIM_FAST_MIN_DELAY;
        *max_ms = SIM_FAST_MAX_DELAY;
    } else {
        *min_ms = SIM_DEFAULT_MIN_DELAY;
        *max_ms = SIM_DEFAULT_MAX_DELAY;
    }
}

/* Fields after "consensus", in neard's order. */
static json_t *tail_json(void)
{
    return json_pack("{s:[], s:n, s:s, s:s, s:o, s:n, s:i, s:i, s:i, s:o, s:i, s:o, s:I, s:o, "
                     "s:b, s:n, s:I, s:i, s:i}",
                     "tracked_accounts", "tracked_shadow_validator", "tracked_shards_config",
                     "AllShards", "log_summary_style", "colored", "log_summary_period", DUR(10000),
                     "enable_multiline_logging", "gc_blocks_limit", 2, "gc_fork_clean_step", 100,
                     "gc_num_epochs_to_keep", 5, "gc_step_period", DUR(500), "view_client_threads",
                     4, "view_client_throttle_period", DUR(30000), "trie_viewer_state_size_limit",
                     (json_int_t)50000, "store", store_json(), "state_sync_enabled", 1,
                     "epoch_sync", "transaction_pool_size_limit", (json_int_t)100000000,
                     "tx_routing_height_horizon", 4, "orphan_state_witness_pool_size", 25);
}

json_t *sim_config_default_json(const char *chain_id, bool fast)
{
    uint64_t min_ms, max_ms;
    block_delays(chain_id, fast, &min_ms, &max_ms);
    json_t *root =
        json_pack("{s:s, s:n, s:s, s:s, s:o, s:{s:[]}, s:o, s:o}", "genesis_file", SIM_GENESIS_FILE,
                  "genesis_records_file", "validator_key_file", SIM_VALIDATOR_KEY_FILE,
                  "node_key_file", SIM_NODE_KEY_FILE, "rpc", rpc_json(), "telemetry", "endpoints",
                  "network", network_json(), "consensus", consensus_json(min_ms, max_ms));
    json_t *tail = tail_json();
    if (root == NULL || tail == NULL || json_object_update(root, tail) < 0) {
        json_decref(root);
        root = NULL;
    }
    json_decref(tail);
    return root;
}

int sim_json_merge(json_t *dst, const json_t *src)
{
    const char *key;
    json_t *v;
    if (!json_is_object(dst) || !json_is_object(src))
        return NU_EINVAL;
    json_object_foreach((json_t *)src, key, v)
    {
        json_t *d = json_object_get(dst, key);
        if (json_is_object(d) && json_is_object(v)) {
            int rc = sim_json_merge(d, v);
            if (rc < 0)
                return rc;
        } else if (json_object_set(dst, key, v) < 0) {
            return NU_ENOMEM;
        }
    }
    return 0;
}
