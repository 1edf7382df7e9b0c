/* What a scheduled snapshot run leaves for Prometheus: one file in
 * node_exporter's textfile directory per schedule (a home and a store),
 * written atomically by `snapshot create` and `snapshot prune` with
 * --metrics-textfile-dir (contract: docs/snapshots.md, "Scheduled
 * snapshots"). Each command rewrites its own series and keeps the other's,
 * read back from the file it replaces; so do the series that describe the
 * last success (its time, height, bytes) when a run fails, which is what
 * makes staleness computable. */
#ifndef SNAP_RUNMETRICS_H
#define SNAP_RUNMETRICS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "manifest.h"
#include "snap.h"

#define SNAP_RUNMETRICS_PREFIX "nearup_snapshot"
#define SNAP_RUNMETRICS_FILE_MAX (64u << 10)         /* the file is about 4 KiB */
#define SNAP_RUNMETRICS_STORE_MAX 2048               /* the store label (redacted), bytes */
#define SNAP_RUNMETRICS_INTERVAL_MAX_S (30u * 86400) /* --expect-every */

/* The series, in the order they are written. */
enum snap_rm_series {
    SNAP_RM_RUN_AT,
    SNAP_RM_RUN_SUCCESS,
    SNAP_RM_DURATION,
    SNAP_RM_DOWNTIME,
    SNAP_RM_SUCCESS_AT,
    SNAP_RM_HEIGHT,
    SNAP_RM_BYTES,
    SNAP_RM_BYTES_UPLOADED,
    SNAP_RM_INTERVAL,
    SNAP_RM_PRUNE_RUN_AT,
    SNAP_RM_PRUNE_RUN_SUCCESS,
    SNAP_RM_PRUNE_DURATION,
    SNAP_RM_PRUNE_SUCCESS_AT,
    SNAP_RM_PRUNE_KEPT,
    SNAP_RM_PRUNE_DELETED,
    SNAP_RM_PRUNE_BYTES_DELETED,
    SNAP_RM_N
};

struct snap_runmetrics {
    char path[PATH_MAX];
    char home[PATH_MAX];                   /* label "home" ("" for a prune without --home) */
    char store[SNAP_RUNMETRICS_STORE_MAX]; /* label "store", credentials redacted */
    char chain_id[SNAP_CHAIN_MAX];         /* label "chain_id" */
    double v[SNAP_RM_N];
    bool have[SNAP_RM_N]; /* series absent until they have a value (no success yet) */
};

/* The metric name of a series ("nearup_snapshot_last_run_success"). */
const char *snap_runmetrics_name(enum snap_rm_series s);

/* Sets up m for the schedule of home (absolute, or "") and store in dir:
 * the path (nu_metrics_textfile_name of prefix SNAP_RUNMETRICS_PREFIX,
 * the home readable, the home and the redacted store hashed), the labels
 * (chain_id from the home's genesis.json, else the previous file's), and
 * the previous file's values. 0, also when there is no previous file; one
 * that cannot be read or parsed loses its values, and warn (NU_ERRMSG_MAX,
 * may be NULL) says why. NU_EINVAL/NU_ETOOBIG for a store or path that
 * does not fit. */
NU_WUR int snap_runmetrics_load(struct snap_runmetrics *m, const char *dir, const char *home,
                                const char *store, char *warn, char *errbuf);

/* A create that ended at ended_unix with rc (0 or its error) and result r.
 * expect_every_s (0: not given, the previous value stays) is the
 * schedule's interval. */
void snap_runmetrics_create(struct snap_runmetrics *m, int rc, const struct snap_create_result *r,
                            int64_t ended_unix, unsigned expect_every_s);
/* A prune that ended at ended_unix after duration_ms with rc and r. */
void snap_runmetrics_prune(struct snap_runmetrics *m, int rc, const struct snap_prune_result *r,
                           int64_t ended_unix, uint64_t duration_ms);

/* The file's text, appended to out (Prometheus text format 0.0.4). */
NU_WUR int snap_runmetrics_render(const struct snap_runmetrics *m, struct nu_buf *out,
                                  char *errbuf);
/* Renders and writes m->path atomically (mode 0644). */
NU_WUR int snap_runmetrics_write(const struct snap_runmetrics *m, char *errbuf);

/* Reads text (len bytes, as this module writes it) into m's values and,
 * when the text has one, m->chain_id. Series of other names are skipped.
 * NU_EPARSE ("line N: ...") for text that is not the text format. */
NU_WUR int snap_runmetrics_parse(struct snap_runmetrics *m, const char *text, size_t len,
                                 char *errbuf);

#endif
