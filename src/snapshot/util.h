/* Helpers shared by create, restore, verify and prune: a set of chunks
 * keyed by hash, store markers (who is creating or pruning right now),
 * manifest signatures and fetching a manifest from a store. */
#ifndef SNAP_UTIL_H
#define SNAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"
#include "manifest.h"
#include "store.h"

/* ---- chunk set (chunkset.c) ---- */

struct snap_chunkset {
    struct snap_chunk *slots;
    uint8_t *used;
    size_t cap, n;
};

void snap_chunkset_init(struct snap_chunkset *s);
void snap_chunkset_release(struct snap_chunkset *s);
/* Adds c (by hash); 1 when added, 0 when already there, NU_ENOMEM. */
NU_WUR int snap_chunkset_add(struct snap_chunkset *s, const struct snap_chunk *c);
/* The entry with this hash, or NULL. Safe from many threads while no one adds. */
const struct snap_chunk *snap_chunkset_find(const struct snap_chunkset *s,
                                            const uint8_t sha[SNAP_SHA256_LEN]);

/* ---- markers (locks.c) ----
 * locks/create-<name> exists while a snapshot is being created, and
 * locks/prune-<id> while a prune deletes. Each side writes its own marker
 * and then looks for the other's: whichever writes second sees the first,
 * so a prune never deletes a chunk a concurrent create decided to reuse
 * (the prune then deletes no chunks at all; the create waits for the
 * prune to end before checking which chunks exist). Ages are measured
 * against the mtime the store gave one's own marker, not the local clock. */

#define SNAP_LOCK_CREATE "locks/create-"
#define SNAP_LOCK_PRUNE "locks/prune-"
#define SNAP_PRUNE_STALE_S 300 /* a prune marker older than this is dead */
#define SNAP_PRUNE_REFRESH_S 60

struct snap_marker {
    char key[SNAP_KEY_MAX];
    int64_t mtime;
};

struct snap_markers {
    struct snap_marker *m;
    size_t n, cap;
    int64_t now; /* mtime of own marker, else local time */
};

/* Writes key with a small JSON body naming this process. */
NU_WUR int snap_marker_put(struct snap_store *s, const char *key, char *errbuf);
/* Lists locks/; own_key's mtime becomes out->now. Caller frees out->m. */
NU_WUR int snap_markers_list(struct snap_store *s, const char *own_key, struct snap_markers *out,
                             char *errbuf);
void snap_markers_release(struct snap_markers *m);

/* ---- manifests in a store (fetch.c) ---- */

/* The name `latest` points at, into out. NU_ENOENT when the store has no
 * latest. */
NU_WUR int snap_read_latest(struct snap_store *s, char *out, size_t outsz, char *errbuf);
/* Fetches manifests/<name>.json (at most SNAP_MANIFEST_MAX bytes) into raw
 * and parses it into m (release it either way). With verify_key the
 * signature object must exist and verify. */
NU_WUR int snap_fetch_manifest(struct snap_store *s, const char *name, const char *verify_key,
                               struct nu_buf *raw, struct snap_manifest *m, char *errbuf);

/* Names of the snapshots in a store (verify.c): flags[i] tells which of
 * manifests/<name>.json and .sig exist. */
#define SNAP_NAME_HAS_SIG 1u
#define SNAP_NAME_HAS_MANIFEST 2u
#define SNAP_NAMES_MAX 10000 /* snapshots one store may list */

struct snap_names {
    char (*v)[SNAP_NAME_MAX];
    uint8_t *flags;
    size_t n, cap;
};

NU_WUR int snap_names_list(struct snap_store *s, struct snap_names *ns, char *errbuf);

/* snap_verify for a home's data dirs (verify_home.c). */
struct snap_verify_opts;
struct snap_verify_result;
NU_WUR int snap_verify_home(const struct snap_verify_opts *o, struct snap_verify_result *r,
                            char *errbuf);
void snap_names_release(struct snap_names *ns);

/* ---- signatures (sign.c) ---- */

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

/* Prefixes errbuf's message with "prefix: " and returns rc. */
int snap_err_prefix(char *errbuf, int rc, const char *prefix);

/* Fetches the stored object of c (retrying transient failures), decodes
 * and verifies it into plain (c->size bytes); obj is scratch. */
NU_WUR int snap_fetch_chunk(struct snap_store *s, const struct snap_chunk *c, struct nu_buf *obj,
                            uint8_t *plain, char *errbuf);

/* Restores from NEAR's or FASTNEAR's public layout (public.c). */
struct snap_restore_opts;
struct snap_restore_result;
NU_WUR int snap_restore_public(const struct snap_restore_opts *o, struct snap_restore_result *r,
                               char *errbuf);

/* Test hook: NEARUP_SNAPSHOT_TEST_DELAY_MS slows every chunk job, so tests
 * can interrupt a create or restore midway. */
void snap_test_delay(void);
/* Test hook: sleeps NEARUP_SNAPSHOT_TEST_CHECKPOINT_DELAY_MS while create
 * holds the home lock of a stopped node, before it links the checkpoint. */
void snap_test_checkpoint_delay(void);

#endif
