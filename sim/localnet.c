/* `neard-sim localnet`: <home>/<prefix>0..N-1 as nearcore's
 * init_localnet_configs lays them out. Validators first, then archival, rpc
 * and plain nodes; keys are seeded by the directory name; ports are
 * reserved at random on 127.0.0.1; node0 is every other node's boot node. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>

#include "clock.h"
#include "core.h"
#include "fs.h"
#include "json.h"

#define LOCALNET_MAX_NODES 64
#define LOCALNET_CHAIN_ID "localnet"

enum role { ROLE_VALIDATOR, ROLE_ARCHIVAL, ROLE_RPC, ROLE_PLAIN };

struct lnode {
    char name[64];
    char dir[PATH_MAX];
    struct nu_keypair kp;
    char pk[NU_KEY_TEXT_MAX];
    int net_port, rpc_port;
    enum role role;
};

/* Lowest ephemeral port: ports handed to outgoing connections. */
static int ephemeral_low(void)
{
    int lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    return lo;
}

static bool can_bind(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Like neard's tcp::ListenerAddr::reserve_for_test, a random free port on
 * 127.0.0.1 -- but below the ephemeral range, so the port cannot be taken
 * by some outgoing connection before the node starts and binds it. */
static int reserve_port(char *errbuf)
{
    int lo = ephemeral_low();
    int base = lo > 12000 ? 10000 : 1024;
    int span = lo - base;
    for (int i = 0; span > 0 && i < 1000; i++) {
        int port = base + (int)randombytes_uniform((uint32_t)span);
        if (can_bind(port))
            return port;
    }
    return nu_err_set(errbuf, NU_ENET, "cannot reserve a port on 127.0.0.1");
}

static json_t *tracked_json(const char *spec, enum role role, char *errbuf)
{
    if (role == ROLE_ARCHIVAL || role == ROLE_RPC || strcasecmp(spec, "all") == 0)
        return json_string("AllShards");
    if (strcasecmp(spec, "none") == 0)
        return json_string("NoShards");
    json_t *list = json_array();
    for (const char *p = spec; list != NULL;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || (*end != ',' && *end != '\0')) {
            nu_err_set(errbuf, NU_EINVAL, "Shard id must be an integer");
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, json_pack("{s:i, s:i}", "shard_id", (int)v, "version", 0));
        if (*end == '\0')
            break;
        p = end + 1;
    }
    return json_pack("{s:o}", "Shards", list);
}

static int node_config(const struct sim_localnet_opts *o, const struct lnode *nodes, size_t i,
                       size_t total, json_t **out, char *errbuf)
{
    const struct lnode *ln = &nodes[i];
    char addr[64], boot[256] = "";
    json_t *c = sim_config_default_json(LOCALNET_CHAIN_ID, false);
    json_t *tracked = tracked_json(o->tracked_shards, ln->role, errbuf);
    int rc = c && tracked ? 0 : NU_EINVAL;
    if (i > 0)
        snprintf(boot, sizeof(boot), "%s@127.0.0.1:%d", nodes[0].pk, nodes[0].net_port);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ln->net_port);
    if (rc == 0)
        rc = nu_json_set(c, "network.addr", json_string(addr));
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ln->rpc_port);
    if (rc == 0)
        rc = nu_json_set(c, "rpc.addr", json_string(addr));
    if (rc == 0)
        rc = nu_json_set(c, "rpc.enable_debug_rpc", json_true());
    if (rc == 0)
        rc = nu_json_set(c, "network.boot_nodes", json_string(boot));
    if (rc == 0)
        rc = nu_json_set(c, "network.skip_sync_wait", json_boolean(o->validators == 1));
    if (rc == 0)
        rc = nu_json_set(c, "consensus.min_num_peers", json_integer(total - 1 < 3 ? total - 1 : 3));
    if (rc == 0)
        rc = nu_json_set(c, "tracked_shards_config", json_incref(tracked));
    if (rc == 0 && o->archival_nodes)
        rc = nu_json_set(c, "archive", json_true());
    if (rc == 0 && ln->role == ROLE_ARCHIVAL) {
        json_t *extra = json_pack("{s:b, s:b, s:{s:s}, s:{s:b}}", "archive", 1, "save_trie_changes",
                                  1, "cold_store", "path", "cold-data", "split_storage",
                                  "enable_split_storage_view_client", 1);
        rc = extra && json_object_update(c, extra) == 0 ? 0 : NU_ENOMEM;
        json_decref(extra);
    }
    json_decref(tracked);
    if (rc < 0) {
        json_decref(c);
        return errbuf[0] ? rc : nu_err_set(errbuf, rc, "cannot build config for %s", ln->name);
    }
    *out = c;
    return 0;
}

static int write_node(const struct sim_localnet_opts *o, const struct lnode *nodes, size_t i,
                      size_t total, const json_t *genesis, char *errbuf)
{
    const struct lnode *ln = &nodes[i];
    char path[PATH_MAX];
    json_t *config = NULL, *logcfg = NULL;
    struct nu_keypair node_kp = ln->kp;
    snprintf(node_kp.account_id, sizeof(node_kp.account_id), "node");
    int rc = nu_fs_mkdir_p(ln->dir, 0755, errbuf);
    if (rc == 0 && (rc = nu_fs_join(path, sizeof(path), ln->dir, SIM_VALIDATOR_KEY_FILE)) == 0)
        rc = nu_key_file_write(path, &ln->kp, errbuf);
    if (rc == 0 && (rc = nu_fs_join(path, sizeof(path), ln->dir, SIM_NODE_KEY_FILE)) == 0)
        rc = nu_key_file_write(path, &node_kp, errbuf);
    if (rc == 0 && (rc = nu_fs_join(path, sizeof(path), ln->dir, SIM_GENESIS_FILE)) == 0)
        rc = nu_json_write_file(path, genesis, 0644, false, errbuf);
    if (rc == 0)
        rc = node_config(o, nodes, i, total, &config, errbuf);
    if (rc == 0 && (rc = nu_fs_join(path, sizeof(path), ln->dir, SIM_CONFIG_FILE)) == 0)
        rc = nu_json_write_file(path, config, 0644, false, errbuf);
    logcfg = json_pack("{s:n, s:n, s:n}", "opentelemetry", "rust_log", "verbose_module");
    if (rc == 0 && (rc = nu_fs_join(path, sizeof(path), ln->dir, SIM_LOG_CONFIG_FILE)) == 0)
        rc = nu_json_write_file(path, logcfg, 0644, false, errbuf);
    json_decref(logcfg);
    json_decref(config);
    return rc;
}

static int make_nodes(const struct sim_localnet_opts *o, struct lnode *nodes, size_t total,
                      char *errbuf)
{
    for (size_t i = 0; i < total; i++) {
        struct lnode *ln = &nodes[i];
        size_t v = o->validators, a = o->archival, r = o->rpc;
        ln->role = i < v           ? ROLE_VALIDATOR
                   : i < v + a     ? ROLE_ARCHIVAL
                   : i < v + a + r ? ROLE_RPC
                                   : ROLE_PLAIN;
        snprintf(ln->name, sizeof(ln->name), "%s%zu", o->prefix, i);
        if (nu_fs_join(ln->dir, sizeof(ln->dir), o->home, ln->name) < 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "path too long");
        int rc = nu_key_from_seed(&ln->kp, ln->name, ln->name);
        if (rc < 0)
            return nu_err_set(errbuf, rc, "cannot derive the key for %s", ln->name);
        nu_key_pub_text(&ln->kp, ln->pk, sizeof(ln->pk));
        if ((ln->net_port = reserve_port(errbuf)) < 0 || (ln->rpc_port = reserve_port(errbuf)) < 0)
            return NU_ENET;
    }
    return 0;
}

/* Older neard's --fixed-shards layout: accounts shard0 .. shard<N-2> (and
 * their sub-accounts) each own a shard, everything else the last one. */
static int set_fixed_shards(json_t *genesis, unsigned shards, char *errbuf)
{
    json_t *fixed = json_array();
    for (unsigned i = 0; fixed != NULL && i + 1 < shards; i++) {
        char acct[32];
        snprintf(acct, sizeof(acct), "shard%u", i);
        if (json_array_append_new(fixed, json_string(acct)) < 0) {
            json_decref(fixed);
            fixed = NULL;
        }
    }
    json_t *layout = fixed ? json_pack("{s:{s:o, s:[], s:n, s:n, s:i}}", "V1", "fixed_shards",
                                       fixed, "boundary_accounts", "shards_split_map",
                                       "to_parent_shard_map", "version", 1)
                           : NULL;
    if (layout == NULL || json_object_set_new(genesis, "shard_layout", layout) < 0)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return 0;
}

int sim_localnet(const struct sim_localnet_opts *o, char *errbuf)
{
    size_t total = (size_t)o->validators + o->non_validators + o->rpc + o->archival;
    if (o->validators == 0)
        return nu_err_set(errbuf, NU_EINVAL, "at least one validator is required");
    if (total > LOCALNET_MAX_NODES || o->shards == 0 || o->shards > SIM_MAX_SHARDS)
        return nu_err_set(errbuf, NU_EINVAL, "at most %d nodes and 1..%d shards are simulated",
                          LOCALNET_MAX_NODES, SIM_MAX_SHARDS);
    struct lnode *nodes = calloc(total, sizeof(*nodes));
    struct sim_genesis_account *accts = calloc(total, sizeof(*accts));
    json_t *genesis = NULL;
    int rc = nodes && accts ? 0 : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (rc == 0)
        rc = make_nodes(o, nodes, total, errbuf);
    for (size_t i = 0; rc == 0 && i < total; i++)
        accts[i] = (struct sim_genesis_account){nodes[i].name, nodes[i].pk,
                                                nodes[i].role == ROLE_VALIDATOR};
    if (rc == 0) {
        genesis = sim_genesis_local_json(LOCALNET_CHAIN_ID, nu_real_ns(), SIM_FAST_EPOCH_LENGTH,
                                         o->shards, accts, total);
        rc = genesis ? 0 : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    }
    if (rc == 0 && o->fixed_shards)
        rc = set_fixed_shards(genesis, o->shards, errbuf);
    for (size_t i = 0; rc == 0 && i < total; i++)
        rc = write_node(o, nodes, i, total, genesis, errbuf);
    json_decref(genesis);
    free(accts);
    free(nodes);
    return rc;
}
