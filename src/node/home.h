/* Making a neard home: through neard's own `init`, into a temporary dir
 * beside the home that is renamed into place, so an interrupted init never
 * leaves a half-made home. An existing home is reused when its genesis
 * chain_id matches; another chain is an error, never a reset. data/ is
 * deleted only with reset_data. */
#ifndef NODE_HOME_H
#define NODE_HOME_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"

struct node_home_opts {
    const char *neard;       /* binary used for `init` */
    const char *home;        /* absolute */
    const char *network;     /* mainnet/testnet/betanet/localnet or a chain id */
    const char *account_id;  /* validator account or NULL */
    const char *boot_nodes;  /* or NULL */
    const char *release_url; /* base of the bucket (genesis/config downloads) */
    bool archival;
    bool allow_mainnet_validator;
    bool reset_data; /* delete <home>/data before starting */
};

/* Creates or checks the home. On success the home has config.json,
 * genesis.json and keys for the network. */
NU_WUR int node_home_prepare(const struct node_home_opts *o, char *errbuf);
/* Deletes <home>/data (what reset_data does); the caller holds the home
 * lock (state.h). */
NU_WUR int node_home_reset_data(const char *home, char *errbuf);
/* chain_id of <home>/genesis.json into out. */
NU_WUR int node_home_chain_id(const char *home, char *out, size_t outsz, char *errbuf);
/* The RPC address from <home>/config.json, with 0.0.0.0 turned into
 * 127.0.0.1, as "host:port". */
NU_WUR int node_home_rpc_addr(const char *home, char *out, size_t outsz, char *errbuf);

/* Sets config.json's expected_shutdown to height, or removes it when
 * height < 0, with an atomic rewrite that keeps every other field, their
 * order, the file mode and the final newline. */
NU_WUR int node_home_set_expected_shutdown(const char *home, int64_t height, char *errbuf);
/* config.json's expected_shutdown into *height; NU_ENOENT when it has none. */
NU_WUR int node_home_expected_shutdown(const char *home, int64_t *height, char *errbuf);
/* Sets config.json's "archive" to true, rewriting it as above. */
NU_WUR int node_home_set_archive(const char *home, char *errbuf);

#endif
