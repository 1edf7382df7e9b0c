/* A signed Transfer transaction in borsh (see cn_tx.h). */
#include <openssl/evp.h>
#include <string.h>

#include "cn_tx.h"
#include "sha256.h"

#define KEY_ED25519 0
#define ACTION_TRANSFER 3

/* Little-endian integer of n bytes. */
static int put_le(struct nu_buf *b, uint64_t v, int n)
{
    uint8_t le[8];
    for (int i = 0; i < n; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    return nu_buf_append(b, le, (size_t)n);
}

static int put_u128(struct nu_buf *b, nu_u128 v)
{
    int rc = put_le(b, (uint64_t)v, 8);
    return rc ? rc : put_le(b, (uint64_t)(v >> 64), 8);
}

static int put_string(struct nu_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rc = put_le(b, n, 4);
    return rc ? rc : nu_buf_append(b, s, n);
}

static int put_ed25519(struct nu_buf *b, const uint8_t *key, size_t len)
{
    int rc = nu_buf_putc(b, KEY_ED25519);
    return rc ? rc : nu_buf_append(b, key, len);
}

/* The Transaction (V0): what is hashed and signed. */
static int put_transaction(struct nu_buf *b, const struct cn_transfer *t)
{
    int rc = put_string(b, t->key->account_id);
    if (rc == 0)
        rc = put_ed25519(b, t->key->pub, NU_KEY_PUB_LEN);
    if (rc == 0)
        rc = put_le(b, t->nonce, 8);
    if (rc == 0)
        rc = put_string(b, t->receiver_id);
    if (rc == 0)
        rc = nu_buf_append(b, t->block_hash, sizeof(t->block_hash));
    if (rc == 0)
        rc = put_le(b, 1, 4); /* one action */
    if (rc == 0)
        rc = nu_buf_putc(b, ACTION_TRANSFER);
    if (rc == 0)
        rc = put_u128(b, t->deposit);
    return rc;
}

int cn_tx_transfer(const struct cn_transfer *t, struct nu_buf *out, uint8_t hash[CN_TX_HASH_LEN],
                   char *errbuf)
{
    const char *ids[] = {t->key->account_id, t->receiver_id};
    for (int i = 0; i < 2; i++)
        if (!nu_account_id_valid(ids[i], strlen(ids[i])))
            return nu_err_set(errbuf, NU_EINVAL, "\"%s\" is not a NEAR account id", ids[i]);
    size_t start = out->len;
    uint8_t sig[NU_KEY_SIG_LEN];
    int rc = put_transaction(out, t);
    if (rc != 0)
        return nu_err_set(errbuf, rc, "transaction larger than %zu bytes", out->max);
    nu_sha256(out->data + start, out->len - start, hash);
    if (nu_key_sign(t->key, hash, CN_TX_HASH_LEN, sig) != 0)
        return nu_err_set(errbuf, NU_ECRYPTO, "cannot sign the transaction (libsodium)");
    rc = put_ed25519(out, sig, sizeof(sig));
    if (rc != 0)
        return nu_err_set(errbuf, rc, "transaction larger than %zu bytes", out->max);
    return 0;
}

void cn_base64(const uint8_t *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    out[n < 0 ? 0 : n] = '\0';
}
