/* NEAR key files (node_key.json, validator_key.json) and ed25519 keys in
 * NEAR's text form "ed25519:<base58>". The secret key is libsodium's 64-byte
 * expanded key (seed || public key), as NEAR stores it. */
#ifndef NU_KEYS_H
#define NU_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "near.h"

#define NU_KEY_PUB_LEN 32
#define NU_KEY_SEC_LEN 64
#define NU_KEY_SIG_LEN 64
#define NU_KEY_TEXT_MAX 128 /* "ed25519:" + base58 of 64 bytes + NUL */

struct nu_keypair {
    char account_id[NU_ACCOUNT_ID_MAX + 1];
    uint8_t pub[NU_KEY_PUB_LEN];
    uint8_t sec[NU_KEY_SEC_LEN];
};

/* Random key pair (libsodium). */
NU_WUR int nu_key_generate(struct nu_keypair *kp, const char *account_id);
/* Deterministic key pair from a seed string, exactly as near-crypto's
 * SecretKey::from_seed (neard localnet derives keys from node names): the
 * seed string, truncated or right-padded with spaces to 32 bytes, is the
 * ed25519 seed. from_seed("node1") gives ed25519:6DSjZ8mv...Dk8e. */
NU_WUR int nu_key_from_seed(struct nu_keypair *kp, const char *account_id, const char *seed);
/* "ed25519:<base58>" of the public / secret key into out (NU_KEY_TEXT_MAX). */
void nu_key_pub_text(const struct nu_keypair *kp, char *out, size_t outsz);
void nu_key_sec_text(const struct nu_keypair *kp, char *out, size_t outsz);
/* Parses "ed25519:<base58>" public key text. */
NU_WUR int nu_key_parse_pub(const char *text, uint8_t pub[NU_KEY_PUB_LEN], char *errbuf);
/* Parses "ed25519:<base58>" secret key text (64-byte expanded key). Does
 * not check that its halves agree; nu_key_parse_json does. */
NU_WUR int nu_key_parse_sec(const char *text, uint8_t sec[NU_KEY_SEC_LEN], char *errbuf);

/* Writes a key file exactly as neard does: pretty JSON with 2-space indent,
 * keys account_id, public_key, secret_key in that order, mode 0600, no
 * trailing newline, atomically. */
NU_WUR int nu_key_file_write(const char *path, const struct nu_keypair *kp, char *errbuf);
/* Reads a key file. Accepts private_key as an alias of secret_key (both is
 * an error: "duplicate field"); an empty account_id is read as "node" when
 * default_account is "node". Checks the public key matches the secret key. */
NU_WUR int nu_key_file_read(const char *path, struct nu_keypair *kp, const char *default_account,
                            char *errbuf);
/* The parser behind nu_key_file_read, for a key file already in memory
 * (data need not be NUL-terminated); name labels error messages. kp is
 * zeroed on failure. */
NU_WUR int nu_key_parse_json(const char *data, size_t len, const char *name, struct nu_keypair *kp,
                             const char *default_account, char *errbuf);

NU_WUR int nu_key_sign(const struct nu_keypair *kp, const uint8_t *msg, size_t len,
                       uint8_t sig[NU_KEY_SIG_LEN]);
/* 0 when the signature is valid, NU_EVERIFY otherwise. */
NU_WUR int nu_key_verify(const uint8_t pub[NU_KEY_PUB_LEN], const uint8_t *msg, size_t len,
                         const uint8_t sig[NU_KEY_SIG_LEN]);

#endif
