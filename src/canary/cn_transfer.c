/* The transfer check, in four requests on one connection:
 *
 *   view_access_key      the key's nonce (finality final)
 *   block final          a recent block hash for the transaction
 *   broadcast_tx_commit  the signed Transfer; answers once it executed
 *   tx                   wait_until FINAL: answers once it is final
 *
 * The nonce is one above both the key's and the highest this canary
 * signed, so transfers through endpoints that have not yet seen the last
 * one still get a fresh nonce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "canary-int.h"
#include "clock.h"
#include "json.h"

enum { T_ACCESS_KEY, T_BLOCK, T_COMMIT, T_FINAL };

static const char *const step_names[] = {"view_access_key", "block", "broadcast_tx_commit", "tx"};

/* What the transfer did so far, for the report. */
static json_t *values(const struct cn_probe *p)
{
    const struct cn_canary *cn = p->cn;
    bool sent = p->step >= T_COMMIT;
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "signer", cn->key.account_id, "receiver",
                     cn->cfg.transfer_to, "amount", cn->cfg.transfer_amount.text, "nonce",
                     sent ? json_integer((json_int_t)p->nonce) : json_null(), "tx_hash",
                     sent ? json_string(p->tx_hash) : json_null(), "commit_ms",
                     p->step > T_COMMIT ? cn_json_ms(p->commit_ms) : json_null(), "final_ms",
                     json_null());
}

void cn_transfer_start(struct cn_probe *p)
{
    const struct cn_canary *cn = p->cn;
    p->step = T_ACCESS_KEY;
    p->tx_hash[0] = '\0';
    p->commit_ms = 0;
    cn_probe_send(p, "query",
                  json_pack("{s:s,s:s,s:s,s:s}", "request_type", "view_access_key", "finality",
                            "final", "account_id", cn->key.account_id, "public_key", cn->key_pub),
                  NU_HC_REPLAYABLE);
}

static void send_tx(struct cn_probe *p)
{
    struct cn_canary *cn = p->cn;
    char errbuf[NU_ERRMSG_MAX], b64[CN_TX_B64_MAX];
    uint8_t hash[CN_TX_HASH_LEN];
    struct nu_buf tx;
    nu_buf_init(&tx, CN_TX_MAX);
    p->nonce = (p->nonce > cn->last_nonce ? p->nonce : cn->last_nonce) + 1;
    const struct cn_transfer t = {.key = &cn->key,
                                  .nonce = p->nonce,
                                  .receiver_id = cn->cfg.transfer_to,
                                  .deposit = cn->cfg.transfer_amount.yocto};
    memcpy((uint8_t *)t.block_hash, p->block_hash, sizeof(t.block_hash));
    int rc = cn_tx_transfer(&t, &tx, hash, errbuf);
    if (rc == 0 && nu_base58_encode(hash, sizeof(hash), p->tx_hash, sizeof(p->tx_hash)) < 0)
        rc = nu_err_set(errbuf, NU_ETOOBIG, "transaction hash does not fit");
    if (rc != 0) {
        nu_buf_release(&tx);
        cn_probe_fail(p, values(p), "%s", errbuf);
        return;
    }
    cn->last_nonce = p->nonce;
    cn_base64((const uint8_t *)tx.data, tx.len, b64);
    nu_buf_release(&tx);
    p->step = T_COMMIT;
    p->sent_ns = nu_mono_ns();
    cn_probe_send(p, "broadcast_tx_commit", json_pack("[s]", b64), 0);
}

static int read_nonce(struct cn_probe *p, const json_t *r, char *err)
{
    const char *legacy;
    int64_t nonce;
    if (nu_json_get_str(r, "error", &legacy) == 0) /* UNKNOWN_ACCESS_KEY comes as a result */
        return nu_err_set(err, NU_ENOENT, "%.300s", legacy);
    if (nu_json_get_int(r, "nonce", &nonce) != 0 || nonce < 0)
        return nu_err_set(err, NU_EPARSE, "access key has no nonce");
    p->nonce = (uint64_t)nonce;
    return 0;
}

static int read_block_hash(struct cn_probe *p, const json_t *r, char *err)
{
    const char *hash;
    size_t len = 0;
    if (nu_json_get_str(r, "header.hash", &hash) != 0 ||
        nu_base58_decode(hash, p->block_hash, sizeof(p->block_hash), &len) != 0 ||
        len != sizeof(p->block_hash))
        return nu_err_set(err, NU_EPARSE, "block result has no 32-byte header.hash");
    return 0;
}

/* broadcast_tx_commit's outcome: executed without a Failure, under our hash. */
static int read_outcome(struct cn_probe *p, const json_t *r, char *err)
{
    const char *hash;
    json_t *failure = json_object_get(json_object_get(r, "status"), "Failure");
    if (failure != NULL) {
        char *text = json_dumps(failure, JSON_COMPACT);
        int rc = nu_err_set(err, NU_EINVAL, "transaction failed: %.300s", text ? text : "");
        free(text);
        return rc;
    }
    if (!json_object_get(json_object_get(r, "status"), "SuccessValue"))
        return nu_err_set(err, NU_EPARSE, "outcome has no status SuccessValue");
    if (nu_json_get_str(r, "transaction.hash", &hash) == 0 && strcmp(hash, p->tx_hash) != 0)
        return nu_err_set(err, NU_EVERIFY, "the node names the transaction %.60s, not %s", hash,
                          p->tx_hash);
    p->commit_ms = cn_ms_since(p->sent_ns);
    return 0;
}

static int read_final(const json_t *r, char *err)
{
    const char *st;
    if (nu_json_get_str(r, "final_execution_status", &st) != 0)
        return nu_err_set(err, NU_EPARSE, "answer has no final_execution_status");
    if (strcmp(st, "FINAL") != 0)
        return nu_err_set(err, NU_EPARSE, "final_execution_status is %.40s, not FINAL", st);
    return 0;
}

static void finish(struct cn_probe *p)
{
    json_t *v = values(p);
    json_object_set_new(v, "final_ms", cn_json_ms(cn_ms_since(p->sent_ns)));
    cn_probe_ok(p, v);
}

void cn_transfer_step(struct cn_probe *p, json_t *result, const char *err)
{
    char why[NU_ERRMSG_MAX];
    const struct cn_canary *cn = p->cn;
    int rc = err ? nu_err_set(why, NU_ENET, "%s", err) : 0;
    if (rc == 0 && p->step == T_ACCESS_KEY)
        rc = read_nonce(p, result, why);
    else if (rc == 0 && p->step == T_BLOCK)
        rc = read_block_hash(p, result, why);
    else if (rc == 0 && p->step == T_COMMIT)
        rc = read_outcome(p, result, why);
    else if (rc == 0)
        rc = read_final(result, why);
    if (rc != 0) {
        cn_probe_fail(p, values(p), "%s: %s", step_names[p->step], why);
        return;
    }
    switch (p->step) {
    case T_ACCESS_KEY:
        p->step = T_BLOCK;
        cn_probe_send(p, "block", json_pack("{s:s}", "finality", "final"), NU_HC_REPLAYABLE);
        break;
    case T_BLOCK:
        send_tx(p);
        break;
    case T_COMMIT:
        p->step = T_FINAL;
        cn_probe_send(p, "tx",
                      json_pack("{s:s,s:s,s:s}", "tx_hash", p->tx_hash, "sender_account_id",
                                cn->key.account_id, "wait_until", "FINAL"),
                      NU_HC_REPLAYABLE);
        break;
    default:
        finish(p);
    }
}
