/* Upstream selection (see gw_router.h). */
#include <string.h>
#include "gw_router.h"

uint64_t gw_rand(uint64_t *state)
{
    /* xorshift64*: fast, good enough to spread load */
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static bool tried(const struct gw_route_req *rq, const struct gw_upstream *u)
{
    for (unsigned i = 0; i < rq->ntried; i++)
        if (rq->tried[i] == u)
            return true;
    return false;
}

static bool can_serve(struct gw_upstream *u, const struct gw_route_req *rq)
{
    if (rq->want_archival && !u->spec.archival)
        return false;
    if (rq->height < 0)
        return true;
    int64_t earliest = atomic_load_explicit(&u->earliest, memory_order_relaxed);
    if (earliest > rq->height)
        return false;
    return !rq->need_head || atomic_load_explicit(&u->head, memory_order_relaxed) >= rq->height;
}

/* Untried upstreams that can serve rq; relaxed to archival, then to all,
 * when none can. */
static size_t candidates(const struct gw_upset *set, const struct gw_route_req *rq,
                         struct gw_upstream **out)
{
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++)
        if (!tried(rq, set->u[i]) && can_serve(set->u[i], rq))
            out[n++] = set->u[i];
    if (n > 0 || (rq->height < 0 && !rq->want_archival))
        return n;
    for (size_t i = 0; i < set->n; i++)
        if (!tried(rq, set->u[i]) && set->u[i]->spec.archival)
            out[n++] = set->u[i];
    if (n > 0 || rq->need_head || rq->want_archival)
        return n; /* a retry only goes where it can succeed */
    for (size_t i = 0; i < set->n; i++)
        if (!tried(rq, set->u[i]))
            out[n++] = set->u[i];
    return n;
}

bool gw_router_has_candidate(const struct gw_upset *set, const struct gw_route_req *rq)
{
    struct gw_upstream *c[GW_MAX_UPSTREAMS];
    return candidates(set, rq, c) > 0;
}

static size_t weighted_index(struct gw_upstream **c, size_t n, uint64_t *rng)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i]->spec.weight;
    uint64_t r = gw_rand(rng) % (total ? total : 1);
    for (size_t i = 0; i < n; i++) {
        if (r < c[i]->spec.weight)
            return i;
        r -= c[i]->spec.weight;
    }
    return n - 1;
}

/* Outstanding requests per unit of weight (scaled), lower is better. */
static uint64_t load(struct gw_upstream *u)
{
    uint64_t in = atomic_load_explicit(&u->inflight, memory_order_relaxed);
    return (in + 1) * 1000000 / (u->spec.weight ? u->spec.weight : 1);
}

/* Power of two choices over c[0..n); full upstreams are dropped and the
 * draw repeated. c is reordered. */
static struct gw_upstream *p2c(struct gw_upstream **c, size_t n, uint64_t *rng)
{
    while (n > 0) {
        size_t i = weighted_index(c, n, rng), j = i;
        if (n > 1) {
            j = weighted_index(c, n, rng);
            if (j == i)
                j = (i + 1 + gw_rand(rng) % (n - 1)) % n;
        }
        size_t best = load(c[j]) < load(c[i]) ? j : i;
        if (gw_upstream_acquire(c[best]))
            return c[best];
        c[best] = c[--n];
    }
    return NULL;
}

/* Keeps the members of c with rank and (when zone is set) zone. */
static size_t filter(struct gw_upstream **c, size_t n, int rank, const char *zone,
                     struct gw_upstream **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int st = atomic_load_explicit(&c[i]->state, memory_order_relaxed);
        if (gw_state_rank(st) != rank)
            continue;
        if (zone && strcmp(c[i]->spec.zone, zone) != 0)
            continue;
        out[k++] = c[i];
    }
    return k;
}

struct gw_upstream *gw_router_pick(const struct gw_upset *set, const struct gw_config *cfg,
                                   const struct gw_route_req *rq, uint64_t *rng, bool *shed)
{
    struct gw_upstream *c[GW_MAX_UPSTREAMS], *g[GW_MAX_UPSTREAMS];
    *shed = false;
    size_t n = candidates(set, rq, c);
    if (n == 0)
        return NULL;
    int best = 4;
    for (size_t i = 0; i < n; i++) {
        int r = gw_state_rank(atomic_load_explicit(&c[i]->state, memory_order_relaxed));
        best = r < best ? r : best;
    }
    struct gw_upstream *u = NULL;
    if (best == 0 && cfg->zone[0]) {
        size_t k = filter(c, n, best, cfg->zone, g);
        u = p2c(g, k, rng);
    }
    if (!u) {
        size_t k = filter(c, n, best, NULL, g);
        u = p2c(g, k, rng);
    }
    *shed = u == NULL;
    return u;
}
