/* Active health checks (see gw_health.h). Runs on the control loop only;
 * publishes into the shared upstream objects with atomics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "gw_health.h"
#include "hclient.h"
#include "health.h"
#include "log.h"

static const char probe_body[] =
    "{\"jsonrpc\":\"2.0\",\"id\":\"nearup-gateway\",\"method\":\"status\",\"params\":[]}";

struct hentry {
    struct gw_health *h;
    struct gw_upstream *u; /* reference */
    struct nu_hc_pool *pool;
    struct nu_hc_conn *conn; /* probe in flight */
    struct health_verdict v;
    uint64_t sent_ns;
    /* this round */
    bool done, ok; /* ok: a judgeable status of the configured chain */
    struct health_status st;
    char err[NU_ERRMSG_MAX]; /* why not ok */
};

struct gw_health {
    struct gw_gateway *gw;
    uv_timer_t timer;
    struct gw_config *cfg;
    struct hentry *e[GW_MAX_UPSTREAMS];
    size_t n, pending;
    uint64_t round_start;
    bool in_round, started, closing;
    unsigned rounds;
};

static void end_round(struct gw_health *h);

/* ---- a status answer ---- */

/* True when the answer is a judgeable status of the configured chain;
 * else e->err says why. */
static bool parse_status(struct hentry *e, const struct gw_config *cfg, const char *body,
                         size_t len)
{
    struct health_status *st = &e->st;
    if (health_status_parse(body, len, HEALTH_REPLY_JSONRPC, st, e->err) != 0 ||
        health_status_judgeable(st, e->err) != 0)
        return false;
    if (cfg->chain_id[0] && strcmp(st->chain_id, cfg->chain_id) != 0) {
        snprintf(e->err, sizeof(e->err), "chain_id is %s, not %s",
                 st->chain_id[0] ? st->chain_id : "missing", cfg->chain_id);
        return false;
    }
    return true;
}

static void on_probe(void *ud, const struct nu_hc_resp *r)
{
    struct hentry *e = ud;
    struct gw_health *h = e->h;
    e->conn = NULL;
    e->done = true;
    atomic_store(&e->u->probe_us, (nu_mono_ns() - e->sent_ns) / 1000);
    if (r->err != GW_UE_OK)
        snprintf(e->err, sizeof(e->err), "status poll: %s", r->detail);
    else if (r->status != 200)
        snprintf(e->err, sizeof(e->err), "status poll: HTTP %d", r->status);
    else
        e->ok = parse_status(e, h->cfg, r->body, r->len);
    if (--h->pending == 0 && h->in_round)
        end_round(h);
}

/* ---- rounds ---- */

static void on_timer(uv_timer_t *t);

static void start_round(struct gw_health *h)
{
    h->in_round = true;
    h->round_start = nu_mono_ns();
    h->pending = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct hentry *e = h->e[i];
        e->done = e->ok = false;
        e->err[0] = '\0';
        e->conn = nu_hc_pool_get(e->pool);
        if (!e->conn) {
            e->done = true;
            snprintf(e->err, sizeof(e->err), "status poll: out of memory");
            continue;
        }
        e->sent_ns = nu_mono_ns();
        h->pending++;
        nu_hc_send(e->conn, probe_body, sizeof(probe_body) - 1, h->cfg->health_timeout_ms,
                   NU_HC_REPLAYABLE, on_probe, e);
    }
    if (h->pending == 0)
        end_round(h);
}

static void on_timer(uv_timer_t *t)
{
    start_round(t->data);
}

/* The fleet's reference head among the upstreams that answered. */
static int64_t reference_head(struct gw_health *h)
{
    int64_t heads[GW_MAX_UPSTREAMS];
    for (size_t i = 0; i < h->n; i++)
        heads[i] = h->e[i]->ok ? h->e[i]->st.head : -1;
    return health_fleet_reference(heads, h->n);
}

static void publish(struct gw_health *h, struct hentry *e, int64_t ref, int64_t now)
{
    struct gw_upstream *u = e->u;
    const struct health_limits lim = {.max_lag = h->cfg->max_lag_blocks,
                                      .stale_ms = h->cfg->stale_after_ms};
    struct health_check c;
    if (e->ok)
        health_classify(&e->st, ref, now, &lim, &c);
    else
        health_check_down(&c, e->err);
    int cur = atomic_load(&u->state);
    if (atomic_exchange(&u->passive_down, false)) {
        cur = HEALTH_DOWN; /* a worker saw real traffic fail */
        health_verdict_force_down(&e->v, "real traffic failed");
    }
    int st = health_verdict_apply(&e->v, &c, h->cfg->rise, h->cfg->fall);
    if (e->ok) {
        atomic_store(&u->head, e->st.head);
        atomic_store(&u->earliest, e->st.earliest > 0 ? e->st.earliest : 0);
        atomic_store(&u->block_time_ms, e->st.block_time_ms);
    }
    int64_t head = atomic_load(&u->head);
    atomic_store(&u->lag, head && ref > head ? ref - head : 0);
    atomic_fetch_add(e->ok ? &h->gw->checks_ok : &h->gw->checks_failed, 1);
    if (c.state != HEALTH_OK)
        gw_upstream_set_error(u, c.reason);
    if (st != atomic_exchange(&u->state, st))
        nu_info("upstream state changed", "upstream", u->name, "state", health_state_name(st),
                "was", health_state_name(cur), "reason", c.state != HEALTH_OK ? c.reason : "ok");
}

static void end_round(struct gw_health *h)
{
    h->in_round = false;
    int64_t ref = reference_head(h), now = nu_real_ms();
    int ok = 0;
    for (size_t i = 0; i < h->n; i++) {
        publish(h, h->e[i], ref, now);
        ok += atomic_load(&h->e[i]->u->state) == HEALTH_OK;
    }
    int was = atomic_exchange(&h->gw->ok_count, ok);
    atomic_store(&h->gw->ref_head, ref > 0 ? ref : 0);
    bool first = h->rounds++ == 0;
    if (first ? ok == 0 : (was == 0) != (ok == 0))
        nu_log(ok ? NU_LOG_INFO : NU_LOG_WARN,
               ok ? "upstreams healthy again"
                  : "degraded: no "
                    "upstream is OK, failing open to the best of the rest");
    uint64_t spent = (nu_mono_ns() - h->round_start) / 1000000;
    unsigned iv = h->cfg->health_interval_ms;
    if (!h->closing)
        uv_timer_start(&h->timer, on_timer, spent >= iv ? 0 : iv - spent, 0);
}

/* ---- membership ---- */

static void probe_pool_opts(const struct gw_config *cfg, struct nu_hc_pool_opts *o)
{
    *o = (struct nu_hc_pool_opts){.idle_max = 1,
                                  .idle_timeout_ms = cfg->pool_idle_timeout_ms,
                                  .connect_timeout_ms = cfg->health_timeout_ms,
                                  .max_response = 1u << 20};
}

static struct hentry *entry_new(struct gw_health *h, struct gw_upstream *u)
{
    struct hentry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    struct nu_hc_pool_opts o;
    probe_pool_opts(h->cfg, &o);
    e->pool = gw_upstream_pool_new(u, &h->gw->loop, &o);
    if (!e->pool) {
        free(e);
        return NULL;
    }
    e->h = h;
    e->u = gw_upstream_ref(u);
    /* an upstream replaced on reload carries its state over (take_state) */
    health_verdict_resume(&e->v, (enum health_state)atomic_load(&u->state));
    return e;
}

static void entry_free(struct gw_health *h, struct hentry *e)
{
    if (e->conn) {
        nu_hc_cancel(e->conn);
        e->conn = NULL;
        if (!e->done)
            h->pending--;
    }
    nu_hc_pool_retire(e->pool);
    gw_upstream_unref(e->u);
    free(e);
}

void gw_health_update(struct gw_health *h, struct gw_upset *set, struct gw_config *cfg)
{
    struct gw_config *old_cfg = h->cfg;
    h->cfg = gw_config_ref(cfg);
    gw_config_unref(old_cfg);
    struct hentry *next[GW_MAX_UPSTREAMS];
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct hentry *e = NULL;
        for (size_t k = 0; k < h->n && !e; k++) {
            if (h->e[k] && h->e[k]->u == set->u[i]) {
                e = h->e[k];
                h->e[k] = NULL;
            }
        }
        if (e) {
            struct nu_hc_pool_opts o;
            probe_pool_opts(cfg, &o);
            nu_hc_pool_set_opts(e->pool, &o);
        } else {
            e = entry_new(h, set->u[i]);
        }
        if (e)
            next[n++] = e;
    }
    for (size_t k = 0; k < h->n; k++)
        if (h->e[k])
            entry_free(h, h->e[k]);
    memcpy(h->e, next, n * sizeof(next[0]));
    h->n = n;
    if (h->in_round && h->pending == 0)
        end_round(h);
    if (!h->started) {
        h->started = true;
        uv_timer_start(&h->timer, on_timer, 0, 0);
    }
}

struct gw_health *gw_health_new(struct gw_gateway *gw)
{
    struct gw_health *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->gw = gw;
    uv_timer_init(&gw->loop, &h->timer);
    h->timer.data = h;
    return h;
}

static void on_timer_closed(uv_handle_t *t)
{
    free(t->data);
}

void gw_health_close(struct gw_health *h)
{
    if (!h)
        return;
    h->closing = true;
    h->in_round = false;
    uv_timer_stop(&h->timer);
    for (size_t k = 0; k < h->n; k++)
        entry_free(h, h->e[k]);
    h->n = 0;
    gw_config_unref(h->cfg);
    h->cfg = NULL;
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}
