/* neard-sim node core: declarations shared between the core's own files
 * (config, genesis, chain, store, init, localnet, node, net, download).
 * The contract with the RPC side is sim.h; nothing here is used by sim/rpc/. */
#ifndef SIM_CORE_H
#define SIM_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include "sim.h"

/* File names neard uses (nearcore/src/config.rs). */
#define SIM_CONFIG_FILE "config.json"
#define SIM_GENESIS_FILE "genesis.json"
#define SIM_NODE_KEY_FILE "node_key.json"
#define SIM_VALIDATOR_KEY_FILE "validator_key.json"
#define SIM_LOG_CONFIG_FILE "log_config.json"

/* Block production delays (ms) by chain, as neard's init sets them. */
#define SIM_MAINNET_MIN_DELAY 1300
#define SIM_MAINNET_MAX_DELAY 3000
#define SIM_TESTNET_MIN_DELAY 1000
#define SIM_TESTNET_MAX_DELAY 2500
#define SIM_FAST_MIN_DELAY 120
#define SIM_FAST_MAX_DELAY 500
#define SIM_DEFAULT_MIN_DELAY 600 /* chain-configs MIN_BLOCK_PRODUCTION_DELAY */
#define SIM_DEFAULT_MAX_DELAY 2000
#define SIM_FAST_EPOCH_LENGTH 60
#define SIM_EXPECTED_EPOCH_LENGTH 500 /* 5 min / MIN_BLOCK_PRODUCTION_DELAY */

/* Error chains in the style of anyhow: each context is one record in
 * errbuf, separated by SIM_ERR_SEP; sim_print_error() renders them. */
#define SIM_ERR_SEP '\x1e'
/* Prepends a context to the message already in errbuf. */
void sim_err_context(char *errbuf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "Error: <outer>\n\nCaused by:\n    ..." to stderr like anyhow. */
void sim_print_error(const char *errbuf);

/* ---- simlog.c ---- */
void sim_log_timestamp(char *out, size_t outsz);
/* Turns sim_log output off (fuzzers) or back on. */
void sim_log_set_enabled(bool on);
/* Rust panic with panic=abort: message on stderr, then SIGABRT. */
void sim_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- config.c ---- */
void sim_config_defaults(struct sim_config *c);
void sim_config_release(struct sim_config *c); /* frees owned strings; accepts NULL */
/* Reads <home>/config.json (comments allowed) into c; unknown fields are
 * logged as neard's warning. Errors name file:line:col where known. */
NU_WUR int sim_config_load(const char *home, struct sim_config *c, char *errbuf);
/* Same from an already parsed document; name is used in messages. */
NU_WUR int sim_config_from_json(const json_t *root, const char *name, const char *home,
                                struct sim_config *c, char *errbuf);
/* Re-reads only the dynamic fields (expected_shutdown) as neard's SIGHUP does. */
NU_WUR int sim_config_reload_dynamic(const char *home, struct sim_config *c, char *errbuf);
/* The config.json neard's init writes (new reference; caller decrefs). */
json_t *sim_config_default_json(const char *chain_id, bool fast);
/* Merges src over dst recursively (objects merge, other values replace). */
NU_WUR int sim_json_merge(json_t *dst, const json_t *src);

/* ---- genesis.c ---- */
NU_WUR int sim_genesis_load(const char *path, struct sim_genesis *g, char *errbuf);
/* Takes ownership of root. */
NU_WUR int sim_genesis_from_json(json_t *root, const char *name, struct sim_genesis *g,
                                 char *errbuf);
void sim_genesis_release(struct sim_genesis *g);
struct sim_genesis_account {
    const char *account_id;
    const char *public_key;
    bool validator; /* staked and in the validator set */
};
/* A local chain's genesis in neard's shape (new reference). */
json_t *sim_genesis_local_json(const char *chain_id, uint64_t genesis_time_ns,
                               uint64_t epoch_length, unsigned num_shards,
                               const struct sim_genesis_account *accts, size_t naccts);
/* The small embedded mainnet genesis (new reference). */
json_t *sim_genesis_mainnet_json(void);
NU_WUR int sim_time_parse(const char *s, uint64_t *ns);
/* RFC3339 with chrono's AutoSi precision (0, 3, 6 or 9 digits) and Z. */
void sim_time_format(uint64_t ns, char *out, size_t outsz);

/* ---- chain.c ---- */
uint64_t sim_chain_block_time_ms(const struct sim_node *n);
uint64_t sim_chain_epoch_index(const struct sim_node *n, uint64_t height);
/* base58(sha256(tag || chain_id || genesis_hash || height || extra)) into
 * out; from n->fork_from on, the fork height is hashed in last. */
void sim_chain_hash(const struct sim_node *n, const char *tag, uint64_t height, uint64_t extra,
                    char out[SIM_HASH_MAX]);
/* Fills len bytes of deterministic, incompressible block payload. */
void sim_chain_payload(const struct sim_node *n, uint64_t height, uint8_t *out, size_t len);

/* ---- store.c ---- */
struct sim_store_meta {
    bool found;                    /* false for a fresh database */
    uint64_t head, earliest, tail; /* tail: lowest height possibly still stored */
    bool archive;
    uint64_t fork_from; /* sim_node.fork_from of this data; 0 none */
};
/* Opens (creating) the RocksDB at path. A held LOCK fails with the
 * RocksDB message in errbuf. */
NU_WUR int sim_store_open(const char *path, struct sim_node *n, struct sim_store **out,
                          char *errbuf);
void sim_store_close(struct sim_store *s); /* accepts NULL */
NU_WUR int sim_store_read_meta(struct sim_store *s, struct sim_store_meta *m, char *errbuf);
/* Stores blocks [from, to] and moves the stored head to `to` in one batch. */
NU_WUR int sim_store_append(struct sim_store *s, uint64_t from, uint64_t to, char *errbuf);
NU_WUR int sim_store_write_meta(struct sim_store *s, const struct sim_store_meta *m, char *errbuf);
/* Deletes up to budget stored blocks below `below`, starting at the tail.
 * *tail is advanced; returns the number deleted (>= 0) or an error. */
NU_WUR int sim_store_gc(struct sim_store *s, uint64_t below, unsigned budget, uint64_t *tail,
                        char *errbuf);
/* Deletes every stored block above height. */
NU_WUR int sim_store_truncate_above(struct sim_store *s, uint64_t height, uint64_t old_head,
                                    char *errbuf);

/* ---- net.c ---- */
NU_WUR int sim_net_start(struct sim_node *n, char *errbuf);
/* Closes every connection and the listener; done runs once all handles are closed. */
void sim_net_stop(struct sim_node *n, void (*done)(struct sim_node *n));
/* Parses one "ed25519:<pk>@host:port" entry. */
NU_WUR int sim_net_parse_boot_node(const char *s, char *pk, size_t pksz, char *addr, size_t addrsz);

/* ---- node.c ---- */
struct sim_run_opts {
    const char *home;
    bool sim_control;
    bool archive;
    const char *boot_nodes; /* NULL: config's */
    const char *rpc_addr;   /* NULL: config's */
    const char *network_addr;
    bool has_min_peers;
    unsigned min_peers;
};
/* Runs the node until it stops; returns the process exit code. */
int sim_node_run(const struct sim_run_opts *o);

/* ---- init.c / localnet.c / download.c ---- */
struct sim_init_opts {
    const char *home;
    const char *chain_id; /* NULL: random test-chain-XXXXX */
    const char *account_id;
    const char *boot_nodes;
    const char *genesis;
    bool download_genesis;
    const char *download_genesis_url;
    const char *download_config; /* NULL, or "validator" | "rpc" | "archival" */
    const char *download_config_url;
    bool fast;
    unsigned num_shards;
    const char *test_seed;
};
NU_WUR int sim_init(const struct sim_init_opts *o, char *errbuf);
/* Writes a key file and logs neard's "Using key"/"Reusing key" lines. */
NU_WUR int sim_generate_or_load_key(const char *path, const char *account_id, const char *seed,
                                    struct nu_keypair *kp, bool *loaded, char *errbuf);

struct sim_localnet_opts {
    const char *home;
    unsigned shards, validators, non_validators, rpc, archival;
    const char *prefix;
    const char *tracked_shards; /* "all", "none" or "0,1" */
    bool archival_nodes;        /* older neard's --archival-nodes: archive=true on every node */
    bool fixed_shards;          /* older neard's --fixed-shards: shard_layout V1 fixed_shards */
};
NU_WUR int sim_localnet(const struct sim_localnet_opts *o, char *errbuf);

/* GETs url; xz content (by magic bytes) is decompressed. *out is
 * NUL-terminated, caller frees. */
NU_WUR int sim_download(const char *url, char **out, size_t *outlen, char *errbuf);
#define SIM_DOWNLOAD_MAX ((size_t)1 << 30) /* decompressed genesis/config bound */
#define SIM_NEAR_DEPLOY_URL                                                                        \
    "https://s3-us-west-1.amazonaws.com/build.nearprotocol.com/nearcore-deploy"

#endif
