/* GET /healthcheck, /upstreams, /metrics (see gw_endpoints.h). */
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "gw_endpoints.h"
#include "gw_reply.h"
#include "gw_worker.h"
#include "health.h"

#define ENDPOINT_BODY_MAX (16u << 20)

struct counts {
    unsigned n[HEALTH_NSTATES], total;
};

static void count_states(const struct gw_upset *set, struct counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < set->n; i++) {
        int st = atomic_load(&set->u[i]->state);
        c->n[st >= 0 && st < HEALTH_NSTATES ? st : HEALTH_UNKNOWN]++;
        c->total++;
    }
}

static int put_states(struct nu_buf *b, const struct counts *c)
{
    int err = nu_buf_puts(b, "{");
    for (int s = 0; s < HEALTH_NSTATES && !err; s++)
        err = nu_buf_printf(b, "%s\"%s\":%u", s ? "," : "", health_state_name(s), c->n[s]);
    return err ? err : nu_buf_puts(b, "}");
}

/* 200 while at least min_healthy upstreams are OK, else 503; 503 while draining. */
static int healthcheck(struct gw_worker *w, struct gw_view *v, struct nu_buf *b, int *status)
{
    const struct gw_config *cfg = v->snap->cfg;
    struct counts c;
    count_states(v->snap->set, &c);
    unsigned ok = c.n[HEALTH_OK];
    bool draining = atomic_load(&w->gw->draining);
    char reason[160];
    const char *word;
    if (draining) {
        word = "draining";
        snprintf(reason, sizeof(reason), "shutting down");
    } else if (ok >= cfg->min_healthy) {
        word = "ok";
        snprintf(reason, sizeof(reason), "%u of %u upstreams OK", ok, c.total);
    } else {
        word = "unhealthy";
        snprintf(reason, sizeof(reason), "only %u of %u upstreams OK (min_healthy is %u)", ok,
                 c.total, cfg->min_healthy);
    }
    *status = !draining && ok >= cfg->min_healthy ? 200 : 503;
    int err = nu_buf_printf(b, "{\"status\":\"%s\",\"reason\":", word);
    err = err ? err : gw_json_str(b, reason);
    err = err ? err
              : nu_buf_printf(b,
                              ",\"ok\":%u,\"total\":%u,\"min_healthy\":%u,\"degraded\":%s,"
                              "\"reference_head\":%lld,\"states\":",
                              ok, c.total, cfg->min_healthy, ok == 0 ? "true" : "false",
                              (long long)atomic_load(&w->gw->ref_head));
    err = err ? err : put_states(b, &c);
    return err ? err : nu_buf_puts(b, "}\n");
}

static int upstream_json(struct gw_upstream *u, struct nu_buf *b)
{
    char err_text[sizeof(u->last_error)], url[GW_PATH_MAX + GW_HOST_MAX + 32];
    gw_upstream_get_error(u, err_text, sizeof(err_text));
    snprintf(url, sizeof(url), "http://%s%s", u->hostport, u->spec.is_dns ? "/" : u->spec.path);
    uint64_t errors = 0;
    for (int k = 1; k < GW_NUE; k++)
        errors += atomic_load(&u->errors[k]);
    int64_t bt = atomic_load(&u->block_time_ms);
    int err = nu_buf_puts(b, "{\"name\":");
    err = err ? err : gw_json_str(b, u->name);
    err = err ? err : nu_buf_puts(b, ",\"url\":");
    err = err ? err : gw_json_str(b, url);
    err = err ? err : nu_buf_puts(b, ",\"zone\":");
    err = err ? err : gw_json_str(b, u->spec.zone);
    err =
        err ? err
            : nu_buf_printf(
                  b,
                  ",\"archival\":%s,\"weight\":%u,\"max_inflight\":%u,\"state\":\"%s\","
                  "\"head\":%lld,\"earliest\":%lld,\"lag\":%lld,"
                  "\"block_age_ms\":%lld,\"inflight\":%u,\"latency_ms\":%.3f,"
                  "\"probe_ms\":%.3f,\"requests\":%llu,\"errors\":%llu,"
                  "\"last_error\":",
                  u->spec.archival ? "true" : "false", u->spec.weight, u->spec.max_inflight,
                  health_state_name(atomic_load(&u->state)), (long long)atomic_load(&u->head),
                  (long long)atomic_load(&u->earliest), (long long)atomic_load(&u->lag),
                  (long long)(bt ? health_head_age_ms(bt, nu_real_ms()) : -1),
                  (unsigned)atomic_load(&u->inflight), (double)atomic_load(&u->latency_us) / 1000.0,
                  (double)atomic_load(&u->probe_us) / 1000.0,
                  (unsigned long long)atomic_load(&u->requests), (unsigned long long)errors);
    err = err ? err : gw_json_str(b, err_text);
    return err ? err : nu_buf_putc(b, '}');
}

static int upstreams(struct gw_worker *w, struct gw_view *v, struct nu_buf *b, int *status)
{
    const struct gw_upset *set = v->snap->set;
    struct counts c;
    count_states(set, &c);
    *status = 200;
    int err = nu_buf_printf(b, "{\"reference_head\":%lld,\"ok\":%u,\"degraded\":%s,\"upstreams\":[",
                            (long long)atomic_load(&w->gw->ref_head), c.n[HEALTH_OK],
                            c.n[HEALTH_OK] == 0 ? "true" : "false");
    for (size_t i = 0; i < set->n && !err; i++) {
        if (i)
            err = nu_buf_putc(b, ',');
        err = err ? err : upstream_json(set->u[i], b);
    }
    return err ? err : nu_buf_puts(b, "]}\n");
}

static int metrics(struct gw_worker *w, struct gw_view *v, struct nu_buf *b, int *status)
{
    *status = 200;
    return gw_metrics_render(w->gw, v->snap->set, b);
}

typedef int (*endpoint_fn)(struct gw_worker *w, struct gw_view *v, struct nu_buf *b, int *status);

static const struct {
    const char *path;
    endpoint_fn fn;
    const char *ctype;
} routes[] = {
    {"/healthcheck", healthcheck, "application/json"},
    {"/upstreams", upstreams, "application/json"},
    {"/metrics", metrics, "text/plain; version=0.0.4; charset=utf-8"},
};

bool gw_endpoints_handle(struct gw_worker *w, struct nu_http_req *req)
{
    size_t i = 0, n = sizeof(routes) / sizeof(routes[0]);
    while (i < n && strcmp(routes[i].path, req->path) != 0)
        i++;
    if (i == n)
        return false;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        static const char *const allow[] = {"Allow: GET, HEAD", NULL};
        if (nu_httpd_respond_ex(req, 405, "text/plain", allow, "use GET\n", 8, 0) != 0)
            nu_httpd_abort(req);
        return true;
    }
    struct nu_buf b;
    nu_buf_init(&b, ENDPOINT_BODY_MAX);
    struct gw_view *v = gw_worker_view_pin(w);
    int status = 500;
    int err = routes[i].fn(w, v, &b, &status);
    gw_worker_view_unpin(w, v);
    if (err)
        err = nu_httpd_respond(req, 500, "text/plain", "out of memory\n", 14);
    else
        err = nu_httpd_respond(req, status, routes[i].ctype, b.data ? b.data : "", b.len);
    if (err)
        nu_httpd_abort(req);
    nu_buf_release(&b);
    return true;
}
