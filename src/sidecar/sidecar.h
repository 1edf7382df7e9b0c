/* nearup health: a health-check sidecar for one NEAR node.
 *
 * Every interval it sends JSON-RPC `status` to the node (and to the
 * reference RPC, when one is given) without blocking the loop, and judges
 * the answer with the one NEAR health judge (src/health/health.h: DOWN,
 * SYNCING, STALE, LAGGING against the reference's head, OK; rise/fall
 * hysteresis, the first check taken as is). An answer that is not HTTP 2xx
 * is DOWN. A reference that does not answer, or reports another chain_id,
 * makes the lag unknown, never the node unhealthy. The state served before
 * the first check is "starting" (HEALTH_UNKNOWN).
 *
 * It serves GET|HEAD /healthcheck (200 or 503 with a JSON body) and GET
 * /metrics over nu_httpd, and the HAProxy agent-check protocol (agent.h):
 *   healthy:          "up ready NN%"  (weight, see hc_weight)
 *   unhealthy, lag:   "up drain #lagging"
 *   unhealthy, other: "down #syncing" | "down #stale" | "down #unreachable"
 *   no check yet:     nothing (the connection is closed without a line)
 *   unverified:       "down #unverified" (with a home whose restore's chain
 *                     check is pending or failed, chaingate.h)
 *
 * Everything runs on one loop; library code here never prints. */
#ifndef HC_SIDECAR_H
#define HC_SIDECAR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "error.h"
#include "health.h"

#define HC_URL_MAX 512
#define HC_HOST_MAX 64
#define HC_REASON_MAX HEALTH_REASON_MAX
#define HC_REPLY_MAX (256u << 10) /* a status reply larger than this counts as DOWN */
#define HC_FULL_WEIGHT_LAG 2      /* blocks behind the reference still at 100% weight */
#define HC_MIN_WEIGHT 10          /* weight percent of a healthy node at max_lag */

struct hc_opts {
    char node_url[HC_URL_MAX];      /* JSON-RPC endpoint of the node */
    char home[PATH_MAX];            /* "" for none; else its chain check gates (chaingate.h) */
    char reference_url[HC_URL_MAX]; /* "" for none */
    char listen_host[HC_HOST_MAX];  /* numeric; the agent binds the same host */
    int listen_port;                /* 0: ephemeral */
    int agent_port;                 /* -1: no agent-check listener; 0: ephemeral */
    unsigned max_lag;               /* blocks */
    unsigned stale_ms;
    unsigned interval_ms, timeout_ms;
    unsigned rise, fall;
    unsigned drain_ms; /* on close: how long answers in flight may take */
};

/* What one `status` poll learned. */
struct hc_sample {
    bool ok;                   /* a status result arrived */
    char error[HC_REASON_MAX]; /* why not, when !ok */
    struct health_status st;
};

/* One check: the node's sample judged against the reference's. */
struct hc_check {
    struct health_check c;
    char ref_error[HC_REASON_MAX]; /* why the lag is unknown despite a reference */
};

/* Judges node (and ref, NULL or !ok when absent) at wall-clock now_ms. */
void hc_classify(const struct hc_opts *o, const struct hc_sample *node, const struct hc_sample *ref,
                 int64_t now_ms, struct hc_check *out);
/* Agent weight of a healthy node lag blocks behind: 100% up to
 * HC_FULL_WEIGHT_LAG, then down linearly to HC_MIN_WEIGHT at max_lag
 * and beyond; 100% when the lag is unknown (-1). */
unsigned hc_weight(int64_t lag, unsigned max_lag);
/* health_state_name, but "starting" for HEALTH_UNKNOWN (no check yet). */
const char *hc_state_name(int st);

struct hc_sidecar;
typedef void (*hc_sidecar_closed_fn)(void *ud);

/* Binds the HTTP (and agent) listeners and starts polling at once. curl
 * must be globally initialised (nu_httpc_global_init). o is copied. On
 * failure *out is NULL; run the loop to release what was set up. */
NU_WUR int hc_sidecar_new(uv_loop_t *loop, const struct hc_opts *o, struct hc_sidecar **out,
                          char *errbuf);
/* Ports actually bound (agent: -1 when off). */
int hc_sidecar_http_port(const struct hc_sidecar *s);
int hc_sidecar_agent_port(const struct hc_sidecar *s);
/* Runs a check round now (unless one is in flight); for SIGHUP. */
void hc_sidecar_check_now(struct hc_sidecar *s);
/* Stops polling and listening; frees s once every handle is closed, then
 * calls done (may be NULL). */
void hc_sidecar_close(struct hc_sidecar *s, hc_sidecar_closed_fn done, void *ud);

#endif
