/* Manifest signatures with NEAR key files (ed25519 over the exact manifest
 * bytes, stored beside it as manifests/<name>.sig), and fetching a
 * manifest from a store with the checks restore and verify share. */
#include "sign.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base58.h"
#include "json.h"
#include "keys.h"

#define SIG_MAX 4096
#define LATEST_MAX 1024

int snap_sign_check_key(const char *key_file, char *errbuf)
{
    struct nu_keypair kp;
    int rc = nu_key_file_read(key_file, &kp, "", errbuf);
    memset(&kp, 0, sizeof(kp));
    return rc;
}

int snap_sign(const char *key_file, const void *data, size_t len, struct nu_buf *out, char *errbuf)
{
    struct nu_keypair kp;
    uint8_t sig[NU_KEY_SIG_LEN];
    char pub[NU_KEY_TEXT_MAX], sig58[NU_KEY_TEXT_MAX];
    int rc = nu_key_file_read(key_file, &kp, "", errbuf);
    if (rc < 0)
        return rc;
    rc = nu_key_sign(&kp, data, len, sig);
    nu_key_pub_text(&kp, pub, sizeof(pub));
    memset(&kp, 0, sizeof(kp));
    if (rc < 0)
        return nu_err_set(errbuf, NU_ECRYPTO, "signing the manifest failed");
    if (nu_base58_encode(sig, sizeof(sig), sig58, sizeof(sig58)) < 0)
        return nu_err_set(errbuf, NU_ECRYPTO, "signature encoding failed");
    rc = nu_buf_printf(out, "{\"public_key\":\"%s\",\"signature\":\"ed25519:%s\"}\n", pub, sig58);
    return rc < 0 ? nu_err_set(errbuf, rc, "signature: %s", nu_strerror(rc)) : 0;
}

int snap_verify_sig(const char *pubkey, const void *data, size_t len, const char *sig,
                    size_t siglen, char *errbuf)
{
    uint8_t want[NU_KEY_PUB_LEN], got[NU_KEY_PUB_LEN], raw[NU_KEY_SIG_LEN + 8];
    size_t rawlen = 0;
    json_t *o = NULL;
    int rc = nu_key_parse_pub(pubkey, want, NULL);
    if (rc < 0)
        return nu_err_set(errbuf, NU_EINVAL,
                          "--verify-key %.200s is not an ed25519:<base58> "
                          "public key",
                          pubkey);
    if ((rc = nu_json_parse("signature", sig, siglen, false, &o, errbuf)) < 0)
        return nu_err_set(errbuf, NU_EVERIFY, "the snapshot's signature is malformed");
    const char *pk = json_string_value(json_object_get(o, "public_key"));
    const char *s = json_string_value(json_object_get(o, "signature"));
    if (pk == NULL || s == NULL || strncmp(s, "ed25519:", 8) != 0 ||
        nu_key_parse_pub(pk, got, NULL) < 0 ||
        nu_base58_decode(s + 8, raw, sizeof(raw), &rawlen) < 0 || rawlen != NU_KEY_SIG_LEN)
        rc = nu_err_set(errbuf, NU_EVERIFY, "the snapshot's signature is malformed");
    else if (memcmp(want, got, sizeof(want)) != 0)
        rc = nu_err_set(errbuf, NU_EVERIFY, "the snapshot is signed by %.100s, not by %.100s", pk,
                        pubkey);
    else if (nu_key_verify(want, data, len, raw) < 0)
        rc = nu_err_set(errbuf, NU_EVERIFY,
                        "the snapshot's signature does not verify: the manifest was changed "
                        "after signing");
    json_decref(o);
    return rc;
}
