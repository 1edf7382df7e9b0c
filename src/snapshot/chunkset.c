/* Open-addressing hash set of chunks keyed by their sha256 (already
 * uniformly distributed, so its first 8 bytes are the hash). */
#include "chunkset.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 1024

void snap_chunkset_init(struct snap_chunkset *s)
{
    memset(s, 0, sizeof(*s));
}

void snap_chunkset_release(struct snap_chunkset *s)
{
    if (s == NULL)
        return;
    free(s->slots);
    free(s->used);
    memset(s, 0, sizeof(*s));
}

static size_t slot_of(const uint8_t *sha, size_t cap)
{
    uint64_t h;
    memcpy(&h, sha, sizeof(h));
    return (size_t)(h & (cap - 1));
}

static void insert(struct snap_chunk *slots, uint8_t *used, size_t cap, const struct snap_chunk *c)
{
    size_t i = slot_of(c->sha, cap);
    while (used[i])
        i = (i + 1) & (cap - 1);
    used[i] = 1;
    slots[i] = *c;
}

static int grow(struct snap_chunkset *s)
{
    size_t cap = s->cap ? s->cap * 2 : INITIAL_CAP;
    struct snap_chunk *slots = calloc(cap, sizeof(*slots));
    uint8_t *used = calloc(cap, 1);
    if (slots == NULL || used == NULL) {
        free(slots);
        free(used);
        return NU_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->used[i])
            insert(slots, used, cap, &s->slots[i]);
    }
    free(s->slots);
    free(s->used);
    s->slots = slots;
    s->used = used;
    s->cap = cap;
    return 0;
}

const struct snap_chunk *snap_chunkset_find(const struct snap_chunkset *s,
                                            const uint8_t sha[SNAP_SHA256_LEN])
{
    if (s->cap == 0)
        return NULL;
    for (size_t i = slot_of(sha, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1)) {
        if (memcmp(s->slots[i].sha, sha, SNAP_SHA256_LEN) == 0)
            return &s->slots[i];
    }
    return NULL;
}

int snap_chunkset_add(struct snap_chunkset *s, const struct snap_chunk *c)
{
    if (snap_chunkset_find(s, c->sha) != NULL)
        return 0;
    if ((s->n + 1) * 4 > s->cap * 3 && grow(s) < 0)
        return NU_ENOMEM;
    insert(s->slots, s->used, s->cap, c);
    s->n++;
    return 1;
}
