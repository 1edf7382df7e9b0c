/* Borsh decoding of NEAR's SignedTransaction: little-endian integers,
 * u32-length-prefixed strings and vectors, u8 enum tags. Every read is
 * bounds-checked; the first failure sticks and names what was being read. */

#include <stdio.h>
#include <string.h>
#include "base58.h"
#include "borsh.h"
#include "sha256.h"

struct rd {
    const uint8_t *p;
    size_t len, off;
    const char *err; /* first failure, static text */
};

static bool need(struct rd *r, size_t n, const char *what)
{
    if (r->err)
        return false;
    if (r->len - r->off < n) {
        r->err = what;
        return false;
    }
    return true;
}

static uint8_t rd_u8(struct rd *r, const char *what)
{
    if (!need(r, 1, what))
        return 0;
    return r->p[r->off++];
}

static uint64_t rd_u64(struct rd *r, const char *what)
{
    uint64_t v = 0;
    if (!need(r, 8, what))
        return 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | r->p[r->off + (size_t)i];
    r->off += 8;
    return v;
}

static nu_u128 rd_u128(struct rd *r, const char *what)
{
    uint64_t lo = rd_u64(r, what), hi = rd_u64(r, what);
    return ((nu_u128)hi << 64) | lo;
}

static uint32_t rd_u32(struct rd *r, const char *what)
{
    uint32_t v = 0;
    if (!need(r, 4, what))
        return 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | r->p[r->off + (size_t)i];
    r->off += 4;
    return v;
}

static struct borsh_bytes rd_bytes(struct rd *r, const char *what)
{
    struct borsh_bytes b = {NULL, 0};
    uint32_t n = rd_u32(r, what);
    if (!need(r, n, what))
        return b;
    b.p = r->p + r->off;
    b.len = n;
    r->off += n;
    return b;
}

static void rd_fixed(struct rd *r, uint8_t *out, size_t n, const char *what)
{
    if (!need(r, n, what))
        return;
    memcpy(out, r->p + r->off, n);
    r->off += n;
}

/* NEAR account ids: 2..64 chars of [a-z0-9._-]. */
static void rd_account(struct rd *r, char out[NU_ACCOUNT_ID_MAX + 1], const char *what)
{
    struct borsh_bytes b = rd_bytes(r, what);
    out[0] = '\0';
    if (r->err)
        return;
    if (!nu_account_id_valid((const char *)b.p, b.len)) {
        r->err = what;
        return;
    }
    memcpy(out, b.p, b.len);
    out[b.len] = '\0';
}

static void rd_pubkey(struct rd *r, struct sim_pubkey *pk, const char *what)
{
    pk->type = rd_u8(r, what);
    if (r->err)
        return;
    if (pk->type == SIM_KEY_ED25519)
        pk->len = 32;
    else if (pk->type == SIM_KEY_SECP256K1)
        pk->len = 64;
    else {
        r->err = what;
        return;
    }
    rd_fixed(r, pk->data, pk->len, what);
}

static void rd_access_key(struct rd *r, struct sim_access_key *ak)
{
    ak->nonce = rd_u64(r, "access key nonce");
    uint8_t perm = rd_u8(r, "access key permission");
    if (r->err)
        return;
    if (perm == 1) {
        ak->full_access = true;
        return;
    }
    if (perm != 0) {
        r->err = "access key permission";
        return;
    }
    uint8_t some = rd_u8(r, "allowance");
    if (some > 1)
        r->err = "allowance";
    ak->has_allowance = some == 1;
    if (ak->has_allowance)
        ak->allowance = rd_u128(r, "allowance");
    rd_account(r, ak->receiver_id, "function call receiver_id");
    ak->nmethods = rd_u32(r, "method_names");
    if (ak->nmethods > SIM_TX_MAX_METHOD_NAMES && !r->err)
        r->err = "method_names (too many)";
    for (uint32_t i = 0; i < ak->nmethods && !r->err; i++)
        ak->methods[i] = rd_bytes(r, "method name");
}

static void rd_action(struct rd *r, struct sim_action *a)
{
    a->kind = rd_u8(r, "action");
    switch (a->kind) {
    case SIM_ACT_CREATE_ACCOUNT:
        break;
    case SIM_ACT_DEPLOY_CONTRACT:
        a->code = rd_bytes(r, "contract code");
        break;
    case SIM_ACT_FUNCTION_CALL:
        a->method = rd_bytes(r, "method_name");
        a->args = rd_bytes(r, "args");
        a->gas = rd_u64(r, "gas");
        a->amount = rd_u128(r, "deposit");
        break;
    case SIM_ACT_TRANSFER:
        a->amount = rd_u128(r, "deposit");
        break;
    case SIM_ACT_STAKE:
        a->amount = rd_u128(r, "stake");
        rd_pubkey(r, &a->pk, "stake public_key");
        break;
    case SIM_ACT_ADD_KEY:
        rd_pubkey(r, &a->pk, "add key public_key");
        rd_access_key(r, &a->ak);
        break;
    case SIM_ACT_DELETE_KEY:
        rd_pubkey(r, &a->pk, "delete key public_key");
        break;
    case SIM_ACT_DELETE_ACCOUNT:
        rd_account(r, a->beneficiary, "beneficiary_id");
        break;
    default:
        if (!r->err)
            r->err = "action (unknown variant)";
    }
}

int sim_borsh_signed_tx(const uint8_t *buf, size_t len, struct sim_tx *tx, char *errbuf)
{
    struct rd r = {buf, len, 0, NULL};
    memset(tx, 0, sizeof(*tx));
    rd_account(&r, tx->signer_id, "signer_id");
    rd_pubkey(&r, &tx->public_key, "public_key");
    tx->nonce = rd_u64(&r, "nonce");
    rd_account(&r, tx->receiver_id, "receiver_id");
    rd_fixed(&r, tx->block_hash, 32, "block_hash");
    uint32_t nact = rd_u32(&r, "actions");
    if (nact > SIM_TX_MAX_ACTIONS && !r.err)
        r.err = "actions (too many)";
    for (uint32_t i = 0; i < nact && !r.err; i++)
        rd_action(&r, &tx->actions[i]);
    tx->nactions = nact;
    tx->tx_bytes = buf;
    tx->tx_len = r.off;
    tx->sig_type = rd_u8(&r, "signature");
    if (!r.err && tx->sig_type > SIM_KEY_SECP256K1)
        r.err = "signature (unknown key type)";
    tx->sig_len = tx->sig_type == SIM_KEY_ED25519 ? 64 : 65;
    rd_fixed(&r, tx->signature, tx->sig_len, "signature");
    if (!r.err && r.off != len)
        r.err = "trailing bytes";
    if (r.err)
        return nu_err_set(errbuf, NU_EPARSE, "invalid %s at byte %zu", r.err, r.off);
    nu_sha256(tx->tx_bytes, tx->tx_len, tx->hash);
    return 0;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

size_t sim_base64_decoded_max(size_t inlen)
{
    return inlen / 4 * 3 + 3;
}

int sim_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz, size_t *outlen)
{
    size_t n = 0;
    if (inlen % 4 != 0)
        return NU_EINVAL;
    for (size_t i = 0; i < inlen; i += 4) {
        size_t pad = 0;
        if (i + 4 == inlen && in[i + 3] == '=')
            pad = in[i + 2] == '=' ? 2 : 1;
        int v[4] = {b64_value(in[i]), b64_value(in[i + 1]), pad == 2 ? 0 : b64_value(in[i + 2]),
                    pad >= 1 ? 0 : b64_value(in[i + 3])};
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
            return NU_EINVAL;
        if (n + 3 - pad > outsz)
            return NU_ETOOBIG;
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[n++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[n++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[n++] = (uint8_t)w;
    }
    *outlen = n;
    return 0;
}

void sim_base64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            w |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            w |= in[i + 2];
        out[o++] = b64[(w >> 18) & 63];
        out[o++] = b64[(w >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64[w & 63] : '=';
    }
    out[o] = '\0';
}

/* ---- keys ---- */

void sim_pubkey_text(const struct sim_pubkey *pk, char *out, size_t outsz)
{
    char b58[128];
    if (nu_base58_encode(pk->data, pk->len, b58, sizeof(b58)) < 0)
        b58[0] = '\0';
    snprintf(out, outsz, "%s:%s", pk->type == SIM_KEY_ED25519 ? "ed25519" : "secp256k1", b58);
}

int sim_pubkey_parse(const char *text, struct sim_pubkey *pk)
{
    size_t n = 0;
    const char *b58 = text;
    memset(pk, 0, sizeof(*pk));
    if (strncmp(text, "ed25519:", 8) == 0) {
        b58 = text + 8;
    } else if (strncmp(text, "secp256k1:", 10) == 0) {
        pk->type = SIM_KEY_SECP256K1;
        b58 = text + 10;
    }
    if (nu_base58_decode(b58, pk->data, sizeof(pk->data), &n) != 0)
        return NU_EINVAL;
    if (n != (pk->type == SIM_KEY_ED25519 ? 32u : 64u))
        return NU_EINVAL;
    pk->len = n;
    return 0;
}
