/* Internal to src/canary: the engine's state (canary.c), shared with the
 * checks (cn_checks.c, cn_transfer.c) and the report (cn_report.c). */
#ifndef CANARY_INT_H
#define CANARY_INT_H

#include <stdint.h>
#include "canary.h"
#include "cn_tx.h"
#include "hcall.h"

#define CN_ERROR_MAX NU_ERRMSG_MAX
#define CN_RPC_ID "nearup-canary" /* the id of every request the canary sends */
#define CN_REPLY_MAX (4u << 20)   /* a reply larger than this fails its check */
#define CN_REQUEST_MAX (16u << 10)

/* One run of a check. */
struct cn_result {
    bool done; /* over this round */
    bool ok;
    double duration_ms;
    char error[CN_ERROR_MAX];
    json_t *values; /* what the check read (an object, owned), or NULL */
};

struct cn_ep;

/* One check of one endpoint (or the reference's final block): its own
 * connection, one request at a time. */
struct cn_probe {
    struct cn_canary *cn;
    struct cn_ep *ep; /* NULL for the reference */
    int check;        /* enum cn_check */
    struct nu_hcall call;
    struct nu_buf req; /* the body in flight */
    int step;          /* the transfer's, see cn_transfer.c */
    uint64_t started_ns, step_ns;
    struct cn_result res;
    bool res_known, last_ok; /* a run ended before; whether it passed (log changes only) */
    int64_t height;          /* final_lag: the final block's height; -1 unknown */
    /* the transfer's */
    uint64_t nonce, sent_ns;
    uint8_t block_hash[32];
    char tx_hash[CN_TX_HASH_TEXT];
    double commit_ms;
};

struct cn_ep {
    const struct cn_endpoint_spec *spec;
    char shown[CN_URL_MAX]; /* the URL with its userinfo redacted */
    struct cn_probe probes[CN_NCHECKS];
    bool final_fetched; /* this round's final_lag request is over */
};

struct cn_metrics {
    struct nu_metrics *reg;
    struct nu_metric *success, *duration, *last_success, *runs, *lag, *up;
};

struct cn_canary {
    uv_loop_t *loop;
    struct cn_config cfg;
    struct nu_keypair key; /* with has_key */
    bool has_key;
    char key_pub[NU_KEY_TEXT_MAX];
    unsigned checks; /* bit per enum cn_check configured */
    struct nu_hc_tls *tls;
    struct cn_ep *eps;
    size_t neps;
    struct cn_probe ref; /* the reference's final block, when has_ref */
    char ref_shown[CN_URL_MAX];
    bool has_ref, ref_fetched;
    uv_timer_t tick;
    bool repeat, round_busy, closing, ran;
    unsigned pending;     /* checks (and the reference) still running this round */
    size_t transfer_next; /* the endpoint whose transfer runs next */
    uint64_t last_nonce;  /* the highest nonce this canary signed */
    struct cn_metrics m;
    cn_round_fn round_done;
    void *ud;
    int closes; /* handles still to close */
    cn_closed_fn closed;
    void *closed_ud;
};

/* ---- cn_checks.c ---- */

/* Starts p's check (p->res cleared; p->started_ns set). */
void cn_check_start(struct cn_probe *p);
/* The hcall callback of every probe. */
void cn_on_answer(void *ud, struct nu_hcall *h, const struct nu_hc_resp *r);
/* Sends method(params) on p (steals params); a body that cannot be built
 * ends the check. */
void cn_probe_send(struct cn_probe *p, const char *method, json_t *params, unsigned flags);
/* Ends p's check: its duration, values (stolen; may be NULL), and for
 * cn_probe_fail the error. */
void cn_probe_ok(struct cn_probe *p, json_t *values);
void cn_probe_fail(struct cn_probe *p, json_t *values, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The final heights are in for ep (and the reference): judges its lag. */
void cn_lag_judge(struct cn_canary *cn, struct cn_ep *ep, int64_t ref_height,
                  const char *ref_error);

/* ---- cn_transfer.c ---- */

void cn_transfer_start(struct cn_probe *p);
/* The answer to the transfer's current step (result parsed, or NULL with
 * err set). */
void cn_transfer_step(struct cn_probe *p, json_t *result, const char *err);

/* ---- cn_report.c ---- */

/* Milliseconds as the report writes them: microseconds as decimals. */
json_t *cn_json_ms(double ms);

/* ---- canary.c, for the checks ---- */

/* p's check is over (its result is in p->res): metrics, then the round. */
void cn_check_done(struct cn_probe *p);
/* The reference's or an endpoint's final block fetch is over. */
void cn_final_fetched(struct cn_probe *p);
/* Milliseconds since ns (nu_mono_ns). */
double cn_ms_since(uint64_t ns);

#endif
