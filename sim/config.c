/* config.json: neard's field names and defaults (nearcore/src/config.rs,
 * chain/network/src/config_json.rs, chain/jsonrpc/src/lib.rs).
 *
 * One table describes every setting the simulator reads: its dotted path,
 * type, bounds and where it lands in struct sim_config. The same table
 * parses the file and lists the known fields for neard's
 * "encountered unrecognised field" warning. Defaults live in
 * sim_config_defaults() (values) and sim_config_default_json() (the file
 * init writes, in neard's field order). */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "buf.h"
#include "fs.h"
#include "json.h"
#include "settings.h"

#define MIB (1024u * 1024u)
#define PAYLOAD_MAX (64u * MIB) /* sim.block_payload_bytes upper bound */
/* actix-web's default keep-alive: the RPC server of neard 2.4 (the release
 * simulated) closes a connection idle for 5 s between requests. */
#define KEEP_ALIVE_DEFAULT_MS 5000u
#define KEEP_ALIVE_MAX_MS (24u * 3600u * 1000u)

/* The table is the settings-table design every nearup program uses
 * (settings.h): name (here the dotted JSON path), type, field, bounds and
 * help. config.json's values are typed JSON rather than text, so
 * apply_opt reads them with jansson by the setting's type. NU_T_UINT
 * fields are unsigned or uint64_t, told apart by their size. */
#define STR(p, field, h)                                                                           \
    {                                                                                              \
        .name = p, .type = NU_T_STR, NU_FIELD(struct sim_config, field), .help = h                 \
    }
#define NUM(p, t, field, lo, hi, h)                                                                \
    {                                                                                              \
        .name = p, .type = t, NU_FIELD(struct sim_config, field), .min = lo, .max = hi, .help = h  \
    }

static const struct nu_setting opts[] = {
    STR("genesis_file", genesis_file, "genesis file name, relative to home"),
    STR("node_key_file", node_key_file, "network key file"),
    STR("validator_key_file", validator_key_file, "validator key file"),
    STR("rpc.addr", rpc_addr, "JSON-RPC listen address"),
    NUM("rpc.limits_config.json_payload_max_size", NU_T_SIZE, json_payload_max_size, 1, UINT32_MAX,
        "largest JSON-RPC body"),
    NUM("rpc.polling_config.polling_timeout", NU_T_MS, polling_timeout_ms, 0, UINT32_MAX,
        "tx/send_tx wait before TIMEOUT_ERROR"),
    NUM("rpc.enable_debug_rpc", NU_T_BOOL, enable_debug_rpc, 0, 1, "serve /debug pages"),
    STR("network.addr", network_addr, "P2P listen address"),
    NUM("network.max_num_peers", NU_T_UINT, max_num_peers, 0, SIM_MAX_PEERS, "peer limit"),
    NUM("network.skip_sync_wait", NU_T_BOOL, skip_sync_wait, 0, 1, "do not wait for peers"),
    NUM("consensus.min_num_peers", NU_T_UINT, min_num_peers, 0, SIM_MAX_PEERS,
        "peers needed before syncing"),
    NUM("consensus.min_block_production_delay", NU_T_MS, min_block_production_delay_ms, 1,
        UINT32_MAX, "block time of the simulated chain"),
    NUM("consensus.max_block_production_delay", NU_T_MS, max_block_production_delay_ms, 1,
        UINT32_MAX, "/health stale threshold is 10x this"),
    NUM("archive", NU_T_BOOL, archive, 0, 1, "keep every block"),
    NUM("gc_num_epochs_to_keep", NU_T_UINT, gc_num_epochs_to_keep, 1, 1000000,
        "epochs kept by GC (effective minimum 3)"),
    NUM("log_summary_period", NU_T_MS, log_summary_period_ms, 1, UINT32_MAX,
        "period of the stats line"),
    NUM("sim.sync_blocks_per_sec", NU_T_UINT, sim_sync_rate, 1, 10000000, "catch-up speed"),
    NUM("sim.block_payload_bytes", NU_T_SIZE, sim_block_payload_bytes, 0, PAYLOAD_MAX,
        "incompressible bytes stored per block"),
    NUM("sim.http_keep_alive_ms", NU_T_UINT, sim_http_keep_alive_ms, 1, KEEP_ALIVE_MAX_MS,
        "idle time after which the RPC server closes a keep-alive connection"),
    NUM("sim.fork_from_height", NU_T_UINT, sim_fork_from_height, 0, INT64_MAX,
        "the data's chain differs from this height on (0: no fork)"),
};

/* Every field neard knows in the sections we check, so a real neard
 * config.json never triggers the unknown-field warning. */
static const char *const known_top[] = {"genesis_file",
                                        "genesis_records_file",
                                        "validator_key_file",
                                        "node_key_file",
                                        "rpc",
                                        "rosetta_rpc",
                                        "telemetry",
                                        "network",
                                        "consensus",
                                        "tracked_accounts",
                                        "tracked_shadow_validator",
                                        "tracked_shards",
                                        "tracked_shard_schedule",
                                        "tracked_shards_config",
                                        "archive",
                                        "save_trie_changes",
                                        "log_summary_style",
                                        "log_summary_period",
                                        "enable_multiline_logging",
                                        "gc_blocks_limit",
                                        "gc_fork_clean_step",
                                        "gc_num_epochs_to_keep",
                                        "gc_step_period",
                                        "view_client_threads",
                                        "view_client_throttle_period",
                                        "trie_viewer_state_size_limit",
                                        "max_gas_burnt_view",
                                        "store",
                                        "cold_store",
                                        "split_storage",
                                        "expected_shutdown",
                                        "state_sync_enabled",
                                        "state_sync",
                                        "epoch_sync",
                                        "transaction_pool_size_limit",
                                        "resharding_config",
                                        "tx_routing_height_horizon",
                                        "produce_chunk_add_transactions_time_limit",
                                        "chunk_distribution_network",
                                        "orphan_state_witness_pool_size",
                                        "orphan_state_witness_max_size",
                                        "max_loaded_contracts",
                                        "save_latest_witnesses",
                                        "save_tx_outcomes",
                                        "client_background_migration_threads",
                                        "state_request_throttle_period",
                                        "state_request_server_threads",
                                        "enable_early_prepare_transactions",
                                        "sim",
                                        NULL};
static const char *const known_rpc[] = {"addr",
                                        "prometheus_addr",
                                        "cors_allowed_origins",
                                        "polling_config",
                                        "limits_config",
                                        "enable_debug_rpc",
                                        "experimental_debug_pages_src_path",
                                        NULL};
static const char *const known_network[] = {"addr",
                                            "external_address",
                                            "boot_nodes",
                                            "whitelist_nodes",
                                            "max_num_peers",
                                            "minimum_outbound_peers",
                                            "ideal_connections_lo",
                                            "ideal_connections_hi",
                                            "peer_recent_time_window",
                                            "safe_set_size",
                                            "archival_peer_connections_lower_bound",
                                            "handshake_timeout",
                                            "skip_sync_wait",
                                            "ban_window",
                                            "blacklist",
                                            "ttl_account_id_router",
                                            "peer_stats_period",
                                            "monitor_peers_max_period",
                                            "peer_states_cache_size",
                                            "peer_expiration_duration",
                                            "public_addrs",
                                            "allow_private_ip_in_public_addrs",
                                            "trusted_stun_servers",
                                            "experimental",
                                            "max_send_peers",
                                            "connect_to_reliable_peers_on_startup",
                                            NULL};
static const char *const known_consensus[] = {"min_num_peers",
                                              "block_production_tracking_delay",
                                              "min_block_production_delay",
                                              "max_block_production_delay",
                                              "max_block_wait_delay",
                                              "produce_empty_blocks",
                                              "block_fetch_horizon",
                                              "block_header_fetch_horizon",
                                              "catchup_step_period",
                                              "chunk_request_retry_period",
                                              "header_sync_initial_timeout",
                                              "header_sync_progress_timeout",
                                              "header_sync_stall_ban_timeout",
                                              "state_sync_timeout",
                                              "header_sync_expected_height_per_second",
                                              "sync_check_period",
                                              "sync_step_period",
                                              "doomslug_step_period",
                                              "sync_height_threshold",
                                              "sync_max_block_requests",
                                              "chunk_wait_mult",
                                              "state_sync_external_timeout",
                                              "state_sync_p2p_timeout",
                                              "state_sync_retry_backoff",
                                              "state_sync_external_backoff",
                                              "chunk_validation_threads",
                                              NULL};
static const char *const known_sim[] = {"sync_blocks_per_sec", "block_payload_bytes",
                                        "http_status_mode",    "http_keep_alive_ms",
                                        "fork_from_height",    NULL};

void sim_config_defaults(struct sim_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->rpc_addr, sizeof(c->rpc_addr), "0.0.0.0:3030");
    c->json_payload_max_size = 10 * MIB;
    c->polling_timeout_ms = 10000;
    snprintf(c->network_addr, sizeof(c->network_addr), "0.0.0.0:24567");
    c->max_num_peers = 40;
    c->min_num_peers = 3;
    c->min_block_production_delay_ms = SIM_DEFAULT_MIN_DELAY;
    c->max_block_production_delay_ms = SIM_DEFAULT_MAX_DELAY;
    c->gc_num_epochs_to_keep = 5;
    snprintf(c->tracked_shards, sizeof(c->tracked_shards), "NoShards");
    c->log_summary_period_ms = 10000;
    c->sim_sync_rate = 200;
    c->sim_http_status_mode = SIM_HTTP_STATUS_2_4;
    c->sim_http_keep_alive_ms = KEEP_ALIVE_DEFAULT_MS;
    snprintf(c->genesis_file, sizeof(c->genesis_file), SIM_GENESIS_FILE);
    snprintf(c->node_key_file, sizeof(c->node_key_file), SIM_NODE_KEY_FILE);
    snprintf(c->validator_key_file, sizeof(c->validator_key_file), SIM_VALIDATOR_KEY_FILE);
}

void sim_config_release(struct sim_config *c)
{
    if (c == NULL)
        return;
    free(c->boot_nodes);
    c->boot_nodes = NULL;
}

static const char *type_name(enum nu_stype t)
{
    switch (t) {
    case NU_T_STR:
        return "a string";
    case NU_T_BOOL:
        return "a boolean";
    case NU_T_MS:
        return "a duration {\"secs\": N, \"nanos\": M}";
    default:
        return "an unsigned integer";
    }
}

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size fields are stored as uint64_t");

/* Reads one table entry; absent or null leaves the default. */
static int apply_opt(const json_t *root, const struct nu_setting *o, struct sim_config *c,
                     const char *name, char *errbuf)
{
    char *dst = (char *)c + o->off;
    const char *s;
    int64_t i;
    bool b;
    uint64_t v = 0;
    int rc;
    switch (o->type) {
    case NU_T_STR:
        rc = nu_json_get_str(root, o->name, &s);
        if (rc == 0 && strlen(s) >= o->size)
            return nu_err_set(errbuf, NU_EINVAL, "%s: %s: value too long", name, o->name);
        if (rc == 0)
            snprintf(dst, o->size, "%s", s);
        break;
    case NU_T_BOOL:
        rc = nu_json_get_bool(root, o->name, &b);
        if (rc == 0)
            *(bool *)dst = b;
        break;
    case NU_T_MS:
        rc = nu_json_get_duration_ms(root, o->name, &v);
        break;
    default:
        rc = nu_json_get_int(root, o->name, &i);
        if (rc == 0 && i < 0)
            rc = NU_EINVAL;
        v = (uint64_t)i;
        break;
    }
    if (rc == NU_ENOENT)
        return 0;
    if (rc < 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: %s: invalid type, expected %s", name, o->name,
                          type_name(o->type));
    if (o->type == NU_T_STR || o->type == NU_T_BOOL)
        return 0;
    if (v < o->min || v > o->max)
        return nu_err_set(errbuf, NU_EINVAL, "%s: %s: %llu is out of range [%llu, %llu]", name,
                          o->name, (unsigned long long)v, (unsigned long long)o->min,
                          (unsigned long long)o->max);
    if (o->size == sizeof(unsigned))
        *(unsigned *)dst = (unsigned)v;
    else
        *(uint64_t *)dst = v;
    return 0;
}

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

/* Appends unknown keys of obj (prefixed) to b, comma separated. */
static void collect_unknown(const json_t *obj, const char *prefix, const char *const *known,
                            struct nu_buf *b, int *count)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (in_list(known, key))
            continue;
        if ((*count > 0 && nu_buf_puts(b, ", ") < 0) ||
            nu_buf_printf(b, "%s%s%s", prefix, *prefix ? "." : "", key) < 0)
            return; /* the warning is best effort; a huge list is cut */
        (*count)++;
    }
}

static void warn_unknown(const json_t *root, const char *name)
{
    struct nu_buf b;
    int count = 0;
    nu_buf_init(&b, 4096);
    collect_unknown(root, "", known_top, &b, &count);
    collect_unknown(json_object_get(root, "rpc"), "rpc", known_rpc, &b, &count);
    collect_unknown(json_object_get(root, "network"), "network", known_network, &b, &count);
    collect_unknown(json_object_get(root, "consensus"), "consensus", known_consensus, &b, &count);
    collect_unknown(json_object_get(root, "sim"), "sim", known_sim, &b, &count);
    if (count > 0)
        sim_log("WARN", "neard", "%s: encountered unrecognised field%s: %s", name,
                count > 1 ? "s" : "", b.data);
    nu_buf_release(&b);
}

/* tracked_shards_config (newer) or the legacy tracked_shards list. */
static int parse_tracked(const json_t *root, struct sim_config *c, const char *name, char *errbuf)
{
    json_t *t = json_object_get(root, "tracked_shards_config");
    json_t *legacy = json_object_get(root, "tracked_shards");
    const char *v = NULL;
    if (json_is_string(t)) {
        v = json_string_value(t);
        if (strcmp(v, "AllShards") != 0 && strcmp(v, "NoShards") != 0)
            return nu_err_set(errbuf, NU_EINVAL, "%s: tracked_shards_config: unknown variant `%s`",
                              name, v);
    } else if (json_is_object(t) && json_object_size(t) == 1) {
        v = json_object_iter_key(json_object_iter(t));
    } else if (t != NULL && !json_is_null(t)) {
        return nu_err_set(errbuf, NU_EINVAL, "%s: tracked_shards_config: invalid type", name);
    } else if (json_is_array(legacy)) {
        /* Legacy meaning: an empty list tracks nothing, any shard tracks all. */
        v = json_array_size(legacy) > 0 ? "AllShards" : "NoShards";
    }
    if (v != NULL)
        snprintf(c->tracked_shards, sizeof(c->tracked_shards), "%s", v);
    return 0;
}

static int parse_special(const json_t *root, struct sim_config *c, const char *name,
                         const char *home, char *errbuf)
{
    json_t *rpc = json_object_get(root, "rpc");
    if (rpc == NULL || json_is_null(rpc))
        c->rpc_addr[0] = '\0'; /* neard: no "rpc" section, no HTTP server */
    const char *s = "";
    int rc = nu_json_get_str(root, "network.boot_nodes", &s);
    if (rc == NU_EINVAL)
        return nu_err_set(errbuf, rc, "%s: network.boot_nodes: invalid type, expected a string",
                          name);
    free(c->boot_nodes);
    c->boot_nodes = strdup(rc == 0 ? s : "");
    if (c->boot_nodes == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int64_t h;
    rc = nu_json_get_int(root, "expected_shutdown", &h);
    if (rc == NU_EINVAL || (rc == 0 && h < 0))
        return nu_err_set(errbuf, NU_EINVAL, "%s: expected_shutdown: expected a block height",
                          name);
    c->has_expected_shutdown = rc == 0;
    c->expected_shutdown = rc == 0 ? (uint64_t)h : 0;
    const char *path = "data";
    rc = nu_json_get_str(root, "store.path", &path);
    if (rc == NU_EINVAL)
        return nu_err_set(errbuf, rc, "%s: store.path: invalid type, expected a string", name);
    if (path[0] == '/')
        snprintf(c->store_path, sizeof(c->store_path), "%s", path);
    else if (nu_fs_join(c->store_path, sizeof(c->store_path), home, path) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: store.path: path too long", name);
    const char *mode = "2.4";
    rc = nu_json_get_str(root, "sim.http_status_mode", &mode);
    if (rc == NU_EINVAL || (strcmp(mode, "2.4") != 0 && strcmp(mode, "legacy") != 0))
        return nu_err_set(errbuf, NU_EINVAL,
                          "%s: sim.http_status_mode: expected \"2.4\" or \"legacy\"", name);
    c->sim_http_status_mode =
        strcmp(mode, "legacy") == 0 ? SIM_HTTP_STATUS_LEGACY_200 : SIM_HTTP_STATUS_2_4;
    return parse_tracked(root, c, name, errbuf);
}

int sim_config_from_json(const json_t *root, const char *name, const char *home,
                         struct sim_config *c, char *errbuf)
{
    if (!json_is_object(root))
        return nu_err_set(errbuf, NU_EINVAL, "%s: invalid type, expected a JSON object", name);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        int rc = apply_opt(root, &opts[i], c, name, errbuf);
        if (rc < 0)
            return rc;
    }
    int rc = parse_special(root, c, name, home, errbuf);
    if (rc < 0)
        return rc;
    if (c->min_block_production_delay_ms > c->max_block_production_delay_ms)
        return nu_err_set(errbuf, NU_EINVAL,
                          "%s: consensus.min_block_production_delay is greater than "
                          "consensus.max_block_production_delay",
                          name);
    warn_unknown(root, name);
    return 0;
}

int sim_config_load(const char *home, struct sim_config *c, char *errbuf)
{
    char path[PATH_MAX];
    char inner[NU_ERRMSG_MAX];
    json_t *root = NULL;
    if (nu_fs_join(path, sizeof(path), home, SIM_CONFIG_FILE) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "home path too long");
    int rc = nu_json_load_file(path, true, &root, inner);
    if (rc == 0)
        rc = sim_config_from_json(root, path, home, c, inner);
    json_decref(root);
    if (rc < 0)
        return nu_err_set(errbuf, rc,
                          "config.json file issue: Failed to deserialize config from %s: %s", path,
                          inner);
    return 0;
}

int sim_config_reload_dynamic(const char *home, struct sim_config *c, char *errbuf)
{
    /* Parse into a scratch copy so a broken file changes nothing. */
    struct sim_config tmp;
    sim_config_defaults(&tmp);
    int rc = sim_config_load(home, &tmp, errbuf);
    if (rc == 0) {
        c->has_expected_shutdown = tmp.has_expected_shutdown;
        c->expected_shutdown = tmp.expected_shutdown;
    }
    sim_config_release(&tmp);
    return rc;
}
