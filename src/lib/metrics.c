/* Prometheus text exposition format 0.0.4 (see metrics.h).
 *
 * Each metric keeps its series in first-seen order in an array, with an
 * open-addressing hash over the label values for lookup, so an update on
 * the hot path is one hash, a few string compares and no allocation once
 * the series exists. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "httpd.h"
#include "metrics.h"
#include "sha256.h"

struct series {
    const char *values[NU_METRICS_MAX_LABELS]; /* point into vbuf */
    char *vbuf;
    uint64_t hash;
    double value;     /* counter/gauge; histogram: sum */
    uint64_t count;   /* histogram */
    uint64_t *bucket; /* histogram: per-bucket (not cumulative), nbuckets + 1 */
};

struct nu_metric {
    struct nu_metrics *reg;
    struct nu_metric *next;
    enum nu_metric_type type;
    char *name, *help;
    char *label_names[NU_METRICS_MAX_LABELS];
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    size_t max_series;
    pthread_mutex_t mu;
    struct series *series;
    size_t nseries, series_cap;
    uint32_t *index; /* hash slots: series index + 1, 0 = empty */
    size_t index_cap;
};

struct nu_metrics {
    pthread_mutex_t mu;
    struct nu_metric *head, *tail;
    atomic_uint_fast64_t dropped;
};

struct nu_metrics *nu_metrics_new(void)
{
    struct nu_metrics *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->dropped, 0);
    return r;
}

static void metric_free(struct nu_metric *m)
{
    for (size_t i = 0; i < m->nseries; i++) {
        free(m->series[i].vbuf);
        free(m->series[i].bucket);
    }
    free(m->series);
    free(m->index);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->label_names[i]);
    free(m->buckets);
    free(m->name);
    free(m->help);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void nu_metrics_free(struct nu_metrics *r)
{
    if (!r)
        return;
    struct nu_metric *m = r->head;
    while (m) {
        struct nu_metric *next = m->next;
        metric_free(m);
        m = next;
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

uint64_t nu_metrics_dropped(struct nu_metrics *r)
{
    return atomic_load(&r->dropped);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (colon && *p == ':');
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

/* ---- series lookup ---- */

static uint64_t hash_values(const char *const *v, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)(v[i] ? v[i] : ""); *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull; /* separator: ("ab","") != ("a","b") */
    }
    return h;
}

static bool same_values(const struct series *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], v[i] ? v[i] : "") != 0)
            return false;
    return true;
}

static int index_rebuild(struct nu_metric *m, size_t cap)
{
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (!idx)
        return NU_ENOMEM;
    for (size_t i = 0; i < m->nseries; i++) {
        size_t slot = m->series[i].hash & (cap - 1);
        while (idx[slot])
            slot = (slot + 1) & (cap - 1);
        idx[slot] = (uint32_t)i + 1;
    }
    free(m->index);
    m->index = idx;
    m->index_cap = cap;
    return 0;
}

static int series_add(struct nu_metric *m, const char *const *v, uint64_t h)
{
    struct series *ns = nu_grow(m->series, m->nseries, &m->series_cap, sizeof(*ns), 4);
    if (!ns)
        return NU_ENOMEM;
    m->series = ns;
    if ((m->nseries + 1) * 2 > m->index_cap &&
        index_rebuild(m, m->index_cap ? m->index_cap * 2 : 16) != 0)
        return NU_ENOMEM;
    struct series s = {.hash = h};
    size_t total = 0;
    for (size_t i = 0; i < m->nlabels; i++)
        total += strlen(v[i] ? v[i] : "") + 1;
    s.vbuf = malloc(total ? total : 1);
    if (m->type == NU_METRIC_HISTOGRAM)
        s.bucket = calloc(m->nbuckets + 1, sizeof(*s.bucket));
    if (!s.vbuf || (m->type == NU_METRIC_HISTOGRAM && !s.bucket)) {
        free(s.vbuf);
        free(s.bucket);
        return NU_ENOMEM;
    }
    char *p = s.vbuf;
    for (size_t i = 0; i < m->nlabels; i++) {
        size_t len = strlen(v[i] ? v[i] : "") + 1;
        memcpy(p, v[i] ? v[i] : "", len);
        s.values[i] = p;
        p += len;
    }
    m->series[m->nseries++] = s;
    size_t slot = h & (m->index_cap - 1);
    while (m->index[slot])
        slot = (slot + 1) & (m->index_cap - 1);
    m->index[slot] = (uint32_t)m->nseries;
    return 0;
}

/* Finds (or with create, adds) the series; NULL when absent or dropped.
 * Called with m->mu held. */
static struct series *series_get(struct nu_metric *m, const char *const *v, bool create)
{
    NU_BUG_ON(m->nlabels > 0 && !v);
    uint64_t h = hash_values(v, m->nlabels);
    if (m->index_cap) {
        for (size_t slot = h & (m->index_cap - 1); m->index[slot];
             slot = (slot + 1) & (m->index_cap - 1)) {
            struct series *s = &m->series[m->index[slot] - 1];
            if (s->hash == h && same_values(s, v, m->nlabels))
                return s;
        }
    }
    if (!create)
        return NULL;
    if (m->nseries >= m->max_series || series_add(m, v, h) != 0) {
        atomic_fetch_add(&m->reg->dropped, 1);
        return NULL;
    }
    return &m->series[m->nseries - 1];
}

/* ---- registration ---- */

static int set_buckets(struct nu_metric *m, const double *b, size_t n, char *errbuf)
{
    if (n > 0 && isinf(b[n - 1]) && b[n - 1] > 0)
        n--; /* +Inf is implicit */
    for (size_t i = 0; i < n; i++)
        if (isnan(b[i]) || isinf(b[i]) || (i > 0 && b[i] <= b[i - 1]))
            return nu_err_set(errbuf, NU_EINVAL, "metric %s: buckets must be finite and increasing",
                              m->name);
    m->buckets = malloc((n ? n : 1) * sizeof(double));
    if (!m->buckets)
        return nu_err_set(errbuf, NU_ENOMEM, "metric %s: out of memory", m->name);
    if (n)
        memcpy(m->buckets, b, n * sizeof(double));
    m->nbuckets = n;
    return 0;
}

static int set_labels(struct nu_metric *m, const char *const *names, char *errbuf)
{
    for (size_t i = 0; names && names[i]; i++) {
        if (i >= NU_METRICS_MAX_LABELS)
            return nu_err_set(errbuf, NU_EINVAL, "metric %s: more than %d labels", m->name,
                              NU_METRICS_MAX_LABELS);
        if (!valid_name(names[i], false) || strncmp(names[i], "__", 2) == 0 ||
            (m->type == NU_METRIC_HISTOGRAM && strcmp(names[i], "le") == 0))
            return nu_err_set(errbuf, NU_EINVAL, "metric %s: bad label name \"%s\"", m->name,
                              names[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return nu_err_set(errbuf, NU_EINVAL, "metric %s: label %s given twice", m->name,
                                  names[i]);
        m->label_names[i] = strdup(names[i]);
        if (!m->label_names[i])
            return nu_err_set(errbuf, NU_ENOMEM, "metric %s: out of memory", m->name);
        m->nlabels = i + 1;
    }
    return 0;
}

static bool registered(struct nu_metrics *r, const char *name)
{
    for (struct nu_metric *m = r->head; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return true;
    return false;
}

int nu_metric_new(struct nu_metrics *r, enum nu_metric_type type, const char *name,
                  const char *help, const char *const *label_names, const double *buckets,
                  size_t nbuckets, struct nu_metric **out, char *errbuf)
{
    *out = NULL;
    if (!valid_name(name, true))
        return nu_err_set(errbuf, NU_EINVAL, "metric name \"%s\" is not valid",
                          name ? name : "(null)");
    struct nu_metric *m = calloc(1, sizeof(*m));
    if (!m)
        return nu_err_set(errbuf, NU_ENOMEM, "metric %s: out of memory", name);
    pthread_mutex_init(&m->mu, NULL);
    m->reg = r;
    m->type = type;
    m->max_series = NU_METRICS_DEFAULT_MAX_SERIES;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    int err = 0;
    if (!m->name || !m->help) {
        err = nu_err_set(errbuf, NU_ENOMEM, "metric %s: out of memory", name);
        goto out;
    }
    if ((err = set_labels(m, label_names, errbuf)) != 0)
        goto out;
    if (type == NU_METRIC_HISTOGRAM && (err = set_buckets(m, buckets, nbuckets, errbuf)) != 0)
        goto out;
    /* A metric without labels has its one series from the start, so it
     * is exported as 0 before the first update. */
    if (m->nlabels == 0 && !series_get(m, NULL, true)) {
        err = nu_err_set(errbuf, NU_ENOMEM, "metric %s: out of memory", name);
        goto out;
    }
    pthread_mutex_lock(&r->mu);
    if (registered(r, name)) {
        pthread_mutex_unlock(&r->mu);
        err = nu_err_set(errbuf, NU_EEXIST, "metric %s is already registered", name);
        goto out;
    }
    if (r->tail)
        r->tail->next = m;
    else
        r->head = m;
    r->tail = m;
    pthread_mutex_unlock(&r->mu);
    *out = m;
out:
    if (err)
        metric_free(m);
    return err;
}

void nu_metric_set_max_series(struct nu_metric *m, size_t max)
{
    pthread_mutex_lock(&m->mu);
    m->max_series = max;
    pthread_mutex_unlock(&m->mu);
}

/* ---- updates ---- */

void nu_metric_add(struct nu_metric *m, const char *const *label_values, double v)
{
    NU_BUG_ON(m->type == NU_METRIC_HISTOGRAM);
    if (m->type == NU_METRIC_COUNTER && !(v >= 0))
        return; /* counters only go up */
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, label_values, true);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->mu);
}

void nu_metric_inc(struct nu_metric *m, const char *const *label_values)
{
    nu_metric_add(m, label_values, 1);
}

void nu_metric_set(struct nu_metric *m, const char *const *label_values, double v)
{
    NU_BUG_ON(m->type != NU_METRIC_GAUGE);
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, label_values, true);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->mu);
}

void nu_metric_observe(struct nu_metric *m, const char *const *label_values, double v)
{
    NU_BUG_ON(m->type != NU_METRIC_HISTOGRAM);
    if (isnan(v))
        return;
    size_t b = 0;
    while (b < m->nbuckets && v > m->buckets[b])
        b++;
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, label_values, true);
    if (s) {
        s->bucket[b]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&m->mu);
}

double nu_metric_value(struct nu_metric *m, const char *const *label_values)
{
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, label_values, false);
    double v = 0;
    if (s)
        v = m->type == NU_METRIC_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&m->mu);
    return v;
}

void nu_metrics_exp_buckets(double start, double factor, size_t count, double *out)
{
    for (size_t i = 0; i < count; i++) {
        out[i] = start;
        start *= factor;
    }
}

/* ---- rendering ---- */

void nu_metrics_format_value(double v, char out[NU_METRICS_VALUE_MAX])
{
    if (isnan(v)) {
        snprintf(out, NU_METRICS_VALUE_MAX, "NaN");
    } else if (isinf(v)) {
        snprintf(out, NU_METRICS_VALUE_MAX, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, NU_METRICS_VALUE_MAX, "%.0f", v == 0 ? 0.0 : v);
    } else {
        /* Shortest form that reads back exactly, as Go's FormatFloat 'g' -1. */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, NU_METRICS_VALUE_MAX, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

static int put_escaped(struct nu_buf *b, const char *s, bool quote)
{
    int err = 0;
    for (const char *p = s; *p && !err; p++) {
        if (*p == '\\')
            err = nu_buf_puts(b, "\\\\");
        else if (*p == '\n')
            err = nu_buf_puts(b, "\\n");
        else if (quote && *p == '"')
            err = nu_buf_puts(b, "\\\"");
        else
            err = nu_buf_putc(b, *p);
    }
    return err;
}

/* name{a="x",b="y"[,le="..."]} value\n */
static int put_sample(struct nu_buf *b, const struct nu_metric *m, const char *suffix,
                      const struct series *s, const char *le, double v)
{
    char num[NU_METRICS_VALUE_MAX];
    int err = nu_buf_puts(b, m->name);
    if (!err)
        err = nu_buf_puts(b, suffix);
    if (!err && (m->nlabels || le))
        err = nu_buf_putc(b, '{');
    for (size_t i = 0; i < m->nlabels && !err; i++) {
        err = nu_buf_printf(b, "%s%s=\"", i ? "," : "", m->label_names[i]);
        if (!err)
            err = put_escaped(b, s->values[i], true);
        if (!err)
            err = nu_buf_putc(b, '"');
    }
    if (!err && le)
        err = nu_buf_printf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    if (!err && (m->nlabels || le))
        err = nu_buf_putc(b, '}');
    nu_metrics_format_value(v, num);
    if (!err)
        err = nu_buf_printf(b, " %s\n", num);
    return err;
}

static int put_histogram(struct nu_buf *b, const struct nu_metric *m, const struct series *s)
{
    char le[NU_METRICS_VALUE_MAX];
    uint64_t cum = 0;
    int err = 0;
    for (size_t i = 0; i <= m->nbuckets && !err; i++) {
        cum += s->bucket[i];
        if (i < m->nbuckets)
            nu_metrics_format_value(m->buckets[i], le);
        else
            snprintf(le, sizeof(le), "+Inf");
        err = put_sample(b, m, "_bucket", s, le, (double)cum);
    }
    if (!err)
        err = put_sample(b, m, "_sum", s, NULL, s->value);
    if (!err)
        err = put_sample(b, m, "_count", s, NULL, (double)s->count);
    return err;
}

static int render_metric(struct nu_metric *m, struct nu_buf *b)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    int err = nu_buf_printf(b, "# HELP %s ", m->name);
    if (!err)
        err = put_escaped(b, m->help, false);
    if (!err)
        err = nu_buf_printf(b, "\n# TYPE %s %s\n", m->name, types[m->type]);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nseries && !err; i++) {
        if (m->type == NU_METRIC_HISTOGRAM)
            err = put_histogram(b, m, &m->series[i]);
        else
            err = put_sample(b, m, "", &m->series[i], NULL, m->series[i].value);
    }
    pthread_mutex_unlock(&m->mu);
    return err;
}

int nu_metrics_render(struct nu_metrics *r, struct nu_buf *out)
{
    int err = 0;
    pthread_mutex_lock(&r->mu);
    for (struct nu_metric *m = r->head; m && !err; m = m->next)
        err = render_metric(m, out);
    pthread_mutex_unlock(&r->mu);
    return err;
}

void nu_metrics_respond(struct nu_metrics *r, struct nu_http_req *req)
{
    static const char err[] = "cannot render metrics\n";
    struct nu_buf b;
    nu_buf_init(&b, NU_METRICS_PAGE_MAX);
    if (nu_metrics_render(r, &b) != 0)
        (void)nu_httpd_respond(req, 500, "text/plain", err, sizeof(err) - 1);
    else
        (void)nu_httpd_respond(req, 200, NU_METRICS_CONTENT_TYPE, b.data, b.len);
    nu_buf_release(&b);
}

void nu_metrics_textfile_name(const char *prefix, const char *readable, const void *key,
                              size_t keylen, char out[NU_METRICS_TEXTFILE_NAME_MAX])
{
    uint8_t md[NU_SHA256_LEN];
    char hex[NU_SHA256_HEX];
    nu_sha256(key, keylen, md);
    nu_sha256_hex(md, hex);
    while (*readable == '/')
        readable++;
    size_t n = (size_t)snprintf(out, NU_METRICS_TEXTFILE_NAME_MAX, "%.*s_", 64, prefix);
    for (const char *p = readable; *p != '\0' && n < NU_METRICS_TEXTFILE_READABLE_MAX; p++, n++) {
        unsigned char c = (unsigned char)*p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[n] = keep ? (char)c : '_';
    }
    snprintf(out + n, NU_METRICS_TEXTFILE_NAME_MAX - n, "%s%.*s.prom", readable[0] ? "_" : "",
             NU_METRICS_TEXTFILE_HASH_HEX, hex);
}
