/* Classifying one check and the rise/fall hysteresis (see health.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

static const char *const state_names[HEALTH_NSTATES] = {"ok",      "lagging", "stale",
                                                        "syncing", "unknown", "down"};

const char *health_state_name(int st)
{
    return st >= 0 && st < HEALTH_NSTATES ? state_names[st] : "unknown";
}

void health_check_down(struct health_check *c, const char *reason)
{
    *c = (struct health_check){.state = HEALTH_DOWN, .head = -1, .lag = -1, .age_ms = -1};
    snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

void health_classify(const struct health_status *st, int64_t ref_head, int64_t now_ms,
                     const struct health_limits *lim, struct health_check *c)
{
    char err[NU_ERRMSG_MAX];
    if (health_status_judgeable(st, err) != 0) {
        health_check_down(c, err);
        return;
    }
    *c = (struct health_check){.state = HEALTH_OK,
                               .head = st->head,
                               .lag = ref_head < 0          ? -1
                                      : ref_head > st->head ? ref_head - st->head
                                                            : 0,
                               .age_ms = health_head_age_ms(st->block_time_ms, now_ms)};
    if (st->syncing) {
        c->state = HEALTH_SYNCING;
        snprintf(c->reason, sizeof(c->reason), "node is syncing (head %" PRId64 ")", st->head);
    } else if ((uint64_t)c->age_ms > lim->stale_ms) {
        c->state = HEALTH_STALE;
        snprintf(c->reason, sizeof(c->reason), "head %" PRId64 " is %.1f s old (limit %.1f s)",
                 st->head, (double)c->age_ms / 1000, (double)lim->stale_ms / 1000);
    } else if (c->lag >= 0 && (uint64_t)c->lag > lim->max_lag) {
        c->state = HEALTH_LAGGING;
        snprintf(c->reason, sizeof(c->reason),
                 "head %" PRId64 " is %" PRId64 " blocks behind the reference's %" PRId64
                 " (limit %" PRIu64 ")",
                 st->head, c->lag, ref_head, lim->max_lag);
    }
}

int64_t health_head_age_ms(int64_t block_time_ms, int64_t now_ms)
{
    return now_ms > block_time_ms ? now_ms - block_time_ms : 0;
}

int64_t health_fleet_reference(const int64_t *heads, size_t n)
{
    int64_t first = -1, second = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t v = heads[i];
        if (v > first) {
            second = first;
            first = v;
        } else if (v > second) {
            second = v;
        }
    }
    return second >= 0 ? second : first;
}

void health_verdict_init(struct health_verdict *v)
{
    *v = (struct health_verdict){.state = HEALTH_UNKNOWN};
}

static unsigned bump(unsigned n)
{
    return n < UINT32_MAX ? n + 1 : n;
}

enum health_state health_verdict_apply(struct health_verdict *v, const struct health_check *c,
                                       unsigned rise, unsigned fall)
{
    bool ok = c->state == HEALTH_OK;
    v->successes = ok ? bump(v->successes) : 0;
    v->failures = ok ? 0 : bump(v->failures);
    if (!v->known) /* nothing to smooth yet: the first check decides */
        v->healthy = ok;
    else if (v->healthy && v->failures >= fall)
        v->healthy = false;
    else if (!v->healthy && v->successes >= rise)
        v->healthy = true;
    v->known = true;
    if (v->healthy) {
        v->state = HEALTH_OK;
        v->reason[0] = '\0';
    } else if (!ok) { /* while recovering, keep saying what was last wrong */
        v->state = c->state;
        snprintf(v->reason, sizeof(v->reason), "%s", c->reason);
    }
    return v->state;
}

void health_verdict_force_down(struct health_verdict *v, const char *reason)
{
    *v = (struct health_verdict){.known = true, .state = HEALTH_DOWN};
    snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

void health_verdict_resume(struct health_verdict *v, enum health_state served)
{
    health_verdict_init(v);
    if (served == HEALTH_UNKNOWN || (unsigned)served >= HEALTH_NSTATES)
        return;
    v->known = true;
    v->healthy = served == HEALTH_OK;
    v->state = served;
}
