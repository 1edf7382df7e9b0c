/* The gateway's Prometheus families (see gw_metrics.h). Rendered by hand
 * from per-worker counters and the shared upstream objects, in the text
 * format nu_metrics also writes (values via nu_metrics_format_value). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "gw_gateway-int.h"
#include "gw_metrics.h"
#include "metrics.h"

static const int codes[GW_NCODES - 1] = {200, 400, 403, 404, 405, 408, 413, 422,
                                         429, 431, 500, 502, 503, 504, 0};
static const double buckets[GW_NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10,   30};
static const char *const rr_names[GW_NRR] = {
    "connect", "reset", "http_502", "http_503", "internal_error", "not_synced", "unknown_block"};

const char *gw_retry_reason_name(int r)
{
    return (r >= 0 && r < GW_NRR) ? rr_names[r] : "other";
}

static int code_index(int status)
{
    for (int i = 0; codes[i]; i++)
        if (codes[i] == status)
            return i;
    return GW_NCODES - 2; /* "other" */
}

void gw_stats_call(struct gw_wstats *st, int method, int status, uint64_t latency_us)
{
    if (method < 0 || method >= GW_NMETHODS)
        method = GW_M_OTHER;
    GW_STAT_INC(st->req[method][code_index(status)]);
    double s = (double)latency_us / 1e6;
    int b = 0;
    while (b < GW_NBUCKETS && s > buckets[b])
        b++;
    GW_STAT_INC(st->lat[method][b]);
    GW_STAT_ADD(st->lat_sum_us[method], latency_us);
}

/* ---- text helpers ---- */

struct out {
    struct nu_buf *b;
    int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    if (o->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    o->err = nu_buf_vprintf(o->b, fmt, ap);
    va_end(ap);
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample; labels is the already formatted "{...}" or "". */
static void sample(struct out *o, const char *name, const char *labels, double v)
{
    char val[NU_METRICS_VALUE_MAX];
    nu_metrics_format_value(v, val);
    put(o, "%s%s %s\n", name, labels, val);
}

/* Escapes a label value into out (names are validated, but be safe). */
static void esc(const char *s, char *out, size_t outsz)
{
    size_t k = 0;
    for (; *s && k + 3 < outsz; s++) {
        if (*s == '"' || *s == '\\' || *s == '\n') {
            out[k++] = '\\';
            out[k++] = *s == '\n' ? 'n' : *s;
        } else {
            out[k++] = *s;
        }
    }
    out[k] = '\0';
}

static uint64_t ld(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit((atomic_uint_fast64_t *)v, memory_order_relaxed);
}

/* Sum of one counter over every worker, by byte offset into gw_wstats. */
static uint64_t wsum(struct gw_gateway *gw, size_t off)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < gw->nworkers; i++)
        s += ld((const atomic_uint_fast64_t *)((const char *)&gw->w[i]->st + off));
    return s;
}

#define WSUM(field) wsum(gw, offsetof(struct gw_wstats, field))

/* ---- families ---- */

static void render_requests(struct out *o, struct gw_gateway *gw)
{
    const char *n = "nearup_gateway_requests_total";
    family(o, n, "counter", "JSON-RPC calls answered, by method and HTTP status code.");
    for (int m = 0; m < GW_NMETHODS; m++) {
        for (int c = 0; c < GW_NCODES - 1; c++) {
            uint64_t v = WSUM(req[m][c]);
            if (!v)
                continue;
            char labels[160], code[16];
            snprintf(code, sizeof(code), "%d", codes[c]);
            snprintf(labels, sizeof(labels), "{method=\"%s\",code=\"%s\"}", gw_method_name(m),
                     codes[c] ? code : "other");
            sample(o, n, labels, (double)v);
        }
    }
}

static void render_latency(struct out *o, struct gw_gateway *gw)
{
    const char *n = "nearup_gateway_request_duration_seconds";
    family(o, n, "histogram", "Time from a request's first byte to a call's answer, by method.");
    for (int m = 0; m < GW_NMETHODS; m++) {
        uint64_t cum = 0, per[GW_NBUCKETS + 1];
        for (int b = 0; b <= GW_NBUCKETS; b++) {
            per[b] = WSUM(lat[m][b]);
            cum += per[b];
        }
        if (!cum)
            continue;
        const char *mn = gw_method_name(m);
        char labels[160], val[NU_METRICS_VALUE_MAX];
        uint64_t run = 0;
        for (int b = 0; b <= GW_NBUCKETS; b++) {
            run += per[b];
            if (b < GW_NBUCKETS)
                nu_metrics_format_value(buckets[b], val);
            snprintf(labels, sizeof(labels), "{method=\"%s\",le=\"%s\"}", mn,
                     b < GW_NBUCKETS ? val : "+Inf");
            put(o, "%s_bucket%s %llu\n", n, labels, (unsigned long long)run);
        }
        snprintf(labels, sizeof(labels), "{method=\"%s\"}", mn);
        nu_metrics_format_value((double)WSUM(lat_sum_us[m]) / 1e6, val);
        put(o, "%s_sum%s %s\n", n, labels, val);
        put(o, "%s_count%s %llu\n", n, labels, (unsigned long long)cum);
    }
}

/* Counters without labels, summed over workers. */
static const struct {
    const char *name, *help;
    size_t off;
} simple[] = {
    {"nearup_gateway_retry_budget_exhausted_total", "Retries refused by the retry budget.",
     offsetof(struct gw_wstats, retry_budget_exhausted)},
    {"nearup_gateway_rate_limited_requests_total",
     "Requests refused by the per-client rate limit (HTTP 429).",
     offsetof(struct gw_wstats, rate_limited)},
    {"nearup_gateway_denied_requests_total", "Calls refused by allow_methods/deny_methods.",
     offsetof(struct gw_wstats, denied)},
    {"nearup_gateway_batches_total", "JSON-RPC batches received.",
     offsetof(struct gw_wstats, batches)},
    {"nearup_gateway_batch_calls_total", "Calls received inside batches.",
     offsetof(struct gw_wstats, batch_calls)},
    {"nearup_gateway_parse_errors_total", "Request bodies that were not valid JSON-RPC.",
     offsetof(struct gw_wstats, parse_errors)},
    {"nearup_gateway_access_log_dropped_total", "Access log lines dropped (writer behind).",
     offsetof(struct gw_wstats, alog_dropped)},
    {"nearup_gateway_http_connections_accepted_total", "Client connections accepted.",
     offsetof(struct gw_wstats, http_accepted)},
    {"nearup_gateway_http_connections_rejected_total",
     "Client connections closed at once (max_connections).",
     offsetof(struct gw_wstats, http_rejected)},
    {"nearup_gateway_http_unsent_drops_total",
     "Client connections reset because max_unsent was reached (clients not reading).",
     offsetof(struct gw_wstats, http_unsent_drops)},
};

static void render_worker_counters(struct out *o, struct gw_gateway *gw)
{
    const char *n = "nearup_gateway_retries_total";
    family(o, n, "counter", "Calls retried on another upstream, by reason.");
    for (int r = 0; r < GW_NRR; r++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "{reason=\"%s\"}", rr_names[r]);
        sample(o, n, labels, (double)WSUM(retries[r]));
    }
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        family(o, simple[i].name, "counter", simple[i].help);
        sample(o, simple[i].name, "", (double)wsum(gw, simple[i].off));
    }
    n = "nearup_gateway_shed_requests_total";
    family(o, n, "counter", "Calls answered 503 at once: every upstream full, or none usable.");
    sample(o, n, "{reason=\"max_inflight\"}", (double)WSUM(shed[GW_SHED_FULL]));
    sample(o, n, "{reason=\"no_upstream\"}", (double)WSUM(shed[GW_SHED_NO_UPSTREAM]));
    n = "nearup_gateway_http_errors_total";
    family(o, n, "counter", "Requests the HTTP layer refused, by kind (400, 408, 413/431).");
    sample(o, n, "{kind=\"bad_request\"}", (double)WSUM(http_bad));
    sample(o, n, "{kind=\"timeout\"}", (double)WSUM(http_timeouts));
    sample(o, n, "{kind=\"too_large\"}", (double)WSUM(http_too_large));
    n = "nearup_gateway_http_connections";
    family(o, n, "gauge", "Open client connections.");
    sample(o, n, "", (double)WSUM(http_open));
    n = "nearup_gateway_http_unsent_bytes";
    family(o, n, "gauge", "Answer bytes held for clients that have not read them yet.");
    sample(o, n, "", (double)WSUM(http_unsent_bytes));
    n = "nearup_gateway_http_buffer_bytes";
    family(o, n, "gauge",
           "Bytes of client connection buffers (requests, read-ahead, unsent answers).");
    sample(o, n, "", (double)WSUM(http_buffer_bytes));
}

/* Per-upstream gauges: name, help, field reader. */
static void upstream_gauge(struct out *o, const struct gw_upset *set, const char *name,
                           const char *help, int which)
{
    family(o, name, "gauge", help);
    for (size_t i = 0; i < set->n; i++) {
        struct gw_upstream *u = set->u[i];
        char labels[200], en[160];
        esc(u->name, en, sizeof(en));
        snprintf(labels, sizeof(labels), "{upstream=\"%s\"}", en);
        double v = 0;
        switch (which) {
        case 0:
            v = (double)atomic_load(&u->head);
            break;
        case 1:
            v = (double)atomic_load(&u->earliest);
            break;
        case 2:
            v = (double)atomic_load(&u->lag);
            break;
        case 3:
            v = (double)atomic_load(&u->inflight);
            break;
        case 4:
            v = (double)atomic_load(&u->latency_us) / 1e6;
            break;
        case 5:
            v = (double)atomic_load(&u->probe_us) / 1e6;
            break;
        default:
            v = atomic_load(&u->state) == HEALTH_OK;
            break;
        }
        sample(o, name, labels, v);
    }
}

static void render_upstream_resends(struct out *o, const struct gw_upset *set)
{
    const char *n = "nearup_gateway_upstream_resends_total";
    family(o, n, "counter",
           "Calls sent again on a fresh connection after the upstream closed the kept-alive one "
           "under them before answering.");
    for (size_t i = 0; i < set->n; i++) {
        char labels[200], en[160];
        esc(set->u[i]->name, en, sizeof(en));
        snprintf(labels, sizeof(labels), "{upstream=\"%s\"}", en);
        sample(o, n, labels, (double)ld(&set->u[i]->resends));
    }
}

static void render_upstream_counters(struct out *o, const struct gw_upset *set)
{
    const char *n = "nearup_gateway_upstream_requests_total";
    family(o, n, "counter", "Requests sent to each upstream (every attempt).");
    for (size_t i = 0; i < set->n; i++) {
        char labels[200], en[160];
        esc(set->u[i]->name, en, sizeof(en));
        snprintf(labels, sizeof(labels), "{upstream=\"%s\"}", en);
        sample(o, n, labels, (double)ld(&set->u[i]->requests));
    }
    n = "nearup_gateway_upstream_errors_total";
    family(o, n, "counter", "Failed requests to each upstream, by kind.");
    for (size_t i = 0; i < set->n; i++) {
        char en[160];
        esc(set->u[i]->name, en, sizeof(en));
        for (int k = 1; k < GW_NUE; k++) {
            char labels[220];
            snprintf(labels, sizeof(labels), "{upstream=\"%s\",kind=\"%s\"}", en, gw_uperr_name(k));
            sample(o, n, labels, (double)ld(&set->u[i]->errors[k]));
        }
    }
    n = "nearup_gateway_upstream_state";
    family(o, n, "gauge", "1 for each upstream's current health state.");
    for (size_t i = 0; i < set->n; i++) {
        char en[160];
        esc(set->u[i]->name, en, sizeof(en));
        int st = atomic_load(&set->u[i]->state);
        for (int s = 0; s < HEALTH_NSTATES; s++) {
            char labels[220];
            snprintf(labels, sizeof(labels), "{upstream=\"%s\",state=\"%s\"}", en,
                     health_state_name(s));
            sample(o, n, labels, st == s);
        }
    }
}

static void render_upstreams(struct out *o, struct gw_gateway *gw, const struct gw_upset *set)
{
    render_upstream_counters(o, set);
    render_upstream_resends(o, set);
    upstream_gauge(o, set, "nearup_gateway_upstream_up", "1 when the upstream is OK.", 6);
    upstream_gauge(o, set, "nearup_gateway_upstream_head_height",
                   "Latest block height the upstream reported.", 0);
    upstream_gauge(o, set, "nearup_gateway_upstream_earliest_height",
                   "Earliest block the upstream keeps (earliest_block_height).", 1);
    upstream_gauge(o, set, "nearup_gateway_upstream_lag_blocks",
                   "Blocks behind the reference head (second-highest head).", 2);
    upstream_gauge(o, set, "nearup_gateway_upstream_inflight", "Requests in flight.", 3);
    upstream_gauge(o, set, "nearup_gateway_upstream_latency_seconds",
                   "Moving average of the upstream's answer time on real traffic.", 4);
    upstream_gauge(o, set, "nearup_gateway_upstream_probe_seconds",
                   "Duration of the last health poll.", 5);
    const char *n = "nearup_gateway_upstreams";
    family(o, n, "gauge", "Upstreams by health state.");
    for (int s = 0; s < HEALTH_NSTATES; s++) {
        unsigned cnt = 0;
        for (size_t i = 0; i < set->n; i++)
            cnt += atomic_load(&set->u[i]->state) == s;
        char labels[48];
        snprintf(labels, sizeof(labels), "{state=\"%s\"}", health_state_name(s));
        sample(o, n, labels, cnt);
    }
    n = "nearup_gateway_reference_head_height";
    family(o, n, "gauge", "Reference head: the second-highest head among responsive upstreams.");
    sample(o, n, "", (double)atomic_load(&gw->ref_head));
}

static void render_control(struct out *o, struct gw_gateway *gw)
{
    const char *n = "nearup_gateway_degraded";
    family(o, n, "gauge",
           "1 while no upstream is OK (requests fail open to the best of the rest).");
    sample(o, n, "", atomic_load(&gw->ok_count) == 0);
    n = "nearup_gateway_draining";
    family(o, n, "gauge", "1 while shutting down.");
    sample(o, n, "", atomic_load(&gw->draining));
    n = "nearup_gateway_health_checks_total";
    family(o, n, "counter", "Health polls of upstreams, by result.");
    sample(o, n, "{result=\"ok\"}", (double)ld(&gw->checks_ok));
    sample(o, n, "{result=\"failed\"}", (double)ld(&gw->checks_failed));
    n = "nearup_gateway_config_reloads_total";
    family(o, n, "counter", "SIGHUP reloads, by result.");
    sample(o, n, "{result=\"success\"}", (double)ld(&gw->reloads_ok));
    sample(o, n, "{result=\"failure\"}", (double)ld(&gw->reloads_failed));
    n = "nearup_gateway_dns_failures_total";
    family(o, n, "counter", "Failed resolutions of dns = NAME:PORT upstreams.");
    sample(o, n, "", (double)ld(&gw->dns_failures));
    n = "nearup_gateway_workers";
    family(o, n, "gauge", "Worker threads.");
    sample(o, n, "", gw->nworkers);
    n = "nearup_gateway_build_info";
    family(o, n, "gauge", "Always 1; the version is a label.");
    sample(o, n, "{version=\"" NU_VERSION "\"}", 1);
}

int gw_metrics_render(struct gw_gateway *gw, const struct gw_upset *set, struct nu_buf *out)
{
    struct out o = {.b = out};
    render_requests(&o, gw);
    render_latency(&o, gw);
    render_worker_counters(&o, gw);
    render_upstreams(&o, gw, set);
    render_control(&o, gw);
    return o.err;
}
