/* Manifest signatures with NEAR ed25519 key files (sign.c). */
#ifndef SNAP_SIGN_H
#define SNAP_SIGN_H

#include <stddef.h>
#include "buf.h"
#include "error.h"

/* The signature object for manifest bytes, signed with a NEAR key file:
 * {"public_key": "ed25519:...", "signature": "ed25519:<base58>"}. */
NU_WUR int snap_sign(const char *key_file, const void *data, size_t len, struct nu_buf *out,
                     char *errbuf);
/* Loads a key file now, so a bad --sign-key fails before the node stops. */
NU_WUR int snap_sign_check_key(const char *key_file, char *errbuf);
/* Checks sig (a signature object) over data against "ed25519:<pk>";
 * NU_EVERIFY when it does not verify or was made by another key. */
NU_WUR int snap_verify_sig(const char *pubkey, const void *data, size_t len, const char *sig,
                           size_t siglen, char *errbuf);

#endif
