/* HTTP/1.1 server core over libuv + llhttp: options, listener, stats and
 * graceful close. Connections are in httpd_conn.c, parsing in
 * httpd_parse.c. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "hostport.h"
#include "httpd-int.h"

void nu_httpd_opts_init(struct nu_httpd_opts *o)
{
    *o = (struct nu_httpd_opts){
        .host = "127.0.0.1",
        .max_header_bytes = 16 * 1024,
        .max_body_bytes = 10 * 1024 * 1024,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 60000,
        .keepalive_ms = 75000,
        .idle_trim_ms = 1000,
        .write_timeout_ms = 60000,
        .max_unsent_bytes = 128 * 1024 * 1024,
        .max_connections = 10000,
        .max_headers = 100,
        .backlog = 511,
    };
}

void nu_httpd_opts_status(struct nu_httpd_opts *o, const char *host, int port)
{
    nu_httpd_opts_init(o);
    o->host = host;
    o->port = port;
    o->max_body_bytes = 4096;
    o->max_connections = 1000;
}

static const struct {
    int code;
    const char *reason;
} reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {416, "Range Not Satisfiable"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *nu_http_reason(int status)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == status)
            return reasons[i].reason;
    return "Unknown";
}

/* ---- listener ---- */

static void on_reject_closed(uv_handle_t *h)
{
    free(h);
}

static void reject(struct nu_httpd *s)
{
    uv_tcp_t *t = malloc(sizeof(*t));
    if (!t || uv_tcp_init(s->loop, t) != 0) {
        free(t);
        return;
    }
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t) == 0)
        s->st.rejected_max_conns++;
    uv_close((uv_handle_t *)t, on_reject_closed);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct nu_httpd *s = l->data;
    if (status < 0 || s->closing)
        return;
    if (s->st.open_connections >= s->o.max_connections || nu_httpd_conn_accept(s) != 0)
        reject(s);
}

/* Socket, options and bind by hand: SO_REUSEPORT must be set before bind,
 * and failing here needs no uv_close. */
static int open_listener(struct nu_httpd *s, int *fdp, char *errbuf)
{
    const char *host = strcmp(s->o.host, "localhost") == 0 ? "127.0.0.1" : s->o.host;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (nu_ip_sockaddr(host, s->o.port, &ss, &sl) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "listen address %s: not an IP address", host);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nu_err_set(errbuf, NU_ENET, "socket: %s", strerror(errno));
    int one = 1, err = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s->o.reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        err = nu_err_set(errbuf, NU_ENET, "SO_REUSEPORT: %s", strerror(errno));
        goto out;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        err = nu_err_set(errbuf, NU_ENET, "bind %s:%d: %s", host, s->o.port, strerror(errno));
        goto out;
    }
    if (listen(fd, s->o.backlog) != 0) {
        err = nu_err_set(errbuf, NU_ENET, "listen %s:%d: %s", host, s->o.port, strerror(errno));
        goto out;
    }
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        err = nu_err_set(errbuf, NU_ENET, "getsockname: %s", strerror(errno));
        goto out;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    *fdp = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return err;
}

/* libuv writes with write(2), so a peer that resets while we write would
 * kill the process with SIGPIPE. Ignore it unless the program installed its
 * own handler. */
static void ignore_sigpipe(void)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

static void on_srv_handle_closed(uv_handle_t *h)
{
    struct nu_httpd *s = h->data;
    s->open_handles--;
    nu_httpd_srv_maybe_done(s);
}

int nu_httpd_new(uv_loop_t *loop, const struct nu_httpd_opts *o, nu_httpd_handler_fn handler,
                 void *ud, struct nu_httpd **out, char *errbuf)
{
    *out = NULL;
    if (!loop || !handler)
        return nu_err_set(errbuf, NU_EINVAL, "httpd: loop and handler are required");
    struct nu_httpd *s = calloc(1, sizeof(*s));
    if (!s)
        return nu_err_set(errbuf, NU_ENOMEM, "httpd: out of memory");
    ignore_sigpipe();
    nu_httpd_opts_fill(&s->o, o);
    s->loop = loop;
    s->handler = handler;
    s->ud = ud;
    int fd = -1;
    int err = open_listener(s, &fd, errbuf);
    if (err) {
        free(s);
        return err;
    }
    uv_tcp_init(loop, &s->listener);
    uv_timer_init(loop, &s->drain);
    s->listener.data = s->drain.data = s;
    s->open_handles = 2;
    int r = uv_tcp_open(&s->listener, fd);
    if (r != 0)
        close(fd); /* not owned by the handle */
    else
        r = uv_listen((uv_stream_t *)&s->listener, s->o.backlog, on_connection);
    if (r != 0) {
        /* Handles are initialised: they free s from their close callbacks. */
        s->closing = true;
        uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
        nu_httpd_srv_maybe_done(s);
        return nu_err_set(errbuf, NU_ENET, "listen: %s", uv_strerror(r));
    }
    *out = s;
    return 0;
}

int nu_httpd_port(const struct nu_httpd *s)
{
    return s->port;
}

void nu_httpd_get_stats(const struct nu_httpd *s, struct nu_httpd_stats *st)
{
    *st = s->st;
    st->unsent_bytes = s->unsent;
    st->buffer_bytes = 0;
    for (const struct nu_httpd_conn *c = s->conns; c; c = c->next)
        st->buffer_bytes += nu_httpd_conn_buffer_bytes(c);
}

/* ---- graceful close ---- */

void nu_httpd_srv_maybe_done(struct nu_httpd *s)
{
    if (!s->closing || s->conns)
        return;
    if (!s->drain_closing) {
        s->drain_closing = true;
        uv_timer_stop(&s->drain);
        uv_close((uv_handle_t *)&s->drain, on_srv_handle_closed);
        return;
    }
    if (s->open_handles > 0)
        return;
    nu_httpd_closed_fn done = s->done;
    void *ud = s->done_ud;
    free(s);
    if (done)
        done(ud);
}

static void on_drain(uv_timer_t *t)
{
    struct nu_httpd *s = t->data;
    for (struct nu_httpd_conn *c = s->conns; c; c = c->next)
        nu_httpd_conn_close(c, false);
}

void nu_httpd_close(struct nu_httpd *s, unsigned drain_ms, nu_httpd_closed_fn done, void *ud)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    s->done = done;
    s->done_ud = ud;
    uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
    for (struct nu_httpd_conn *c = s->conns; c; c = c->next) {
        if (nu_httpd_conn_idle(c))
            nu_httpd_conn_close(c, false);
    }
    if (s->conns)
        uv_timer_start(&s->drain, on_drain, drain_ms, 0);
    nu_httpd_srv_maybe_done(s);
}
