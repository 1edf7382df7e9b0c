/* neard-sim: shared types between the node core (CLI, files, chain, store,
 * network, lifecycle) and the RPC side (HTTP routes, JSON-RPC, metrics,
 * failure injection). Everything runs on one uv loop (n->loop); RPC code
 * reads node state directly and never blocks. */
#ifndef SIM_H
#define SIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>
#include "error.h"
#include "keys.h"

/* What `neard-sim --version` reports (build is always "sim"). */
#define SIM_RELEASE "2.4.0"
#define SIM_BUILD "sim"
#define SIM_RUSTC "1.82.0"
#define SIM_PROTOCOL 73
#define SIM_DB_VERSION 42

#define SIM_HASH_MAX 64  /* base58 of 32 bytes + NUL fits in 45 */
#define SIM_ADDR_MAX 128 /* "host:port" */
#define SIM_CHAIN_ID_MAX 64
#define SIM_MAX_PEERS 64
#define SIM_MAX_VALIDATORS 100
#define SIM_MAX_SHARDS 16

/* SyncStatus::repr() values as in near_sync_status. */
enum sim_sync_status {
    SIM_SYNC_NO_SYNC = 0,
    SIM_SYNC_AWAITING_PEERS = 1,
    SIM_SYNC_EPOCH_SYNC = 2,
    SIM_SYNC_EPOCH_SYNC_DONE = 3,
    SIM_SYNC_HEADER_SYNC = 4,
    SIM_SYNC_STATE_SYNC = 5,
    SIM_SYNC_STATE_SYNC_DONE = 6,
    SIM_SYNC_BLOCK_SYNC = 7,
};

/* How RPC errors map to HTTP status: nearcore >= 2.4 (400/408/422/500) or
 * the older behaviour where every JSON-RPC reply is 200. */
enum sim_http_status_mode { SIM_HTTP_STATUS_2_4 = 0, SIM_HTTP_STATUS_LEGACY_200 = 1 };

/* config.json, the fields neard-sim uses (neard's names and defaults). */
struct sim_config {
    char rpc_addr[SIM_ADDR_MAX];     /* rpc.addr, default "0.0.0.0:3030"; "" when rpc is absent */
    size_t json_payload_max_size;    /* rpc.limits_config.json_payload_max_size, 10 MiB */
    uint64_t polling_timeout_ms;     /* rpc.polling_config.polling_timeout, 10 s */
    bool enable_debug_rpc;           /* rpc.enable_debug_rpc */
    char network_addr[SIM_ADDR_MAX]; /* network.addr, default "0.0.0.0:24567" */
    char *boot_nodes;                /* network.boot_nodes (owned, may be "") */
    unsigned max_num_peers;          /* network.max_num_peers, 40 */
    bool skip_sync_wait;             /* network.skip_sync_wait */
    unsigned min_num_peers;          /* consensus.min_num_peers, 3 */
    uint64_t min_block_production_delay_ms; /* consensus.*; also the simulated block time */
    uint64_t max_block_production_delay_ms; /* /health: stale after 10x this */
    bool archive;
    uint64_t gc_num_epochs_to_keep; /* default 5, effective minimum 3 */
    char tracked_shards[64];        /* "AllShards", "NoShards" or "Shards" */
    char store_path[PATH_MAX];      /* absolute: home + store.path (default "data") */
    bool has_expected_shutdown;
    uint64_t expected_shutdown;
    uint64_t log_summary_period_ms; /* log_summary_period, 10 s */
    /* Simulator knobs: optional "sim" object in config.json (neard ignores
     * unknown fields with a warning), all have defaults. */
    uint64_t sim_sync_rate;                         /* sim.sync_blocks_per_sec, default 200 */
    size_t sim_block_payload_bytes;                 /* sim.block_payload_bytes, default 0 */
    enum sim_http_status_mode sim_http_status_mode; /* sim.http_status_mode "2.4"|"legacy" */
    uint64_t sim_http_keep_alive_ms; /* sim.http_keep_alive_ms, default 5000: idle keep-alive
                                        connections of the RPC server are closed after this */
    uint64_t sim_fork_from_height;   /* sim.fork_from_height: 0 none; else the data is made
                                        (and stays) a fork from this height at start */
    /* File names from config.json, relative to home (neard's defaults). */
    char genesis_file[256];       /* genesis_file, "genesis.json" */
    char node_key_file[256];      /* node_key_file, "node_key.json" */
    char validator_key_file[256]; /* validator_key_file, "validator_key.json" */
};

struct sim_validator {
    char account_id[NU_ACCOUNT_ID_MAX + 1];
    char public_key[NU_KEY_TEXT_MAX];
    char amount[48]; /* yoctoNEAR as a decimal string */
};

/* genesis.json, the fields neard-sim uses. */
struct sim_genesis {
    char chain_id[SIM_CHAIN_ID_MAX];
    uint64_t genesis_time_ns; /* unix ns, from RFC3339 genesis_time */
    uint64_t genesis_height;
    uint64_t epoch_length;
    unsigned protocol_version;
    unsigned num_shards;
    size_t nvalidators;
    struct sim_validator validators[SIM_MAX_VALIDATORS];
    char genesis_hash[SIM_HASH_MAX]; /* hash of the genesis block */
    json_t *json;                    /* whole parsed genesis.json (owned) */
};

/* A block as the simulator derives it: every node of a chain computes the
 * same fields for the same height. */
struct sim_block {
    uint64_t height;
    char hash[SIM_HASH_MAX];
    char prev_hash[SIM_HASH_MAX];
    uint64_t timestamp_ns;
    char epoch_id[SIM_HASH_MAX];
    char next_epoch_id[SIM_HASH_MAX];
    uint64_t epoch_start_height;
    char author[NU_ACCOUNT_ID_MAX + 1];
    char state_root[SIM_HASH_MAX];
    char chunk_hashes[SIM_MAX_SHARDS][SIM_HASH_MAX]; /* one per shard */
};

struct sim_peer {
    char id[NU_KEY_TEXT_MAX];               /* "ed25519:..." node public key */
    char addr[SIM_ADDR_MAX];                /* address the peer listens on */
    char account_id[NU_ACCOUNT_ID_MAX + 1]; /* "" when unknown */
    uint64_t head;                          /* peer's last announced head */
};

/* Failure injection (POST /sim/control; only with --sim-control). */
struct sim_faults {
    unsigned latency_ms; /* added before every RPC answer */
    int error_rate_pct;  /* 0..100: answer INTERNAL_ERROR this often */
    int status_503_pct;  /* 0..100: answer HTTP 503 this often */
    int close_pct;       /* 0..100: close the connection mid-response this often */
    int drop_pct;        /* 0..100: close the connection unanswered, unprocessed */
    bool hang;           /* stop answering HTTP entirely (accept, never reply) */
    bool not_synced;     /* finality references fail NOT_SYNCED_YET / NO_SYNCED_BLOCKS */
};

struct sim_store;
struct sim_net;
struct sim_rpc;

struct sim_node {
    uv_loop_t *loop;
    char home[PATH_MAX];
    struct sim_config cfg;
    struct sim_genesis gen;
    struct nu_keypair node_key;
    struct nu_keypair validator_key;
    bool has_validator_key;
    bool sim_control; /* --sim-control given */
    struct sim_store *store;
    struct sim_net *net;
    struct sim_rpc *rpc;

    /* chain state, kept current by the node core */
    uint64_t head;        /* stored head height */
    uint64_t earliest;    /* lowest stored height (moves with GC) */
    uint64_t header_head; /* best known network head */
    uint64_t sync_target; /* height being caught up to */
    enum sim_sync_status sync_status;
    bool stalled; /* block production stalled by /sim/control */
    /* 0: the chain of genesis and config. Else every per-height hash from
     * this height on is of a fork (sim_chain_hash); a property of the
     * data: stored in the database's meta, so a copy of it stays forked. */
    uint64_t fork_from;

    struct sim_peer peers[SIM_MAX_PEERS];
    unsigned npeers;                     /* connected, handshaken peers */
    uint64_t sent_bytes, received_bytes; /* network totals */

    struct sim_faults faults;
    uint64_t boot_time_ns; /* unix ns at start */
    bool stopping;
    /* near_config_correct: true after a good start or SIGHUP reload, false
     * after a SIGHUP whose config.json failed to load (node keeps running). */
    bool config_correct;
    uint64_t sync_start; /* height where the current sync began (stats %) */
};

/* ---- provided by the node core (sim/chain.c, sim/store.c, sim/node.c) ---- */

/* Height of the chain's head at time now_ns, from genesis time and block time. */
uint64_t sim_chain_network_head(const struct sim_node *n, uint64_t now_ns);
/* Derives block `height` of the chain (no storage access). */
void sim_chain_block(const struct sim_node *n, uint64_t height, struct sim_block *out);
/* Epoch arithmetic. */
uint64_t sim_chain_epoch_start(const struct sim_node *n, uint64_t height);

/* Reads a stored block; NU_ENOENT when it is not (or no longer) stored. */
NU_WUR int sim_store_get_block(struct sim_store *s, uint64_t height, struct sim_block *out);
/* Height of a stored block by its hash; NU_ENOENT when unknown. */
NU_WUR int sim_store_height_by_hash(struct sim_store *s, const char *hash, uint64_t *height);
/* Generic column for RPC state (transactions, accounts): key/value bytes.
 * get returns a malloc'd value (caller frees). */
NU_WUR int sim_store_put(struct sim_store *s, const char *key, const void *val, size_t len);
NU_WUR int sim_store_get(struct sim_store *s, const char *key, char **val, size_t *len);

/* True when the node's validator key is one of the genesis validators
 * (neard's near_is_validator and its "Validator |" status line). */
bool sim_node_is_validator(const struct sim_node *n);

/* Failure injection entry points used by /sim/control. */
void sim_node_set_stalled(struct sim_node *n, bool stalled);
/* Drops the head back to height (deleting stored blocks above it) and
 * resyncs from there. NU_EINVAL if height is above the head or below earliest. */
NU_WUR int sim_node_resync_from(struct sim_node *n, uint64_t height);
/* Makes the node's chain differ from height on (0: the chain of genesis
 * and config again): stored blocks whose hash changes are dropped and
 * synced again, and the fork point is written to the database. NU_EINVAL
 * (why in err) when a changed block lies at or below the earliest one
 * still stored, or height is not above the genesis height. */
NU_WUR int sim_node_fork_from(struct sim_node *n, uint64_t height, char *err, size_t errsz);
/* sim_node_fork_from's checks alone (nothing changes). */
NU_WUR int sim_node_fork_check(const struct sim_node *n, uint64_t height, char *err, size_t errsz);
/* Begins a graceful stop (as SIGTERM); reason is logged. */
void sim_node_request_stop(struct sim_node *n, const char *reason);

/* ---- provided by the RPC side (sim/rpc*.c, sim/http.c, sim/metrics.c) ---- */

/* Starts the HTTP server on n->cfg.rpc_addr. Logs neard's
 * "Starting http server at <addr>" line. */
NU_WUR int sim_rpc_start(struct sim_node *n, char *errbuf);
/* Called by the node core after the head moves (cache invalidation). */
void sim_rpc_on_head(struct sim_node *n);
/* Graceful stop; done runs when every connection is closed. */
void sim_rpc_stop(struct sim_node *n, void (*done)(struct sim_node *n));

/* Release name neard-sim reports: $NEARD_SIM_RELEASE when set (1..32 chars
 * of [0-9A-Za-z.-], so tests can serve "different neard versions" from one
 * binary), otherwise SIM_RELEASE. */
const char *sim_release(void);
/* Protocol version this binary supports (latest_protocol_version):
 * $NEARD_SIM_PROTOCOL when set (1..1000, so tests can upgrade a chain's
 * protocol by switching the binary), otherwise SIM_PROTOCOL. */
unsigned sim_protocol(void);
/* Protocol version the chain runs: the genesis's (SIM_PROTOCOL when it has
 * none), or $NEARD_SIM_PROTOCOL when that is set and higher: the binary's
 * upgrade takes effect at once (the simulator has no validators voting). */
unsigned sim_protocol_version(const struct sim_genesis *g);

/* ---- logging in neard's format (sim/simlog.c) ----
 * "2026-11-28T23:10:07.123456Z  INFO neard: message" on stderr. */
void sim_log(const char *level, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
