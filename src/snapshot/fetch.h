/* Reading what a store holds (fetch.c): `latest`, manifests, the names
 * of the snapshots, chunks. */
#ifndef SNAP_FETCH_H
#define SNAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"
#include "manifest.h"
#include "store.h"

/* The name `latest` points at, into out. NU_ENOENT when the store has no
 * latest. */
NU_WUR int snap_read_latest(struct snap_store *s, char *out, size_t outsz, char *errbuf);
/* Fetches manifests/<name>.json (at most SNAP_MANIFEST_MAX bytes) into raw
 * and parses it into m (release it either way). With verify_key the
 * signature object must exist and verify. */
NU_WUR int snap_fetch_manifest(struct snap_store *s, const char *name, const char *verify_key,
                               struct nu_buf *raw, struct snap_manifest *m, char *errbuf);

/* Names of the snapshots in a store: flags[i] tells which of
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
void snap_names_release(struct snap_names *ns);

/* Fetches the stored object of c (retrying transient failures), decodes
 * and verifies it into plain (c->size bytes); obj is scratch. */
NU_WUR int snap_fetch_chunk(struct snap_store *s, const struct snap_chunk *c, struct nu_buf *obj,
                            uint8_t *plain, char *errbuf);

#endif
