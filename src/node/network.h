/* The networks nearup knows, and what each needs at init. Any other name is
 * a custom (local) chain id, initialised like localnet's chains. */
#ifndef NODE_NETWORK_H
#define NODE_NETWORK_H

#include <stdbool.h>

struct node_network {
    const char *name;         /* "mainnet", "testnet", "betanet", "localnet" */
    const char *deploy_chain; /* whose nearcore-deploy/<chain>/latest_* names the binary */
    bool genesis_builtin;     /* neard carries it (mainnet) */
    bool download_genesis;    /* init --download-genesis(-url) */
    bool download_config;     /* init --download-config rpc (--download-config-url) */
    bool public_chain;        /* validator keys need --allow-mainnet-validator on mainnet */
};

/* Known network by name, or NULL for a custom chain id. */
const struct node_network *node_network_find(const char *name);
/* A custom chain id must be 1..64 chars of [a-z0-9._-], not starting with
 * '.' or '-'. */
bool node_chain_id_valid(const char *id);
/* The chain whose nearcore-deploy/<chain>/latest_* names the binary of
 * network name: its deploy_chain when known, else "testnet" (custom chains
 * run testnet's release). Never NULL. */
const char *node_network_deploy_chain(const char *name);

#endif
