/* nearup health: a health-check sidecar for one NEAR node.
 *
 * Every interval it sends JSON-RPC `status` to the node (and to the
 * reference RPC, when one is given) without blocking the loop (libcurl's
 * multi interface on libuv), classifies the answer:
 *
 *   DOWN     no valid status result: connect error, no answer within the
 *            timeout, HTTP status other than 2xx, a JSON-RPC error, a
 *            malformed reply
 *   SYNCING  sync_info.syncing is true
 *   STALE    now - sync_info.latest_block_time > stale
 *   LAGGING  reference head - node head > max_lag
 *   OK       otherwise
 *
 * (first match wins), and applies rise/fall hysteresis: a healthy node
 * turns unhealthy after `fall` failed checks in a row, an unhealthy one
 * healthy after `rise` OK checks in a row; the first check is taken as is.
 * A reference that does not answer, or reports another chain_id, makes the
 * lag unknown, never the node unhealthy.
 *
 * It serves GET|HEAD /healthcheck (200 or 503 with a JSON body) and GET
 * /metrics over nu_httpd, and the HAProxy agent-check protocol (agent.h):
 *   healthy:          "up ready NN%"  (weight, see hc_weight)
 *   unhealthy, lag:   "up drain #lagging"
 *   unhealthy, other: "down #syncing" | "down #stale" | "down #unreachable"
 *   no check yet:     nothing (the connection is closed without a line)
 *
 * Everything runs on one loop; library code here never prints. */
#ifndef HC_SIDECAR_H
#define HC_SIDECAR_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "error.h"

#define HC_URL_MAX 512
#define HC_HOST_MAX 64
#define HC_REASON_MAX 256
#define HC_REPLY_MAX (256u << 10) /* a status reply larger than this counts as DOWN */
#define HC_FULL_WEIGHT_LAG 2      /* blocks behind the reference still at 100% weight */
#define HC_MIN_WEIGHT 10          /* weight percent of a healthy node at max_lag */

enum hc_state { HC_STARTING = 0, HC_OK, HC_LAGGING, HC_STALE, HC_SYNCING, HC_DOWN };
#define HC_NSTATES 6

struct hc_opts {
    char node_url[HC_URL_MAX];      /* JSON-RPC endpoint of the node */
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

/* Defaults: listen 127.0.0.1:3032, no agent, max_lag 20, stale 30 s,
 * interval 1 s, timeout 1 s, rise 2, fall 2, drain 1 s. */
void hc_opts_init(struct hc_opts *o);

/* What one `status` poll learned. */
struct hc_sample {
    bool ok;                   /* a well-formed status result arrived */
    char error[HC_REASON_MAX]; /* why not, when !ok */
    int64_t head;              /* sync_info.latest_block_height */
    bool syncing;
    int64_t block_time_ms; /* sync_info.latest_block_time, ms since the epoch */
    char chain_id[64];
};

/* One check: the node's sample judged against the reference's. */
struct hc_check {
    enum hc_state state;
    char reason[HC_REASON_MAX];
    int64_t lag;                   /* blocks behind the reference, >= 0; -1 unknown */
    int64_t head_age_ms;           /* -1 unknown */
    char ref_error[HC_REASON_MAX]; /* why the lag is unknown despite a reference */
};

/* The state served, after hysteresis. */
struct hc_verdict {
    bool known;          /* at least one check completed */
    bool healthy;        /* what /healthcheck answers: 200 or 503 */
    enum hc_state state; /* HC_OK when healthy, else the latest failing state */
    char reason[HC_REASON_MAX];
    unsigned successes, failures; /* consecutive OK / failed checks */
};

/* Judges node (and ref, NULL or !ok when absent) at wall-clock now_ms. */
void hc_classify(const struct hc_opts *o, const struct hc_sample *node, const struct hc_sample *ref,
                 int64_t now_ms, struct hc_check *out);
/* Feeds one check into v with rise/fall hysteresis. */
void hc_verdict_apply(struct hc_verdict *v, const struct hc_check *c, unsigned rise, unsigned fall);
/* Agent weight of a healthy node lag blocks behind: 100% up to
 * HC_FULL_WEIGHT_LAG, then down linearly to HC_MIN_WEIGHT at max_lag
 * and beyond; 100% when the lag is unknown (-1). */
unsigned hc_weight(int64_t lag, unsigned max_lag);
/* "starting", "ok", "lagging", "stale", "syncing", "down". */
const char *hc_state_name(enum hc_state s);

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
