/* A Borsh reader for NEAR's SignedTransaction (Transaction V0 layout), plus
 * the small codec the RPC side needs: base64 (u128 amounts: near.h).
 * Parsed strings and byte arrays point into the caller's buffer. */
#ifndef SIM_BORSH_H
#define SIM_BORSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "keys.h"

#define SIM_TX_MAX_ACTIONS 100     /* NEAR's max_actions_per_receipt */
#define SIM_TX_MAX_METHOD_NAMES 16 /* per FunctionCall access key */

enum sim_key_type { SIM_KEY_ED25519 = 0, SIM_KEY_SECP256K1 = 1 };

enum sim_action_kind {
    SIM_ACT_CREATE_ACCOUNT = 0,
    SIM_ACT_DEPLOY_CONTRACT = 1,
    SIM_ACT_FUNCTION_CALL = 2,
    SIM_ACT_TRANSFER = 3,
    SIM_ACT_STAKE = 4,
    SIM_ACT_ADD_KEY = 5,
    SIM_ACT_DELETE_KEY = 6,
    SIM_ACT_DELETE_ACCOUNT = 7,
};

struct borsh_bytes {
    const uint8_t *p; /* into the decoded transaction buffer */
    uint32_t len;
};

struct sim_pubkey {
    uint8_t type;     /* enum sim_key_type */
    uint8_t data[64]; /* 32 bytes for ed25519, 64 for secp256k1 */
    size_t len;
};

struct sim_access_key {
    uint64_t nonce;
    bool full_access;
    bool has_allowance;
    nu_u128 allowance;
    char receiver_id[NU_ACCOUNT_ID_MAX + 1];
    uint32_t nmethods;
    struct borsh_bytes methods[SIM_TX_MAX_METHOD_NAMES];
};

struct sim_action {
    uint8_t kind;                            /* enum sim_action_kind */
    struct borsh_bytes code;                 /* DeployContract */
    struct borsh_bytes method;               /* FunctionCall */
    struct borsh_bytes args;                 /* FunctionCall */
    uint64_t gas;                            /* FunctionCall */
    nu_u128 amount;                         /* FunctionCall deposit, Transfer, Stake */
    struct sim_pubkey pk;                    /* Stake, AddKey, DeleteKey */
    struct sim_access_key ak;                /* AddKey */
    char beneficiary[NU_ACCOUNT_ID_MAX + 1]; /* DeleteAccount */
};

struct sim_tx {
    char signer_id[NU_ACCOUNT_ID_MAX + 1];
    struct sim_pubkey public_key;
    uint64_t nonce;
    char receiver_id[NU_ACCOUNT_ID_MAX + 1];
    uint8_t block_hash[32];
    size_t nactions;
    struct sim_action actions[SIM_TX_MAX_ACTIONS];
    uint8_t sig_type;
    uint8_t signature[65];
    size_t sig_len;
    const uint8_t *tx_bytes; /* the borsh Transaction (what is hashed and signed) */
    size_t tx_len;
    uint8_t hash[32]; /* sha256(tx_bytes) */
};

/* Parses a borsh SignedTransaction from buf (which must outlive tx).
 * NU_EPARSE with a message in errbuf on malformed input or trailing bytes. */
NU_WUR int sim_borsh_signed_tx(const uint8_t *buf, size_t len, struct sim_tx *tx, char *errbuf);

/* Standard base64 (with padding) decode; *outlen gets the length.
 * NU_EINVAL on bad input, NU_ETOOBIG if out is too small. */
NU_WUR int sim_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz,
                             size_t *outlen);
/* Bytes base64 needs to decode inlen characters (upper bound). */
size_t sim_base64_decoded_max(size_t inlen);
/* Encodes into out (at least 4*((len+2)/3)+1 bytes). */
void sim_base64_encode(const uint8_t *in, size_t len, char *out);

/* "ed25519:<base58>" of a key; NU_EINVAL on parse failure. */
void sim_pubkey_text(const struct sim_pubkey *pk, char *out, size_t outsz);
NU_WUR int sim_pubkey_parse(const char *text, struct sim_pubkey *pk);

#endif
