/* The canary's engine: rounds of checks on the loop, their metrics, the
 * report (see canary.h). */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canary-int.h"
#include "clock.h"
#include "cn_report.h"
#include "log.h"
#include "redact.h"

static const char *const check_names[CN_NCHECKS] = {"status", "final_lag", "view_account",
                                                    "call_function", "transfer"};

const char *cn_check_name(int check)
{
    return check >= 0 && check < CN_NCHECKS ? check_names[check] : "unknown";
}

double cn_ms_since(uint64_t ns)
{
    return (double)(nu_mono_ns() - ns) / 1e6;
}

/* ---- metrics (the names are the contract of docs/canary.md) ---- */

static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,   1,    2.5,   5,    10,  30};

/* Every outcome of every configured check from the start: rate() needs a 0. */
static void runs_from_zero(struct cn_canary *cn)
{
    for (size_t i = 0; i < cn->neps; i++)
        for (int c = 0; c < CN_NCHECKS; c++)
            for (int ok = 0; ok < 2 && (cn->checks & (1u << c)); ok++) {
                const char *lv[] = {check_names[c], cn->eps[i].spec->name, ok ? "ok" : "fail"};
                nu_metric_add(cn->m.runs, lv, 0);
            }
}

static int metrics_init(struct cn_canary *cn, char *errbuf)
{
    static const char *const check_l[] = {"check", "endpoint", NULL};
    static const char *const runs_l[] = {"check", "endpoint", "result", NULL};
    static const char *const ep_l[] = {"endpoint", NULL};
    struct cn_metrics *m = &cn->m;
    struct {
        struct nu_metric **out;
        enum nu_metric_type type;
        const char *name, *help;
        const char *const *labels;
    } defs[] = {
        {&m->success, NU_METRIC_GAUGE, "nearup_canary_success",
         "1 when the last run of the check passed, else 0", check_l},
        {&m->duration, NU_METRIC_HISTOGRAM, "nearup_canary_duration_seconds",
         "how long a run of the check took", check_l},
        {&m->last_success, NU_METRIC_GAUGE, "nearup_canary_last_success_timestamp_seconds",
         "when the check last passed (unix time)", check_l},
        {&m->runs, NU_METRIC_COUNTER, "nearup_canary_runs_total", "runs of the check by result",
         runs_l},
        {&m->lag, NU_METRIC_GAUGE, "nearup_canary_final_lag_blocks",
         "reference final height minus the endpoint's (NaN when unknown)", ep_l},
        {&m->up, NU_METRIC_GAUGE, "nearup_canary_up", "1 while the canary runs", NULL},
    };
    m->reg = nu_metrics_new();
    if (m->reg == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "canary: out of memory");
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        bool hist = defs[i].type == NU_METRIC_HISTOGRAM;
        int rc = nu_metric_new(m->reg, defs[i].type, defs[i].name, defs[i].help, defs[i].labels,
                               hist ? duration_buckets : NULL,
                               hist ? sizeof(duration_buckets) / sizeof(duration_buckets[0]) : 0,
                               defs[i].out, errbuf);
        if (rc != 0)
            return rc;
    }
    nu_metric_set(m->up, NULL, 1);
    runs_from_zero(cn);
    return 0;
}

static void metrics_record(struct cn_canary *cn, const struct cn_probe *p)
{
    struct cn_metrics *m = &cn->m;
    const char *lv[] = {check_names[p->check], p->ep->spec->name, p->res.ok ? "ok" : "fail"};
    nu_metric_set(m->success, lv, p->res.ok);
    nu_metric_observe(m->duration, lv, p->res.duration_ms / 1000);
    nu_metric_inc(m->runs, lv);
    if (p->res.ok)
        nu_metric_set(m->last_success, lv, (double)nu_real_ms() / 1000);
    if (p->check == CN_FINAL_LAG) {
        const char *el[] = {p->ep->spec->name};
        json_t *lag = json_object_get(p->res.values, "lag");
        nu_metric_set(m->lag, el, json_is_integer(lag) ? (double)json_integer_value(lag) : NAN);
    }
}

/* One line when a check starts failing or passes again, not per run. */
static void log_change(const struct cn_probe *p, bool was_ok, bool known)
{
    const char *ep = p->ep->spec->name, *check = check_names[p->check];
    if (!p->res.ok && (!known || was_ok))
        nu_warn("check failed", "endpoint", ep, "check", check, "error", p->res.error);
    else if (p->res.ok && known && !was_ok)
        nu_info("check passes again", "endpoint", ep, "check", check);
    else
        nu_debug("check", "endpoint", ep, "check", check, "ok", p->res.ok ? "true" : "false");
}

/* ---- rounds ---- */

static void pending_done(struct cn_canary *cn)
{
    if (--cn->pending > 0)
        return;
    cn->round_busy = false;
    cn->ran = true;
    if (!cn->closing && cn->round_done)
        cn->round_done(cn->ud, cn);
}

static void next_transfer(struct cn_canary *cn)
{
    if (cn->transfer_next < cn->neps && !cn->closing)
        cn_check_start(&cn->eps[cn->transfer_next++].probes[CN_TRANSFER]);
}

void cn_check_done(struct cn_probe *p)
{
    struct cn_canary *cn = p->cn;
    bool known = p->res_known, was_ok = p->last_ok;
    p->res.done = true;
    p->res_known = true;
    p->last_ok = p->res.ok;
    metrics_record(cn, p);
    log_change(p, was_ok, known);
    if (p->check == CN_TRANSFER)
        next_transfer(cn);
    pending_done(cn);
}

/* Without a reference the lag is against the endpoints' highest final
 * block, known once every endpoint answered or failed. */
static void judge_without_reference(struct cn_canary *cn)
{
    int64_t top = -1;
    for (size_t i = 0; i < cn->neps; i++) {
        if (!cn->eps[i].final_fetched)
            return;
        if (cn->eps[i].probes[CN_FINAL_LAG].height > top)
            top = cn->eps[i].probes[CN_FINAL_LAG].height;
    }
    for (size_t i = 0; i < cn->neps; i++)
        cn_lag_judge(cn, &cn->eps[i], top, "no endpoint answered block");
}

void cn_final_fetched(struct cn_probe *p)
{
    struct cn_canary *cn = p->cn;
    if (p->ep == NULL) { /* the reference */
        cn->ref_fetched = true;
        for (size_t i = 0; i < cn->neps; i++)
            if (cn->eps[i].final_fetched)
                cn_lag_judge(cn, &cn->eps[i], p->height, p->res.error);
        pending_done(cn);
        return;
    }
    p->ep->final_fetched = true;
    if (!cn->has_ref)
        judge_without_reference(cn);
    else if (cn->ref_fetched)
        cn_lag_judge(cn, p->ep, cn->ref.height, cn->ref.res.error);
}

static void start_round(struct cn_canary *cn)
{
    if (cn->round_busy || cn->closing)
        return;
    cn->round_busy = true;
    cn->pending = 1; /* the start itself: a check that ends at once cannot end the round */
    cn->ref_fetched = false;
    for (size_t i = 0; i < cn->neps; i++)
        cn->eps[i].final_fetched = false;
    for (size_t i = 0; i < cn->neps; i++)
        for (int c = 0; c < CN_NCHECKS; c++)
            if (c != CN_TRANSFER && (cn->checks & (1u << c))) {
                cn->pending++;
                cn_check_start(&cn->eps[i].probes[c]);
            }
    if (cn->has_ref) {
        cn->pending++;
        cn_check_start(&cn->ref);
    }
    if (cn->checks & (1u << CN_TRANSFER)) { /* one after another: they share the nonce */
        cn->pending += (unsigned)cn->neps;
        cn->transfer_next = 0;
        next_transfer(cn);
    }
    pending_done(cn);
}

static void on_tick(uv_timer_t *t)
{
    struct cn_canary *cn = t->data;
    if (cn->round_busy)
        nu_debug("round still running; this one is skipped");
    start_round(cn);
}

void cn_canary_start(struct cn_canary *cn, bool repeat)
{
    cn->repeat = repeat;
    (void)uv_timer_start(&cn->tick, on_tick, 0, repeat ? cn->cfg.interval_ms : 0);
}

void cn_canary_run_now(struct cn_canary *cn)
{
    start_round(cn);
}

struct nu_metrics *cn_canary_metrics(struct cn_canary *cn)
{
    return cn->m.reg;
}

/* ---- report ---- */

json_t *cn_canary_report(const struct cn_canary *cn)
{
    struct cn_report_ep *eps = calloc(cn->neps ? cn->neps : 1, sizeof(*eps));
    const struct cn_report_ref ref = {
        .url = cn->ref_shown, .res = &cn->ref.res, .final_height = cn->ref.height};
    if (eps == NULL)
        return NULL;
    for (size_t i = 0; i < cn->neps; i++) {
        const struct cn_ep *e = &cn->eps[i];
        eps[i] = (struct cn_report_ep){.name = e->spec->name, .url = e->shown};
        for (int c = 0; c < CN_NCHECKS; c++)
            eps[i].res[c] = &e->probes[c].res;
    }
    json_t *r = cn_report_json(eps, cn->neps, cn->checks, cn->has_ref ? &ref : NULL);
    free(eps);
    return r;
}

bool cn_canary_all_ok(const struct cn_canary *cn)
{
    for (size_t i = 0; i < cn->neps; i++)
        for (int c = 0; c < CN_NCHECKS; c++)
            if ((cn->checks & (1u << c)) &&
                !(cn->eps[i].probes[c].res.done && cn->eps[i].probes[c].res.ok))
                return false;
    return cn->ran; /* no round yet is no pass */
}

/* ---- lifecycle ---- */

static void release(struct cn_canary *cn)
{
    for (size_t i = 0; i < cn->neps; i++)
        for (int c = 0; c < CN_NCHECKS; c++) {
            json_decref(cn->eps[i].probes[c].res.values);
            nu_buf_release(&cn->eps[i].probes[c].req);
        }
    json_decref(cn->ref.res.values);
    nu_buf_release(&cn->ref.req);
    nu_metrics_free(cn->m.reg);
    nu_hc_tls_free(cn->tls); /* no connection is left that uses it */
    free(cn->eps);
    sodium_memzero(&cn->key, sizeof(cn->key)); /* the secret key */
    free(cn);
}

static void one_closed(void *ud)
{
    struct cn_canary *cn = ud;
    if (--cn->closes > 0)
        return;
    cn_closed_fn done = cn->closed;
    void *done_ud = cn->closed_ud;
    release(cn);
    if (done)
        done(done_ud);
}

static void on_timer_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

void cn_canary_close(struct cn_canary *cn, cn_closed_fn done, void *ud)
{
    cn->closing = true;
    cn->closed = done;
    cn->closed_ud = ud;
    cn->closes = 2 + (int)(cn->neps * CN_NCHECKS); /* the timer, the reference, every probe */
    uv_close((uv_handle_t *)&cn->tick, on_timer_closed);
    nu_hcall_close(&cn->ref.call, one_closed, cn);
    for (size_t i = 0; i < cn->neps; i++)
        for (int c = 0; c < CN_NCHECKS; c++)
            nu_hcall_close(&cn->eps[i].probes[c].call, one_closed, cn);
}

static bool is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

static int probe_init(struct cn_canary *cn, struct cn_probe *p, struct cn_ep *ep, int check,
                      const char *url, char *errbuf)
{
    const struct nu_hcall_opts o = {.timeout_ms = cn->cfg.timeout_ms,
                                    .max_response = CN_REPLY_MAX,
                                    .what = "reply",
                                    .tls = cn->tls};
    p->cn = cn;
    p->ep = ep;
    p->check = check;
    p->height = -1;
    nu_buf_init(&p->req, CN_REQUEST_MAX);
    return nu_hcall_init(&p->call, cn->loop, url, &o, cn_on_answer, p, errbuf);
}

static int setup_probes(struct cn_canary *cn, char *errbuf)
{
    const struct cn_config *c = &cn->cfg;
    bool tls = cn->has_ref && is_https(c->reference);
    for (size_t i = 0; i < cn->neps; i++)
        tls = tls || is_https(c->endpoints.v[i].url);
    int rc = tls ? nu_hc_tls_client(&cn->tls, errbuf) : 0;
    if (rc == 0 && cn->has_ref)
        rc = probe_init(cn, &cn->ref, NULL, CN_FINAL_LAG, c->reference, errbuf);
    nu_redact(c->reference, cn->ref_shown, sizeof(cn->ref_shown));
    for (size_t i = 0; i < cn->neps && rc == 0; i++) {
        struct cn_ep *e = &cn->eps[i];
        e->spec = &c->endpoints.v[i];
        nu_redact(e->spec->url, e->shown, sizeof(e->shown));
        for (int k = 0; k < CN_NCHECKS && rc == 0; k++)
            rc = probe_init(cn, &e->probes[k], e, k, e->spec->url, errbuf);
    }
    return rc;
}

int cn_canary_new(uv_loop_t *loop, const struct cn_config *cfg, const struct nu_keypair *key,
                  cn_round_fn round_done, void *ud, struct cn_canary **out, char *errbuf)
{
    *out = NULL;
    if ((cfg->transfer_key[0] != '\0') != (key != NULL))
        return nu_err_set(errbuf, NU_EINVAL, "canary: a transfer needs its key, a key a transfer");
    struct cn_canary *cn = calloc(1, sizeof(*cn));
    if (cn == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "canary: out of memory");
    cn->loop = loop;
    cn->cfg = *cfg;
    cn->neps = cfg->endpoints.n;
    cn->has_ref = cfg->reference[0] != '\0';
    cn->round_done = round_done;
    cn->ud = ud;
    if (key != NULL) {
        cn->key = *key;
        cn->has_key = true;
        nu_key_pub_text(key, cn->key_pub, sizeof(cn->key_pub));
    }
    cn->checks = cn_config_checks(cfg);
    cn->ref.height = -1;
    cn->tick.data = cn;
    (void)uv_timer_init(loop, &cn->tick); /* cannot fail for timers */
    cn->eps = calloc(cn->neps ? cn->neps : 1, sizeof(*cn->eps));
    int rc = cn->eps ? setup_probes(cn, errbuf) : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (rc == 0)
        rc = metrics_init(cn, errbuf);
    if (rc != 0) {
        if (cn->eps == NULL)
            cn->neps = 0;
        cn_canary_close(cn, NULL, NULL);
        return rc;
    }
    *out = cn;
    return 0;
}
