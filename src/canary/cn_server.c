/* The canary daemon: engine plus /metrics (see cn_server.h). */
#include <stdlib.h>
#include <string.h>

#include "cn_server.h"
#include "httpd.h"

#define DRAIN_MS 1000 /* on close, how long a scrape in flight may take */

struct cn_server {
    uv_loop_t *loop;
    struct cn_canary *cn;
    struct nu_httpd *httpd;
    struct cn_listen listen;
    int port;
    int closes;
    cn_closed_fn done;
    void *done_ud;
};

static void respond_text(struct nu_http_req *req, int status, const char *text)
{
    (void)nu_httpd_respond(req, status, "text/plain", text, strlen(text));
}

static void on_request(struct nu_http_req *req, void *ud)
{
    struct cn_server *s = ud;
    static const char *const allow[] = {"Allow: GET, HEAD", NULL};
    static const char not_allowed[] = "method not allowed\n";
    if (strcmp(req->path, "/metrics") != 0) {
        respond_text(req, 404, "not found; try /metrics\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        (void)nu_httpd_respond_ex(req, 405, "text/plain", allow, not_allowed,
                                  sizeof(not_allowed) - 1, 0);
        return;
    }
    nu_metrics_respond(cn_canary_metrics(s->cn), req);
}

static int start_engine(struct cn_server *s, const struct cn_config *cfg,
                        const struct nu_keypair *key, char *errbuf)
{
    struct cn_canary *cn;
    int rc = cn_canary_new(s->loop, cfg, key, NULL, NULL, &cn, errbuf);
    if (rc != 0)
        return rc;
    s->cn = cn;
    cn_canary_start(cn, true);
    return 0;
}

static void one_closed(void *ud)
{
    struct cn_server *s = ud;
    if (--s->closes > 0)
        return;
    cn_closed_fn done = s->done;
    void *done_ud = s->done_ud;
    free(s);
    if (done)
        done(done_ud);
}

void cn_server_close(struct cn_server *s, cn_closed_fn done, void *ud)
{
    s->done = done;
    s->done_ud = ud;
    s->closes = 2; /* the engine, the listener */
    if (s->cn)
        cn_canary_close(s->cn, one_closed, s);
    else
        one_closed(s);
    s->cn = NULL;
    if (s->httpd)
        nu_httpd_close(s->httpd, DRAIN_MS, one_closed, s);
    else
        one_closed(s);
    s->httpd = NULL;
}

static int start_listener(struct cn_server *s, char *errbuf)
{
    struct nu_httpd_opts ho;
    nu_httpd_opts_status(&ho, s->listen.host, s->listen.port);
    int rc = nu_httpd_new(s->loop, &ho, on_request, s, &s->httpd, errbuf);
    if (rc == 0)
        s->port = nu_httpd_port(s->httpd);
    return rc;
}

int cn_server_new(uv_loop_t *loop, const struct cn_config *cfg, const struct nu_keypair *key,
                  struct cn_server **out, char *errbuf)
{
    *out = NULL;
    struct cn_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "canary: out of memory");
    s->loop = loop;
    s->listen = cfg->listen;
    s->port = -1;
    int rc = start_engine(s, cfg, key, errbuf);
    if (rc == 0 && s->listen.host[0])
        rc = start_listener(s, errbuf);
    if (rc != 0) {
        cn_server_close(s, NULL, NULL);
        return rc;
    }
    *out = s;
    return 0;
}

int cn_server_port(const struct cn_server *s)
{
    return s->port;
}

int cn_server_reload(struct cn_server *s, const struct cn_config *cfg, const struct nu_keypair *key,
                     char *errbuf)
{
    if (strcmp(cfg->listen.host, s->listen.host) != 0 || cfg->listen.port != s->listen.port)
        return nu_err_set(errbuf, NU_EINVAL, "listen changed; restart the canary to move it");
    struct cn_canary *old = s->cn;
    int rc = start_engine(s, cfg, key, errbuf);
    if (rc != 0)
        return rc;
    cn_canary_close(old, NULL, NULL);
    return 0;
}

void cn_server_run_now(struct cn_server *s)
{
    cn_canary_run_now(s->cn);
}
