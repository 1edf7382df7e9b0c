/* neard's Prometheus metrics (names as in nearcore: chain, client,
 * network and jsonrpc metrics.rs). Node gauges are refreshed from struct
 * sim_node at scrape time; RPC counters are updated per call. */
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "rpc.h"

#define RPC_TIME_BUCKETS 16

struct metric_def {
    size_t offset; /* of the struct nu_metric * in struct rpc_metrics */
    enum nu_metric_type type;
    const char *name;
    const char *help;
    const char *const *labels;
};

static const char *const l_method[] = {"method", NULL};
static const char *const l_method_code[] = {"method", "err_code", NULL};
static const char *const l_build[] = {"release", "build", "rustc_version", NULL};

#define M(field) offsetof(struct rpc_metrics, field)
static const struct metric_def defs[] = {
    {M(head), NU_METRIC_GAUGE, "near_block_height_head",
     "Height of the current head of the blockchain", NULL},
    {M(header_head), NU_METRIC_GAUGE, "near_header_head_height", "Height of the header head", NULL},
    {M(final_height), NU_METRIC_GAUGE, "near_final_block_height",
     "Last block that has full BFT finality", NULL},
    {M(tail), NU_METRIC_GAUGE, "near_tail_height", "Height of tail", NULL},
    {M(sync_status), NU_METRIC_GAUGE, "near_sync_status", "Node sync status", NULL},
    {M(peers), NU_METRIC_GAUGE, "near_peer_connections_total", "Number of connected peers", NULL},
    {M(peer_rx), NU_METRIC_COUNTER, "near_peer_data_received_bytes",
     "Total data received from peers", NULL},
    {M(peer_tx), NU_METRIC_COUNTER, "near_peer_data_sent_bytes", "Total data sent to peers", NULL},
    {M(is_validator), NU_METRIC_GAUGE, "near_is_validator",
     "Bool to denote if it is validating in the current epoch", NULL},
    {M(build_info), NU_METRIC_COUNTER, "near_build_info",
     "Metric whose labels indicate node's version", l_build},
    {M(protocol), NU_METRIC_GAUGE, "near_node_protocol_version",
     "Max protocol version supported by the node", NULL},
    {M(db_version), NU_METRIC_GAUGE, "near_node_db_version", "DB version used by the node", NULL},
    {M(epoch_height), NU_METRIC_GAUGE, "near_epoch_height",
     "Height of the epoch at the head of the blockchain", NULL},
    {M(boot_time), NU_METRIC_GAUGE, "near_boot_time_seconds",
     "Unix epoch seconds since the node process started", NULL},
    {M(config_correct), NU_METRIC_GAUGE, "near_config_correct",
     "Are the current dynamically loadable configs correct", NULL},
    {M(rpc_total), NU_METRIC_COUNTER, "near_rpc_total_count",
     "Total count of the JSON RPC requests received, by method", l_method},
    {M(rpc_errors), NU_METRIC_COUNTER, "near_rpc_error_count",
     "Total count of errors by method and message", l_method_code},
    {M(rpc_time), NU_METRIC_HISTOGRAM, "near_rpc_processing_time",
     "Time taken to process rpc queries", l_method},
    {M(rpc_timeouts), NU_METRIC_COUNTER, "near_rpc_timeout_total",
     "Total count of the JSON RPC timeouts", NULL},
    {M(http_status), NU_METRIC_COUNTER, "near_http_status_requests_total",
     "Total count of HTTP status requests", NULL},
    {M(http_prometheus), NU_METRIC_COUNTER, "near_http_prometheus_requests_total",
     "Total count of Prometheus requests", NULL},
};
#undef M

int rpc_metrics_init(struct sim_rpc *rpc, char *errbuf)
{
    double buckets[RPC_TIME_BUCKETS];
    nu_metrics_exp_buckets(0.001, 2, RPC_TIME_BUCKETS, buckets);
    rpc->reg = nu_metrics_new();
    if (!rpc->reg)
        return nu_err_set(errbuf, NU_ENOMEM, "metrics: out of memory");
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        const struct metric_def *d = &defs[i];
        struct nu_metric **slot = (struct nu_metric **)((char *)&rpc->m + d->offset);
        bool hist = d->type == NU_METRIC_HISTOGRAM;
        int rc = nu_metric_new(rpc->reg, d->type, d->name, d->help, d->labels,
                               hist ? buckets : NULL, hist ? RPC_TIME_BUCKETS : 0, slot, errbuf);
        if (rc)
            return rc;
        if (d->type == NU_METRIC_COUNTER && !d->labels)
            nu_metric_add(*slot, NULL, 0); /* exported as 0 before the first event */
    }
    const char *build[] = {sim_release(), SIM_BUILD, SIM_RUSTC};
    nu_metric_add(rpc->m.build_info, build, 1);
    return 0;
}

void rpc_metrics_call(struct sim_rpc *rpc, const struct rpc_call *c, int err_code)
{
    const char *method[] = {c->label};
    double secs = (double)(nu_mono_ns() - c->start_ns) / 1e9;
    nu_metric_add(rpc->m.rpc_total, method, 1);
    nu_metric_observe(rpc->m.rpc_time, method, secs);
    if (err_code != 0) {
        char code[16];
        snprintf(code, sizeof(code), "%d", err_code);
        const char *labels[] = {c->label, code};
        nu_metric_add(rpc->m.rpc_errors, labels, 1);
    }
}

void rpc_metrics_timeout(struct sim_rpc *rpc)
{
    nu_metric_add(rpc->m.rpc_timeouts, NULL, 1);
}

/* Counters fed from the node's running totals grow by the difference. */
static void add_delta(struct nu_metric *m, uint64_t now, uint64_t *last)
{
    if (now > *last)
        nu_metric_add(m, NULL, (double)(now - *last));
    *last = now;
}

static void refresh(struct sim_rpc *rpc)
{
    const struct sim_node *n = rpc->n;
    struct rpc_metrics *m = &rpc->m;
    uint64_t epoch_len = n->gen.epoch_length ? n->gen.epoch_length : 1;
    uint64_t epoch_start = sim_chain_epoch_start(n, n->head);
    nu_metric_set(m->head, NULL, (double)n->head);
    nu_metric_set(m->header_head, NULL,
                  (double)(n->header_head > n->head ? n->header_head : n->head));
    nu_metric_set(m->final_height, NULL, (double)(n->head >= 2 ? n->head - 2 : 0));
    nu_metric_set(m->tail, NULL, (double)n->earliest);
    nu_metric_set(m->sync_status, NULL, (double)n->sync_status);
    nu_metric_set(m->peers, NULL, (double)n->npeers);
    nu_metric_set(m->is_validator, NULL, sim_node_is_validator(n) ? 1 : 0);
    nu_metric_set(m->protocol, NULL, sim_protocol());
    nu_metric_set(m->db_version, NULL, SIM_DB_VERSION);
    nu_metric_set(m->epoch_height, NULL,
                  (double)((epoch_start - n->gen.genesis_height) / epoch_len + 1));
    nu_metric_set(m->boot_time, NULL, (double)(n->boot_time_ns / 1000000000ull));
    nu_metric_set(m->config_correct, NULL, n->config_correct ? 1 : 0);
    add_delta(m->peer_rx, n->received_bytes, &m->last_rx);
    add_delta(m->peer_tx, n->sent_bytes, &m->last_tx);
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* neard's names break promlint's suffix rules (a counter named
 * near_rpc_total_count, a gauge named near_peer_connections_total), so
 * `promtool check metrics` would fail on the real names. Those families
 * are typed "untyped", which promlint exempts and Prometheus ingests the
 * same way; names and values stay exactly neard's. */
static const char *lint_safe_type(const char *name, size_t len, const char *type, size_t tlen)
{
    bool counter = tlen == 7 && memcmp(type, "counter", 7) == 0;
    bool hist = tlen == 9 && memcmp(type, "histogram", 9) == 0;
    if (counter && !ends_with(name, len, "_total"))
        return "untyped";
    if (!counter && ends_with(name, len, "_total"))
        return "untyped";
    if (!hist && (ends_with(name, len, "_count") || ends_with(name, len, "_sum") ||
                  ends_with(name, len, "_bucket")))
        return "untyped";
    return NULL;
}

/* Copies one "# TYPE <name> <type>" line, retyping it when needed. */
static int put_type_line(struct nu_buf *out, const char *line, size_t len)
{
    const char *name = line + 7, *sp = memchr(name, ' ', len - 7);
    if (!sp)
        return nu_buf_append(out, line, len);
    const char *type =
        lint_safe_type(name, (size_t)(sp - name), sp + 1, (size_t)(line + len - sp - 1));
    if (!type)
        return nu_buf_append(out, line, len);
    int rc = nu_buf_append(out, line, (size_t)(sp + 1 - line));
    return rc ? rc : nu_buf_puts(out, type);
}

int rpc_metrics_render(struct sim_rpc *rpc, struct nu_buf *out)
{
    struct nu_buf raw;
    nu_buf_init(&raw, out->max);
    refresh(rpc);
    int rc = nu_metrics_render(rpc->reg, &raw);
    for (size_t off = 0; rc == 0 && off < raw.len;) {
        const char *line = raw.data + off, *nl = memchr(line, '\n', raw.len - off);
        size_t len = nl ? (size_t)(nl - line) : raw.len - off;
        if (len > 7 && memcmp(line, "# TYPE ", 7) == 0)
            rc = put_type_line(out, line, len);
        else
            rc = nu_buf_append(out, line, len);
        rc = rc ? rc : nu_buf_putc(out, '\n');
        off += len + 1;
    }
    nu_buf_release(&raw);
    return rc;
}
