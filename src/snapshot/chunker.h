/* Chunks: the unit of storage and deduplication. A file is cut into
 * fixed-size pieces (SNAP_CHUNK_SIZE; the last is shorter). Each piece is
 * addressed by the sha256 of its plain bytes and stored once under
 * chunks/<first two hex>/<hex>, as a self-describing object:
 *
 *   offset 0  "NUSC"            magic
 *          4  1                 object format version
 *          5  compression       0 none, 1 zstd
 *          6  0, 0              reserved
 *          8  u64 little-endian plain size
 *         16  payload           plain bytes, or one zstd frame
 *
 * Fixed-size cutting is enough for neard's data: SST files are immutable,
 * so an unchanged file gives the same chunks in every snapshot. */
#ifndef SNAP_CHUNKER_H
#define SNAP_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "sha256.h"

#define SNAP_CHUNK_SIZE (4u << 20) /* how files are cut */
#define SNAP_CHUNK_MAX (64u << 20) /* largest plain chunk a manifest may declare */
#define SNAP_CHUNK_HDR 16
#define SNAP_SHA256_LEN NU_SHA256_LEN
#define SNAP_SHA256_HEX NU_SHA256_HEX
#define SNAP_ZSTD_LEVEL 1 /* fast: uploads must keep up with the network */
#define SNAP_CHUNK_KEY_MAX 80

enum snap_compression { SNAP_COMP_NONE = 0, SNAP_COMP_ZSTD = 1 };

/* Bytes a stored object of a plain chunk of size n may take at most. */
size_t snap_chunk_stored_max(size_t n);

/* Lowercase hex of len bytes. */
void snap_hex(const uint8_t *in, size_t len, char *out);
/* Parses exactly 2*len lowercase hex digits. */
NU_WUR int snap_unhex(const char *in, uint8_t *out, size_t len);
/* "chunks/ab/ab12..." for a hash. */
void snap_chunk_key(const uint8_t sha[SNAP_SHA256_LEN], char out[SNAP_CHUNK_KEY_MAX]);
/* The hash a key relative to chunks/ names ("ab/ab12..."); NU_EINVAL for
 * anything else (a listing may hold objects that are not ours). */
NU_WUR int snap_chunk_key_parse(const char *rel, uint8_t sha[SNAP_SHA256_LEN]);

/* Encodes plain bytes into a stored object in out (outcap bytes, at least
 * snap_chunk_stored_max(len)); *outlen gets its size. With want_zstd the
 * payload is compressed, unless that saves less than 3% (incompressible
 * data is stored plain). *comp gets what was used. */
NU_WUR int snap_chunk_encode(const void *plain, size_t len, bool want_zstd, uint8_t *out,
                             size_t outcap, size_t *outlen, enum snap_compression *comp,
                             char *errbuf);
/* Reads the header of a stored object: compression and plain size. */
NU_WUR int snap_chunk_header(const void *obj, size_t len, enum snap_compression *comp,
                             uint64_t *plain_size, char *errbuf);
/* Decodes a stored object into plain (at least expect_size bytes), checks
 * that it holds exactly expect_size bytes whose sha256 is sha. NU_EVERIFY
 * on any mismatch; the message names key. */
NU_WUR int snap_chunk_decode(const void *obj, size_t len, const uint8_t sha[SNAP_SHA256_LEN],
                             size_t expect_size, uint8_t *plain, const char *key, char *errbuf);

#endif
