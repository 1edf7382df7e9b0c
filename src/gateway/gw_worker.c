/* Worker threads (see gw_worker.h). */
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "gw_accesslog.h"
#include "gw_endpoints.h"
#include "hclient.h"
#include "gw_proxy.h"
#include "gw_worker.h"
#include "log.h"

#define TICK_MS 1000

/* ---- views and pools ---- */

struct gw_view *gw_worker_view_pin(struct gw_worker *w)
{
    w->view->users++;
    return w->view;
}

static bool set_has(const struct gw_upset *s, const struct gw_upstream *u)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->u[i] == u)
            return true;
    return false;
}

static bool in_use(const struct gw_worker *w, const struct gw_upstream *u)
{
    if (w->view && set_has(w->view->snap->set, u))
        return true;
    for (const struct gw_view *v = w->retired; v; v = v->next)
        if (set_has(v->snap->set, u))
            return true;
    return false;
}

/* Retires pools to upstreams no view of this worker refers to any more
 * (all of them when the worker has no view: shutdown). */
static void sweep_pools(struct gw_worker *w)
{
    for (struct nu_hc_pool **pp = &w->pools; *pp;) {
        struct nu_hc_pool *p = *pp;
        struct gw_upstream *u = p->owner;
        if (in_use(w, u)) {
            pp = &p->owner_next;
            continue;
        }
        *pp = p->owner_next;
        u->pools[w->idx] = NULL;
        nu_hc_pool_retire(p);
    }
}

static void release_view(struct gw_worker *w, struct gw_view *v)
{
    for (struct gw_view **pp = &w->retired; *pp; pp = &(*pp)->next) {
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    }
    gw_snap_unref(v->snap);
    free(v);
    sweep_pools(w);
}

void gw_worker_view_unpin(struct gw_worker *w, struct gw_view *v)
{
    if (--v->users == 0 && v != w->view)
        release_view(w, v);
}

static void pool_opts(const struct gw_config *c, struct nu_hc_pool_opts *o)
{
    *o = (struct nu_hc_pool_opts){
        .idle_max = c->pool_idle_max,
        .idle_timeout_ms = c->pool_idle_timeout_ms,
        .connect_timeout_ms = c->connect_timeout_ms,
        .max_response = c->max_response_bytes,
    };
}

struct nu_hc_pool *gw_worker_pool(struct gw_worker *w, struct gw_upstream *u)
{
    struct nu_hc_pool *p = u->pools[w->idx];
    if (p)
        return p;
    struct nu_hc_pool_opts o;
    pool_opts(w->view->snap->cfg, &o);
    p = gw_upstream_pool_new(u, &w->loop, &o);
    if (!p)
        return NULL;
    p->owner_next = w->pools;
    w->pools = p;
    u->pools[w->idx] = p;
    return p;
}

/* Switches to the published snapshot; the old view stays while pinned. */
static void take_snapshot(struct gw_worker *w)
{
    struct gw_snap *s = gw_gateway_snap(w->gw);
    if (w->view && s == w->view->snap) {
        gw_snap_unref(s);
        return;
    }
    struct gw_view *v = calloc(1, sizeof(*v));
    if (!v) {
        gw_snap_unref(s); /* keep the old view; retried on the next poke */
        return;
    }
    v->snap = s;
    struct gw_view *old = w->view;
    w->view = v;
    struct nu_hc_pool_opts o;
    pool_opts(s->cfg, &o);
    for (struct nu_hc_pool *p = w->pools; p; p = p->owner_next)
        nu_hc_pool_set_opts(p, &o);
    if (!old)
        return;
    if (old->users == 0) {
        gw_snap_unref(old->snap);
        free(old);
        sweep_pools(w);
    } else {
        old->next = w->retired;
        w->retired = old;
    }
}

/* ---- requests ---- */

static void on_request(struct nu_http_req *req, void *ud)
{
    struct gw_worker *w = ud;
    if (strcmp(req->path, "/") == 0) {
        if (strcmp(req->method, "POST") == 0) {
            gw_proxy_handle(w, req);
            return;
        }
        static const char *const allow[] = {"Allow: POST", NULL};
        if (nu_httpd_respond_ex(req, 405, "text/plain", allow, "use POST for JSON-RPC\n", 22, 0) !=
            0)
            nu_httpd_abort(req);
        return;
    }
    if (gw_endpoints_handle(w, req))
        return;
    if (nu_httpd_respond(req, 404, "text/plain", "not found\n", 10) != 0)
        nu_httpd_abort(req);
}

/* ---- tick, stop ---- */

static void copy_httpd_stats(struct gw_worker *w)
{
    if (!w->httpd)
        return;
    struct nu_httpd_stats st;
    nu_httpd_get_stats(w->httpd, &st);
    atomic_store_explicit(&w->st.http_accepted, st.accepted, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_rejected, st.rejected_max_conns, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_bad, st.bad_requests, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_timeouts, st.timeouts, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_too_large, st.too_large, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_open, st.open_connections, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_unsent_drops, st.unsent_drops, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_unsent_bytes, st.unsent_bytes, memory_order_relaxed);
    atomic_store_explicit(&w->st.http_buffer_bytes, st.buffer_bytes, memory_order_relaxed);
}

static void on_tick(uv_timer_t *t)
{
    struct gw_worker *w = t->data;
    copy_httpd_stats(w);
    gw_alog_flush(w);
}

static void maybe_close_handles(struct gw_worker *w)
{
    if (w->httpd || gw_alog_busy(w) || uv_is_closing((uv_handle_t *)&w->async))
        return;
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->async, NULL);
}

/* Everything in flight is done: drop views (retiring every pool), flush
 * the access log and close the worker's own handles. */
static void on_httpd_closed(void *ud)
{
    struct gw_worker *w = ud;
    w->httpd = NULL;
    gw_alog_flush(w);
    while (w->retired)
        release_view(w, w->retired);
    gw_snap_unref(w->view->snap);
    free(w->view);
    w->view = NULL;
    sweep_pools(w);
    maybe_close_handles(w);
}

void gw_worker_alog_done(struct gw_worker *w)
{
    if (w->stopping)
        maybe_close_handles(w);
}

static void on_async(uv_async_t *a)
{
    struct gw_worker *w = a->data;
    if (w->stopping)
        return;
    if (atomic_exchange(&w->want_snap, false))
        take_snapshot(w);
    if (atomic_load(&w->want_stop)) {
        w->stopping = true;
        copy_httpd_stats(w);
        nu_httpd_close(w->httpd, w->view->snap->cfg->drain_timeout_ms, on_httpd_closed, w);
        gw_gateway_worker_draining(w->gw);
    }
}

void gw_worker_poke(struct gw_worker *w)
{
    atomic_store(&w->want_snap, true);
    uv_async_send(&w->async);
}

void gw_worker_stop(struct gw_worker *w)
{
    atomic_store(&w->want_stop, true);
    uv_async_send(&w->async);
}

/* ---- start, join ---- */

static void worker_main(void *arg)
{
    struct gw_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    gw_gateway_worker_exited(w->gw, w->stopping);
}

static void httpd_opts(const struct gw_config *c, int port, struct nu_httpd_opts *o)
{
    nu_httpd_opts_init(o);
    o->host = c->listen_host;
    o->port = port;
    o->max_header_bytes = c->max_header_bytes;
    o->max_body_bytes = c->max_body_bytes;
    o->header_timeout_ms = c->header_timeout_ms;
    o->body_timeout_ms = c->body_timeout_ms;
    o->keepalive_ms = c->idle_timeout_ms;
    o->write_timeout_ms = c->write_timeout_ms;
    o->max_unsent_bytes = (size_t)c->max_unsent_bytes;
    o->max_connections = c->max_connections;
    o->reuseport = true;
}

/* Undoes a start that failed before the thread ran. */
static void abandon(struct gw_worker *w)
{
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->async, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    if (w->view) {
        gw_snap_unref(w->view->snap);
        free(w->view);
    }
    gw_alogbuf_release(&w->alog);
    free(w);
}

int gw_worker_start(struct gw_gateway *gw, unsigned idx, struct gw_worker **out, char *errbuf)
{
    *out = NULL;
    struct gw_worker *w = calloc(1, sizeof(*w));
    if (!w || uv_loop_init(&w->loop) != 0) {
        free(w);
        return nu_err_set(errbuf, NU_ENOMEM, "worker %u: cannot set up a loop", idx);
    }
    w->gw = gw;
    w->idx = idx;
    w->rng = nu_mono_ns() ^ ((uint64_t)(idx + 1) * 0x9e3779b97f4a7c15ull);
    gw_alogbuf_init(&w->alog);
    uv_async_init(&w->loop, &w->async, on_async);
    uv_timer_init(&w->loop, &w->tick);
    w->async.data = w->tick.data = w;
    take_snapshot(w);
    const struct gw_config *cfg = w->view ? w->view->snap->cfg : NULL;
    struct nu_httpd_opts o;
    int err = cfg ? 0 : nu_err_set(errbuf, NU_ENOMEM, "worker %u: out of memory", idx);
    if (!err) {
        httpd_opts(cfg, idx == 0 ? cfg->listen_port : gw->port, &o);
        err = nu_httpd_new(&w->loop, &o, on_request, w, &w->httpd, errbuf);
    }
    if (!err) {
        if (idx == 0)
            gw->port = nu_httpd_port(w->httpd);
        uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
        gw_gateway_worker_starting(gw); /* before the thread can end */
        if (uv_thread_create(&w->thread, worker_main, w) != 0) {
            gw_gateway_worker_exited(gw, false);
            err = nu_err_set(errbuf, NU_ENOMEM, "worker %u: cannot start a thread", idx);
        }
    }
    if (err) {
        if (w->httpd)
            nu_httpd_close(w->httpd, 0, NULL, NULL);
        abandon(w);
        return err;
    }
    *out = w;
    return 0;
}

void gw_worker_join(struct gw_worker *w)
{
    if (!w)
        return;
    uv_thread_join(&w->thread);
    gw_proxy_worker_cleanup(w);
    gw_alogbuf_release(&w->alog);
    uv_loop_close(&w->loop);
    free(w);
}
