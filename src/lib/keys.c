/* NEAR ed25519 keys and key files (see keys.h). */
#include "keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "buf.h"
#include "fs.h"
#include "json.h"

#define KEY_PREFIX "ed25519:"
#define KEY_FILE_MAX 4096 /* a real key file is ~250 bytes */

static int ensure_sodium(void)
{
    /* Safe to call repeatedly and from several threads. */
    return sodium_init() < 0 ? NU_ECRYPTO : 0;
}

static int set_account(struct nu_keypair *kp, const char *account_id)
{
    int n = snprintf(kp->account_id, sizeof(kp->account_id), "%s", account_id ? account_id : "");
    return n < 0 || (size_t)n >= sizeof(kp->account_id) ? NU_EINVAL : 0;
}

int nu_key_generate(struct nu_keypair *kp, const char *account_id)
{
    memset(kp, 0, sizeof(*kp));
    if (ensure_sodium() < 0)
        return NU_ECRYPTO;
    if (set_account(kp, account_id) < 0)
        return NU_EINVAL;
    crypto_sign_keypair(kp->pub, kp->sec);
    return 0;
}

int nu_key_from_seed(struct nu_keypair *kp, const char *account_id, const char *seed)
{
    memset(kp, 0, sizeof(*kp));
    if (ensure_sodium() < 0)
        return NU_ECRYPTO;
    if (set_account(kp, account_id) < 0)
        return NU_EINVAL;
    /* near-crypto's SecretKey::from_seed: the seed string, cut or padded
     * with spaces to 32 bytes, is the ed25519 seed. */
    uint8_t s[crypto_sign_SEEDBYTES];
    size_t n = strlen(seed);
    memset(s, ' ', sizeof(s));
    memcpy(s, seed, n < sizeof(s) ? n : sizeof(s));
    crypto_sign_seed_keypair(kp->pub, kp->sec, s);
    sodium_memzero(s, sizeof(s));
    return 0;
}

static void key_text(const uint8_t *key, size_t len, char *out, size_t outsz)
{
    size_t plen = strlen(KEY_PREFIX);
    if (outsz <= plen) {
        if (outsz > 0)
            out[0] = '\0';
        return;
    }
    memcpy(out, KEY_PREFIX, plen);
    if (nu_base58_encode(key, len, out + plen, outsz - plen) < 0)
        out[0] = '\0'; /* too small: never hand out a truncated key */
}

void nu_key_pub_text(const struct nu_keypair *kp, char *out, size_t outsz)
{
    key_text(kp->pub, sizeof(kp->pub), out, outsz);
}

void nu_key_sec_text(const struct nu_keypair *kp, char *out, size_t outsz)
{
    key_text(kp->sec, sizeof(kp->sec), out, outsz);
}

/* Decodes "ed25519:<base58>" of exactly want bytes; field names the
 * value in messages. */
static int parse_key(const char *field, const char *text, uint8_t *out, size_t want, char *errbuf)
{
    size_t plen = strlen(KEY_PREFIX);
    if (strncmp(text, KEY_PREFIX, plen) != 0) {
        const char *colon = strchr(text, ':');
        if (colon != NULL)
            return nu_err_set(errbuf, NU_ECRYPTO, "%s: unsupported key type '%.*s'", field,
                              (int)(colon - text), text);
        return nu_err_set(errbuf, NU_ECRYPTO, "%s: expected 'ed25519:<base58>'", field);
    }
    uint8_t raw[NU_KEY_SEC_LEN + 1];
    size_t len = 0;
    int rc = nu_base58_decode(text + plen, raw, sizeof(raw), &len);
    if (rc == NU_EINVAL)
        return nu_err_set(errbuf, NU_ECRYPTO, "%s: invalid base58", field);
    if (rc < 0 || len != want) {
        sodium_memzero(raw, sizeof(raw));
        return nu_err_set(errbuf, NU_ECRYPTO, "%s: expected %zu bytes, got %s%zu", field, want,
                          rc < 0 ? "more than " : "", rc < 0 ? sizeof(raw) - 1 : len);
    }
    memcpy(out, raw, want);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int nu_key_parse_pub(const char *text, uint8_t pub[NU_KEY_PUB_LEN], char *errbuf)
{
    return parse_key("public key", text, pub, NU_KEY_PUB_LEN, errbuf);
}

int nu_key_parse_sec(const char *text, uint8_t sec[NU_KEY_SEC_LEN], char *errbuf)
{
    return parse_key("secret key", text, sec, NU_KEY_SEC_LEN, errbuf);
}

int nu_key_file_write(const char *path, const struct nu_keypair *kp, char *errbuf)
{
    char pub[NU_KEY_TEXT_MAX], sec[NU_KEY_TEXT_MAX];
    nu_key_pub_text(kp, pub, sizeof(pub));
    nu_key_sec_text(kp, sec, sizeof(sec));
    /* jansson's JSON_INDENT(2) output is byte-identical to serde_json's
     * to_string_pretty for this shape; neard adds no trailing newline. */
    json_t *v = json_pack("{s:s, s:s, s:s}", "account_id", kp->account_id, "public_key", pub,
                          "secret_key", sec);
    sodium_memzero(sec, sizeof(sec));
    if (v == NULL)
        return nu_err_set(errbuf, NU_EINVAL, "%s: account_id is not valid UTF-8", path);
    struct nu_buf b;
    nu_buf_init(&b, KEY_FILE_MAX);
    int rc = nu_json_dump_buf(v, &b, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (rc < 0)
        rc = nu_err_set(errbuf, rc, "%s: cannot serialize key file", path);
    else
        rc = nu_fs_write_atomic(path, b.data, b.len, 0600, errbuf);
    sodium_memzero(b.data, b.len);
    nu_buf_release(&b);
    return rc;
}

/* String field of the key file: NULL when absent; NU_EINVAL when not a string. */
static int get_field(const json_t *o, const char *name, const char *key, const char **out,
                     char *errbuf)
{
    *out = NULL;
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return nu_err_set(errbuf, NU_EINVAL, "%s: %s must be a string", name, key);
    *out = json_string_value(v);
    return 0;
}

/* Fills kp from the decoded object's fields and checks they agree. */
static int key_from_fields(const char *name, const char *account, const char *pub_text,
                           const char *sec_text, struct nu_keypair *kp, char *errbuf)
{
    char err[NU_ERRMSG_MAX];
    uint8_t pub[NU_KEY_PUB_LEN], pk2[NU_KEY_PUB_LEN], sk2[NU_KEY_SEC_LEN];
    if (set_account(kp, account) < 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: account_id longer than %d characters", name,
                          NU_ACCOUNT_ID_MAX);
    if (parse_key("public_key", pub_text, pub, sizeof(pub), err) < 0 ||
        parse_key("secret_key", sec_text, kp->sec, sizeof(kp->sec), err) < 0)
        return nu_err_set(errbuf, NU_ECRYPTO, "%s: %s", name, err);
    /* The secret key is seed || public key: rebuild it from the seed so a
     * file whose halves disagree is caught, not just a mismatched pub. */
    crypto_sign_seed_keypair(pk2, sk2, kp->sec);
    int same_sec = sodium_memcmp(sk2, kp->sec, sizeof(sk2)) == 0;
    int same_pub = sodium_memcmp(pk2, pub, sizeof(pub)) == 0;
    sodium_memzero(sk2, sizeof(sk2));
    if (!same_pub)
        return nu_err_set(errbuf, NU_ECRYPTO, "%s: public_key does not match secret_key", name);
    if (!same_sec)
        return nu_err_set(errbuf, NU_ECRYPTO,
                          "%s: secret_key is corrupt (its public half does not match its seed)",
                          name);
    memcpy(kp->pub, pub, sizeof(pub));
    return 0;
}

static int key_from_json(const char *name, const json_t *o, struct nu_keypair *kp,
                         const char *default_account, char *errbuf)
{
    const char *account = NULL, *pub = NULL, *sec = NULL, *priv = NULL;
    if (!json_is_object(o))
        return nu_err_set(errbuf, NU_EINVAL, "%s: expected a JSON object", name);
    int rc = get_field(o, name, "account_id", &account, errbuf);
    if (rc == 0)
        rc = get_field(o, name, "public_key", &pub, errbuf);
    if (rc == 0)
        rc = get_field(o, name, "secret_key", &sec, errbuf);
    if (rc == 0)
        rc = get_field(o, name, "private_key", &priv, errbuf);
    if (rc < 0)
        return rc;
    if (sec != NULL && priv != NULL)
        return nu_err_set(errbuf, NU_EINVAL,
                          "%s: duplicate field: both secret_key and private_key are set", name);
    const char *missing = account == NULL              ? "account_id"
                          : pub == NULL                ? "public_key"
                          : (sec ? sec : priv) == NULL ? "secret_key"
                                                       : NULL;
    if (missing != NULL)
        return nu_err_set(errbuf, NU_EINVAL, "%s: missing field %s", name, missing);
    if (account[0] == '\0' && default_account != NULL)
        account = default_account;
    return key_from_fields(name, account, pub, sec ? sec : priv, kp, errbuf);
}

int nu_key_parse_json(const char *data, size_t len, const char *name, struct nu_keypair *kp,
                      const char *default_account, char *errbuf)
{
    json_t *o = NULL;
    memset(kp, 0, sizeof(*kp));
    if (ensure_sodium() < 0)
        return nu_err_set(errbuf, NU_ECRYPTO, "%s: libsodium failed to initialise", name);
    int rc = nu_json_parse(name, data, len, false, &o, errbuf);
    if (rc == 0)
        rc = key_from_json(name, o, kp, default_account, errbuf);
    json_decref(o);
    if (rc < 0)
        sodium_memzero(kp, sizeof(*kp));
    return rc;
}

int nu_key_file_read(const char *path, struct nu_keypair *kp, const char *default_account,
                     char *errbuf)
{
    char *data = NULL;
    size_t len = 0;
    memset(kp, 0, sizeof(*kp));
    int rc = nu_fs_read_file(path, KEY_FILE_MAX, &data, &len, errbuf);
    if (rc < 0)
        return rc;
    rc = nu_key_parse_json(data, len, path, kp, default_account, errbuf);
    sodium_memzero(data, len);
    free(data);
    return rc;
}

int nu_key_sign(const struct nu_keypair *kp, const uint8_t *msg, size_t len,
                uint8_t sig[NU_KEY_SIG_LEN])
{
    if (ensure_sodium() < 0)
        return NU_ECRYPTO;
    return crypto_sign_detached(sig, NULL, msg, len, kp->sec) == 0 ? 0 : NU_ECRYPTO;
}

int nu_key_verify(const uint8_t pub[NU_KEY_PUB_LEN], const uint8_t *msg, size_t len,
                  const uint8_t sig[NU_KEY_SIG_LEN])
{
    if (ensure_sodium() < 0)
        return NU_ECRYPTO;
    return crypto_sign_verify_detached(sig, msg, len, pub) == 0 ? 0 : NU_EVERIFY;
}
