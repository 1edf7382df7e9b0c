/* Simulated account state: accounts and access keys from genesis records,
 * overlaid by changes from applied transactions. Changes are kept in
 * memory and written to the store ("acct:<id>") so they survive restarts.
 *
 * An account state is a JSON object:
 *   {"amount","locked","code_hash","storage_usage","keys":{pk: access_key},
 *    "code_base64"?, "deleted"?}
 * where access_key is neard's AccessKeyView {"nonce","permission"}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rpc.h"

#define ACCOUNT_KEY_MAX (NU_ACCOUNT_ID_MAX + 8)

static json_t *new_account(const char *amount, const char *locked, const char *code_hash,
                           json_int_t storage)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:{}}", "amount", amount, "locked", locked, "code_hash",
                     code_hash, "storage_usage", storage, "keys");
}

static json_t *index_account(json_t *idx, const char *id)
{
    json_t *a = json_object_get(idx, id);
    if (!a) {
        a = new_account("0", "0", RPC_NO_CODE_HASH, 0);
        json_object_set_new(idx, id, a);
    }
    return a;
}

static void load_account_record(json_t *idx, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "account_id"));
    const json_t *acct = json_object_get(rec, "account");
    if (!id || !json_is_object(acct))
        return;
    json_t *a = index_account(idx, id);
    const char *fields[] = {"amount", "locked", "code_hash"};
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(acct, fields[i]);
        if (json_is_string(v))
            json_object_set(a, fields[i], v);
    }
    json_t *storage = json_object_get(acct, "storage_usage");
    if (json_is_integer(storage))
        json_object_set(a, "storage_usage", storage);
}

static void load_key_record(json_t *idx, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "account_id"));
    const char *pk = json_string_value(json_object_get(rec, "public_key"));
    json_t *ak = json_object_get(rec, "access_key");
    if (!id || !pk || !json_is_object(ak))
        return;
    json_object_set(json_object_get(index_account(idx, id), "keys"), pk, ak);
}

static void load_contract_record(json_t *idx, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "account_id"));
    json_t *code = json_object_get(rec, "code");
    if (id && json_is_string(code))
        json_object_set(index_account(idx, id), "code_base64", code);
}

/* Validators without records still get an account and their key, so a
 * localnet without records can sign transactions with validator_key.json. */
static void add_validator_accounts(json_t *idx, const struct sim_genesis *g)
{
    for (size_t i = 0; i < g->nvalidators; i++) {
        const struct sim_validator *v = &g->validators[i];
        if (json_object_get(idx, v->account_id))
            continue;
        json_t *a =
            new_account("1000000000000000000000000000000000", v->amount, RPC_NO_CODE_HASH, 182);
        json_object_set_new(json_object_get(a, "keys"), v->public_key,
                            json_pack("{s:i,s:s}", "nonce", 0, "permission", "FullAccess"));
        json_object_set_new(idx, v->account_id, a);
    }
}

int rpc_state_init(struct sim_rpc *rpc, char *errbuf)
{
    json_t *idx = json_object();
    json_t *records = json_object_get(rpc->n->gen.json, "records");
    size_t i;
    json_t *rec;
    if (!idx)
        return nu_err_set(errbuf, NU_ENOMEM, "rpc state: out of memory");
    json_array_foreach(records, i, rec)
    {
        if (json_object_get(rec, "Account"))
            load_account_record(idx, json_object_get(rec, "Account"));
        else if (json_object_get(rec, "AccessKey"))
            load_key_record(idx, json_object_get(rec, "AccessKey"));
        else if (json_object_get(rec, "Contract"))
            load_contract_record(idx, json_object_get(rec, "Contract"));
    }
    add_validator_accounts(idx, &rpc->n->gen);
    rpc->genesis_accounts = idx;
    return 0;
}

static json_t *load_stored(struct sim_rpc *rpc, const char *account_id)
{
    char key[ACCOUNT_KEY_MAX];
    char *val = NULL;
    size_t len = 0;
    if (!rpc->n->store)
        return NULL;
    snprintf(key, sizeof(key), "acct:%s", account_id);
    if (sim_store_get(rpc->n->store, key, &val, &len) != 0)
        return NULL;
    json_t *a = json_loadb(val, len, 0, NULL);
    free(val);
    if (!json_is_object(a)) {
        json_decref(a);
        return NULL;
    }
    json_object_set_new(rpc->accounts, account_id, a);
    return a;
}

json_t *rpc_account_get(struct sim_rpc *rpc, const char *account_id)
{
    json_t *a = json_object_get(rpc->accounts, account_id);
    if (!a)
        a = load_stored(rpc, account_id);
    if (!a)
        a = json_object_get(rpc->genesis_accounts, account_id);
    if (!a || json_is_true(json_object_get(a, "deleted")))
        return NULL;
    return a;
}

void rpc_account_put(struct sim_rpc *rpc, const char *account_id, json_t *acct)
{
    json_object_set_new(rpc->accounts, account_id, acct);
    if (!rpc->n->store)
        return;
    char key[ACCOUNT_KEY_MAX];
    char *val = json_dumps(acct, JSON_COMPACT);
    snprintf(key, sizeof(key), "acct:%s", account_id);
    if (!val || sim_store_put(rpc->n->store, key, val, strlen(val)) != 0)
        sim_log("WARN", "jsonrpc", "could not persist account %s", account_id);
    free(val);
}
