/* Prometheus text exposition format (version 0.0.4): counters, gauges and
 * histograms with labels. Thread-safe (one mutex per metric). The number of
 * label combinations per metric is capped by max_series (named limit); past
 * it, updates for new combinations are dropped and counted in the registry's
 * dropped counter. */
#ifndef NU_METRICS_H
#define NU_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"

#define NU_METRICS_MAX_LABELS 4
#define NU_METRICS_DEFAULT_MAX_SERIES 1000

struct nu_metrics;
struct nu_metric;

enum nu_metric_type { NU_METRIC_COUNTER, NU_METRIC_GAUGE, NU_METRIC_HISTOGRAM };

struct nu_metrics *nu_metrics_new(void);
void nu_metrics_free(struct nu_metrics *r); /* accepts NULL; frees all metrics */

/* Registers a metric. label_names is NULL-terminated (NULL: no labels).
 * buckets (histograms only) are upper bounds in increasing order, +Inf is
 * implicit. Names are checked against [a-zA-Z_:][a-zA-Z0-9_:]*. The metric
 * is owned by the registry. */
NU_WUR int nu_metric_new(struct nu_metrics *r, enum nu_metric_type type, const char *name,
                         const char *help, const char *const *label_names, const double *buckets,
                         size_t nbuckets, struct nu_metric **out, char *errbuf);
void nu_metric_set_max_series(struct nu_metric *m, size_t max);

/* label_values has as many entries as label_names (NULL when no labels; a
 * NULL entry counts as ""). Using an update on the wrong metric type is a
 * bug (NU_BUG_ON); a negative add on a counter and NaN observations are
 * ignored. */
void nu_metric_add(struct nu_metric *m, const char *const *label_values,
                   double v); /* counter/gauge */
void nu_metric_set(struct nu_metric *m, const char *const *label_values, double v); /* gauge */
void nu_metric_observe(struct nu_metric *m, const char *const *label_values,
                       double v); /* histogram */
/* Current value of a counter/gauge series, observation count of a
 * histogram series (0 when absent); for tests. */
double nu_metric_value(struct nu_metric *m, const char *const *label_values);
/* nu_metric_add(m, label_values, 1). */
void nu_metric_inc(struct nu_metric *m, const char *const *label_values);
/* Updates dropped so far because a metric had max_series series. */
uint64_t nu_metrics_dropped(struct nu_metrics *r);

/* Formats a sample value as the exposition format wants: integral values
 * without a decimal point ("42"), others in the shortest form that reads
 * back exactly ("0.1", "1e-07"), "+Inf", "-Inf", "NaN". */
#define NU_METRICS_VALUE_MAX 32
void nu_metrics_format_value(double v, char out[NU_METRICS_VALUE_MAX]);

/* Appends the whole registry in registration order: # HELP, # TYPE, then
 * series in first-seen order; histograms as _bucket{le=..}, _sum, _count.
 * Label values are escaped (\\, \", \n). */
NU_WUR int nu_metrics_render(struct nu_metrics *r, struct nu_buf *out);

/* The exposition's Content-Type. */
#define NU_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define NU_METRICS_PAGE_MAX (1u << 20) /* a rendered registry served at most */

struct nu_http_req;
/* Answers req (GET or HEAD /metrics) with r rendered: 200, or 500 when it
 * does not fit NU_METRICS_PAGE_MAX. */
void nu_metrics_respond(struct nu_metrics *r, struct nu_http_req *req);

/* Exponential buckets: start, start*factor, ... (count values) into out. */
void nu_metrics_exp_buckets(double start, double factor, size_t count, double *out);

/* The file name one source of node_exporter's textfile collector writes:
 * "<prefix>_<readable>_<12 hex>.prom", readable being `readable` without
 * its leading '/'s, every byte but [A-Za-z0-9] written as '_', cut so that
 * "<prefix>_<readable>" holds at most NU_METRICS_TEXTFILE_READABLE_MAX
 * bytes; the hex digits start the sha256 of the key bytes, so two sources
 * whose readable parts agree (/a-b, /a_b) get two files. An empty readable
 * gives "<prefix>_<12 hex>.prom". out holds NU_METRICS_TEXTFILE_NAME_MAX. */
#define NU_METRICS_TEXTFILE_READABLE_MAX 160
#define NU_METRICS_TEXTFILE_HASH_HEX 12
#define NU_METRICS_TEXTFILE_NAME_MAX                                                               \
    (NU_METRICS_TEXTFILE_READABLE_MAX + NU_METRICS_TEXTFILE_HASH_HEX + 8)
void nu_metrics_textfile_name(const char *prefix, const char *readable, const void *key,
                              size_t keylen, char out[NU_METRICS_TEXTFILE_NAME_MAX]);

#endif
