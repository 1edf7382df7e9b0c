/* A local multi-node network under one root dir, as `neard localnet`
 * lays it out: <root>/node0 ... <root>/nodeN-1, validators first, then
 * archival, then RPC nodes; node0 is every other node's boot node. nearup
 * generates it once (into a temporary dir renamed into place), binds every
 * address to 127.0.0.1 unless asked for public, and runs each node under its
 * own supervisor. An existing localnet is reused, never regenerated. */
#ifndef NODE_LOCALNET_H
#define NODE_LOCALNET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define NODE_LOCALNET_MAX_NODES 64
#define NODE_LOCALNET_MAX_SHARDS 64
#define NODE_LOCALNET_CHAIN_ID "localnet"
#define NODE_LOCALNET_FAST_MIN_MS 120 /* --fast block production delays, as `init --fast` */
#define NODE_LOCALNET_FAST_MAX_MS 500

struct node_localnet_opts {
    const char *neard; /* binary that runs `localnet` */
    const char *root;  /* absolute; must not hold a localnet yet */
    unsigned validators;
    unsigned rpc;
    unsigned archival;
    unsigned shards;            /* --shards; 0: neard's default */
    const char *tracked_shards; /* --tracked-shards; NULL: neard's default */
    bool archival_nodes;        /* older neard's --archival-nodes (every node archival) */
    bool fixed_shards;          /* older neard's --fixed-shards */
};

/* The node homes of the localnet at root (<root>/node<i> holding a
 * config.json, i = 0, 1, ... until the first gap) into out; *n is 0 when
 * there is none. NU_EINVAL when root exists but is not a directory. */
NU_WUR int node_localnet_nodes(const char *root, char (*out)[PATH_MAX], size_t max, size_t *n,
                               char *errbuf);
/* Runs `<neard> --home <tmp> localnet -v V --non-validators-rpc R
 * --non-validators-archival A` (and --shards, --tracked-shards,
 * --archival-nodes, --fixed-shards when set) in a temporary dir beside root, then renames
 * it to root (which must be absent or an empty dir). neard's output is in
 * the error message when it fails. */
NU_WUR int node_localnet_generate(const struct node_localnet_opts *o, char *errbuf);
/* Rewrites <home>/config.json (atomically, keeping every other field and
 * the field order; only when something changes): rpc.addr and network.addr
 * listen on 127.0.0.1, or 0.0.0.0 when public; boot node addresses point at
 * 127.0.0.1; with fast, 120/500 ms block production delays. */
NU_WUR int node_localnet_config(const char *home, bool public_addrs, bool fast, char *errbuf);
/* "archival" (config.json archive), "validator" (its validator key is a
 * genesis validator) or "rpc". */
const char *node_localnet_role(const char *home);
/* Deletes <home>/data and <home>/cold-data (the node's databases; keys and
 * config stay). Only for --reset-data. */
NU_WUR int node_reset_data(const char *home, char *errbuf);

#endif
