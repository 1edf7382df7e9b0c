/* Tests for the gateway's upstream choice (gw_router.c): candidates by block
 * height, head and archival (relaxed to archival, then to all), the best
 * health rank (fail open), the gateway's own zone among OK upstreams,
 * power of two choices by outstanding requests per weight, max_inflight
 * and shedding, upstreams already tried. Two candidates are always both
 * compared, so their outcome does not depend on the random draw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gw_router.h"

#define HEAD 1000

static struct gw_config cfg; /* only zone is read */
static struct gw_upset set;
static uint64_t rng;

/* An upstream in state st with weight w, blocks [earliest, HEAD]; appended to set. */
static struct gw_upstream *add(const char *name, int st, unsigned w, bool archival,
                               int64_t earliest)
{
    struct gw_upstream_spec spec = {.weight = w, .archival = archival, .port = 3030};
    struct sockaddr_storage ss;
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    snprintf(spec.host, sizeof(spec.host), "127.0.0.1");
    assert_int_equal(gw_addr_parse("127.0.0.1", 3030, &ss), 0);
    struct gw_upstream *u = gw_upstream_new(&spec, NULL, (struct sockaddr *)&ss, 1);
    assert_non_null(u);
    atomic_store(&u->state, st);
    atomic_store(&u->earliest, earliest);
    atomic_store(&u->head, HEAD);
    assert_true(set.n < GW_MAX_UPSTREAMS);
    set.u[set.n++] = u;
    return u;
}

static void set_zone(struct gw_upstream *u, const char *zone)
{
    snprintf(u->spec.zone, sizeof(u->spec.zone), "%s", zone);
}

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    memset(&set, 0, sizeof(set));
    rng = 42;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < set.n; i++)
        gw_upstream_unref(set.u[i]);
    set.n = 0;
    return 0;
}

static const struct gw_route_req ANY = {.height = -1};

/* Picks for rq and gives the slot back at once; NULL when nothing was picked. */
static struct gw_upstream *pick_release(const struct gw_route_req *rq, bool *shed)
{
    struct gw_upstream *u = gw_router_pick(&set, &cfg, rq, &rng, shed);
    if (u)
        gw_upstream_release(u);
    return u;
}

/* The upstream every one of n picks chose (slots given back), or fails. */
static struct gw_upstream *always(const struct gw_route_req *rq, int n)
{
    bool shed = true;
    struct gw_upstream *first = pick_release(rq, &shed);
    assert_non_null(first);
    assert_false(shed);
    for (int i = 1; i < n; i++) {
        assert_ptr_equal(pick_release(rq, &shed), first);
        assert_false(shed);
    }
    return first;
}

static unsigned inflight(const struct gw_upstream *u)
{
    return atomic_load(&((struct gw_upstream *)u)->inflight);
}

static void test_nothing_to_pick(void **state)
{
    (void)state;
    bool shed = true;
    assert_null(gw_router_pick(&set, &cfg, &ANY, &rng, &shed));
    assert_false(shed);
    assert_false(gw_router_has_candidate(&set, &ANY));
}

static void test_one_upstream_takes_a_slot(void **state)
{
    (void)state;
    bool shed = true;
    struct gw_upstream *a = add("a", HEALTH_OK, 100, false, 0);
    assert_ptr_equal(gw_router_pick(&set, &cfg, &ANY, &rng, &shed), a);
    assert_false(shed);
    assert_int_equal(inflight(a), 1);
    assert_ptr_equal(gw_router_pick(&set, &cfg, &ANY, &rng, &shed), a);
    assert_int_equal(inflight(a), 2); /* max_inflight 0: no limit */
    gw_upstream_release(a);
    gw_upstream_release(a);
    assert_int_equal(inflight(a), 0);
}

static void test_best_health_rank_wins(void **state)
{
    (void)state;
    struct gw_upstream *down = add("down", HEALTH_DOWN, 100, false, 0);
    struct gw_upstream *unknown = add("unknown", HEALTH_UNKNOWN, 100, false, 0);
    struct gw_upstream *syncing = add("syncing", HEALTH_SYNCING, 100, false, 0);
    struct gw_upstream *stale = add("stale", HEALTH_STALE, 100, false, 0);
    struct gw_upstream *ok = add("ok", HEALTH_OK, 100, false, 0);
    assert_ptr_equal(always(&ANY, 50), ok);
    /* none OK: fail open, LAGGING/STALE first, then SYNCING, UNKNOWN, DOWN */
    atomic_store(&ok->state, HEALTH_DOWN);
    assert_ptr_equal(always(&ANY, 50), stale);
    atomic_store(&stale->state, HEALTH_DOWN);
    assert_ptr_equal(always(&ANY, 50), syncing);
    atomic_store(&syncing->state, HEALTH_DOWN);
    assert_ptr_equal(always(&ANY, 50), unknown);
    atomic_store(&unknown->state, HEALTH_DOWN);
    /* all DOWN: still a pick, never an empty answer while any could reply */
    bool shed = true;
    assert_non_null(pick_release(&ANY, &shed));
    assert_false(shed);
    assert_int_equal(inflight(down), 0);
}

static void test_lagging_and_stale_share_a_rank(void **state)
{
    (void)state;
    bool shed;
    struct gw_upstream *lag = add("lag", HEALTH_LAGGING, 100, false, 0);
    struct gw_upstream *stale = add("stale", HEALTH_STALE, 100, false, 0);
    add("syncing", HEALTH_SYNCING, 100, false, 0);
    /* slots held: each pick goes to the less loaded of the two */
    for (int i = 0; i < 10; i++) {
        struct gw_upstream *u = gw_router_pick(&set, &cfg, &ANY, &rng, &shed);
        assert_true(u == lag || u == stale);
    }
    assert_int_equal(inflight(lag), 5);
    assert_int_equal(inflight(stale), 5);
}

static void test_fewer_outstanding_per_weight_wins(void **state)
{
    (void)state;
    bool shed;
    struct gw_upstream *a = add("a", HEALTH_OK, 100, false, 0);
    struct gw_upstream *b = add("b", HEALTH_OK, 299, false, 0);
    /* (inflight + 1) / weight, lower wins: 40 held calls split 10 / 30 */
    for (int i = 0; i < 40; i++)
        assert_non_null(gw_router_pick(&set, &cfg, &ANY, &rng, &shed));
    assert_int_equal(inflight(a), 10);
    assert_int_equal(inflight(b), 30);
}

static void test_busy_upstream_loses_every_pair(void **state)
{
    (void)state;
    struct gw_upstream *busy = add("busy", HEALTH_OK, 100, false, 0);
    add("b", HEALTH_OK, 100, false, 0);
    add("c", HEALTH_OK, 100, false, 0);
    atomic_store(&busy->inflight, 50);
    bool shed;
    /* of any two drawn, the one with 50 in flight is never the less loaded */
    for (int i = 0; i < 200; i++) {
        struct gw_upstream *u = pick_release(&ANY, &shed);
        assert_non_null(u);
        assert_ptr_not_equal(u, busy);
    }
    assert_int_equal(inflight(busy), 50);
}

static void test_own_zone_first_among_ok(void **state)
{
    (void)state;
    bool shed;
    struct gw_upstream *us = add("us", HEALTH_OK, 100, false, 0);
    struct gw_upstream *eu = add("eu", HEALTH_OK, 100, false, 0);
    struct gw_upstream *eu_lag = add("eu-lag", HEALTH_LAGGING, 100, false, 0);
    set_zone(us, "us-east");
    set_zone(eu, "eu-west");
    set_zone(eu_lag, "eu-west");
    snprintf(cfg.zone, sizeof(cfg.zone), "eu-west");
    assert_ptr_equal(always(&ANY, 50), eu);
    /* same zone but not OK: an OK upstream elsewhere is better */
    atomic_store(&eu->state, HEALTH_DOWN);
    assert_ptr_equal(always(&ANY, 50), us);
    /* the zone's OK upstream full: another OK one, not a shed */
    atomic_store(&eu->state, HEALTH_OK);
    eu->spec.max_inflight = 1;
    assert_ptr_equal(gw_router_pick(&set, &cfg, &ANY, &rng, &shed), eu);
    assert_ptr_equal(gw_router_pick(&set, &cfg, &ANY, &rng, &shed), us);
    assert_false(shed);
    gw_upstream_release(eu);
    gw_upstream_release(us);
    /* no zone of our own: both OK ones share the calls */
    cfg.zone[0] = '\0';
    for (int i = 0; i < 6; i++)
        assert_non_null(gw_router_pick(&set, &cfg, &ANY, &rng, &shed));
    assert_int_equal(inflight(us), 5); /* eu stops at its one slot */
    assert_int_equal(inflight(eu), 1);
}

static void test_full_group_is_shed(void **state)
{
    (void)state;
    bool shed = false;
    struct gw_upstream *a = add("a", HEALTH_OK, 100, false, 0);
    struct gw_upstream *b = add("b", HEALTH_OK, 100, false, 0);
    struct gw_upstream *s = add("syncing", HEALTH_SYNCING, 100, false, 0);
    a->spec.max_inflight = 1;
    b->spec.max_inflight = 2;
    for (int i = 0; i < 3; i++)
        assert_non_null(gw_router_pick(&set, &cfg, &ANY, &rng, &shed));
    assert_int_equal(inflight(a), 1);
    assert_int_equal(inflight(b), 2);
    /* OK ones full: shed, never queued, not sent to a worse one */
    assert_null(gw_router_pick(&set, &cfg, &ANY, &rng, &shed));
    assert_true(shed);
    assert_int_equal(inflight(a), 1);
    assert_int_equal(inflight(b), 2);
    assert_int_equal(inflight(s), 0);
    gw_upstream_release(b);
    assert_ptr_equal(gw_router_pick(&set, &cfg, &ANY, &rng, &shed), b);
    assert_false(shed);
}

static void test_height_routes_to_who_has_the_block(void **state)
{
    (void)state;
    struct gw_upstream *rpc = add("rpc", HEALTH_OK, 100, false, 900);
    struct gw_upstream *arch = add("archive", HEALTH_OK, 100, true, 0);
    struct gw_route_req old = {.height = 500}, recent = {.height = 950};
    bool shed;
    assert_ptr_equal(always(&old, 50), arch);
    /* both hold 950: both get calls */
    for (int i = 0; i < 4; i++)
        assert_non_null(gw_router_pick(&set, &cfg, &recent, &rng, &shed));
    assert_int_equal(inflight(rpc), 2);
    assert_int_equal(inflight(arch), 2);
    gw_upstream_release(rpc);
    gw_upstream_release(rpc);
    gw_upstream_release(arch);
    gw_upstream_release(arch);
    /* the only one holding the block wins even when it is not OK */
    atomic_store(&arch->state, HEALTH_SYNCING);
    assert_ptr_equal(always(&old, 50), arch);
    /* a block hash unknown to a non-archival node: archival only */
    struct gw_route_req by_hash = {.height = -1, .want_archival = true};
    assert_ptr_equal(always(&by_hash, 50), arch);
}

static void test_relaxed_when_nobody_has_the_block(void **state)
{
    (void)state;
    bool shed = true;
    struct gw_upstream *a = add("a", HEALTH_OK, 100, false, 900);
    struct gw_route_req old = {.height = 500};
    /* no archival upstream: any one answers (neard says what it lacks) */
    assert_ptr_equal(always(&old, 20), a);
    assert_true(gw_router_has_candidate(&set, &old));
    /* but a call that needs archival data or a later head goes nowhere */
    struct gw_route_req by_hash = {.height = -1, .want_archival = true};
    assert_null(gw_router_pick(&set, &cfg, &by_hash, &rng, &shed));
    assert_false(shed);
    struct gw_route_req ahead = {.height = HEAD + 5, .need_head = true};
    assert_null(gw_router_pick(&set, &cfg, &ahead, &rng, &shed));
    assert_false(shed);
    assert_false(gw_router_has_candidate(&set, &ahead));
}

static void test_retry_needs_the_head(void **state)
{
    (void)state;
    struct gw_upstream *behind = add("behind", HEALTH_OK, 100, false, 0);
    struct gw_upstream *ahead = add("ahead", HEALTH_OK, 100, false, 0);
    atomic_store(&ahead->head, HEAD + 10);
    struct gw_upstream *const tried[] = {behind};
    struct gw_route_req rq = {.height = HEAD + 5, .need_head = true, .tried = tried, .ntried = 1};
    assert_ptr_equal(always(&rq, 20), ahead);
    /* without need_head a node whose head is short still counts */
    struct gw_route_req plain = {.height = HEAD + 5};
    bool shed;
    for (int i = 0; i < 2; i++)
        assert_non_null(gw_router_pick(&set, &cfg, &plain, &rng, &shed));
    assert_int_equal(inflight(behind), 1);
    assert_int_equal(inflight(ahead), 1);
    gw_upstream_release(behind);
    gw_upstream_release(ahead);
    /* the head short everywhere: an archival node is asked instead */
    atomic_store(&ahead->head, HEAD);
    struct gw_upstream *arch = add("archive", HEALTH_DOWN, 100, true, 0);
    assert_ptr_equal(always(&rq, 20), arch);
}

static void test_tried_upstreams_are_skipped(void **state)
{
    (void)state;
    bool shed = true;
    struct gw_upstream *a = add("a", HEALTH_OK, 100, false, 0);
    struct gw_upstream *b = add("b", HEALTH_SYNCING, 100, false, 0);
    struct gw_upstream *const tried_a[] = {a}, *const tried_both[] = {b, a};
    struct gw_route_req rq = {.height = -1, .tried = tried_a, .ntried = 1};
    assert_ptr_equal(always(&rq, 20), b); /* the OK one was tried already */
    assert_true(gw_router_has_candidate(&set, &rq));
    rq.tried = tried_both;
    rq.ntried = 2;
    assert_null(gw_router_pick(&set, &cfg, &rq, &rng, &shed));
    assert_false(shed);
    assert_false(gw_router_has_candidate(&set, &rq));
}

static void test_rand_is_xorshift64star(void **state)
{
    (void)state;
    uint64_t s = 1;
    assert_int_equal(gw_rand(&s), 0x47e4ce4b896cdd1dull);
    assert_int_equal(s, 0x2000001ull);
    assert_int_equal(gw_rand(&s), 0xabcfa6a8e079651dull);
    assert_int_equal(s, 0x4004000802801ull);
    /* a zero state (never a fixed point) starts from a constant */
    s = 0;
    assert_int_equal(gw_rand(&s), 0xd83b3e29a21487aull);
    assert_int_equal(s, 0x3f721dffe39b342ull);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_nothing_to_pick),
        T(test_one_upstream_takes_a_slot),
        T(test_best_health_rank_wins),
        T(test_lagging_and_stale_share_a_rank),
        T(test_fewer_outstanding_per_weight_wins),
        T(test_busy_upstream_loses_every_pair),
        T(test_own_zone_first_among_ok),
        T(test_full_group_is_shed),
        T(test_height_routes_to_who_has_the_block),
        T(test_relaxed_when_nobody_has_the_block),
        T(test_retry_needs_the_head),
        T(test_tried_upstreams_are_skipped),
        cmocka_unit_test(test_rand_is_xorshift64star),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
