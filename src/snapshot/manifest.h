/* The manifest: what one snapshot holds. JSON, stored at
 * manifests/<name>.json after every chunk it names:
 *
 *   {"format": "nearup-snapshot", "version": 1, "name": "...",
 *    "chain_id": "mainnet", "block_height": 123, "block_hash": "...",
 *    "neard_version": "2.4.0", "created_at": "2026-11-29T00:05:34Z",
 *    "chunk_size": 4194304,
 *    "files": [{"path": "000123.sst", "dir": "hot", "size": 5000000, "mode": 420,
 *               "chunks": [{"sha256": "<hex>", "size": 4194304,
 *                           "stored_size": 4194320, "compression": "none"}, ...]}]}
 *
 * "dir" is "hot" (config.json store.path, default data/) or "cold"
 * (cold_store.path, split storage). A manifest comes from outside on
 * restore: the parser bounds its size, file count and path shape, checks
 * that chunk sizes add up to file sizes, and rejects duplicate or
 * conflicting paths, before anything is written. */
#ifndef SNAP_MANIFEST_H
#define SNAP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "chunker.h"
#include "error.h"

#define SNAP_FORMAT_NAME "nearup-snapshot"
#define SNAP_FORMAT_VERSION 1
#define SNAP_MANIFEST_MAX (256u << 20)  /* bytes of manifest JSON we accept */
#define SNAP_FILES_MAX 4000000u         /* files in one snapshot */
#define SNAP_FILE_SIZE_MAX (1ull << 42) /* 4 TiB per file */
#define SNAP_NAME_MAX 128
#define SNAP_CHAIN_MAX 128
#define SNAP_TEXT_MAX 128

enum snap_dir { SNAP_DIR_HOT = 0, SNAP_DIR_COLD = 1 };

struct snap_chunk {
    uint8_t sha[SNAP_SHA256_LEN];
    uint32_t size;
    uint32_t stored_size;
    uint8_t comp; /* enum snap_compression */
};

struct snap_file {
    char *path; /* relative to its data dir, checked by snap_relpath_valid */
    enum snap_dir dir;
    uint64_t size;
    uint32_t mode; /* permission bits */
    size_t nchunks;
    struct snap_chunk *chunks;
};

struct snap_manifest {
    int version;
    char name[SNAP_NAME_MAX];
    char chain_id[SNAP_CHAIN_MAX];
    int64_t height; /* -1 when unknown */
    char block_hash[SNAP_TEXT_MAX];
    char neard_version[SNAP_TEXT_MAX];
    char created_at[32]; /* RFC 3339, UTC */
    int64_t created_unix;
    uint32_t chunk_size;
    size_t nfiles;
    struct snap_file *files;
    /* derived */
    uint64_t total_size;
    size_t total_chunks;
};

void snap_manifest_init(struct snap_manifest *m);
void snap_manifest_release(struct snap_manifest *m);

/* Parses and validates manifest JSON (len bytes, need not be
 * NUL-terminated) into m (initialised here; release it even on failure).
 * NU_EPARSE/NU_EINVAL with a message naming the offending entry;
 * NU_ETOOBIG past the named limits. */
NU_WUR int snap_manifest_parse(const char *data, size_t len, struct snap_manifest *m, char *errbuf);
/* Serializes m as compact JSON plus a newline into out (appended). */
NU_WUR int snap_manifest_dump(const struct snap_manifest *m, struct nu_buf *out, char *errbuf);

/* A snapshot name: 1..SNAP_NAME_MAX-1 of [A-Za-z0-9._-], not starting with '.'. */
bool snap_name_valid(const char *name);
/* "manifests/<name>.json" and "manifests/<name>.sig". */
void snap_manifest_key(const char *name, char *out, size_t outsz);
void snap_signature_key(const char *name, char *out, size_t outsz);
/* "2026-11-29T00:05:34Z" for t into out (at least 21 bytes). */
void snap_format_time(int64_t t, char *out, size_t outsz);
const char *snap_dir_name(enum snap_dir d);

#endif
