/* Applying a SignedTransaction to the simulated state. Checks follow
 * neard's order (signature, signer, access key, nonce, balance); each
 * rejection is an InvalidTxError value as neard serializes it. Receipts
 * execute at once: CreateAccount, Transfer, AddKey, DeleteKey,
 * DeployContract, Stake and DeleteAccount change the state; FunctionCall
 * only moves its deposit (there is no VM). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base58.h"
#include "sha256.h"
#include "tx.h"

static json_t *u128_json(nu_u128 v)
{
    char t[NU_U128_TEXT_MAX];
    nu_u128_text(v, t);
    return json_string(t);
}

static nu_u128 get_u128(const json_t *a, const char *key)
{
    nu_u128 v = 0;
    if (nu_u128_parse(json_string_value(json_object_get(a, key)), &v) != 0)
        v = 0;
    return v;
}

static json_t *permission_view(const struct sim_access_key *ak)
{
    if (ak->full_access)
        return json_string("FullAccess");
    json_t *names = json_array();
    for (uint32_t i = 0; i < ak->nmethods; i++)
        json_array_append_new(names,
                              json_stringn((const char *)ak->methods[i].p, ak->methods[i].len));
    return json_pack("{s:{s:o,s:s,s:o}}", "FunctionCall", "allowance",
                     ak->has_allowance ? u128_json(ak->allowance) : json_null(), "receiver_id",
                     ak->receiver_id, "method_names", names);
}

static json_t *bytes_b64(const uint8_t *p, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8);
    if (!out)
        return json_string("");
    sim_base64_encode(p, len, out);
    json_t *s = json_string(out);
    free(out);
    return s;
}

static void code_hash_text(const struct borsh_bytes *code, char out[SIM_HASH_MAX])
{
    unsigned char md[NU_SHA256_LEN];
    nu_sha256(code->p, code->len, md);
    if (nu_base58_encode(md, sizeof(md), out, SIM_HASH_MAX) < 0)
        out[0] = '\0';
}

json_t *rpc_action_view(const struct sim_action *a)
{
    char pk[NU_KEY_TEXT_MAX];
    sim_pubkey_text(&a->pk, pk, sizeof(pk));
    switch (a->kind) {
    case SIM_ACT_CREATE_ACCOUNT:
        return json_string("CreateAccount");
    case SIM_ACT_DEPLOY_CONTRACT: {
        uint8_t md[NU_SHA256_LEN];
        nu_sha256(a->code.p, a->code.len, md);
        return json_pack("{s:{s:o}}", "DeployContract", "code", bytes_b64(md, sizeof(md)));
    }
    case SIM_ACT_FUNCTION_CALL:
        return json_pack("{s:{s:s%,s:o,s:I,s:o}}", "FunctionCall", "method_name",
                         (const char *)a->method.p, (size_t)a->method.len, "args",
                         bytes_b64(a->args.p, a->args.len), "gas", (json_int_t)a->gas, "deposit",
                         u128_json(a->amount));
    case SIM_ACT_TRANSFER:
        return json_pack("{s:{s:o}}", "Transfer", "deposit", u128_json(a->amount));
    case SIM_ACT_STAKE:
        return json_pack("{s:{s:o,s:s}}", "Stake", "stake", u128_json(a->amount), "public_key", pk);
    case SIM_ACT_ADD_KEY:
        return json_pack("{s:{s:s,s:{s:I,s:o}}}", "AddKey", "public_key", pk, "access_key", "nonce",
                         (json_int_t)a->ak.nonce, "permission", permission_view(&a->ak));
    case SIM_ACT_DELETE_KEY:
        return json_pack("{s:{s:s}}", "DeleteKey", "public_key", pk);
    default:
        return json_pack("{s:{s:s}}", "DeleteAccount", "beneficiary_id", a->beneficiary);
    }
}

static nu_u128 gas_price(const struct sim_rpc *rpc)
{
    nu_u128 p = 0;
    if (nu_u128_parse(rpc_gas_price_text(rpc->n), &p) != 0)
        p = 100000000;
    return p;
}

/* Deposits the actions move from the signer. */
static nu_u128 deposits(const struct sim_tx *tx)
{
    nu_u128 sum = 0;
    for (size_t i = 0; i < tx->nactions; i++) {
        const struct sim_action *a = &tx->actions[i];
        if (a->kind == SIM_ACT_TRANSFER || a->kind == SIM_ACT_FUNCTION_CALL)
            sum += a->amount;
    }
    return sum;
}

static json_t *check_tx(struct sim_rpc *rpc, const struct sim_tx *tx, nu_u128 cost)
{
    char pk[NU_KEY_TEXT_MAX];
    sim_pubkey_text(&tx->public_key, pk, sizeof(pk));
    if (tx->public_key.type != SIM_KEY_ED25519 || tx->sig_type != SIM_KEY_ED25519 ||
        nu_key_verify(tx->public_key.data, tx->hash, sizeof(tx->hash), tx->signature) != 0)
        return json_string("InvalidSignature");
    const json_t *signer = rpc_account_get(rpc, tx->signer_id);
    if (!signer)
        return json_pack("{s:{s:s}}", "SignerDoesNotExist", "signer_id", tx->signer_id);
    const json_t *ak = json_object_get(json_object_get(signer, "keys"), pk);
    if (!ak)
        return json_pack("{s:{s:{s:s,s:s}}}", "InvalidAccessKeyError", "AccessKeyNotFound",
                         "account_id", tx->signer_id, "public_key", pk);
    json_int_t ak_nonce = json_integer_value(json_object_get(ak, "nonce"));
    if ((json_int_t)tx->nonce <= ak_nonce)
        return json_pack("{s:{s:I,s:I}}", "InvalidNonce", "tx_nonce", (json_int_t)tx->nonce,
                         "ak_nonce", ak_nonce);
    nu_u128 balance = get_u128(signer, "amount");
    if (balance < cost)
        return json_pack("{s:{s:s,s:o,s:o}}", "NotEnoughBalance", "signer_id", tx->signer_id,
                         "balance", u128_json(balance), "cost", u128_json(cost));
    return NULL;
}

static json_t *action_failure(size_t index, const char *kind, const char *account)
{
    return json_pack("{s:{s:{s:I,s:{s:{s:s}}}}}", "Failure", "ActionError", "index",
                     (json_int_t)index, "kind", kind, "account_id", account);
}

static void add_amount(json_t *a, const char *key, nu_u128 delta, bool sub)
{
    nu_u128 v = get_u128(a, key);
    v = sub ? (v >= delta ? v - delta : 0) : v + delta;
    json_object_set_new(a, key, u128_json(v));
}

static bool has_code(const json_t *acct)
{
    const char *h = json_string_value(json_object_get(acct, "code_hash"));
    return h && strcmp(h, RPC_NO_CODE_HASH) != 0;
}

/* A FunctionCall on an account without code: the VM cannot compile it. */
static json_t *no_code_failure(size_t index, const char *account)
{
    return json_pack("{s:{s:{s:I,s:{s:{s:{s:{s:s}}}}}}}", "Failure", "ActionError", "index",
                     (json_int_t)index, "kind", "FunctionCallError", "CompilationError",
                     "CodeDoesNotExist", "account_id", account);
}

/* Applies one action to the receiver state r (a working copy); returns a
 * Failure status or NULL. *deleted is set by DeleteAccount. */
static json_t *apply_action(struct sim_rpc *rpc, const struct sim_tx *tx, size_t i, json_t **r,
                            bool *deleted)
{
    const struct sim_action *a = &tx->actions[i];
    char pk[NU_KEY_TEXT_MAX], hash[SIM_HASH_MAX];
    if (a->kind == SIM_ACT_CREATE_ACCOUNT) {
        if (*r)
            return action_failure(i, "AccountAlreadyExists", tx->receiver_id);
        *r = json_pack("{s:s,s:s,s:s,s:i,s:{}}", "amount", "0", "locked", "0", "code_hash",
                       RPC_NO_CODE_HASH, "storage_usage", 100, "keys");
        return NULL;
    }
    if (!*r)
        return action_failure(i, "AccountDoesNotExist", tx->receiver_id);
    sim_pubkey_text(&a->pk, pk, sizeof(pk));
    switch (a->kind) {
    case SIM_ACT_TRANSFER:
    case SIM_ACT_FUNCTION_CALL:
        if (a->kind == SIM_ACT_FUNCTION_CALL && !has_code(*r))
            return no_code_failure(i, tx->receiver_id);
        add_amount(*r, "amount", a->amount, false);
        break;
    case SIM_ACT_ADD_KEY:
        json_object_set_new(json_object_get(*r, "keys"), pk,
                            json_pack("{s:I,s:o}", "nonce", (json_int_t)a->ak.nonce, "permission",
                                      permission_view(&a->ak)));
        break;
    case SIM_ACT_DELETE_KEY:
        json_object_del(json_object_get(*r, "keys"), pk);
        break;
    case SIM_ACT_DEPLOY_CONTRACT:
        code_hash_text(&a->code, hash);
        json_object_set_new(*r, "code_hash", json_string(hash));
        json_object_set_new(*r, "code_base64", bytes_b64(a->code.p, a->code.len));
        break;
    case SIM_ACT_STAKE:
        json_object_set_new(*r, "locked", u128_json(a->amount));
        break;
    case SIM_ACT_DELETE_ACCOUNT:
        *deleted = true;
        break;
    }
    (void)rpc;
    return NULL;
}

/* Runs the receipt on a copy of the receiver; commits only on success. */
static json_t *run_receipt(struct sim_rpc *rpc, const struct sim_tx *tx)
{
    const json_t *cur = strcmp(tx->receiver_id, tx->signer_id) == 0
                            ? json_object_get(rpc->accounts, tx->signer_id)
                            : rpc_account_get(rpc, tx->receiver_id);
    json_t *r = cur ? json_deep_copy(cur) : NULL;
    bool deleted = false;
    for (size_t i = 0; i < tx->nactions; i++) {
        json_t *fail = apply_action(rpc, tx, i, &r, &deleted);
        if (fail) {
            json_decref(r);
            return fail;
        }
    }
    if (r && deleted) {
        const struct sim_action *last = &tx->actions[tx->nactions - 1];
        json_t *b = rpc_account_get(rpc, last->beneficiary);
        if (b && strcmp(last->beneficiary, tx->receiver_id) != 0) {
            json_t *bc = json_deep_copy(b);
            add_amount(bc, "amount", get_u128(r, "amount"), false);
            rpc_account_put(rpc, last->beneficiary, bc);
        }
        json_object_set_new(r, "deleted", json_true());
    }
    if (r)
        rpc_account_put(rpc, tx->receiver_id, r);
    return json_pack("{s:s}", "SuccessValue", "");
}

void rpc_tx_apply(struct sim_rpc *rpc, const struct sim_tx *tx, struct tx_result *res)
{
    char pk[NU_KEY_TEXT_MAX];
    memset(res, 0, sizeof(*res));
    res->tokens_burnt = (nu_u128)SIM_TX_GAS * gas_price(rpc);
    nu_u128 fees = 2 * res->tokens_burnt, deps = deposits(tx);
    res->invalid = check_tx(rpc, tx, deps + fees);
    if (res->invalid)
        return;
    /* Charge the signer (fees, deposits) and bump the key nonce. */
    json_t *s = json_deep_copy(rpc_account_get(rpc, tx->signer_id));
    sim_pubkey_text(&tx->public_key, pk, sizeof(pk));
    add_amount(s, "amount", deps + fees, true);
    json_object_set_new(json_object_get(json_object_get(s, "keys"), pk), "nonce",
                        json_integer((json_int_t)tx->nonce));
    rpc_account_put(rpc, tx->signer_id, s);
    res->status = run_receipt(rpc, tx);
    if (json_object_get(res->status, "Failure") && deps > 0) {
        /* A failed receipt refunds its deposits to the signer. */
        json_t *back = json_deep_copy(rpc_account_get(rpc, tx->signer_id));
        add_amount(back, "amount", deps, false);
        rpc_account_put(rpc, tx->signer_id, back);
    }
}
