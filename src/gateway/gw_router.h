/* Choosing an upstream for one call.
 *
 * Candidates are the upstreams not tried yet for the call that can serve
 * the block it names (earliest_block_height <= height; for a retry after
 * UNKNOWN_BLOCK also head >= height). If none can, archival upstreams are
 * preferred, then any. Among candidates the best health rank wins (OK; if
 * none is OK, fail open: LAGGING/STALE, then SYNCING, UNKNOWN, DOWN);
 * among OK ones the gateway's own zone first. Within that group: power of
 * two choices by weighted random sampling, the one with fewer outstanding
 * requests per weight wins, and its in-flight slot is taken. An upstream
 * at max_inflight is skipped; when the whole group is full the call is
 * shed (never queued). */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include "gw_config.h"
#include "gw_upstream.h"

struct gw_route_req {
    int64_t height;     /* block the call names, -1 when none */
    bool need_head;     /* only upstreams whose head has reached height */
    bool want_archival; /* block named by hash and unknown to a non-archival node */
    struct gw_upstream *const *tried;
    unsigned ntried;
};

/* Returns the chosen upstream with an in-flight slot taken (release with
 * gw_upstream_release), or NULL: *shed is true when candidates existed but
 * all were full, false when there was no candidate at all. rng is the
 * caller's xorshift state. */
struct gw_upstream *gw_router_pick(const struct gw_upset *set, const struct gw_config *cfg,
                                   const struct gw_route_req *rq, uint64_t *rng, bool *shed);

/* True when an untried upstream other than those in rq could answer a
 * retry for rq (used to decide whether UNKNOWN_BLOCK is worth a retry). */
bool gw_router_has_candidate(const struct gw_upset *set, const struct gw_route_req *rq);

uint64_t gw_rand(uint64_t *state);

#endif
