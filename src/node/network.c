/* The networks nearup knows (see network.h). */
#include <string.h>

#include "network.h"

#define CHAIN_ID_MAX 64

/* localnet has no deploy of its own: it runs testnet's release. mainnet's
 * genesis is built into neard, but its config (boot nodes) is downloaded;
 * the old nearup stopped doing that and fresh mainnet homes got none. */
static const struct node_network networks[] = {
    {"mainnet", "mainnet", true, false, true, true},
    {"testnet", "testnet", false, true, true, true},
    {"betanet", "betanet", false, true, true, true},
    {"localnet", "testnet", false, false, false, false},
};

const struct node_network *node_network_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(networks) / sizeof(networks[0]); i++) {
        if (strcmp(networks[i].name, name) == 0)
            return &networks[i];
    }
    return NULL;
}

/* The id ends up in paths (~/.near/<id>) and bucket URLs, so besides the
 * character set a leading '.' (".", "..", hidden dirs) or '-' (read as an
 * option) is refused. */
bool node_chain_id_valid(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strlen(id);
    if (n == 0 || n > CHAIN_ID_MAX || id[0] == '.' || id[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

const char *node_network_deploy_chain(const char *name)
{
    const struct node_network *n = node_network_find(name);
    return n ? n->deploy_chain : "testnet";
}
