/* Shared upstream objects and sets (see gw_upstream.h). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "gw_upstream.h"
#include "hostport.h"

static const int state_ranks[HEALTH_NSTATES] = {0, 1, 1, 2, 3, 4};

int gw_state_rank(int st)
{
    return (st >= 0 && st < HEALTH_NSTATES) ? state_ranks[st] : 4;
}

const char *gw_uperr_name(int e)
{
    return e == GW_UE_HTTP_5XX ? "http_5xx" : nu_hc_err_name(e);
}

int gw_addr_parse(const char *host, int port, struct sockaddr_storage *addr)
{
    memset(addr, 0, sizeof(*addr));
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (uv_ip4_addr(h, port, (struct sockaddr_in *)addr) == 0)
        return 0;
    if (uv_ip6_addr(h, port, (struct sockaddr_in6 *)addr) == 0)
        return 0;
    return NU_EINVAL;
}

void gw_addr_format(const struct sockaddr *addr, char *out, size_t outsz)
{
    char ip[64] = "?";
    int port;
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        uv_ip6_name(a, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    }
    (void)!nu_hostport_format(ip, port, out, outsz); /* a cut-short name still reads */
}

static size_t addr_len(const struct sockaddr *a)
{
    return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

struct gw_upstream *gw_upstream_new(const struct gw_upstream_spec *spec, const char *display,
                                    const struct sockaddr *addr, unsigned nworkers)
{
    struct gw_upstream *u = calloc(1, sizeof(*u) + nworkers * sizeof(u->pools[0]));
    if (!u)
        return NULL;
    atomic_init(&u->refs, 1);
    u->spec = *spec;
    u->nworkers = nworkers;
    snprintf(u->name, sizeof(u->name), "%s", display ? display : spec->name);
    memcpy(&u->addr, addr, addr_len(addr));
    if (spec->is_dns) {
        gw_addr_format(addr, u->hostport, sizeof(u->hostport));
    } else {
        (void)!nu_hostport_format(spec->host, spec->port, u->hostport, sizeof(u->hostport));
    }
    atomic_init(&u->state, HEALTH_UNKNOWN);
    pthread_mutex_init(&u->mu, NULL);
    return u;
}

struct gw_upstream *gw_upstream_ref(struct gw_upstream *u)
{
    atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
    return u;
}

void gw_upstream_unref(struct gw_upstream *u)
{
    if (!u || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&u->mu);
    free(u);
}

#define COPY(f) atomic_store(&dst->f, atomic_load(&src->f))

void gw_upstream_take_state(struct gw_upstream *dst, const struct gw_upstream *src)
{
    struct gw_upstream *s = (struct gw_upstream *)src;
    COPY(state);
    COPY(head);
    COPY(earliest);
    COPY(lag);
    COPY(block_time_ms);
    COPY(probe_us);
    COPY(requests);
    COPY(latency_us);
    COPY(resends);
    for (int i = 0; i < GW_NUE; i++)
        COPY(errors[i]);
    char err[sizeof(src->last_error)];
    gw_upstream_get_error(s, err, sizeof(err));
    gw_upstream_set_error(dst, err);
}

bool gw_upstream_same(const struct gw_upstream *u, const struct gw_upstream_spec *spec,
                      const struct sockaddr *addr)
{
    const struct gw_upstream_spec *a = &u->spec;
    return strcmp(a->name, spec->name) == 0 && strcmp(a->url, spec->url) == 0 &&
           strcmp(a->host, spec->host) == 0 && a->port == spec->port && a->is_dns == spec->is_dns &&
           strcmp(a->zone, spec->zone) == 0 && a->weight == spec->weight &&
           a->archival == spec->archival && a->max_inflight == spec->max_inflight &&
           addr->sa_family == u->addr.ss_family && memcmp(addr, &u->addr, addr_len(addr)) == 0;
}

bool gw_upstream_acquire(struct gw_upstream *u)
{
    unsigned max = u->spec.max_inflight;
    unsigned prev = atomic_fetch_add_explicit(&u->inflight, 1, memory_order_relaxed);
    if (max == 0 || prev < max)
        return true;
    atomic_fetch_sub_explicit(&u->inflight, 1, memory_order_relaxed);
    return false;
}

void gw_upstream_release(struct gw_upstream *u)
{
    atomic_fetch_sub_explicit(&u->inflight, 1, memory_order_relaxed);
}

void gw_upstream_record(struct gw_upstream *u, int uperr, uint64_t latency_us,
                        unsigned passive_limit, const char *detail)
{
    atomic_fetch_add_explicit(&u->requests, 1, memory_order_relaxed);
    if (uperr == GW_UE_OK) {
        /* EWMA with weight 1/8; lost updates between workers do not matter */
        uint64_t old = atomic_load_explicit(&u->latency_us, memory_order_relaxed);
        uint64_t v = old ? old - old / 8 + latency_us / 8 : latency_us;
        atomic_store_explicit(&u->latency_us, v, memory_order_relaxed);
        if (atomic_load_explicit(&u->passive_fails, memory_order_relaxed))
            atomic_store_explicit(&u->passive_fails, 0, memory_order_relaxed);
        return;
    }
    if (uperr > 0 && uperr < GW_NUE)
        atomic_fetch_add_explicit(&u->errors[uperr], 1, memory_order_relaxed);
    if (detail)
        gw_upstream_set_error(u, detail);
    if (uperr == GW_UE_TOO_BIG || uperr == GW_UE_PROTOCOL)
        return; /* says nothing about the node's health */
    unsigned n = atomic_fetch_add_explicit(&u->passive_fails, 1, memory_order_relaxed) + 1;
    if (passive_limit && n >= passive_limit &&
        atomic_load_explicit(&u->state, memory_order_relaxed) != HEALTH_DOWN) {
        atomic_store(&u->passive_down, true);
        atomic_store(&u->state, HEALTH_DOWN);
    }
}

static void pool_freed(void *owner)
{
    gw_upstream_unref(owner);
}

struct nu_hc_pool *gw_upstream_pool_new(struct gw_upstream *u, uv_loop_t *loop,
                                        const struct nu_hc_pool_opts *o)
{
    const struct nu_hc_target t = {
        .method = "POST",
        .path = u->spec.is_dns || !u->spec.path[0] ? "/" : u->spec.path,
        .host = u->hostport,
    };
    char errbuf[NU_ERRMSG_MAX];
    struct nu_hc_pool *p = nu_hc_pool_new(loop, (const struct sockaddr *)&u->addr, &t, o, errbuf);
    if (!p)
        return NULL;
    p->resends = &u->resends;
    p->owner = gw_upstream_ref(u);
    p->on_free = pool_freed;
    return p;
}

void gw_upstream_set_error(struct gw_upstream *u, const char *text)
{
    pthread_mutex_lock(&u->mu);
    snprintf(u->last_error, sizeof(u->last_error), "%s", text ? text : "");
    pthread_mutex_unlock(&u->mu);
}

void gw_upstream_get_error(struct gw_upstream *u, char *out, size_t outsz)
{
    pthread_mutex_lock(&u->mu);
    snprintf(out, outsz, "%s", u->last_error);
    pthread_mutex_unlock(&u->mu);
}

struct gw_upset *gw_upset_new(void)
{
    struct gw_upset *s = calloc(1, sizeof(*s));
    if (s)
        atomic_init(&s->refs, 1);
    return s;
}

struct gw_upset *gw_upset_ref(struct gw_upset *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void gw_upset_unref(struct gw_upset *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        gw_upstream_unref(s->u[i]);
    free(s);
}
