/* The transfer check's transaction: a NEAR SignedTransaction with one
 * Transfer action, in borsh (Transaction V0, which every neard accepts):
 *
 *   signer_id       u32 length + bytes
 *   public_key      u8 key type (0: ed25519) + 32 bytes
 *   nonce           u64
 *   receiver_id     u32 length + bytes
 *   block_hash      32 bytes
 *   actions         u32 count, then per action u8 tag (3: Transfer) + u128 deposit
 *   signature       u8 key type (0) + 64 bytes: ed25519 over sha256(the above)
 *
 * Integers are little-endian. Pure code (libsodium signs, libcrypto's
 * base64). */
#ifndef CN_TX_H
#define CN_TX_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "keys.h"
#include "near.h"

#define CN_TX_HASH_LEN 32
#define CN_TX_MAX 512      /* a transfer's signed bytes (two account ids at most 64 each) */
#define CN_TX_B64_MAX 700  /* its base64 */
#define CN_TX_HASH_TEXT 64 /* base58 of 32 bytes, with the NUL */

struct cn_transfer {
    const struct nu_keypair *key; /* signer: key->account_id and key->pub */
    uint64_t nonce;
    const char *receiver_id;
    uint8_t block_hash[32];
    nu_u128 deposit;
};

/* The signed transaction's borsh bytes into out (appended), its hash (what
 * neard names it by, base58 for tx queries) into hash. NU_EINVAL for an
 * account id that is not one; NU_ECRYPTO when signing fails. */
NU_WUR int cn_tx_transfer(const struct cn_transfer *t, struct nu_buf *out,
                          uint8_t hash[CN_TX_HASH_LEN], char *errbuf);

/* Standard base64 with padding of len bytes into out (at least
 * 4 * ceil(len / 3) + 1 bytes). */
void cn_base64(const uint8_t *in, size_t len, char *out);

#endif
