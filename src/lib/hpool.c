/* Keep-alive connection pools of the event-loop HTTP client (see
 * hclient.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hclient-int.h"

static const char *const err_names[NU_HC_NERR] = {"ok",      "connect",  "reset",  "truncated",
                                                  "timeout", "protocol", "too_big"};

const char *nu_hc_err_name(int e)
{
    return e >= 0 && e < NU_HC_NERR ? err_names[e] : "protocol";
}

/* "METHOD path HTTP/1.1", Host, Content-Type for a body, extra headers. */
static int build_prefix(struct nu_hc_pool *p, const struct nu_hc_target *t, char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, NU_HC_HEAD_MAX);
    p->has_body = strcmp(t->method, "GET") != 0;
    int rc = nu_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s", t->method, t->path, t->host,
                           p->has_body ? "Content-Type: application/json\r\n" : "",
                           t->headers ? t->headers : "");
    if (rc == 0 && !p->has_body)
        rc = nu_buf_puts(&b, "Accept: application/json\r\n");
    if (rc != 0) {
        nu_buf_release(&b);
        return nu_err_set(errbuf, rc, "request head for %s is larger than %d bytes", t->host,
                          NU_HC_HEAD_MAX);
    }
    p->prefix_len = b.len;
    p->prefix = nu_buf_take(&b);
    return p->prefix ? 0 : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
}

static void pool_free(struct nu_hc_pool *p)
{
    free(p->prefix);
    free(p->tls_name);
    free(p);
}

struct nu_hc_pool *nu_hc_pool_new(uv_loop_t *loop, const struct sockaddr *addr,
                                  const struct nu_hc_target *t, const struct nu_hc_pool_opts *o,
                                  char *errbuf)
{
    struct nu_hc_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        return NULL;
    }
    p->loop = loop;
    p->o = *o;
    nu_hc_pool_set_addr(p, addr);
    if (build_prefix(p, t, errbuf) != 0) {
        pool_free(p);
        return NULL;
    }
    if (o->tls && (p->tls_name = strdup(t->tls_name ? t->tls_name : "")) == NULL) {
        nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        pool_free(p);
        return NULL;
    }
    return p;
}

static void maybe_free(struct nu_hc_pool *p)
{
    if (!p->retired || p->nopen > 0)
        return;
    void (*on_free)(void *) = p->on_free;
    void *owner = p->owner;
    pool_free(p);
    if (on_free)
        on_free(owner);
}

static void unlink_idle(struct nu_hc_pool *p, struct nu_hc_conn *c)
{
    for (struct nu_hc_conn **pp = &p->idle; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            p->nidle--;
            return;
        }
    }
}

static void close_idle(struct nu_hc_pool *p, unsigned keep)
{
    while (p->nidle > keep) {
        struct nu_hc_conn *c = p->idle;
        unlink_idle(p, c);
        nu_hc_conn_close(c);
    }
}

void nu_hc_pool_set_opts(struct nu_hc_pool *p, const struct nu_hc_pool_opts *o)
{
    const struct nu_hc_tls *tls = p->o.tls; /* connections speak what they started with */
    p->o = *o;
    p->o.tls = tls;
    close_idle(p, p->o.idle_max);
}

void nu_hc_pool_set_addr(struct nu_hc_pool *p, const struct sockaddr *addr)
{
    size_t len =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (memcmp(&p->addr, addr, len) == 0)
        return;
    memset(&p->addr, 0, sizeof(p->addr));
    memcpy(&p->addr, addr, len);
    close_idle(p, 0);
}

struct nu_hc_conn *nu_hc_pool_get(struct nu_hc_pool *p)
{
    uint64_t now = nu_mono_ns(), limit = (uint64_t)p->o.idle_timeout_ms * 1000000u;
    while (p->idle) {
        struct nu_hc_conn *c = p->idle;
        p->idle = c->next;
        c->next = NULL;
        p->nidle--;
        /* Its idle timer may not have run yet (a busy loop): a connection
         * idle that long may be being closed by the server right now. */
        if (now - c->parked_ns < limit)
            return c;
        nu_hc_conn_close(c);
    }
    return nu_hc_conn_new(p);
}

void nu_hc_pool_done(struct nu_hc_pool *p, struct nu_hc_conn *c, bool reusable)
{
    if (c->state == NU_HC_CLOSING)
        return;
    if (!reusable || p->retired || p->nidle >= p->o.idle_max) {
        nu_hc_conn_close(c);
        return;
    }
    c->next = p->idle;
    p->idle = c;
    p->nidle++;
    nu_hc_conn_park(c, p->o.idle_timeout_ms);
}

void nu_hc_pool_idle_gone(struct nu_hc_pool *p, struct nu_hc_conn *c)
{
    unlink_idle(p, c);
    nu_hc_conn_close(c);
}

void nu_hc_pool_conn_gone(struct nu_hc_pool *p)
{
    p->nopen--;
    maybe_free(p);
}

void nu_hc_pool_retire(struct nu_hc_pool *p)
{
    if (!p)
        return;
    p->retired = true;
    close_idle(p, 0);
    maybe_free(p);
}
