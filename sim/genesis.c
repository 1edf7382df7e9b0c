/* genesis.json: reading the fields the simulator uses, and writing local
 * and mainnet genesis files in neard's shape (GenesisConfig serialized in
 * field order, records last). Constants follow near-chain-configs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "base58.h"
#include "json.h"
#include "sha256.h"

#define NEAR_BASE_DIGITS 24
#define NUM_BLOCK_PRODUCER_SEATS 50
/* TESTING_INIT_BALANCE = 1e9 NEAR, TESTING_INIT_STAKE = 5e7 NEAR (in 1e24 yocto). */
#define INIT_BALANCE_NEAR 1000000000u
#define INIT_STAKE_NEAR 50000000u
#define EMPTY_HASH "11111111111111111111111111111111"

/* Genesis block hashes of the public chains, as their nodes report them. */
#define MAINNET_GENESIS_HASH "EPnLgE7iEq9s7yTkos96M3cWymH5avBAPm3qx3NXqR8H"
#define TESTNET_GENESIS_HASH "FWJ9kR6KFWoyMoNjpLXXGHeuiy7tEY6GmoFeCA5yuc6b"

int sim_time_parse(const char *s, uint64_t *ns)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return NU_EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + n;
    uint64_t frac = 0;
    int digits = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (uint64_t)(*p - '0');
        if (digits == 0)
            return NU_EINVAL;
        for (int d = digits; d < 9; d++)
            frac *= 10;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int hh = (p[1] - '0') * 10 + (p[2] - '0');
        int mm = (p[4] - '0') * 10 + (p[5] - '0');
        offset = (p[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
        p += 6;
    } else {
        return NU_EINVAL;
    }
    time_t t = timegm(&tm);
    if (*p != '\0' || t == (time_t)-1 || t - offset < 0)
        return NU_EINVAL;
    *ns = (uint64_t)(t - offset) * 1000000000ull + frac;
    return 0;
}

void sim_time_format(uint64_t ns, char *out, size_t outsz)
{
    time_t t = (time_t)(ns / 1000000000ull);
    uint64_t frac = ns % 1000000000ull;
    struct tm tm;
    gmtime_r(&t, &tm);
    char fs[16] = "";
    if (frac % 1000000ull == 0 && frac != 0)
        snprintf(fs, sizeof(fs), ".%03llu", (unsigned long long)(frac / 1000000ull));
    else if (frac % 1000ull == 0 && frac != 0)
        snprintf(fs, sizeof(fs), ".%06llu", (unsigned long long)(frac / 1000ull));
    else if (frac != 0)
        snprintf(fs, sizeof(fs), ".%09llu", (unsigned long long)frac);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fs);
}

/* n NEAR as a yoctoNEAR decimal string. */
static void near_amount(unsigned long long n, char *out, size_t outsz)
{
    if (n == 0)
        snprintf(out, outsz, "0");
    else
        snprintf(out, outsz, "%llu%0*d", n, NEAR_BASE_DIGITS, 0);
}

static json_t *account_record(const char *account_id, unsigned long long amount,
                              unsigned long long locked)
{
    char a[64], l[64];
    near_amount(amount, a, sizeof(a));
    near_amount(locked, l, sizeof(l));
    return json_pack("{s:{s:s, s:{s:s, s:s, s:s, s:i, s:s}}}", "Account", "account_id", account_id,
                     "account", "amount", a, "locked", l, "code_hash", EMPTY_HASH, "storage_usage",
                     0, "version", "V1");
}

static json_t *key_record(const char *account_id, const char *public_key)
{
    return json_pack("{s:{s:s, s:s, s:{s:i, s:s}}}", "AccessKey", "account_id", account_id,
                     "public_key", public_key, "access_key", "nonce", 0, "permission",
                     "FullAccess");
}

static json_t *shard_layout(unsigned num_shards)
{
    if (num_shards <= 1)
        return json_pack("{s:{s:i, s:i}}", "V0", "num_shards", 1, "version", 0);
    json_t *bounds = json_array();
    for (unsigned i = 1; i < num_shards; i++) {
        char acct[64];
        snprintf(acct, sizeof(acct), "shard%u.test.near", i);
        json_array_append_new(bounds, json_string(acct));
    }
    return json_pack("{s:{s:o, s:n, s:n, s:i}}", "V1", "boundary_accounts", bounds,
                     "shards_split_map", "to_parent_shard_map", "version", 1);
}

static json_t *seats_per_shard(unsigned num_shards, int seats)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < num_shards; i++)
        json_array_append_new(a, json_integer(seats));
    return a;
}

/* Fields between "validators" and "records", identical for every chain we write. */
static json_t *economics(const char *total_supply, const char *treasury, unsigned num_shards)
{
    return json_pack("{s:i, s:[i,i], s:[i,i], s:s, s:i, s:s, s:s, s:i, s:o, s:i, s:i, s:i, "
                     "s:[i,i], s:b}",
                     "transaction_validity_period", 100, "protocol_reward_rate", 1, 10,
                     "max_inflation_rate", 1, 20, "total_supply", total_supply,
                     "num_blocks_per_year", 31536000, "protocol_treasury_account", treasury,
                     "fishermen_threshold", "10000000000000000000000000", "minimum_stake_divisor",
                     10, "shard_layout", shard_layout(num_shards), "num_chunk_only_producer_seats",
                     300, "minimum_validators_per_shard", 1, "max_kickout_stake_perc", 100,
                     "minimum_stake_ratio", 1, 6250, "use_production_config", 0);
}

static json_t *header(const char *chain_id, const char *time, uint64_t height, uint64_t epoch_len,
                      unsigned protocol, unsigned num_shards, int seats)
{
    return json_pack("{s:i, s:s, s:s, s:I, s:i, s:o, s:o, s:b, s:[i,i], s:I, s:I, s:s, s:s, s:i, "
                     "s:i, s:i, s:[i,i], s:[i,i], s:[i,i]}",
                     "protocol_version", (int)protocol, "genesis_time", time, "chain_id", chain_id,
                     "genesis_height", (json_int_t)height, "num_block_producer_seats", seats,
                     "num_block_producer_seats_per_shard", seats_per_shard(num_shards, seats),
                     "avg_hidden_validator_seats_per_shard", seats_per_shard(num_shards, 0),
                     "dynamic_resharding", 0, "protocol_upgrade_stake_threshold", 4, 5,
                     "epoch_length", (json_int_t)epoch_len, "gas_limit",
                     (json_int_t)1000000000000000LL, "min_gas_price", "100000000", "max_gas_price",
                     "10000000000000000000000", "block_producer_kickout_threshold", 90,
                     "chunk_producer_kickout_threshold", 90,
                     "chunk_validator_only_kickout_threshold", 80, "online_min_threshold", 90, 100,
                     "online_max_threshold", 99, 100, "gas_price_adjustment_rate", 1, 100);
}

static json_t *assemble(json_t *head, json_t *validators, json_t *econ, json_t *records)
{
    if (head == NULL || validators == NULL || econ == NULL || records == NULL ||
        json_object_set(head, "validators", validators) < 0 || json_object_update(head, econ) < 0 ||
        json_object_set(head, "records", records) < 0) {
        json_decref(head);
        head = NULL;
    }
    json_decref(validators);
    json_decref(econ);
    json_decref(records);
    return head;
}

json_t *sim_genesis_local_json(const char *chain_id, uint64_t genesis_time_ns,
                               uint64_t epoch_length, unsigned num_shards,
                               const struct sim_genesis_account *accts, size_t naccts)
{
    char time[64], stake[64], supply[80];
    unsigned long long total_near = 0;
    json_t *validators = json_array(), *records = json_array();
    near_amount(INIT_STAKE_NEAR, stake, sizeof(stake));
    for (size_t i = 0; i < naccts; i++) {
        unsigned long long locked = accts[i].validator ? INIT_STAKE_NEAR : 0;
        total_near += INIT_BALANCE_NEAR + locked;
        json_array_append_new(records,
                              account_record(accts[i].account_id, INIT_BALANCE_NEAR, locked));
        json_array_append_new(records, key_record(accts[i].account_id, accts[i].public_key));
        if (accts[i].validator)
            json_array_append_new(validators,
                                  json_pack("{s:s, s:s, s:s}", "account_id", accts[i].account_id,
                                            "public_key", accts[i].public_key, "amount", stake));
    }
    /* add_protocol_account: "near" with a key seeded by its own name. */
    struct nu_keypair near_kp;
    char near_pk[NU_KEY_TEXT_MAX] = "";
    if (nu_key_from_seed(&near_kp, "near", "near") == 0)
        nu_key_pub_text(&near_kp, near_pk, sizeof(near_pk));
    json_array_append_new(records, account_record("near", INIT_BALANCE_NEAR, 0));
    json_array_append_new(records, key_record("near", near_pk));
    total_near += INIT_BALANCE_NEAR;
    near_amount(total_near, supply, sizeof(supply));
    sim_time_format(genesis_time_ns, time, sizeof(time));
    const char *treasury = naccts > 0 ? accts[0].account_id : "near";
    return assemble(
        header(chain_id, time, 0, epoch_length, SIM_PROTOCOL, num_shards, NUM_BLOCK_PRODUCER_SEATS),
        validators, economics(supply, treasury, num_shards), records);
}

/* A small stand-in for the mainnet genesis neard embeds: the real chain id,
 * time, height and epoch length, with a handful of validators. */
json_t *sim_genesis_mainnet_json(void)
{
    static const char *const pools[] = {"bisontrails.poolv1.near", "figment.poolv1.near",
                                        "astro-stakers.poolv1.near", "zavodil.poolv1.near"};
    char stake[64];
    json_t *validators = json_array(), *records = json_array();
    near_amount(INIT_STAKE_NEAR, stake, sizeof(stake));
    for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
        struct nu_keypair kp;
        char pk[NU_KEY_TEXT_MAX] = "";
        if (nu_key_from_seed(&kp, pools[i], pools[i]) == 0)
            nu_key_pub_text(&kp, pk, sizeof(pk));
        json_array_append_new(validators, json_pack("{s:s, s:s, s:s}", "account_id", pools[i],
                                                    "public_key", pk, "amount", stake));
        json_array_append_new(records,
                              account_record(pools[i], INIT_BALANCE_NEAR, INIT_STAKE_NEAR));
        json_array_append_new(records, key_record(pools[i], pk));
    }
    return assemble(header("mainnet", "2020-07-21T16:55:51.591948Z", 9820210, 43200, 29, 1, 100),
                    validators, economics("1000000000000000000000000000000000", "treasury.near", 1),
                    records);
}

static unsigned parse_num_shards(const json_t *root)
{
    json_t *layout = json_object_get(root, "shard_layout");
    json_t *v;
    int64_t n;
    if ((v = json_object_get(layout, "V0")) != NULL && nu_json_get_int(v, "num_shards", &n) == 0)
        return n > 0 ? (unsigned)n : 1;
    if ((v = json_object_get(layout, "V1")) != NULL) /* older layouts also have fixed_shards */
        return (unsigned)(json_array_size(json_object_get(v, "fixed_shards")) +
                          json_array_size(json_object_get(v, "boundary_accounts")) + 1);
    if ((v = json_object_get(json_object_get(layout, "V2"), "shard_ids")) != NULL)
        return (unsigned)json_array_size(v);
    return 1;
}

static int parse_validators(const json_t *root, struct sim_genesis *g, const char *name,
                            char *errbuf)
{
    json_t *vals = json_object_get(root, "validators");
    size_t i;
    json_t *v;
    if (!json_is_array(vals))
        return nu_err_set(errbuf, NU_EINVAL, "%s: missing field `validators`", name);
    json_array_foreach(vals, i, v)
    {
        if (g->nvalidators == SIM_MAX_VALIDATORS)
            break; /* the simulator only rotates among the first ones */
        const char *acct, *pk, *amount;
        if (nu_json_get_str(v, "account_id", &acct) != 0 ||
            nu_json_get_str(v, "public_key", &pk) != 0 ||
            nu_json_get_str(v, "amount", &amount) != 0)
            return nu_err_set(errbuf, NU_EINVAL,
                              "%s: validators[%zu]: expected account_id, "
                              "public_key and amount strings",
                              name, i);
        struct sim_validator *sv = &g->validators[g->nvalidators++];
        snprintf(sv->account_id, sizeof(sv->account_id), "%s", acct);
        snprintf(sv->public_key, sizeof(sv->public_key), "%s", pk);
        snprintf(sv->amount, sizeof(sv->amount), "%s", amount);
    }
    return 0;
}

static int compute_hash(struct sim_genesis *g, const json_t *root)
{
    if (strcmp(g->chain_id, "mainnet") == 0) {
        snprintf(g->genesis_hash, sizeof(g->genesis_hash), MAINNET_GENESIS_HASH);
        return 0;
    }
    if (strcmp(g->chain_id, "testnet") == 0) {
        snprintf(g->genesis_hash, sizeof(g->genesis_hash), TESTNET_GENESIS_HASH);
        return 0;
    }
    /* Every node of a local chain has a byte-identical genesis.json, so a
     * hash over its canonical form is a shared genesis block hash. */
    char *dump = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    if (dump == NULL)
        return NU_ENOMEM;
    uint8_t h[NU_SHA256_LEN];
    nu_sha256(dump, strlen(dump), h);
    free(dump);
    return nu_base58_encode(h, sizeof(h), g->genesis_hash, sizeof(g->genesis_hash)) < 0 ? NU_EINVAL
                                                                                        : 0;
}

int sim_genesis_from_json(json_t *root, const char *name, struct sim_genesis *g, char *errbuf)
{
    const char *chain_id, *time;
    int64_t height, epoch_length, protocol = SIM_PROTOCOL;
    memset(g, 0, sizeof(*g));
    g->json = root;
    if (!json_is_object(root))
        return nu_err_set(errbuf, NU_EINVAL, "%s: expected a JSON object", name);
    if (nu_json_get_str(root, "chain_id", &chain_id) != 0 ||
        strlen(chain_id) >= sizeof(g->chain_id) || chain_id[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL, "%s: missing or invalid field `chain_id`", name);
    if (nu_json_get_str(root, "genesis_time", &time) != 0 ||
        sim_time_parse(time, &g->genesis_time_ns) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: missing or invalid field `genesis_time`", name);
    if (nu_json_get_int(root, "genesis_height", &height) != 0 || height < 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: missing or invalid field `genesis_height`", name);
    if (nu_json_get_int(root, "epoch_length", &epoch_length) != 0 || epoch_length < 1)
        return nu_err_set(errbuf, NU_EINVAL, "%s: missing or invalid field `epoch_length`", name);
    if (nu_json_get_int(root, "protocol_version", &protocol) == NU_EINVAL || protocol < 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: invalid field `protocol_version`", name);
    snprintf(g->chain_id, sizeof(g->chain_id), "%s", chain_id);
    g->genesis_height = (uint64_t)height;
    g->epoch_length = (uint64_t)epoch_length;
    g->protocol_version = (unsigned)protocol;
    g->num_shards = parse_num_shards(root);
    if (g->num_shards > SIM_MAX_SHARDS)
        return nu_err_set(errbuf, NU_EINVAL, "%s: more than %d shards are not simulated", name,
                          SIM_MAX_SHARDS);
    int rc = parse_validators(root, g, name, errbuf);
    if (rc == 0 && g->nvalidators == 0)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: no validators in genesis", name);
    if (rc == 0 && compute_hash(g, root) < 0)
        rc = nu_err_set(errbuf, NU_ENOMEM, "%s: cannot hash genesis", name);
    return rc;
}

int sim_genesis_load(const char *path, struct sim_genesis *g, char *errbuf)
{
    json_t *root = NULL;
    memset(g, 0, sizeof(*g));
    int rc = nu_json_load_file(path, true, &root, errbuf);
    if (rc < 0)
        return rc;
    return sim_genesis_from_json(root, path, g, errbuf);
}

void sim_genesis_release(struct sim_genesis *g)
{
    if (g == NULL)
        return;
    json_decref(g->json);
    g->json = NULL;
}
