/* A set of chunks keyed by their sha256 (chunkset.c). */
#ifndef SNAP_CHUNKSET_H
#define SNAP_CHUNKSET_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "manifest.h"

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

#endif
