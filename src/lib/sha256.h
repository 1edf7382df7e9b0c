/* sha256 of a file, as the lowercase hex that release buckets publish and
 * the binary cache names blobs by. One implementation (libsodium's) for
 * every program: nearup-supervisor links it too, and libsodium adds about
 * 0.2 MB of RSS where OpenSSL's libcrypto adds 3.5 MB (measured: a program
 * with libuv, jansson and libzstd, 1.9 MB VmRSS; 2.1 MB with libsodium's
 * sha256; 5.4 MB with libcrypto's EVP sha256). It hashes about 300 MB/s
 * on one core, so a 100 MB neard takes about a third of a second. */
#ifndef NU_SHA256_H
#define NU_SHA256_H

#include "error.h"

#define NU_SHA256_HEX 65            /* 64 hex digits + NUL */
#define NU_SHA256_CHUNK (64 * 1024) /* bytes read at a time */

/* sha256 of everything fd reads from its current offset to the end; path
 * names it in errors ("read <path>: ..."). */
NU_WUR int nu_sha256_fd(int fd, const char *path, char out[NU_SHA256_HEX], char *errbuf);
/* sha256 of the file at path; NU_ENOENT when it does not exist. */
NU_WUR int nu_sha256_file(const char *path, char out[NU_SHA256_HEX], char *errbuf);

#endif
