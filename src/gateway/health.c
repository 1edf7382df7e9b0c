/* Active health checks (see gw_health.h). Runs on the control loop only;
 * publishes into the shared upstream objects with atomics. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "gw_health.h"
#include "gw_pool.h"
#include "log.h"

static const char probe_body[] =
    "{\"jsonrpc\":\"2.0\",\"id\":\"nearup-gateway\",\"method\":\"status\",\"params\":[]}";

struct hentry {
    struct gw_health *h;
    struct gw_upstream *u; /* reference */
    struct gw_pool *pool;
    struct gw_upconn *conn; /* probe in flight */
    unsigned ok_streak, fail_streak;
    uint64_t sent_ns;
    /* this round */
    bool done, ok, syncing;
    int64_t head, earliest, bt_ms;
    char err[200];
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

/* ---- parsing a status answer ---- */

/* RFC 3339 ("2025-02-12T22:10:10.530341781Z", or with an offset) to ms. */
static bool parse_time_ms(const char *s, int64_t *ms)
{
    int y, mo, d, hh, mi, ss, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &hh, &mi, &ss, &n) != 6)
        return false;
    const char *p = s + n;
    int frac = 0, digits = 0;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        for (int k = digits; k < 3; k++)
            frac *= 10;
    }
    int off_min = 0;
    if (*p == '+' || *p == '-') {
        int oh = 0, om = 0;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return false;
        off_min = (*p == '-' ? -1 : 1) * (oh * 60 + om);
    } else if (*p != 'Z' && *p != 'z') {
        return false;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = hh,
                    .tm_min = mi,
                    .tm_sec = ss};
    *ms = (int64_t)timegm(&tm) * 1000 + frac - (int64_t)off_min * 60000;
    return true;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static bool parse_status(struct hentry *e, const struct gw_config *cfg, const char *body,
                         size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    json_t *res = json_object_get(doc, "result");
    json_t *si = json_object_get(res, "sync_info");
    json_t *head = json_object_get(si, "latest_block_height");
    const char *bt = json_string_value(json_object_get(si, "latest_block_time"));
    bool ok = json_is_integer(head) && bt && parse_time_ms(bt, &e->bt_ms);
    if (!ok) {
        snprintf(e->err, sizeof(e->err), "status: %s",
                 doc && json_object_get(doc, "error") ? "JSON-RPC error" : "not a status result");
    } else {
        e->head = json_integer_value(head);
        e->earliest = json_integer_value(json_object_get(si, "earliest_block_height"));
        e->syncing = json_is_true(json_object_get(si, "syncing"));
        const char *chain = json_string_value(json_object_get(res, "chain_id"));
        if (cfg->chain_id[0] && (!chain || strcmp(chain, cfg->chain_id) != 0)) {
            snprintf(e->err, sizeof(e->err), "chain_id is %s, not %s", chain ? chain : "missing",
                     cfg->chain_id);
            ok = false;
        }
    }
    json_decref(doc);
    return ok;
}

static void on_probe(void *ud, const struct gw_upresp *r)
{
    struct hentry *e = ud;
    struct gw_health *h = e->h;
    e->conn = NULL;
    e->done = true;
    atomic_store(&e->u->probe_us, (uv_hrtime() - e->sent_ns) / 1000);
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
    h->round_start = uv_hrtime();
    h->pending = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct hentry *e = h->e[i];
        e->done = e->ok = e->syncing = false;
        e->err[0] = '\0';
        e->conn = gw_pool_get(e->pool);
        if (!e->conn) {
            e->done = true;
            snprintf(e->err, sizeof(e->err), "status poll: out of memory");
            continue;
        }
        e->sent_ns = uv_hrtime();
        h->pending++;
        gw_upconn_send(e->conn, probe_body, sizeof(probe_body) - 1, h->cfg->health_timeout_ms,
                       GW_UPF_REPLAYABLE, on_probe, e);
    }
    if (h->pending == 0)
        end_round(h);
}

static void on_timer(uv_timer_t *t)
{
    start_round(t->data);
}

/* This round's verdict; reason gets the why for anything but OK. */
static int classify(const struct hentry *e, const struct gw_config *cfg, int64_t ref, int64_t now,
                    char *reason, size_t rsz)
{
    if (!e->ok) {
        snprintf(reason, rsz, "%s", e->err);
        return GW_ST_DOWN;
    }
    if (e->syncing) {
        snprintf(reason, rsz, "syncing (sync_info.syncing is true)");
        return GW_ST_SYNCING;
    }
    if (now - e->bt_ms > (int64_t)cfg->stale_after_ms) {
        snprintf(reason, rsz, "stale: latest block is %lld ms old", (long long)(now - e->bt_ms));
        return GW_ST_STALE;
    }
    if (ref - e->head > (int64_t)cfg->max_lag_blocks) {
        snprintf(reason, rsz, "lagging: %lld blocks behind the reference head %lld",
                 (long long)(ref - e->head), (long long)ref);
        return GW_ST_LAGGING;
    }
    return GW_ST_OK;
}

/* rise/fall hysteresis; the first verdict is taken as is. */
static int next_state(struct hentry *e, const struct gw_config *cfg, int cur, int raw)
{
    if (cur == GW_ST_UNKNOWN) {
        e->ok_streak = e->fail_streak = 0;
        return raw;
    }
    if (raw == GW_ST_OK) {
        e->fail_streak = 0;
        if (cur == GW_ST_OK || ++e->ok_streak >= cfg->rise) {
            e->ok_streak = 0;
            return GW_ST_OK;
        }
        return cur;
    }
    e->ok_streak = 0;
    if (cur != GW_ST_OK)
        return raw; /* already out: show the latest reason */
    if (++e->fail_streak >= cfg->fall) {
        e->fail_streak = 0;
        return raw;
    }
    return GW_ST_OK;
}

static int64_t reference_head(struct gw_health *h)
{
    int64_t first = -1, second = -1;
    for (size_t i = 0; i < h->n; i++) {
        if (!h->e[i]->ok)
            continue;
        int64_t v = h->e[i]->head;
        if (v > first) {
            second = first;
            first = v;
        } else if (v > second) {
            second = v;
        }
    }
    return second >= 0 ? second : first >= 0 ? first : 0;
}

static void publish(struct gw_health *h, struct hentry *e, int64_t ref, int64_t now)
{
    struct gw_upstream *u = e->u;
    char reason[300];
    int raw = classify(e, h->cfg, ref, now, reason, sizeof(reason));
    int cur = atomic_load(&u->state);
    if (atomic_exchange(&u->passive_down, false)) {
        cur = GW_ST_DOWN; /* a worker saw real traffic fail */
        e->ok_streak = e->fail_streak = 0;
    }
    int st = next_state(e, h->cfg, cur, raw);
    if (e->ok) {
        atomic_store(&u->head, e->head);
        atomic_store(&u->earliest, e->earliest);
        atomic_store(&u->block_time_ms, e->bt_ms);
    }
    int64_t head = atomic_load(&u->head);
    atomic_store(&u->lag, head && ref > head ? ref - head : 0);
    atomic_fetch_add(e->ok ? &h->gw->checks_ok : &h->gw->checks_failed, 1);
    if (raw != GW_ST_OK)
        gw_upstream_set_error(u, reason);
    if (st != atomic_exchange(&u->state, st))
        nu_info("upstream state changed", "upstream", u->name, "state", gw_state_name(st), "was",
                gw_state_name(cur), "reason", raw != GW_ST_OK ? reason : "ok");
}

static void end_round(struct gw_health *h)
{
    h->in_round = false;
    int64_t ref = reference_head(h), now = wall_ms();
    int ok = 0;
    for (size_t i = 0; i < h->n; i++) {
        publish(h, h->e[i], ref, now);
        ok += atomic_load(&h->e[i]->u->state) == GW_ST_OK;
    }
    int was = atomic_exchange(&h->gw->ok_count, ok);
    atomic_store(&h->gw->ref_head, ref);
    bool first = h->rounds++ == 0;
    if (first ? ok == 0 : (was == 0) != (ok == 0))
        nu_log(ok ? NU_LOG_INFO : NU_LOG_WARN,
               ok ? "upstreams healthy again"
                  : "degraded: no "
                    "upstream is OK, failing open to the best of the rest");
    uint64_t spent = (uv_hrtime() - h->round_start) / 1000000;
    unsigned iv = h->cfg->health_interval_ms;
    if (!h->closing)
        uv_timer_start(&h->timer, on_timer, spent >= iv ? 0 : iv - spent, 0);
}

/* ---- membership ---- */

static void probe_pool_opts(const struct gw_config *cfg, struct gw_pool_opts *o)
{
    *o = (struct gw_pool_opts){.idle_max = 1,
                               .idle_timeout_ms = cfg->pool_idle_timeout_ms,
                               .connect_timeout_ms = cfg->health_timeout_ms,
                               .max_response = 1u << 20};
}

static struct hentry *entry_new(struct gw_health *h, struct gw_upstream *u)
{
    struct hentry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    struct gw_pool_opts o;
    probe_pool_opts(h->cfg, &o);
    e->pool = gw_pool_new(&h->gw->loop, u, &o);
    if (!e->pool) {
        free(e);
        return NULL;
    }
    e->h = h;
    e->u = gw_upstream_ref(u);
    return e;
}

static void entry_free(struct gw_health *h, struct hentry *e)
{
    if (e->conn) {
        gw_upconn_cancel(e->conn);
        e->conn = NULL;
        if (!e->done)
            h->pending--;
    }
    gw_pool_retire(e->pool);
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
            struct gw_pool_opts o;
            probe_pool_opts(cfg, &o);
            gw_pool_set_opts(e->pool, &o);
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
