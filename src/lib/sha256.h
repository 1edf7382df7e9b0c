/* SHA-256, the one implementation of the project: file hashes of binaries
 * (as release buckets publish them and the binary cache names blobs),
 * snapshot chunks, neard-sim's block hashes, registry names.
 *
 * It is OpenSSL libcrypto's SHA256_* (SHA-NI or AVX2 code where the CPU has
 * it). Measured on the 2-core VM, 100 MiB: SHA256_* 112 ms, libsodium's
 * crypto_hash_sha256 1024 ms (portable C), EVP_Digest 152 ms. VmRSS after
 * hashing: SHA256_* 3212 KiB, libsodium 3292 KiB, EVP 5232 KiB (the EVP
 * path loads OpenSSL's default provider), so the low-level functions are the
 * fast ones that cost nearup-supervisor no memory. OpenSSL 3 marks them
 * deprecated in favour of EVP; only sha256.c uses them. */
#ifndef NU_SHA256_H
#define NU_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define NU_SHA256_LEN 32            /* digest bytes */
#define NU_SHA256_HEX 65            /* 64 hex digits + NUL */
#define NU_SHA256_CHUNK (64 * 1024) /* bytes a file is read by */

/* An incremental hash: init, update as often as needed, final. */
struct nu_sha256 {
    uint64_t opaque[14]; /* holds OpenSSL's SHA256_CTX (checked in sha256.c) */
};
void nu_sha256_init(struct nu_sha256 *h);
void nu_sha256_update(struct nu_sha256 *h, const void *data, size_t len);
void nu_sha256_final(struct nu_sha256 *h, uint8_t out[NU_SHA256_LEN]);

/* The digest of data in one call. */
void nu_sha256(const void *data, size_t len, uint8_t out[NU_SHA256_LEN]);
/* Lowercase hex of a digest. */
void nu_sha256_hex(const uint8_t md[NU_SHA256_LEN], char out[NU_SHA256_HEX]);

/* sha256 of everything fd reads from its current offset to the end, as
 * lowercase hex; path names it in errors ("read <path>: ..."). */
NU_WUR int nu_sha256_fd(int fd, const char *path, char out[NU_SHA256_HEX], char *errbuf);
/* sha256 of the file at path; NU_ENOENT when it does not exist. */
NU_WUR int nu_sha256_file(const char *path, char out[NU_SHA256_HEX], char *errbuf);

#endif
