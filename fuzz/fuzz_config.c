/* libFuzzer target for neard-sim's config.json reader: the comment-tolerant
 * JSON parse followed by the settings table (types, bounds, durations,
 * tracked_shards_config, sim knobs), and the same bytes as a genesis.json. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "../sim/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever is accepted must satisfy the invariants the node relies on. */
static void check_config(const struct sim_config *c)
{
    if (c->min_block_production_delay_ms == 0 ||
        c->min_block_production_delay_ms > c->max_block_production_delay_ms)
        abort();
    if (c->sim_sync_rate == 0 || c->boot_nodes == NULL || c->store_path[0] != '/')
        abort();
    if (strlen(c->rpc_addr) >= sizeof(c->rpc_addr) || c->max_num_peers > SIM_MAX_PEERS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[NU_ERRMSG_MAX];
    json_t *v = NULL;
    sim_log_set_enabled(false); /* unknown-field warnings would drown libFuzzer's output */
    if (nu_json_parse("config.json", (const char *)data, size, true, &v, err) != 0)
        return 0;
    struct sim_config c;
    sim_config_defaults(&c);
    if (sim_config_from_json(v, "config.json", "/home", &c, err) == 0)
        check_config(&c);
    sim_config_release(&c);
    struct sim_genesis g;
    if (sim_genesis_from_json(json_incref(v), "genesis.json", &g, err) == 0 &&
        (g.epoch_length == 0 || g.nvalidators == 0 || g.num_shards > SIM_MAX_SHARDS))
        abort();
    sim_genesis_release(&g);
    json_decref(v);
    return 0;
}
