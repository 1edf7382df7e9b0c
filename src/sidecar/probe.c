/* Polling one node's status for the sidecar (see probe.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "redact.h"

#define STATUS_REQUEST                                                                             \
    "{\"jsonrpc\":\"2.0\",\"id\":\"nearup-health\",\"method\":\"status\",\"params\":[]}"

static void sample_error(struct hc_sample *sm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sample_error(struct hc_sample *sm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sm->error, sizeof(sm->error), fmt, ap);
    va_end(ap);
    sm->ok = false;
}

/* A status result the judge can use (of the node or of the reference). */
static void parse_status(const char *data, size_t len, struct hc_sample *sm)
{
    char err[NU_ERRMSG_MAX];
    int rc = health_status_parse(data, len, HEALTH_REPLY_JSONRPC, &sm->st, err);
    if (rc == 0)
        rc = health_status_judgeable(&sm->st, err);
    if (rc != 0)
        sample_error(sm, "%.*s", (int)sizeof(sm->error) - 1, err);
    sm->ok = rc == 0;
}

/* What an exchange that got no status result says, as libcurl's
 * messages read where operators know them. */
static void transport_error(struct hc_probe *p, const struct nu_hc_resp *r)
{
    struct hc_sample *sm = &p->sample;
    const char *refused = "connect: ";
    if (r->err == NU_HC_TOO_BIG)
        sample_error(sm, "status reply larger than %u bytes", HC_REPLY_MAX);
    else if (r->err == NU_HC_TIMEOUT || (r->err == NU_HC_CONNECT && r->timed_out))
        sample_error(sm, "no answer from %s within %u ms", p->shown, p->timeout_ms);
    else if (r->err == NU_HC_CONNECT && strncmp(r->detail, refused, strlen(refused)) == 0)
        sample_error(sm, "%s: Failed to connect to %s port %d: %.100s", p->shown, p->url.host,
                     p->url.port, r->detail + strlen(refused));
    else
        sample_error(sm, "%s: %.150s", p->shown, r->detail);
}

static void finish(struct hc_probe *p)
{
    p->busy = false;
    p->done(p->ud, p);
}

static void send_next(struct hc_probe *p);

static void on_answer(void *ud, const struct nu_hc_resp *r)
{
    struct hc_probe *p = ud;
    p->conn = NULL;
    bool refused = r->err == NU_HC_CONNECT && !r->timed_out;
    if (refused && p->at + 1 < p->naddrs && uv_now(p->loop) < p->deadline) {
        p->at++; /* another address of the name */
        send_next(p);
        return;
    }
    if (r->err != NU_HC_OK)
        transport_error(p, r);
    else if (r->status < 200 || r->status > 299)
        sample_error(&p->sample, "%s answered HTTP %d", p->shown, r->status);
    else
        parse_status(r->body, r->len, &p->sample);
    finish(p);
}

static struct nu_hc_pool *make_pool(struct hc_probe *p, char *errbuf);

/* Sends the status request to addrs[at] within what is left of the
 * poll's time. */
static void send_next(struct hc_probe *p)
{
    char errbuf[NU_ERRMSG_MAX];
    const struct sockaddr *a = (const struct sockaddr *)&p->addrs[p->at];
    if (!p->pool && (p->pool = make_pool(p, errbuf)) == NULL) {
        sample_error(&p->sample, "%.200s", errbuf);
        finish(p);
        return;
    }
    nu_hc_pool_set_addr(p->pool, a);
    p->conn = nu_hc_pool_get(p->pool);
    if (!p->conn) {
        sample_error(&p->sample, "cannot start a request: out of memory");
        finish(p);
        return;
    }
    uint64_t now = uv_now(p->loop);
    unsigned left = p->deadline > now ? (unsigned)(p->deadline - now) : 1;
    nu_hc_send(p->conn, STATUS_REQUEST, sizeof(STATUS_REQUEST) - 1, left, NU_HC_REPLAYABLE,
               on_answer, p);
}

static void on_pool_freed(void *ud)
{
    struct hc_probe *p = ud;
    if (--p->closes == 0)
        p->closed(p->closed_ud);
}

static struct nu_hc_pool *make_pool(struct hc_probe *p, char *errbuf)
{
    const struct nu_hc_target t = {.method = "POST",
                                   .path = p->url.path,
                                   .host = p->host_header,
                                   .headers = p->auth[0] ? p->auth : NULL,
                                   .tls_name = p->url.host};
    const struct nu_hc_pool_opts o = {.idle_max = 1,
                                      .idle_timeout_ms = HC_PROBE_KEEPALIVE_MS,
                                      .connect_timeout_ms = p->timeout_ms,
                                      .max_response = HC_REPLY_MAX,
                                      .tls = p->url.tls ? p->tls : NULL};
    struct nu_hc_pool *pool =
        nu_hc_pool_new(p->loop, (const struct sockaddr *)&p->addrs[0], &t, &o, errbuf);
    if (pool) {
        pool->owner = p;
        pool->on_free = on_pool_freed;
    }
    return pool;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct hc_probe *p = req->data;
    p->resolving = false;
    if (p->closing) {
        uv_freeaddrinfo(res);
        if (--p->closes == 0)
            p->closed(p->closed_ud);
        return;
    }
    p->naddrs = p->at = 0;
    for (struct addrinfo *ai = status == 0 ? res : NULL; ai && p->naddrs < HC_PROBE_ADDRS;
         ai = ai->ai_next)
        if (ai->ai_addrlen <= sizeof(p->addrs[0]))
            memcpy(&p->addrs[p->naddrs++], ai->ai_addr, ai->ai_addrlen);
    uv_freeaddrinfo(res);
    if (p->naddrs == 0) {
        sample_error(&p->sample, "%s: Could not resolve host: %s (%s)", p->shown, p->url.host,
                     status < 0 ? uv_strerror(status) : "no address");
        finish(p);
        return;
    }
    send_next(p);
}

/* A numeric host is its own address; a name is looked up per poll. */
static bool numeric_addr(struct hc_probe *p)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&p->addrs[0];
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&p->addrs[0];
    return uv_ip4_addr(p->url.host, p->url.port, v4) == 0 ||
           uv_ip6_addr(p->url.host, p->url.port, v6) == 0;
}

void hc_probe_start(struct hc_probe *p)
{
    memset(&p->sample, 0, sizeof(p->sample));
    p->deadline = uv_now(p->loop) + p->timeout_ms;
    p->busy = true;
    p->at = 0;
    if (numeric_addr(p)) {
        p->naddrs = 1;
        send_next(p);
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%d", p->url.port);
    const struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    p->gai.data = p;
    int rc = uv_getaddrinfo(p->loop, &p->gai, on_resolved, p->url.host, port, &hints);
    if (rc != 0) {
        sample_error(&p->sample, "%s: cannot look up %s: %s", p->shown, p->url.host,
                     uv_strerror(rc));
        p->busy = false; /* not started: the caller sees busy false */
        return;
    }
    p->resolving = true;
}

int hc_probe_init(struct hc_probe *p, uv_loop_t *loop, const char *url, unsigned timeout_ms,
                  const struct nu_hc_tls *tls, hc_probe_done_fn done, void *ud, char *errbuf)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->timeout_ms = timeout_ms;
    p->tls = tls;
    p->done = done;
    p->ud = ud;
    nu_redact(url, p->shown, sizeof(p->shown)); /* before it is cut short */
    int rc = nu_url_parse(url, &p->url, errbuf);
    if (rc == 0 && p->url.tls && !tls)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: https needs a TLS layer", p->shown);
    if (rc == 0 && nu_url_basic_auth(&p->url, p->auth, sizeof(p->auth)) != 0)
        rc = nu_err_set(errbuf, NU_EINVAL, "%s: user and password too long", p->shown);
    nu_url_host_header(&p->url, p->host_header, sizeof(p->host_header));
    return rc;
}

void hc_probe_close(struct hc_probe *p, hc_probe_closed_fn closed, void *ud)
{
    p->closing = true;
    p->closed = closed;
    p->closed_ud = ud;
    p->closes = (p->resolving ? 1 : 0) + (p->pool ? 1 : 0);
    if (p->resolving)
        uv_cancel((uv_req_t *)&p->gai); /* its callback still comes, with UV_ECANCELED */
    if (p->conn)
        nu_hc_cancel(p->conn);
    p->conn = NULL;
    struct nu_hc_pool *pool = p->pool;
    p->pool = NULL;
    bool nothing = p->closes == 0;
    nu_hc_pool_retire(pool); /* on_pool_freed, maybe at once */
    if (nothing)
        closed(ud);
}
