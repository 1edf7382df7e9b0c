/* HAProxy agent-check server: one line per connection, then close. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

struct agent_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    struct hc_agent *agent;
    struct agent_conn *prev, *next;
    char line[HC_AGENT_LINE_MAX];
    char rbuf[256];
    int open_handles;
    bool closing;
};

struct hc_agent {
    uv_loop_t *loop;
    uv_tcp_t listener;
    hc_agent_reply_fn fn;
    void *ud;
    struct agent_conn *conns;
    unsigned nconns;
    int port;
    bool closing, listener_closed;
    hc_agent_closed_fn done;
    void *done_ud;
};

/* Copies a reason into out: control characters (CR/LF would end the line
 * early) become spaces, the length is capped. */
static void put_reason(char *out, size_t outsz, const char *reason)
{
    size_t n = 0;
    for (const char *p = reason ? reason : ""; *p && n + 1 < outsz && n < HC_AGENT_REASON_MAX;
         p++) {
        unsigned char c = (unsigned char)*p;
        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[n] = '\0';
}

size_t hc_agent_format(const struct hc_agent_reply *r, char *out, size_t outsz)
{
    char reason[HC_AGENT_REASON_MAX + 1];
    int n = 0;
    put_reason(reason, sizeof(reason), r->reason);
    switch (r->kind) {
    case HC_AGENT_UP:
        n = snprintf(out, outsz, "up ready %u%%\n", r->weight_pct > 100 ? 100 : r->weight_pct);
        break;
    case HC_AGENT_DRAIN:
        n = snprintf(out, outsz, "up drain #%s\n", reason);
        break;
    case HC_AGENT_DOWN:
        n = snprintf(out, outsz, "down #%s\n", reason);
        break;
    case HC_AGENT_SILENT:
        break;
    }
    if (n <= 0 || outsz < 2)
        return 0;
    if ((size_t)n >= outsz) { /* cut, but still one whole line */
        n = (int)outsz - 1;
        out[n - 1] = '\n';
    }
    return (size_t)n;
}

static void maybe_finish(struct hc_agent *a)
{
    if (!a->closing || !a->listener_closed || a->conns != NULL)
        return;
    hc_agent_closed_fn done = a->done;
    void *ud = a->done_ud;
    free(a);
    if (done)
        done(ud);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct agent_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct hc_agent *a = c->agent;
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->nconns--;
    free(c);
    maybe_finish(a);
}

static void conn_close(struct agent_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct agent_conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

/* Whatever HAProxy sends (agent-send) is ignored; EOF or an error ends it. */
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    if (nread < 0)
        conn_close(s->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    if (status < 0)
        conn_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
    struct agent_conn *c = req->data;
    if (status < 0 || c->closing) {
        conn_close(c);
        return;
    }
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static void on_linger(uv_timer_t *t)
{
    conn_close(t->data);
}

/* Answers a connection that was just accepted. */
static void conn_answer(struct agent_conn *c)
{
    struct hc_agent_reply r = {.kind = HC_AGENT_SILENT};
    c->agent->fn(c->agent->ud, &r);
    size_t len = hc_agent_format(&r, c->line, sizeof(c->line));
    if (len == 0) {
        conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init(c->line, (unsigned)len);
    c->wreq.data = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0 ||
        uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0 ||
        uv_timer_start(&c->timer, on_linger, HC_AGENT_LINGER_MS, 0) != 0)
        conn_close(c);
}

static void on_reject_closed(uv_handle_t *h)
{
    free(h);
}

static void on_early_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Accepts and drops a connection we cannot serve: left unaccepted, it
 * would stop libuv from accepting any further one. */
static void reject(struct hc_agent *a)
{
    uv_tcp_t *t = malloc(sizeof(*t));
    if (t == NULL || uv_tcp_init(a->loop, t) != 0) {
        free(t);
        return;
    }
    (void)uv_accept((uv_stream_t *)&a->listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_reject_closed);
}

static void conn_link(struct hc_agent *a, struct agent_conn *c)
{
    c->agent = a;
    c->tcp.data = c;
    c->timer.data = c;
    c->next = a->conns;
    if (a->conns)
        a->conns->prev = c;
    a->conns = c;
    a->nconns++;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct hc_agent *a = server->data;
    if (status < 0 || a->closing)
        return;
    struct agent_conn *c = NULL;
    if (a->nconns < HC_AGENT_MAX_CONNS)
        c = calloc(1, sizeof(*c));
    if (c == NULL || uv_tcp_init(a->loop, &c->tcp) != 0) {
        free(c);
        reject(a);
        return;
    }
    if (uv_timer_init(a->loop, &c->timer) != 0) {
        c->tcp.data = c;
        uv_close((uv_handle_t *)&c->tcp, on_early_closed);
        reject(a);
        return;
    }
    conn_link(a, c);
    c->open_handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0)
        conn_close(c);
    else
        conn_answer(c);
}

static int bind_listener(struct hc_agent *a, const char *host, int port, char *errbuf)
{
    struct sockaddr_storage ss;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc != 0)
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    if (rc != 0)
        return nu_err_set(errbuf, NU_EINVAL, "agent address %s: not a numeric IP address", host);
    rc = uv_tcp_bind(&a->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&a->listener, 128, on_connection);
    if (rc != 0)
        return nu_err_set(errbuf, NU_ENET, "agent port %s:%d: %s", host, port, uv_strerror(rc));
    int len = sizeof(ss);
    rc = uv_tcp_getsockname(&a->listener, (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return nu_err_set(errbuf, NU_ENET, "agent port: %s", uv_strerror(rc));
    a->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct hc_agent *a = h->data;
    a->listener_closed = true;
    maybe_finish(a);
}

int hc_agent_new(uv_loop_t *loop, const char *host, int port, hc_agent_reply_fn fn, void *ud,
                 struct hc_agent **out, char *errbuf)
{
    *out = NULL;
    struct hc_agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "agent: out of memory");
    a->loop = loop;
    a->fn = fn;
    a->ud = ud;
    a->listener.data = a;
    int rc = uv_tcp_init(loop, &a->listener);
    if (rc != 0) {
        free(a);
        return nu_err_set(errbuf, NU_ENET, "agent: %s", uv_strerror(rc));
    }
    rc = bind_listener(a, host, port, errbuf);
    if (rc != 0) {
        a->closing = true; /* freed by on_listener_closed once the loop runs */
        uv_close((uv_handle_t *)&a->listener, on_listener_closed);
        return rc;
    }
    *out = a;
    return 0;
}

int hc_agent_port(const struct hc_agent *a)
{
    return a->port;
}

void hc_agent_close(struct hc_agent *a, hc_agent_closed_fn done, void *ud)
{
    if (a == NULL) {
        if (done)
            done(ud);
        return;
    }
    a->closing = true;
    a->done = done;
    a->done_ud = ud;
    for (struct agent_conn *c = a->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&a->listener, on_listener_closed);
}
