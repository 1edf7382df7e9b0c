/* Store markers (locks.c): locks/create-<name> exists while a snapshot
 * is being created, and locks/prune-<id> while a prune deletes. Each side writes its own marker
 * and then looks for the other's: whichever writes second sees the first,
 * so a prune never deletes a chunk a concurrent create decided to reuse
 * (the prune then deletes no chunks at all; the create waits for the
 * prune to end before checking which chunks exist). Ages are measured
 * against the mtime the store gave one's own marker, not the local clock. */
#ifndef SNAP_LOCKS_H
#define SNAP_LOCKS_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "store.h"

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

#endif
