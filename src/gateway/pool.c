/* Keep-alive connection pools (see gw_pool.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_pool.h"

struct gw_pool *gw_pool_new(uv_loop_t *loop, struct gw_upstream *u, const struct gw_pool_opts *o)
{
    struct gw_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->loop = loop;
    p->up = gw_upstream_ref(u);
    p->o = *o;
    const char *path = u->spec.is_dns || !u->spec.path[0] ? "/" : u->spec.path;
    int n = snprintf(p->prefix, sizeof(p->prefix),
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: ",
                     path, u->hostport);
    p->prefix_len = n > 0 && (size_t)n < sizeof(p->prefix) ? (size_t)n : 0;
    return p;
}

static void maybe_free(struct gw_pool *p)
{
    if (!p->retired || p->nopen > 0)
        return;
    gw_upstream_unref(p->up);
    free(p);
}

static void unlink_idle(struct gw_pool *p, struct gw_upconn *c)
{
    for (struct gw_upconn **pp = &p->idle; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            p->nidle--;
            return;
        }
    }
}

void gw_pool_set_opts(struct gw_pool *p, const struct gw_pool_opts *o)
{
    p->o = *o;
    while (p->nidle > p->o.idle_max) {
        struct gw_upconn *c = p->idle;
        unlink_idle(p, c);
        gw_upconn_close(c);
    }
}

struct gw_upconn *gw_pool_get(struct gw_pool *p)
{
    uint64_t now = uv_hrtime(), limit = (uint64_t)p->o.idle_timeout_ms * 1000000u;
    while (p->idle) {
        struct gw_upconn *c = p->idle;
        p->idle = c->next;
        c->next = NULL;
        p->nidle--;
        /* Its idle timer may not have run yet (a busy loop): a connection
         * idle that long may be being closed by the upstream right now. */
        if (now - c->parked_ns < limit)
            return c;
        gw_upconn_close(c);
    }
    return gw_upconn_new(p);
}

void gw_pool_done(struct gw_pool *p, struct gw_upconn *c, bool reusable)
{
    if (c->state == GW_UC_CLOSING)
        return;
    if (!reusable || p->retired || p->nidle >= p->o.idle_max) {
        gw_upconn_close(c);
        return;
    }
    c->next = p->idle;
    p->idle = c;
    p->nidle++;
    gw_upconn_park(c, p->o.idle_timeout_ms);
}

void gw_pool_idle_gone(struct gw_pool *p, struct gw_upconn *c)
{
    unlink_idle(p, c);
    gw_upconn_close(c);
}

void gw_pool_conn_gone(struct gw_pool *p)
{
    p->nopen--;
    maybe_free(p);
}

void gw_pool_retire(struct gw_pool *p)
{
    if (!p)
        return;
    p->retired = true;
    while (p->idle) {
        struct gw_upconn *c = p->idle;
        unlink_idle(p, c);
        gw_upconn_close(c);
    }
    maybe_free(p);
}
