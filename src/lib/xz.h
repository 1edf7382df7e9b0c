/* xz decompression (xz.c, liblzma). */
#ifndef NU_XZ_H
#define NU_XZ_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* Decompresses an xz stream (NEAR ships genesis.json.xz). *out is
 * NUL-terminated, caller frees; NU_ETOOBIG past max bytes of output. */
NU_WUR int nu_xz_decompress(const void *in, size_t inlen, size_t max, char **out, size_t *outlen,
                            char *errbuf);
/* True if data starts with the xz magic bytes FD 37 7A 58 5A 00. */
bool nu_xz_is_xz(const void *data, size_t len);

#endif
