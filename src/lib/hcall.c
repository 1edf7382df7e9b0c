/* One request at a time to a URL over the event-loop client (see hcall.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hcall.h"
#include "redact.h"

static void set_error(struct nu_hcall *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct nu_hcall *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->error, sizeof(h->error), fmt, ap);
    va_end(ap);
}

/* What an exchange that got no answer says, as libcurl's messages read
 * where operators know them. */
static void transport_error(struct nu_hcall *h, const struct nu_hc_resp *r)
{
    const char *refused = "connect: ";
    if (r->err == NU_HC_TOO_BIG)
        set_error(h, "%s larger than %zu bytes", h->what, h->o.max_response);
    else if (r->err == NU_HC_TIMEOUT || (r->err == NU_HC_CONNECT && r->timed_out))
        set_error(h, "no answer from %s within %u ms", h->shown, h->o.timeout_ms);
    else if (r->err == NU_HC_CONNECT && strncmp(r->detail, refused, strlen(refused)) == 0)
        set_error(h, "%s: Failed to connect to %s port %d: %.100s", h->shown, h->url.host,
                  h->url.port, r->detail + strlen(refused));
    else
        set_error(h, "%s: %.150s", h->shown, r->detail);
}

static void finish(struct nu_hcall *h, const struct nu_hc_resp *r)
{
    h->busy = false;
    h->body = NULL;
    h->done(h->ud, h, r);
}

/* A request that ended before any exchange: h->error says why. */
static void fail(struct nu_hcall *h)
{
    const struct nu_hc_resp r = {.err = NU_HC_CONNECT, .detail = h->error};
    finish(h, &r);
}

static void send_next(struct nu_hcall *h);

static void on_answer(void *ud, const struct nu_hc_resp *r)
{
    struct nu_hcall *h = ud;
    h->conn = NULL;
    bool refused = r->err == NU_HC_CONNECT && !r->timed_out;
    if (refused && h->at + 1 < h->naddrs && uv_now(h->loop) < h->deadline) {
        h->at++; /* another address of the name */
        send_next(h);
        return;
    }
    if (r->err != NU_HC_OK)
        transport_error(h, r);
    else
        h->error[0] = '\0';
    finish(h, r);
}

static void on_pool_freed(void *ud)
{
    struct nu_hcall *h = ud;
    if (--h->closes == 0)
        h->closed(h->closed_ud);
}

static struct nu_hc_pool *make_pool(struct nu_hcall *h, char *errbuf)
{
    const struct nu_hc_target t = {.method = "POST",
                                   .path = h->url.path,
                                   .host = h->host_header,
                                   .headers = h->auth[0] ? h->auth : NULL,
                                   .tls_name = h->url.host};
    const struct nu_hc_pool_opts o = {.idle_max = 1,
                                      .idle_timeout_ms = NU_HCALL_KEEPALIVE_MS,
                                      .connect_timeout_ms = h->o.timeout_ms,
                                      .max_response = h->o.max_response,
                                      .tls = h->url.tls ? h->o.tls : NULL};
    struct nu_hc_pool *pool =
        nu_hc_pool_new(h->loop, (const struct sockaddr *)&h->addrs[0], &t, &o, errbuf);
    if (pool) {
        pool->owner = h;
        pool->on_free = on_pool_freed;
    }
    return pool;
}

/* Sends the request to addrs[at] within what is left of its time. */
static void send_next(struct nu_hcall *h)
{
    char errbuf[NU_ERRMSG_MAX];
    const struct sockaddr *a = (const struct sockaddr *)&h->addrs[h->at];
    if (!h->pool && (h->pool = make_pool(h, errbuf)) == NULL) {
        set_error(h, "%.200s", errbuf);
        fail(h);
        return;
    }
    nu_hc_pool_set_addr(h->pool, a);
    h->conn = nu_hc_pool_get(h->pool);
    if (!h->conn) {
        set_error(h, "cannot start a request: out of memory");
        fail(h);
        return;
    }
    uint64_t now = uv_now(h->loop);
    unsigned left = h->deadline > now ? (unsigned)(h->deadline - now) : 1;
    nu_hc_send(h->conn, h->body, h->blen, left, h->flags, on_answer, h);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct nu_hcall *h = req->data;
    h->resolving = false;
    if (h->closing) {
        uv_freeaddrinfo(res);
        if (--h->closes == 0)
            h->closed(h->closed_ud);
        return;
    }
    h->naddrs = h->at = 0;
    for (struct addrinfo *ai = status == 0 ? res : NULL; ai && h->naddrs < NU_HCALL_ADDRS;
         ai = ai->ai_next)
        if (ai->ai_addrlen <= sizeof(h->addrs[0]))
            memcpy(&h->addrs[h->naddrs++], ai->ai_addr, ai->ai_addrlen);
    uv_freeaddrinfo(res);
    if (h->naddrs == 0) {
        set_error(h, "%s: Could not resolve host: %s (%s)", h->shown, h->url.host,
                  status < 0 ? uv_strerror(status) : "no address");
        fail(h);
        return;
    }
    send_next(h);
}

/* A numeric host is its own address; a name is looked up per request. */
static bool numeric_addr(struct nu_hcall *h)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&h->addrs[0];
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&h->addrs[0];
    return uv_ip4_addr(h->url.host, h->url.port, v4) == 0 ||
           uv_ip6_addr(h->url.host, h->url.port, v6) == 0;
}

static void on_deferred(uv_timer_t *t)
{
    fail(t->data);
}

void nu_hcall_send(struct nu_hcall *h, const char *body, size_t len, unsigned flags)
{
    NU_BUG_ON(h->busy || h->closing);
    h->deadline = uv_now(h->loop) + h->o.timeout_ms;
    h->busy = true;
    h->body = body;
    h->blen = len;
    h->flags = flags;
    h->at = 0;
    if (numeric_addr(h)) {
        h->naddrs = 1;
        send_next(h); /* the exchange answers later, never from inside */
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%d", h->url.port);
    const struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    h->gai.data = h;
    int rc = uv_getaddrinfo(h->loop, &h->gai, on_resolved, h->url.host, port, &hints);
    if (rc != 0) {
        set_error(h, "%s: cannot look up %s: %s", h->shown, h->url.host, uv_strerror(rc));
        (void)uv_timer_start(&h->defer, on_deferred, 0, 0);
        return;
    }
    h->resolving = true;
}

int nu_hcall_init(struct nu_hcall *h, uv_loop_t *loop, const char *url,
                  const struct nu_hcall_opts *o, nu_hcall_done_fn done, void *ud, char *errbuf)
{
    memset(h, 0, sizeof(*h));
    h->loop = loop;
    h->o = *o;
    h->done = done;
    h->ud = ud;
    snprintf(h->what, sizeof(h->what), "%s", o->what ? o->what : "answer");
    nu_redact(url, h->shown, sizeof(h->shown)); /* before it is cut short */
    int rc = nu_url_parse(url, &h->url, errbuf);
    if (rc == 0 && h->url.tls && !o->tls)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: https needs a TLS layer", h->shown);
    if (rc == 0 && nu_url_basic_auth(&h->url, h->auth, sizeof(h->auth)) != 0)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: user and password too long", h->shown);
    if (rc != 0)
        return rc;
    nu_url_host_header(&h->url, h->host_header, sizeof(h->host_header));
    h->defer.data = h;
    (void)uv_timer_init(loop, &h->defer); /* cannot fail for timers */
    h->timer_open = true;
    return 0;
}

static void on_defer_closed(uv_handle_t *t)
{
    on_pool_freed(t->data);
}

void nu_hcall_close(struct nu_hcall *h, nu_hcall_closed_fn closed, void *ud)
{
    bool has_timer = h->timer_open; /* an h never set up has none */
    h->timer_open = false;
    h->closing = true;
    h->closed = closed;
    h->closed_ud = ud;
    h->closes = (has_timer ? 1 : 0) + (h->resolving ? 1 : 0) + (h->pool ? 1 : 0);
    if (h->resolving)
        uv_cancel((uv_req_t *)&h->gai); /* its callback still comes, with UV_ECANCELED */
    if (h->conn)
        nu_hc_cancel(h->conn);
    h->conn = NULL;
    struct nu_hc_pool *pool = h->pool;
    h->pool = NULL;
    bool nothing = h->closes == 0;
    nu_hc_pool_retire(pool); /* on_pool_freed, maybe at once */
    if (has_timer)
        uv_close((uv_handle_t *)&h->defer, on_defer_closed);
    if (nothing)
        closed(ud);
}
