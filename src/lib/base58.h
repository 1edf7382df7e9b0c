/* Bitcoin-alphabet base58, as NEAR uses for hashes and keys. */
#ifndef NU_BASE58_H
#define NU_BASE58_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* Encodes len bytes into out (outsz bytes incl. NUL). Returns the string
 * length, or NU_ETOOBIG if out is too small. */
NU_WUR int nu_base58_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
/* Decodes a NUL-terminated string into out (outsz bytes). *outlen gets the
 * decoded length. NU_EINVAL on a character outside the alphabet,
 * NU_ETOOBIG if out is too small. */
NU_WUR int nu_base58_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen);

#endif
