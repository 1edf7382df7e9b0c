/* A round of checks as one JSON report (`nearup canary --once --json`):
 *
 *   {"ok": true,
 *    "checks": ["status", "final_lag", ...],          the configured ones
 *    "reference": {"url", "ok", "final_height", "duration_ms", "error"},   or null
 *    "endpoints": [{"name", "url", "ok",
 *                   "checks": {"status": {"ok", "duration_ms", "error", <values>}, ...}}]}
 *
 * duration_ms has microseconds as decimals; error is null when ok; the
 * values are the check's own (head, lag, amount, tx_hash, ...). URLs have
 * their userinfo redacted. Pure code. */
#ifndef CN_REPORT_H
#define CN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "canary.h"

struct cn_result;

struct cn_report_ep {
    const char *name, *url;
    const struct cn_result *res[CN_NCHECKS]; /* by enum cn_check; NULL when not configured */
};

struct cn_report_ref {
    const char *url;
    const struct cn_result *res; /* the final block fetch */
    int64_t final_height;        /* -1 unknown */
};

/* checks: a bit per configured enum cn_check. ref may be NULL. A new
 * reference, NULL when out of memory. */
json_t *cn_report_json(const struct cn_report_ep *eps, size_t n, unsigned checks,
                       const struct cn_report_ref *ref);
/* Every configured check of every endpoint passed. */
bool cn_report_ok(const struct cn_report_ep *eps, size_t n, unsigned checks);

#endif
