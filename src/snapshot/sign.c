/* Manifest signatures with NEAR key files (ed25519 over the exact manifest
 * bytes, stored beside it as manifests/<name>.sig), and fetching a
 * manifest from a store with the checks restore and verify share. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base58.h"
#include "json.h"
#include "keys.h"
#include "util.h"

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

int snap_read_latest(struct snap_store *s, char *out, size_t outsz, char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, LATEST_MAX);
    int rc = snap_store_get(s, "latest", LATEST_MAX, &b, errbuf);
    if (rc == NU_ENOENT)
        rc = nu_err_set(errbuf, rc, "store %s has no snapshot (no 'latest')", s->spec->text);
    while (rc == 0 && b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    if (rc == 0 && (strlen(b.data) != b.len || !snap_name_valid(b.data) || b.len >= outsz))
        rc = nu_err_set(errbuf, NU_EPARSE, "store %s: 'latest' does not name a snapshot",
                        s->spec->text);
    if (rc == 0)
        snprintf(out, outsz, "%s", b.data);
    nu_buf_release(&b);
    return rc;
}

static int check_sig(struct snap_store *s, const char *name, const char *verify_key,
                     const struct nu_buf *raw, char *errbuf)
{
    char key[SNAP_KEY_MAX];
    struct nu_buf sig;
    nu_buf_init(&sig, SIG_MAX);
    snap_signature_key(name, key, sizeof(key));
    int rc = snap_store_get(s, key, SIG_MAX, &sig, errbuf);
    if (rc == NU_ENOENT)
        rc = nu_err_set(errbuf, NU_EVERIFY,
                        "snapshot %s is not signed, and --verify-key "
                        "requires a signature",
                        name);
    if (rc == 0)
        rc = snap_verify_sig(verify_key, raw->data, raw->len, sig.data, sig.len, errbuf);
    nu_buf_release(&sig);
    return rc;
}

int snap_fetch_manifest(struct snap_store *s, const char *name, const char *verify_key,
                        struct nu_buf *raw, struct snap_manifest *m, char *errbuf)
{
    char key[SNAP_KEY_MAX];
    snap_manifest_init(m);
    if (!snap_name_valid(name))
        return nu_err_set(errbuf, NU_EINVAL, "'%.200s' is not a snapshot name", name);
    snap_manifest_key(name, key, sizeof(key));
    int rc = snap_store_get(s, key, SNAP_MANIFEST_MAX, raw, errbuf);
    if (rc == NU_ENOENT)
        return nu_err_set(errbuf, rc, "store %s has no snapshot %s", s->spec->text, name);
    if (rc == NU_ETOOBIG)
        return nu_err_set(errbuf, rc,
                          "manifest of %s is larger than the limit of %u bytes "
                          "(SNAP_MANIFEST_MAX)",
                          name, SNAP_MANIFEST_MAX);
    if (rc < 0)
        return rc;
    /* The signature covers the bytes: check it before parsing them. */
    if (verify_key != NULL && (rc = check_sig(s, name, verify_key, raw, errbuf)) < 0)
        return rc;
    if ((rc = snap_manifest_parse(raw->data, raw->len, m, errbuf)) < 0)
        return rc;
    if (strcmp(m->name, name) != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "manifest %s names itself %s", name, m->name);
    return 0;
}
