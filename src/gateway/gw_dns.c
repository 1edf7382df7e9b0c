/* Re-resolved DNS upstreams (see gw_dns.h). */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_dns.h"
#include "log.h"

struct dentry {
    struct gw_dns *d;
    struct dentry *next;
    char name[GW_NAME_MAX];
    char host[GW_HOST_MAX];
    int port, family;
    struct sockaddr_storage addrs[GW_MAX_UPSTREAMS];
    size_t n;
    uv_getaddrinfo_t req;
    bool busy, dead, seen;
};

struct gw_dns {
    struct gw_gateway *gw;
    gw_dns_change_fn on_change;
    uv_timer_t timer;
    struct dentry *list;
    unsigned nbusy;
    bool closing, timer_closed;
};

static void maybe_free(struct gw_dns *d)
{
    if (d->closing && d->timer_closed && d->nbusy == 0)
        free(d);
}

static int cmp_addr(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct sockaddr_storage));
}

/* Collects, deduplicates and sorts the answer; true when it changed. */
static bool take_answer(struct dentry *e, const struct addrinfo *res)
{
    struct sockaddr_storage got[GW_MAX_UPSTREAMS];
    size_t n = 0;
    for (const struct addrinfo *ai = res; ai && n < GW_MAX_UPSTREAMS; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(got[0]))
            continue;
        memset(&got[n], 0, sizeof(got[n]));
        memcpy(&got[n], ai->ai_addr, ai->ai_addrlen);
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = cmp_addr(&got[k], &got[n]) == 0;
        if (!dup)
            n++;
    }
    qsort(got, n, sizeof(got[0]), cmp_addr);
    if (n == e->n && memcmp(got, e->addrs, n * sizeof(got[0])) == 0)
        return false;
    memcpy(e->addrs, got, n * sizeof(got[0]));
    e->n = n;
    return true;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct dentry *e = req->data;
    struct gw_dns *d = e->d;
    e->busy = false;
    d->nbusy--;
    if (e->dead || d->closing) {
        uv_freeaddrinfo(res);
        if (e->dead)
            free(e);
        maybe_free(d);
        return;
    }
    if (status < 0) {
        atomic_fetch_add(&d->gw->dns_failures, 1);
        nu_warn("dns lookup failed; keeping the previous members", "upstream", e->name, "name",
                e->host, "error", uv_strerror(status));
        return;
    }
    bool changed = take_answer(e, res);
    uv_freeaddrinfo(res);
    if (!changed)
        return;
    char count[16];
    snprintf(count, sizeof(count), "%zu", e->n);
    nu_info("dns members changed", "upstream", e->name, "name", e->host, "members", count);
    d->on_change(d->gw);
}

static void resolve(struct dentry *e)
{
    if (e->busy)
        return;
    char port[16];
    snprintf(port, sizeof(port), "%d", e->port);
    struct addrinfo hints = {.ai_family = e->family, .ai_socktype = SOCK_STREAM};
    e->req.data = e;
    int r = uv_getaddrinfo(&e->d->gw->loop, &e->req, on_resolved, e->host, port, &hints);
    if (r != 0) {
        atomic_fetch_add(&e->d->gw->dns_failures, 1);
        nu_warn("dns lookup failed to start", "upstream", e->name, "error", uv_strerror(r));
        return;
    }
    e->busy = true;
    e->d->nbusy++;
}

static void on_timer(uv_timer_t *t)
{
    struct gw_dns *d = t->data;
    for (struct dentry *e = d->list; e; e = e->next)
        resolve(e);
}

struct gw_dns *gw_dns_new(struct gw_gateway *gw, gw_dns_change_fn on_change)
{
    struct gw_dns *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->gw = gw;
    d->on_change = on_change;
    uv_timer_init(&gw->loop, &d->timer);
    d->timer.data = d;
    return d;
}

static void drop(struct gw_dns *d, struct dentry *e)
{
    if (e->busy) {
        e->dead = true; /* freed by its lookup's callback */
        uv_cancel((uv_req_t *)&e->req);
    } else {
        free(e);
    }
}

static struct dentry *find_or_add(struct gw_dns *d, const struct gw_upstream_spec *u, int family)
{
    for (struct dentry *e = d->list; e; e = e->next)
        if (!strcmp(e->name, u->name) && !strcmp(e->host, u->host) && e->port == u->port &&
            e->family == family)
            return e;
    struct dentry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->d = d;
    snprintf(e->name, sizeof(e->name), "%s", u->name);
    snprintf(e->host, sizeof(e->host), "%s", u->host);
    e->port = u->port;
    e->family = family;
    e->next = d->list;
    d->list = e;
    resolve(e);
    return e;
}

void gw_dns_configure(struct gw_dns *d, const struct gw_config *cfg)
{
    int family = cfg->dns_family == GW_DNS_IPV4   ? AF_INET
                 : cfg->dns_family == GW_DNS_IPV6 ? AF_INET6
                                                  : AF_UNSPEC;
    for (struct dentry *e = d->list; e; e = e->next)
        e->seen = false;
    for (size_t i = 0; i < cfg->nups; i++) {
        if (!cfg->ups[i].is_dns)
            continue;
        struct dentry *e = find_or_add(d, &cfg->ups[i], family);
        if (e)
            e->seen = true;
    }
    for (struct dentry **pp = &d->list; *pp;) {
        struct dentry *e = *pp;
        if (e->seen) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        drop(d, e);
    }
    if (d->list)
        uv_timer_start(&d->timer, on_timer, cfg->dns_interval_ms, cfg->dns_interval_ms);
    else
        uv_timer_stop(&d->timer);
}

size_t gw_dns_members(const struct gw_dns *d, const char *name, struct sockaddr_storage *out,
                      size_t max)
{
    for (const struct dentry *e = d ? d->list : NULL; e; e = e->next) {
        if (strcmp(e->name, name) != 0)
            continue;
        size_t n = e->n < max ? e->n : max;
        memcpy(out, e->addrs, n * sizeof(out[0]));
        return n;
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct gw_dns *d = h->data;
    d->timer_closed = true;
    maybe_free(d);
}

void gw_dns_close(struct gw_dns *d)
{
    if (!d)
        return;
    d->closing = true;
    while (d->list) {
        struct dentry *e = d->list;
        d->list = e->next;
        drop(d, e);
    }
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}
