/* libFuzzer target: arbitrary POST / bodies into neard-sim's JSON-RPC
 * handler (sim_jsonrpc_handle_body), without sockets or a store, on an
 * in-memory node with a fixed genesis. The RPC state is rebuilt for each
 * input so runs are independent. Calls that would wait time out at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../sim/rpc/rpc.h"

#define FUZZ_BODY_MAX (64u << 10)

static struct sim_node node;

/* alice.test's key is nu_key_from_seed("alice.test"); app.test has code. */
static void init_node(void)
{
    struct nu_keypair kp;
    char pk[NU_KEY_TEXT_MAX];
    if (nu_key_from_seed(&kp, "alice.test", "alice.test") != 0)
        abort();
    nu_key_pub_text(&kp, pk, sizeof(pk));
    snprintf(node.gen.chain_id, sizeof(node.gen.chain_id), "fuzznet");
    snprintf(node.gen.genesis_hash, sizeof(node.gen.genesis_hash), "%s",
             "9mZB8JyQ3UUbCCuMuAdrBGAJzMT8CRqCYdKXGXwBkyRa");
    node.gen.genesis_time_ns = 1700000000000000000ull;
    node.gen.epoch_length = 60;
    node.gen.num_shards = 1;
    node.gen.protocol_version = SIM_PROTOCOL;
    node.gen.nvalidators = 1;
    snprintf(node.gen.validators[0].account_id, NU_ACCOUNT_ID_MAX, "alice.test");
    snprintf(node.gen.validators[0].public_key, NU_KEY_TEXT_MAX, "%s", pk);
    snprintf(node.gen.validators[0].amount, 48, "50000000000000000000000000000000");
    node.gen.json = json_pack(
        "{s:s,s:s,s:[{s:{s:s,s:{s:s,s:s,s:s,s:i}}},{s:{s:s,s:s,s:{s:i,s:s}}},"
        "{s:{s:s,s:{s:s,s:s,s:s,s:i}}}]}",
        "chain_id", "fuzznet", "min_gas_price", "100000000", "records", "Account", "account_id",
        "alice.test", "account", "amount", "1000000000000000000000000000", "locked", "0",
        "code_hash", RPC_NO_CODE_HASH, "storage_usage", 182, "AccessKey", "account_id",
        "alice.test", "public_key", pk, "access_key", "nonce", 0, "permission", "FullAccess",
        "Account", "account_id", "app.test", "account", "amount", "5", "locked", "0", "code_hash",
        "8mZB8JyQ3UUbCCuMuAdrBGAJzMT8CRqCYdKXGXwBkyRa", "storage_usage", 300);
    node.cfg.min_block_production_delay_ms = 120;
    node.cfg.max_block_production_delay_ms = 500;
    node.cfg.polling_timeout_ms = 10000;
    node.cfg.max_num_peers = 40;
    node.cfg.archive = false;
    snprintf(node.cfg.rpc_addr, sizeof(node.cfg.rpc_addr), "127.0.0.1:3030");
    node.head = 1000;
    node.earliest = 700;
    node.header_head = 1000;
    node.sync_status = SIM_SYNC_NO_SYNC;
    node.boot_time_ns = node.gen.genesis_time_ns;
    node.config_correct = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[NU_ERRMSG_MAX];
    if (!node.gen.json)
        init_node();
    if (size > FUZZ_BODY_MAX)
        return 0;
    /* The first byte varies the node: syncing, legacy statuses, archival. */
    if (size > 0) {
        node.sync_status = (data[0] & 1) ? SIM_SYNC_HEADER_SYNC : SIM_SYNC_NO_SYNC;
        node.cfg.sim_http_status_mode =
            (data[0] & 2) ? SIM_HTTP_STATUS_LEGACY_200 : SIM_HTTP_STATUS_2_4;
        node.cfg.archive = (data[0] & 4) != 0;
        node.head = (data[0] & 8) ? node.gen.genesis_height : 1000;
        node.earliest = (data[0] & 8) ? 0 : 700;
        data++;
        size--;
    }
    if (sim_rpc_state_init(&node, err) != 0)
        abort();
    struct nu_buf out;
    int status = 0;
    nu_buf_init(&out, SIM_RPC_REPLY_MAX);
    if (sim_jsonrpc_handle_body(&node, (const char *)data, size, &out, &status) != 0)
        abort();
    /* Every answer is JSON with a status neard can give. */
    json_t *reply = json_loadb(out.data, out.len, 0, NULL);
    if (!reply ||
        !(status == 200 || status == 400 || status == 408 || status == 422 || status == 500))
        abort();
    json_decref(reply);
    nu_buf_release(&out);
    sim_rpc_state_free(&node);
    return 0;
}
