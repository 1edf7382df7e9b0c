/* The textfile of a snapshot schedule (runmetrics.h): its name, its text,
 * and reading back the file it replaces. */
#include "runmetrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "home.h"
#include "metrics.h"
#include "redact.h"

#define LABEL_VALUE_MAX 4096 /* a label value read back */

static const char *const label_names[] = {"home", "chain_id", "store", NULL};

static const struct {
    const char *name, *help;
} series[SNAP_RM_N] = {
    [SNAP_RM_RUN_AT] = {"nearup_snapshot_last_run_timestamp_seconds",
                        "When the last snapshot create ended (unix seconds)."},
    [SNAP_RM_RUN_SUCCESS] = {"nearup_snapshot_last_run_success",
                             "1 when the last snapshot create succeeded, 0 when it failed."},
    [SNAP_RM_DURATION] = {"nearup_snapshot_last_duration_seconds",
                          "How long the last snapshot create took."},
    [SNAP_RM_DOWNTIME] = {"nearup_snapshot_last_downtime_seconds",
                          "How long the last snapshot create kept the node down (stop, "
                          "checkpoint, start)."},
    [SNAP_RM_SUCCESS_AT] = {"nearup_snapshot_last_success_timestamp_seconds",
                            "When the last successful snapshot create ended (unix seconds); "
                            "kept through failed runs."},
    [SNAP_RM_HEIGHT] = {"nearup_snapshot_last_height",
                        "Block height of the newest snapshot this schedule made."},
    [SNAP_RM_BYTES] = {"nearup_snapshot_last_bytes",
                       "Size of the data of the newest snapshot this schedule made."},
    [SNAP_RM_BYTES_UPLOADED] = {"nearup_snapshot_last_bytes_uploaded",
                                "Bytes the create of the newest snapshot uploaded (the chunks "
                                "the store lacked, as stored)."},
    [SNAP_RM_INTERVAL] = {"nearup_snapshot_interval_seconds",
                          "The schedule's interval (--expect-every): a snapshot is due this "
                          "often."},
    [SNAP_RM_PRUNE_RUN_AT] = {"nearup_snapshot_prune_last_run_timestamp_seconds",
                              "When the last snapshot prune ended (unix seconds)."},
    [SNAP_RM_PRUNE_RUN_SUCCESS] = {"nearup_snapshot_prune_last_run_success",
                                   "1 when the last snapshot prune succeeded, 0 when it failed."},
    [SNAP_RM_PRUNE_DURATION] = {"nearup_snapshot_prune_last_duration_seconds",
                                "How long the last snapshot prune took."},
    [SNAP_RM_PRUNE_SUCCESS_AT] = {"nearup_snapshot_prune_last_success_timestamp_seconds",
                                  "When the last successful snapshot prune ended (unix seconds); "
                                  "kept through failed runs."},
    [SNAP_RM_PRUNE_KEPT] = {"nearup_snapshot_prune_last_kept_snapshots",
                            "Snapshots the last successful prune kept."},
    [SNAP_RM_PRUNE_DELETED] = {"nearup_snapshot_prune_last_deleted_snapshots",
                               "Snapshots the last successful prune deleted."},
    [SNAP_RM_PRUNE_BYTES_DELETED] = {"nearup_snapshot_prune_last_bytes_deleted",
                                     "Bytes of chunks the last successful prune deleted."},
};

const char *snap_runmetrics_name(enum snap_rm_series s)
{
    return series[s].name;
}

static void set(struct snap_runmetrics *m, enum snap_rm_series s, double v)
{
    m->v[s] = v;
    m->have[s] = true;
}

static double seconds(uint64_t ms)
{
    return (double)ms / 1000.0;
}

void snap_runmetrics_create(struct snap_runmetrics *m, int rc, const struct snap_create_result *r,
                            int64_t ended_unix, unsigned expect_every_s)
{
    set(m, SNAP_RM_RUN_AT, (double)ended_unix);
    set(m, SNAP_RM_RUN_SUCCESS, rc == 0);
    set(m, SNAP_RM_DURATION, seconds(r->total_ms));
    set(m, SNAP_RM_DOWNTIME, seconds(r->downtime_ms));
    if (expect_every_s > 0)
        set(m, SNAP_RM_INTERVAL, expect_every_s);
    if (rc != 0)
        return; /* the newest snapshot is still the last success's */
    set(m, SNAP_RM_SUCCESS_AT, (double)ended_unix);
    set(m, SNAP_RM_HEIGHT, (double)r->height);
    m->have[SNAP_RM_HEIGHT] = r->height >= 0; /* a stopped node's data has none */
    set(m, SNAP_RM_BYTES, (double)r->bytes);
    set(m, SNAP_RM_BYTES_UPLOADED, (double)r->bytes_uploaded);
}

void snap_runmetrics_prune(struct snap_runmetrics *m, int rc, const struct snap_prune_result *r,
                           int64_t ended_unix, uint64_t duration_ms)
{
    set(m, SNAP_RM_PRUNE_RUN_AT, (double)ended_unix);
    set(m, SNAP_RM_PRUNE_RUN_SUCCESS, rc == 0);
    set(m, SNAP_RM_PRUNE_DURATION, seconds(duration_ms));
    if (rc != 0)
        return;
    set(m, SNAP_RM_PRUNE_SUCCESS_AT, (double)ended_unix);
    set(m, SNAP_RM_PRUNE_KEPT, (double)r->kept);
    set(m, SNAP_RM_PRUNE_DELETED, (double)r->manifests_deleted);
    set(m, SNAP_RM_PRUNE_BYTES_DELETED, (double)r->bytes_deleted);
}

int snap_runmetrics_render(const struct snap_runmetrics *m, struct nu_buf *out, char *errbuf)
{
    const char *labels[] = {m->home, m->chain_id, m->store};
    struct nu_metrics *reg = nu_metrics_new();
    int rc = reg != NULL ? 0 : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < SNAP_RM_N; i++) {
        struct nu_metric *g;
        if (!m->have[i])
            continue;
        rc = nu_metric_new(reg, NU_METRIC_GAUGE, series[i].name, series[i].help, label_names, NULL,
                           0, &g, errbuf);
        if (rc == 0)
            nu_metric_set(g, labels, m->v[i]);
    }
    if (rc == 0 && (rc = nu_metrics_render(reg, out)) < 0)
        nu_err_set(errbuf, rc, "metrics text larger than %zu bytes", out->max);
    nu_metrics_free(reg);
    return rc;
}

int snap_runmetrics_write(const struct snap_runmetrics *m, char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, SNAP_RUNMETRICS_FILE_MAX);
    int rc = snap_runmetrics_render(m, &b, errbuf);
    if (rc == 0)
        rc = nu_fs_write_atomic(m->path, b.data, b.len, 0644, errbuf);
    nu_buf_release(&b);
    return rc;
}

/* ---- reading the previous file back ---- */

struct cursor {
    const char *p, *end;
    unsigned line;
};

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

static size_t name_len(const struct cursor *c)
{
    size_t n = 0;
    while (c->p + n < c->end && name_char(c->p[n], n == 0))
        n++;
    return n;
}

/* A quoted label value into out (unescaped, at most LABEL_VALUE_MAX - 1). */
static int label_value(struct cursor *c, char *out)
{
    size_t n = 0;
    if (c->p >= c->end || *c->p++ != '"')
        return NU_EPARSE;
    while (c->p < c->end && *c->p != '"' && *c->p != '\n') {
        char ch = *c->p++;
        if (ch == '\\') {
            if (c->p >= c->end)
                return NU_EPARSE;
            ch = *c->p++;
            if (ch == 'n')
                ch = '\n';
            else if (ch != '\\' && ch != '"')
                return NU_EPARSE;
        }
        if (n + 1 >= LABEL_VALUE_MAX)
            return NU_EPARSE;
        out[n++] = ch;
    }
    out[n] = '\0';
    if (c->p >= c->end || *c->p++ != '"')
        return NU_EPARSE;
    return 0;
}

/* {k="v",...}: the chain_id value, when there is one, into chain. */
static int labels(struct cursor *c, char *chain, size_t chainsz, bool *have_chain)
{
    char value[LABEL_VALUE_MAX];
    c->p++; /* '{' */
    while (c->p < c->end && *c->p != '}') {
        size_t n = name_len(c);
        bool is_chain = n == 8 && strncmp(c->p, "chain_id", 8) == 0;
        c->p += n;
        if (n == 0 || c->p >= c->end || *c->p++ != '=' || label_value(c, value) != 0)
            return NU_EPARSE;
        if (is_chain && strlen(value) < chainsz) {
            memcpy(chain, value, strlen(value) + 1);
            *have_chain = true;
        }
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p < c->end && *c->p != '}')
            return NU_EPARSE;
    }
    if (c->p >= c->end)
        return NU_EPARSE;
    c->p++; /* '}' */
    return 0;
}

static int sample_value(struct cursor *c, double *v)
{
    char num[64];
    size_t n = 0;
    if (c->p >= c->end || *c->p++ != ' ')
        return NU_EPARSE;
    while (c->p + n < c->end && c->p[n] != '\n' && n + 1 < sizeof(num)) {
        num[n] = c->p[n];
        n++;
    }
    num[n] = '\0';
    c->p += n;
    char *endp;
    errno = 0;
    *v = strtod(num, &endp);
    /* Only what this module writes: one finite value, no timestamp. */
    if (n == 0 || *endp != '\0' || errno != 0 || !isfinite(*v))
        return NU_EPARSE;
    return 0;
}

static int sample(struct snap_runmetrics *m, struct cursor *c)
{
    char chain[SNAP_CHAIN_MAX];
    bool have_chain = false;
    double v;
    size_t n = name_len(c);
    const char *name = c->p;
    c->p += n;
    if (n == 0)
        return NU_EPARSE;
    if (c->p < c->end && *c->p == '{' && labels(c, chain, sizeof(chain), &have_chain) != 0)
        return NU_EPARSE;
    if (sample_value(c, &v) != 0)
        return NU_EPARSE;
    for (size_t i = 0; i < SNAP_RM_N; i++) {
        if (strlen(series[i].name) == n && strncmp(series[i].name, name, n) == 0) {
            set(m, (enum snap_rm_series)i, v);
            if (have_chain)
                memcpy(m->chain_id, chain, strlen(chain) + 1);
        }
    }
    return 0;
}

int snap_runmetrics_parse(struct snap_runmetrics *m, const char *text, size_t len, char *errbuf)
{
    struct cursor c = {text, text + len, 0};
    while (c.p < c.end) {
        const char *eol = memchr(c.p, '\n', (size_t)(c.end - c.p));
        c.line++;
        if (*c.p != '#' && *c.p != '\n' && sample(m, &c) != 0)
            return nu_err_set(errbuf, NU_EPARSE, "line %u: not a sample this file holds", c.line);
        if (eol == NULL)
            break;
        c.p = eol + 1;
    }
    return 0;
}

/* ---- the file of a schedule ---- */

static int path_of(struct snap_runmetrics *m, const char *dir, char *errbuf)
{
    char name[NU_METRICS_TEXTFILE_NAME_MAX], key[PATH_MAX + SNAP_RUNMETRICS_STORE_MAX];
    size_t hl = strlen(m->home), sl = strlen(m->store);
    memcpy(key, m->home, hl);
    key[hl] = '\0'; /* home and store apart: ("/a", "b/c") is not ("/a/b", "c") */
    memcpy(key + hl + 1, m->store, sl);
    nu_metrics_textfile_name(SNAP_RUNMETRICS_PREFIX, m->home, key, hl + 1 + sl, name);
    if (nu_fs_join(m->path, sizeof(m->path), dir, name) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "--metrics-textfile-dir %s: path too long", dir);
    return 0;
}

static void read_back(struct snap_runmetrics *m, char *warn)
{
    char err[NU_ERRMSG_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = nu_fs_read_file(m->path, SNAP_RUNMETRICS_FILE_MAX, &text, &len, err);
    if (rc == NU_ENOENT)
        return;
    if (rc == 0)
        rc = snap_runmetrics_parse(m, text, len, err);
    free(text);
    if (rc != 0) {
        memset(m->have, 0, sizeof(m->have));
        m->chain_id[0] = '\0';
        if (warn != NULL)
            snprintf(warn, NU_ERRMSG_MAX, "%.200s: %.250s; its values (the last success) are lost",
                     m->path, err);
    }
}

int snap_runmetrics_load(struct snap_runmetrics *m, const char *dir, const char *home,
                         const char *store, char *warn, char *errbuf)
{
    char chain[SNAP_CHAIN_MAX];
    memset(m, 0, sizeof(*m));
    if (warn != NULL)
        warn[0] = '\0';
    if (strlen(home) >= sizeof(m->home))
        return nu_err_set(errbuf, NU_ETOOBIG, "home path too long");
    memcpy(m->home, home, strlen(home) + 1);
    if (nu_redact(store, m->store, sizeof(m->store)) >= sizeof(m->store))
        return nu_err_set(errbuf, NU_ETOOBIG, "store %.64s...: longer than %d bytes", m->store,
                          SNAP_RUNMETRICS_STORE_MAX - 1);
    int rc = path_of(m, dir, errbuf);
    if (rc != 0)
        return rc;
    read_back(m, warn);
    if (home[0] != '\0' && node_home_chain_id(home, chain, sizeof(chain), NULL) == 0)
        memcpy(m->chain_id, chain, strlen(chain) + 1);
    return 0;
}
