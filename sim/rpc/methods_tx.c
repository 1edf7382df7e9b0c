/* The transaction methods: broadcast_tx_async, broadcast_tx_commit,
 * send_tx, tx and EXPERIMENTAL_tx_status.
 *
 * A valid transaction is applied at once and recorded as included in the
 * next block (head + 1); its receipt executes one block later. Its
 * TxExecutionStatus follows the head: INCLUDED at inclusion, then
 * EXECUTED_OPTIMISTIC, EXECUTED (inclusion block final) and FINAL. Calls
 * that wait (wait_until, broadcast_tx_commit, unknown txs) are re-checked
 * on every new head and time out after rpc.polling_config.polling_timeout
 * with TIMEOUT_ERROR, like neard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base58.h"
#include "json.h"
#include "tx.h"

#define SIGNED_TX_MAX (4u << 20) /* base64 text of one transaction */

enum level { L_NONE, L_INCLUDED, L_EXEC_OPT, L_INCLUDED_FINAL, L_EXECUTED, L_FINAL };
static const char *const level_names[] = {"NONE",           "INCLUDED", "EXECUTED_OPTIMISTIC",
                                          "INCLUDED_FINAL", "EXECUTED", "FINAL"};

struct rpc_wait {
    struct rpc_wait *prev, *next; /* in rpc->waits */
    struct rpc_call *c;
    char hash[SIM_HASH_MAX];
    char sender[NU_ACCOUNT_ID_MAX + 1];
    enum level want;
    uv_timer_t *timer;
};

static int parse_level(const json_t *v, enum level *out)
{
    if (!v) {
        *out = L_EXEC_OPT; /* neard's default wait_until */
        return 0;
    }
    for (int i = 0; i <= L_FINAL; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), level_names[i]) == 0) {
            *out = (enum level)i;
            return 0;
        }
    }
    return NU_EINVAL;
}

/* ---- tx records ---- */

static json_t *record_get(struct sim_rpc *rpc, const char *hash)
{
    json_t *r = json_object_get(rpc->txs, hash);
    char key[SIM_HASH_MAX + 4], *val = NULL;
    size_t len = 0;
    if (r || !rpc->n->store)
        return r;
    snprintf(key, sizeof(key), "tx:%s", hash);
    if (sim_store_get(rpc->n->store, key, &val, &len) != 0)
        return NULL;
    r = json_loadb(val, len, 0, NULL);
    free(val);
    if (!json_is_object(r)) {
        json_decref(r);
        return NULL;
    }
    json_object_set_new(rpc->txs, hash, r);
    return r;
}

static void record_put(struct sim_rpc *rpc, const char *hash, json_t *rec)
{
    json_object_set_new(rpc->txs, hash, rec);
    if (!rpc->n->store)
        return;
    char key[SIM_HASH_MAX + 4];
    char *val = json_dumps(rec, JSON_COMPACT);
    snprintf(key, sizeof(key), "tx:%s", hash);
    if (!val || sim_store_put(rpc->n->store, key, val, strlen(val)) != 0)
        sim_log("WARN", "jsonrpc", "could not persist transaction %s", hash);
    free(val);
}

static enum level level_of(const struct sim_node *n, const json_t *rec)
{
    uint64_t h = (uint64_t)json_integer_value(json_object_get(rec, "height"));
    if (n->head < h)
        return L_NONE;
    uint64_t d = n->head - h;
    return d == 0 ? L_INCLUDED : d == 1 ? L_EXEC_OPT : d == 2 ? L_EXECUTED : L_FINAL;
}

/* RpcTransactionResponse: the outcome (once executed) + final_execution_status. */
static json_t *tx_response(const struct sim_node *n, const json_t *rec, enum level lv)
{
    json_t *o = lv >= L_EXEC_OPT && lv != L_INCLUDED_FINAL
                    ? json_deep_copy(json_object_get(rec, "outcome"))
                    : json_object();
    json_object_set_new(o, "final_execution_status", json_string(level_names[lv]));
    (void)n;
    return o;
}

static json_t *outcome_view(const char *id, const char *block, const char *executor,
                            json_t *receipt_ids, json_t *status, const char *burnt, int version)
{
    return json_pack("{s:[],s:s,s:s,s:{s:[],s:o,s:I,s:s,s:s,s:o,s:{s:i,s:n}}}", "proof",
                     "block_hash", block, "id", id, "outcome", "logs", "receipt_ids", receipt_ids,
                     "gas_burnt", (json_int_t)SIM_TX_GAS, "tokens_burnt", burnt, "executor_id",
                     executor, "status", status, "metadata", "version", version, "gas_profile");
}

static json_t *transaction_view(const struct sim_tx *tx, const char *hash)
{
    char pk[NU_KEY_TEXT_MAX], sig[200], b58[160];
    json_t *actions = json_array();
    for (size_t i = 0; i < tx->nactions; i++)
        json_array_append_new(actions, rpc_action_view(&tx->actions[i]));
    sim_pubkey_text(&tx->public_key, pk, sizeof(pk));
    if (nu_base58_encode(tx->signature, tx->sig_len, b58, sizeof(b58)) < 0)
        b58[0] = '\0';
    snprintf(sig, sizeof(sig), "%s:%s", tx->sig_type == SIM_KEY_ED25519 ? "ed25519" : "secp256k1",
             b58);
    return json_pack("{s:s,s:s,s:I,s:s,s:I,s:o,s:s,s:s}", "signer_id", tx->signer_id, "public_key",
                     pk, "nonce", (json_int_t)tx->nonce, "receiver_id", tx->receiver_id,
                     "priority_fee", (json_int_t)0, "actions", actions, "signature", sig, "hash",
                     hash);
}

/* Builds and stores the record of an applied transaction. */
static json_t *record_new(struct sim_rpc *rpc, const struct sim_tx *tx, const char *hash,
                          struct tx_result *res)
{
    const struct sim_node *n = rpc->n;
    struct sim_block incl, exec;
    char rid[SIM_HASH_MAX], seed[SIM_HASH_MAX + 16], burnt[NU_U128_TEXT_MAX];
    uint64_t h = n->head + 1;
    sim_chain_block(n, h, &incl);
    sim_chain_block(n, h + 1, &exec);
    int len = snprintf(seed, sizeof(seed), "%s/receipt", hash);
    rpc_hash_text(seed, (size_t)len, rid);
    nu_u128_text(res->tokens_burnt, burnt);
    json_t *txo = outcome_view(hash, incl.hash, tx->signer_id, json_pack("[s]", rid),
                               json_pack("{s:s}", "SuccessReceiptId", rid), burnt, 1);
    json_t *rxo = outcome_view(rid, exec.hash, tx->receiver_id, json_array(),
                               json_incref(res->status), burnt, 3);
    json_t *outcome =
        json_pack("{s:O,s:o,s:o,s:[o]}", "status", res->status, "transaction",
                  transaction_view(tx, hash), "transaction_outcome", txo, "receipts_outcome", rxo);
    json_t *rec = json_pack("{s:s,s:s,s:I,s:o}", "signer_id", tx->signer_id, "receiver_id",
                            tx->receiver_id, "height", (json_int_t)h, "outcome", outcome);
    record_put(rpc, hash, rec);
    return rec;
}

/* ---- decoding and submitting ---- */

struct decoded {
    uint8_t *buf;
    struct sim_tx *tx;
    char hash[SIM_HASH_MAX];
};

static void decoded_free(struct decoded *d)
{
    free(d->buf);
    free(d->tx);
    d->buf = NULL;
    d->tx = NULL;
}

static int decode_tx(struct rpc_call *c, const json_t *v, struct decoded *d)
{
    char err[NU_ERRMSG_MAX], msg[NU_ERRMSG_MAX + 40];
    const char *s = json_string_value(v);
    size_t inlen = s ? strlen(s) : 0, outlen = 0;
    memset(d, 0, sizeof(*d));
    if (!s) {
        rpc_fail_args(c, "invalid type: expected a base64 string");
        return NU_EINVAL;
    }
    d->buf = inlen <= SIGNED_TX_MAX ? malloc(sim_base64_decoded_max(inlen)) : NULL;
    d->tx = malloc(sizeof(*d->tx));
    if (!d->buf || !d->tx ||
        sim_base64_decode(s, inlen, d->buf, sim_base64_decoded_max(inlen), &outlen) != 0) {
        decoded_free(d);
        rpc_call_fail(c, rpc_err_parse("Failed to decode transaction: invalid base64"), 400);
        return NU_EINVAL;
    }
    if (sim_borsh_signed_tx(d->buf, outlen, d->tx, err) != 0) {
        snprintf(msg, sizeof(msg), "Failed to decode transaction: %s", err);
        decoded_free(d);
        rpc_call_fail(c, rpc_err_parse(msg), 400);
        return NU_EINVAL;
    }
    if (nu_base58_encode(d->tx->hash, sizeof(d->tx->hash), d->hash, sizeof(d->hash)) < 0)
        d->hash[0] = '\0';
    return 0;
}

/* Applies a new transaction (idempotent for a known hash). Returns the
 * record, or NULL with *invalid set to the InvalidTxError value. */
static json_t *submit(struct sim_rpc *rpc, const struct decoded *d, json_t **invalid)
{
    json_t *rec = record_get(rpc, d->hash);
    struct tx_result res;
    *invalid = NULL;
    if (rec)
        return rec;
    rpc_tx_apply(rpc, d->tx, &res);
    if (res.invalid) {
        *invalid = res.invalid;
        return NULL;
    }
    rec = record_new(rpc, d->tx, d->hash, &res);
    json_decref(res.status);
    return rec;
}

static void fail_invalid(struct rpc_call *c, json_t *invalid)
{
    json_t *data = json_pack("{s:{s:o}}", "TxExecutionError", "InvalidTxError", invalid);
    rpc_call_fail(c, rpc_err_handler("INVALID_TRANSACTION", json_object(), data), 200);
}

/* ---- waiting ---- */

static void wait_remove(struct sim_rpc *rpc, struct rpc_wait *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        rpc->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->c->wait = NULL;
    if (w->timer) {
        uv_timer_stop(w->timer);
        uv_close((uv_handle_t *)w->timer, rpc_handle_closed);
    }
    free(w);
}

static void fail_timeout(struct rpc_call *c)
{
    rpc_metrics_timeout(c->ex->rpc);
    rpc_call_fail(c, rpc_err_handler("TIMEOUT_ERROR", NULL, json_string("Timeout")), 408);
}

static void on_wait_timeout(uv_timer_t *t)
{
    struct rpc_wait *w = t->data ? ((struct rpc_exchange *)t->data)->rpc->waits : NULL;
    for (; w && w->timer != t; w = w->next)
        ;
    if (!w)
        return;
    struct rpc_call *c = w->c;
    wait_remove(c->ex->rpc, w);
    fail_timeout(c);
}

/* Answers c now if the tx reached the wanted level; true when answered. */
static bool try_answer(struct rpc_call *c, const char *hash, const char *sender, enum level want)
{
    struct sim_rpc *rpc = c->ex->rpc;
    json_t *rec = record_get(rpc, hash);
    if (!rec || (sender[0] && strcmp(sender, json_string_value(json_object_get(rec, "signer_id")))))
        return false;
    enum level lv = level_of(rpc->n, rec);
    if (lv < want)
        return false;
    rpc_call_ok(c, tx_response(rpc->n, rec, lv));
    return true;
}

static void wait_for(struct rpc_call *c, const char *hash, const char *sender, enum level want)
{
    struct sim_rpc *rpc = c->ex->rpc;
    if (try_answer(c, hash, sender, want))
        return;
    struct rpc_wait *w = c->ex->sync ? NULL : calloc(1, sizeof(*w));
    uv_timer_t *t = w ? malloc(sizeof(*t)) : NULL;
    if (!t || uv_timer_init(rpc->n->loop, t) != 0) {
        free(t);
        free(w);
        fail_timeout(c); /* synchronous callers cannot wait */
        return;
    }
    w->c = c;
    snprintf(w->hash, sizeof(w->hash), "%s", hash);
    snprintf(w->sender, sizeof(w->sender), "%s", sender);
    w->want = want;
    w->timer = t;
    t->data = c->ex;
    c->ex->handles++;
    rpc->open_handles++;
    c->wait = w;
    w->next = rpc->waits;
    if (rpc->waits)
        rpc->waits->prev = w;
    rpc->waits = w;
    uv_timer_start(t, on_wait_timeout, rpc->n->cfg.polling_timeout_ms, 0);
}

void rpc_tx_on_head(struct sim_rpc *rpc)
{
    for (struct rpc_wait *w = rpc->waits, *next; w; w = next) {
        next = w->next;
        struct rpc_call *c = w->c;
        char hash[SIM_HASH_MAX], sender[NU_ACCOUNT_ID_MAX + 1];
        enum level want = w->want;
        snprintf(hash, sizeof(hash), "%s", w->hash);
        snprintf(sender, sizeof(sender), "%s", w->sender);
        if (!record_get(rpc, hash) || level_of(rpc->n, record_get(rpc, hash)) < want)
            continue;
        wait_remove(rpc, w);
        /* Answering may free the exchange of c (and other waits of it). */
        next = rpc->waits;
        (void)try_answer(c, hash, sender, want);
    }
}

void rpc_tx_cancel_waits(struct rpc_exchange *ex)
{
    for (struct rpc_wait *w = ex->rpc->waits, *next; w; w = next) {
        next = w->next;
        if (w->c->ex == ex)
            wait_remove(ex->rpc, w);
    }
}

/* ---- methods ---- */

static const json_t *single_param(const struct rpc_call *c)
{
    if (json_is_array(c->params) && json_array_size(c->params) == 1)
        return json_array_get(c->params, 0);
    return NULL;
}

void rpc_m_broadcast_async(struct rpc_call *c)
{
    struct decoded d;
    json_t *invalid = NULL;
    if (decode_tx(c, single_param(c), &d) != 0)
        return;
    /* neard forwards without waiting for validation: the hash comes back anyway. */
    (void)submit(c->ex->rpc, &d, &invalid);
    json_decref(invalid);
    rpc_call_ok(c, json_string(d.hash));
    decoded_free(&d);
}

static void submit_and_wait(struct rpc_call *c, const json_t *b64, enum level want)
{
    struct decoded d;
    json_t *invalid = NULL;
    if (decode_tx(c, b64, &d) != 0)
        return;
    json_t *rec = submit(c->ex->rpc, &d, &invalid);
    if (!rec)
        fail_invalid(c, invalid);
    else if (want == L_NONE)
        rpc_call_ok(c, json_pack("{s:s}", "final_execution_status", "NONE"));
    else
        wait_for(c, d.hash, d.tx->signer_id, want);
    decoded_free(&d);
}

void rpc_m_broadcast_commit(struct rpc_call *c)
{
    submit_and_wait(c, single_param(c), L_EXEC_OPT);
}

void rpc_m_send_tx(struct rpc_call *c)
{
    enum level want;
    if (!json_is_object(c->params) || !json_object_get(c->params, "signed_tx_base64")) {
        rpc_fail_args(c, "missing field `signed_tx_base64`");
        return;
    }
    if (parse_level(json_object_get(c->params, "wait_until"), &want) != 0) {
        rpc_fail_args(c, "unknown variant of `wait_until`");
        return;
    }
    submit_and_wait(c, json_object_get(c->params, "signed_tx_base64"), want);
}

/* tx / EXPERIMENTAL_tx_status by hash and sender. */
static void status_by_hash(struct rpc_call *c, const json_t *hash, const json_t *sender,
                           enum level want)
{
    uint8_t raw[64];
    size_t rawlen = 0;
    const char *h = json_string_value(hash), *s = json_string_value(sender);
    if (!h || nu_base58_decode(h, raw, sizeof(raw), &rawlen) != 0 || rawlen != 32) {
        rpc_fail_args(c, "invalid transaction hash");
        return;
    }
    if (!s || strlen(s) < 2 || strlen(s) > NU_ACCOUNT_ID_MAX) {
        rpc_fail_args(c, "invalid sender account id");
        return;
    }
    wait_for(c, h, s, want);
}

/* tx by signed transaction: only looks it up (neard does not submit it). */
static void status_by_tx(struct rpc_call *c, const json_t *b64, enum level want)
{
    struct decoded d;
    if (decode_tx(c, b64, &d) != 0)
        return;
    wait_for(c, d.hash, d.tx->signer_id, want);
    decoded_free(&d);
}

void rpc_m_tx(struct rpc_call *c)
{
    const json_t *p = c->params;
    enum level want = L_EXEC_OPT;
    if (json_is_array(p) && json_array_size(p) == 2) {
        status_by_hash(c, json_array_get(p, 0), json_array_get(p, 1), want);
        return;
    }
    if (json_is_array(p) && json_array_size(p) == 1) {
        status_by_tx(c, json_array_get(p, 0), want);
        return;
    }
    if (!json_is_object(p) || parse_level(json_object_get(p, "wait_until"), &want) != 0) {
        rpc_fail_args(c, "data did not match any variant of untagged enum TransactionInfo");
        return;
    }
    if (json_object_get(p, "signed_tx_base64"))
        status_by_tx(c, json_object_get(p, "signed_tx_base64"), want);
    else
        status_by_hash(c, json_object_get(p, "tx_hash"), json_object_get(p, "sender_account_id"),
                       want);
}
