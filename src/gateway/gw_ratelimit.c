/* Per-client token buckets shared by every worker (see gw_limits.h).
 *
 * The table is split into stripes, each with its own mutex and a fixed
 * array of slots; a key lives in one of PROBE slots from its hash. So a
 * check is one short critical section, and memory is bounded by
 * ratelimit_clients: a new client takes a free slot or the least recently
 * seen one of its probe window (that client restarts with a full bucket). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "gw_limits.h"

#define STRIPES 64
#define PROBE 8
#define KEY_MAX 47

struct slot {
    char key[KEY_MAX + 1];
    uint8_t klen; /* 0: free */
    double tokens;
    uint64_t last_ns;
};

struct stripe {
    pthread_mutex_t mu;
    struct slot *slots;
} __attribute__((aligned(64)));

struct gw_ratelimit {
    unsigned per_stripe;
    struct stripe s[STRIPES];
};

struct gw_ratelimit *gw_ratelimit_new(unsigned capacity)
{
    struct gw_ratelimit *rl = aligned_alloc(64, sizeof(*rl));
    if (!rl)
        return NULL;
    memset(rl, 0, sizeof(*rl));
    rl->per_stripe = capacity / STRIPES < PROBE ? PROBE : capacity / STRIPES;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&rl->s[i].mu, NULL);
        rl->s[i].slots = calloc(rl->per_stripe, sizeof(struct slot));
        if (!rl->s[i].slots) {
            gw_ratelimit_free(rl);
            return NULL;
        }
    }
    return rl;
}

void gw_ratelimit_free(struct gw_ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < STRIPES; i++) {
        free(rl->s[i].slots);
        pthread_mutex_destroy(&rl->s[i].mu);
    }
    free(rl);
}

static uint64_t hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

/* The slot of key, claiming a free or the stalest one when absent. */
static struct slot *find(struct gw_ratelimit *rl, struct stripe *st, uint64_t h, const char *key,
                         size_t n, double burst, uint64_t now_ns)
{
    struct slot *victim = NULL;
    for (unsigned i = 0; i < PROBE; i++) {
        struct slot *s = &st->slots[(h + i) % rl->per_stripe];
        if (s->klen == n && memcmp(s->key, key, n) == 0)
            return s;
        if (!victim || (victim->klen && (!s->klen || s->last_ns < victim->last_ns)))
            victim = s;
    }
    memcpy(victim->key, key, n);
    victim->klen = (uint8_t)n;
    victim->tokens = burst;
    victim->last_ns = now_ns;
    return victim;
}

bool gw_ratelimit_take(struct gw_ratelimit *rl, const char *key, size_t keylen, double cost,
                       double rate, double burst, uint64_t now_ns, double *wait_s)
{
    if (keylen == 0) {
        key = "?";
        keylen = 1;
    }
    if (keylen > KEY_MAX)
        keylen = KEY_MAX;
    uint64_t h = hash(key, keylen);
    struct stripe *st = &rl->s[h % STRIPES];
    h /= STRIPES;
    pthread_mutex_lock(&st->mu);
    struct slot *s = find(rl, st, h, key, keylen, burst, now_ns);
    if (now_ns > s->last_ns) {
        s->tokens += (double)(now_ns - s->last_ns) / 1e9 * rate;
        if (s->tokens > burst)
            s->tokens = burst;
        s->last_ns = now_ns;
    }
    bool ok = s->tokens >= cost;
    if (ok)
        s->tokens -= cost;
    else
        *wait_s = rate > 0 ? (cost - s->tokens) / rate : 3600;
    pthread_mutex_unlock(&st->mu);
    return ok;
}
