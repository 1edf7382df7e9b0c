/* Tests for the neard-sim chain model (sim/chain.c), RFC3339 times and
 * the genesis/config parsers: exact heights, hashes and epoch ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../sim/core.h"

#define MS 1000000ull
#define GENESIS_NS 1700000000000000000ull /* 2023-11-14T22:13:20Z */

static struct sim_node *make_node(const char *chain_id, uint64_t gh, uint64_t epoch_len)
{
    struct sim_node *n = calloc(1, sizeof(*n));
    assert_non_null(n);
    sim_config_defaults(&n->cfg);
    n->cfg.min_block_production_delay_ms = 100;
    snprintf(n->gen.chain_id, sizeof(n->gen.chain_id), "%s", chain_id);
    snprintf(n->gen.genesis_hash, sizeof(n->gen.genesis_hash), "GenesisHash%s", chain_id);
    n->gen.genesis_time_ns = GENESIS_NS;
    n->gen.genesis_height = gh;
    n->gen.epoch_length = epoch_len;
    n->gen.num_shards = 2;
    n->gen.nvalidators = 3;
    for (int i = 0; i < 3; i++)
        snprintf(n->gen.validators[i].account_id, sizeof(n->gen.validators[i].account_id), "node%d",
                 i);
    return n;
}

static void test_network_head_follows_clock(void **state)
{
    (void)state;
    struct sim_node *n = make_node("simnet", 1000, 10);
    assert_int_equal(sim_chain_network_head(n, 0), 1000);
    assert_int_equal(sim_chain_network_head(n, GENESIS_NS), 1000);
    assert_int_equal(sim_chain_network_head(n, GENESIS_NS + 99 * MS), 1000);
    assert_int_equal(sim_chain_network_head(n, GENESIS_NS + 100 * MS), 1001);
    assert_int_equal(sim_chain_network_head(n, GENESIS_NS + 12345 * MS), 1123);
    free(n);
}

static void test_block_timestamp_and_links(void **state)
{
    (void)state;
    struct sim_node *n = make_node("simnet", 1000, 10);
    struct sim_block g, b, prev;
    sim_chain_block(n, 1000, &g);
    assert_string_equal(g.hash, n->gen.genesis_hash);
    assert_string_equal(g.prev_hash, "11111111111111111111111111111111");
    assert_int_equal(g.timestamp_ns, GENESIS_NS);
    sim_chain_block(n, 1005, &b);
    sim_chain_block(n, 1004, &prev);
    assert_int_equal(b.timestamp_ns, GENESIS_NS + 500 * MS);
    assert_string_equal(b.prev_hash, prev.hash);
    assert_string_equal(b.author, "node0"); /* 1005 % 3 == 0 */
    assert_string_equal(prev.author, "node2");
    assert_string_not_equal(b.chunk_hashes[0], b.chunk_hashes[1]);
    free(n);
}

static void test_hash_is_deterministic_per_chain(void **state)
{
    (void)state;
    struct sim_node *a = make_node("simnet", 0, 10), *b = make_node("simnet", 0, 10);
    struct sim_node *other = make_node("othernet", 0, 10);
    struct sim_block x, y, z;
    sim_chain_block(a, 77, &x);
    sim_chain_block(b, 77, &y);
    sim_chain_block(other, 77, &z);
    assert_string_equal(x.hash, y.hash);
    assert_string_not_equal(x.hash, z.hash);
    assert_true(strlen(x.hash) >= 43 && strlen(x.hash) <= 44);
    free(a);
    free(b);
    free(other);
}

/* A fork from F: every hash of a height >= F differs from the chain's and
 * hashes F in (sim_chain_hash), heights below are the chain's, and the
 * links stay consistent: prev_hash of F names F - 1 of the chain. */
static void test_fork_from(void **state)
{
    (void)state;
    struct sim_node *a = make_node("simnet", 0, 10), *f = make_node("simnet", 0, 10);
    struct sim_node *g = make_node("simnet", 0, 10);
    f->fork_from = 50;
    g->fork_from = 60;
    struct sim_block x, y, z;
    sim_chain_block(a, 49, &x);
    sim_chain_block(f, 49, &y);
    assert_string_equal(x.hash, y.hash);
    for (uint64_t h = 50; h <= 52; h++) {
        sim_chain_block(a, h, &x);
        sim_chain_block(f, h, &y);
        assert_string_not_equal(x.hash, y.hash);
        assert_string_not_equal(x.state_root, y.state_root);
        assert_string_not_equal(x.chunk_hashes[0], y.chunk_hashes[0]);
    }
    sim_chain_block(a, 49, &x);
    sim_chain_block(f, 50, &y);
    assert_string_equal(y.prev_hash, x.hash);
    sim_chain_block(f, 51, &x);
    assert_string_equal(x.prev_hash, y.hash);
    /* another fork point is another fork */
    sim_chain_block(f, 60, &y);
    sim_chain_block(g, 60, &z);
    assert_string_not_equal(y.hash, z.hash);
    /* the epoch of 71..80 is named by block 60, a forked one */
    sim_chain_block(a, 71, &x);
    sim_chain_block(f, 71, &y);
    assert_string_not_equal(x.epoch_id, y.epoch_id);
    free(a);
    free(f);
    free(g);
}

static void test_epochs(void **state)
{
    (void)state;
    struct sim_node *n = make_node("simnet", 100, 10);
    /* epoch 0: [100, 110], epoch 1: [111, 120], epoch 2: [121, 130] */
    assert_int_equal(sim_chain_epoch_start(n, 100), 100);
    assert_int_equal(sim_chain_epoch_start(n, 110), 100);
    assert_int_equal(sim_chain_epoch_start(n, 111), 111);
    assert_int_equal(sim_chain_epoch_start(n, 125), 121);
    assert_int_equal(sim_chain_epoch_index(n, 130), 2);
    struct sim_block b0, b1, b2, last0;
    sim_chain_block(n, 105, &b0);
    sim_chain_block(n, 115, &b1);
    sim_chain_block(n, 125, &b2);
    sim_chain_block(n, 110, &last0);
    assert_string_equal(b0.epoch_id, "11111111111111111111111111111111");
    assert_string_equal(b1.epoch_id, n->gen.genesis_hash);
    assert_string_equal(b0.next_epoch_id, b1.epoch_id);
    assert_string_equal(b2.epoch_id, last0.hash);
    assert_int_equal(b2.epoch_start_height, 121);
    free(n);
}

static void test_payload_deterministic(void **state)
{
    (void)state;
    struct sim_node *n = make_node("simnet", 0, 10);
    uint8_t a[256], b[256], c[256];
    sim_chain_payload(n, 5, a, sizeof(a));
    sim_chain_payload(n, 5, b, sizeof(b));
    sim_chain_payload(n, 6, c, sizeof(c));
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    free(n);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    uint64_t ns;
    char out[64];
    assert_int_equal(sim_time_parse("2020-07-21T16:55:51.591948Z", &ns), 0);
    assert_int_equal(ns, 1595350551591948000ull);
    sim_time_format(ns, out, sizeof(out));
    assert_string_equal(out, "2020-07-21T16:55:51.591948Z");
    sim_time_format(1595350551000000000ull, out, sizeof(out));
    assert_string_equal(out, "2020-07-21T16:55:51Z");
    sim_time_format(1595350551000000001ull, out, sizeof(out));
    assert_string_equal(out, "2020-07-21T16:55:51.000000001Z");
    assert_int_equal(sim_time_parse("2020-07-21T18:55:51+02:00", &ns), 0);
    assert_int_equal(ns, 1595350551000000000ull);
    assert_int_equal(sim_time_parse("2020-07-21 16:55:51Z", &ns), NU_EINVAL);
    assert_int_equal(sim_time_parse("2020-07-21T16:55:51", &ns), NU_EINVAL);
}

static void test_config_parse(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX];
    struct sim_config c;
    json_t *j = json_loads("{\"rpc\": {\"addr\": \"127.0.0.1:1\"}, \"consensus\": "
                           "{\"min_block_production_delay\": {\"secs\": 0, \"nanos\": 120000000}},"
                           " \"archive\": true, \"expected_shutdown\": 42, \"store\": {\"path\": "
                           "\"db\"}, \"sim\": {\"sync_blocks_per_sec\": 7}}",
                           0, NULL);
    sim_config_defaults(&c);
    assert_int_equal(sim_config_from_json(j, "config.json", "/h", &c, err), 0);
    assert_string_equal(c.rpc_addr, "127.0.0.1:1");
    assert_int_equal(c.min_block_production_delay_ms, 120);
    assert_int_equal(c.max_block_production_delay_ms, 2000);
    assert_true(c.archive);
    assert_true(c.has_expected_shutdown);
    assert_int_equal(c.expected_shutdown, 42);
    assert_string_equal(c.store_path, "/h/db");
    assert_int_equal(c.sim_sync_rate, 7);
    assert_int_equal(c.min_num_peers, 3);
    assert_string_equal(c.boot_nodes, "");
    sim_config_release(&c);
    json_decref(j);
}

static void test_config_rejects_bad_types(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX];
    struct sim_config c;
    json_t *j = json_loads("{\"archive\": \"yes\"}", 0, NULL);
    sim_config_defaults(&c);
    assert_int_equal(sim_config_from_json(j, "config.json", "/h", &c, err), NU_EINVAL);
    assert_string_equal(err, "config.json: archive: invalid type, expected a boolean");
    sim_config_release(&c);
    json_decref(j);
    j = json_loads("{\"sim\": {\"http_status_mode\": \"2.2\"}}", 0, NULL);
    sim_config_defaults(&c);
    assert_int_equal(sim_config_from_json(j, "config.json", "/h", &c, err), NU_EINVAL);
    sim_config_release(&c);
    json_decref(j);
}

static void test_genesis_parse(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX];
    struct sim_genesis g;
    struct sim_genesis_account acct = {
        "test.near", "ed25519:6DSjZ8mvsRZDvFqFxo8tCKePG96omXW7eVYVSySmDk8e", true};
    json_t *j = sim_genesis_local_json("simnet", GENESIS_NS, 60, 1, &acct, 1);
    assert_non_null(j);
    assert_int_equal(sim_genesis_from_json(j, "genesis.json", &g, err), 0);
    assert_string_equal(g.chain_id, "simnet");
    assert_int_equal(g.genesis_time_ns, GENESIS_NS);
    assert_int_equal(g.epoch_length, 60);
    assert_int_equal(g.nvalidators, 1);
    assert_string_equal(g.validators[0].amount, "50000000000000000000000000000000");
    assert_string_equal(json_string_value(json_object_get(g.json, "total_supply")),
                        "2050000000000000000000000000000000");
    sim_genesis_release(&g);
    j = sim_genesis_mainnet_json();
    assert_int_equal(sim_genesis_from_json(j, "genesis.json", &g, err), 0);
    assert_int_equal(g.genesis_height, 9820210);
    assert_string_equal(g.genesis_hash, "EPnLgE7iEq9s7yTkos96M3cWymH5avBAPm3qx3NXqR8H");
    sim_genesis_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_head_follows_clock),
        cmocka_unit_test(test_block_timestamp_and_links),
        cmocka_unit_test(test_hash_is_deterministic_per_chain),
        cmocka_unit_test(test_fork_from),
        cmocka_unit_test(test_epochs),
        cmocka_unit_test(test_payload_deterministic),
        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_config_parse),
        cmocka_unit_test(test_config_rejects_bad_types),
        cmocka_unit_test(test_genesis_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
