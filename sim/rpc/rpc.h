/* neard-sim RPC side, internal interfaces shared by the sim/rpc sources.
 *
 * One HTTP request is one struct rpc_exchange. A JSON-RPC body holds one
 * call or a batch of calls (struct rpc_call); each call finishes at once or
 * later (tx polling), and the exchange answers when every call is done.
 * Everything runs on the node's single uv loop. */
#ifndef SIM_RPC_H
#define SIM_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "sim.h"
#include "buf.h"
#include "httpd.h"
#include "json.h"
#include "metrics.h"

#define SIM_RPC_MAX_BATCH 100         /* calls in one JSON-RPC batch */
#define SIM_RPC_REPLY_MAX (64u << 20) /* one serialized reply */
#define SIM_RPC_DRAIN_MS 2000         /* graceful stop: in-flight requests may finish */
#define SIM_RPC_HEALTH_MULTIPLIER 10  /* neard's STATUS_WAIT_TIME_MULTIPLIER */

/* Legacy JSON-RPC codes (neard's RpcError.code). */
#define RPC_CODE_PARSE (-32700)
#define RPC_CODE_METHOD_NOT_FOUND (-32601)
#define RPC_CODE_SERVER (-32000)

struct rpc_exchange;
struct rpc_wait;

struct rpc_call {
    struct rpc_exchange *ex;
    struct sim_node *n;
    json_t *id;         /* borrowed from the exchange's request document */
    const char *method; /* borrowed; "" when missing */
    json_t *params;     /* borrowed; NULL when absent or null */
    char label[64];     /* near_rpc_* metrics label */
    uint64_t start_ns;  /* nu_mono_ns() at dispatch */
    bool done;
    bool repeated_field;   /* its object repeats a key: not a Request to serde */
    struct nu_buf reply;   /* serialized {"jsonrpc","result"|"error","id"} */
    int http_status;       /* status this call asks for (>= 2.4 mapping) */
    struct rpc_wait *wait; /* non-NULL while the call waits (tx family) */
};

struct rpc_exchange {
    struct sim_rpc *rpc;
    struct nu_http_req *req; /* NULL when synchronous or after the client left */
    bool sync;               /* no loop: waiting calls time out at once */
    json_t *doc;             /* parsed request body (owns ids and params) */
    struct rpc_call *calls;
    size_t ncalls, ndone;
    bool batch;
    bool answered;                    /* response sent (or cancelled) */
    bool hung;                        /* held by the "hang" fault, never answered */
    unsigned resp_flags;              /* NU_HTTPD_* (failure injection) */
    int status;                       /* final HTTP status */
    const char *ctype;                /* final content type */
    struct nu_buf body;               /* final body */
    uv_timer_t *delay;                /* latency injection, NULL when not armed */
    unsigned handles;                 /* open uv handles owned by this exchange */
    struct rpc_exchange *prev, *next; /* in rpc->exchanges */
};

struct rpc_metrics {
    struct nu_metric *head, *header_head, *sync_status, *peers, *is_validator, *build_info;
    struct nu_metric *protocol, *db_version, *epoch_height, *boot_time, *config_correct;
    struct nu_metric *tail, *final_height, *rpc_total, *rpc_errors, *rpc_time, *rpc_timeouts;
    struct nu_metric *http_status, *http_prometheus, *peer_rx, *peer_tx;
    uint64_t last_rx, last_tx; /* counters fed from node totals */
};

/* Deterministic fault accumulators: pct is added per request, a fault
 * fires each time the sum reaches 100. */
struct rpc_fault_acc {
    unsigned error, status_503, close, drop;
};

struct sim_rpc {
    struct sim_node *n;
    struct nu_httpd *httpd;
    struct nu_metrics *reg;
    struct rpc_metrics m;
    /* status cache: the serialized `status` result */
    struct nu_buf status_json;
    bool status_valid;
    uint64_t status_head, status_earliest, status_uptime;
    int status_sync;
    /* simulated state (methods_query.c, methods_tx.c) */
    json_t *genesis_accounts; /* account_id -> account state, from genesis records */
    json_t *accounts;         /* account_id -> account state loaded or changed since start */
    json_t *txs;              /* tx hash -> tx record (this run) */
    /* failure injection (control.c) */
    struct rpc_fault_acc acc;
    struct rpc_exchange *exchanges; /* every exchange not yet freed */
    struct rpc_wait *waits;         /* calls waiting for a tx */
    unsigned open_handles;          /* uv handles not yet closed */
    bool stopping, httpd_closed;
    void (*stop_done)(struct sim_node *n);
};

/* ---- rpc state without HTTP (http.c) ---- */
/* Creates n->rpc (metrics, state, caches) without a server; for the fuzzer
 * and unit tests too. store may be NULL. */
NU_WUR int sim_rpc_state_init(struct sim_node *n, char *errbuf);
/* Frees n->rpc; only when no exchange or handle is left. Accepts n->rpc NULL. */
void sim_rpc_state_free(struct sim_node *n);

/* ---- JSON-RPC (jsonrpc.c) ---- */
/* Handles a POST / body: parses, dispatches, answers via ex (which must
 * have rpc and req/sync set). */
void rpc_exchange_run_body(struct rpc_exchange *ex, const char *body, size_t len);
/* Synchronous entry for the fuzzer and unit tests: answers a JSON-RPC body
 * into out (appended) and *http_status. Calls that would wait time out at
 * once. n->rpc must exist (sim_rpc_state_init). */
NU_WUR int sim_jsonrpc_handle_body(struct sim_node *n, const char *body, size_t len,
                                   struct nu_buf *out, int *http_status);

/* Finishing a call: exactly one of these per call. result/err are stolen. */
void rpc_call_ok(struct rpc_call *c, json_t *result);
void rpc_call_ok_raw(struct rpc_call *c, const char *json, size_t len);
void rpc_call_fail(struct rpc_call *c, json_t *err, int http_status);

/* ---- exchanges (http.c) ---- */
struct rpc_exchange *rpc_exchange_new(struct sim_rpc *rpc, struct nu_http_req *req);
/* Sets the final answer of ex (body copied) and sends it, after the
 * injected latency if any. */
void rpc_exchange_answer(struct rpc_exchange *ex, int status, const char *ctype, const char *body,
                         size_t len);
/* Frees ex when it is answered and owns no open handle. */
void rpc_exchange_maybe_free(struct rpc_exchange *ex);
/* uv close callback for handles allocated by an exchange or a wait:
 * handle->data is the owning exchange (or NULL). */
void rpc_handle_closed(uv_handle_t *h);

/* ---- error envelopes (errors.c) ---- */
/* neard's RpcError objects: {"name","cause":{"name","info"?},"code","message","data"}.
 * info NULL means a unit variant (no info key). Steal info/data. */
json_t *rpc_err_parse(const char *msg);
json_t *rpc_err_method_not_found(const char *method);
json_t *rpc_err_handler(const char *cause, json_t *info, json_t *data);
json_t *rpc_err_internal(const char *error_message);
/* "DB Not Found Error: BLOCK HEIGHT: N \n Cause: Unknown" style UNKNOWN_BLOCK. */
json_t *rpc_err_unknown_block_height(uint64_t height);
json_t *rpc_err_unknown_block_hash(const char *hash);
/* HTTP status (>= 2.4 mapping) for an error cause. */
int rpc_status_for(const struct sim_node *n, int status_2_4);
/* Fails c with PARSE_ERROR "Failed parsing args: <what>". */
void rpc_fail_args(struct rpc_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails c with an UNKNOWN_BLOCK for height (422 when below head, else 200). */
void rpc_fail_unknown_height(struct rpc_call *c, uint64_t height);

/* ---- block references (methods_chain.c) ---- */
enum rpc_ref_err {
    REF_OK = 0,
    REF_PARSE,
    REF_UNKNOWN_HEIGHT,
    REF_UNKNOWN_HASH,
    REF_GC,
    REF_NOT_SYNCED
};
struct rpc_ref {
    enum rpc_ref_err err;
    uint64_t height;         /* resolved (or requested for REF_UNKNOWN_HEIGHT / REF_GC) */
    char hash[SIM_HASH_MAX]; /* requested hash for REF_UNKNOWN_HASH */
    char what[160];          /* parse error text */
};
/* Resolves {"finality"}, {"block_id"} or {"sync_checkpoint"} in obj.
 * Reads the block into blk when found. */
void rpc_resolve_ref(const struct sim_node *n, const json_t *obj, struct rpc_ref *r,
                     struct sim_block *blk);
/* Resolves a bare block id (height number or hash string). */
void rpc_resolve_block_id(const struct sim_node *n, const json_t *id, struct rpc_ref *r,
                          struct sim_block *blk);
/* Reads block h from the store (or derives it when there is no store) if
 * it lies in [earliest, head]; NU_ENOENT otherwise. */
NU_WUR int rpc_get_block(const struct sim_node *n, uint64_t h, struct sim_block *out);
/* Shards of the chain (at least 1) and the genesis min gas price text. */
unsigned rpc_num_shards(const struct sim_node *n);
const char *rpc_gas_price_text(const struct sim_node *n);
/* Fails c with the error matching a failed reference (block/chunk/gas flavour). */
void rpc_fail_ref(struct rpc_call *c, const struct rpc_ref *r);

/* ---- methods ---- */
typedef void (*rpc_method_fn)(struct rpc_call *c);
void rpc_m_status(struct rpc_call *c);
void rpc_m_health(struct rpc_call *c);
void rpc_m_block(struct rpc_call *c);
void rpc_m_chunk(struct rpc_call *c);
void rpc_m_gas_price(struct rpc_call *c);
void rpc_m_validators(struct rpc_call *c);
void rpc_m_network_info(struct rpc_call *c);
void rpc_m_protocol_config(struct rpc_call *c);
void rpc_m_genesis_config(struct rpc_call *c);
void rpc_m_query(struct rpc_call *c);
void rpc_m_tx(struct rpc_call *c);
void rpc_m_send_tx(struct rpc_call *c);
void rpc_m_broadcast_async(struct rpc_call *c);
void rpc_m_broadcast_commit(struct rpc_call *c);

/* status/health/network_info for the GET routes and the JSON-RPC methods
 * (methods_chain.c). The cached status JSON stays valid until the next
 * call into the RPC side. */
NU_WUR int rpc_status_json(struct sim_rpc *rpc, const char **json, size_t *len);
/* NULL when healthy, else the RpcStatusError object (new reference). */
json_t *rpc_health_error(const struct sim_node *n);
json_t *rpc_network_info(const struct sim_node *n);
/* Hash text helpers. */
void rpc_hash_text(const void *data, size_t len, char out[SIM_HASH_MAX]);
/* RFC3339 with nanoseconds and Z. */
void rpc_time_text(uint64_t unix_ns, char *out, size_t outsz);

/* ---- state (methods_query.c) ---- */
/* Loads genesis records into rpc->genesis_accounts. */
NU_WUR int rpc_state_init(struct sim_rpc *rpc, char *errbuf);
/* Account state object (borrowed) or NULL when the account does not exist. */
json_t *rpc_account_get(struct sim_rpc *rpc, const char *account_id);
/* Stores a changed account (takes a new reference) and persists it. */
void rpc_account_put(struct sim_rpc *rpc, const char *account_id, json_t *acct);
/* Default code hash of an account without contract. */
#define RPC_NO_CODE_HASH "11111111111111111111111111111111"

/* ---- tx waits (methods_tx.c) ---- */
/* Re-checks waiting calls after the head moved. */
void rpc_tx_on_head(struct sim_rpc *rpc);
/* Cancels every wait of ex (client gone or stopping). */
void rpc_tx_cancel_waits(struct rpc_exchange *ex);

/* ---- metrics (metrics.c) ---- */
NU_WUR int rpc_metrics_init(struct sim_rpc *rpc, char *errbuf);
void rpc_metrics_call(struct sim_rpc *rpc, const struct rpc_call *c, int err_code);
void rpc_metrics_timeout(struct sim_rpc *rpc);
NU_WUR int rpc_metrics_render(struct sim_rpc *rpc, struct nu_buf *out);

/* ---- failure injection (control.c) ---- */
/* Handles /sim/control (GET or POST). */
void rpc_control_handle(struct sim_rpc *rpc, struct nu_http_req *req);
/* Applies faults to a non-control request. Returns true when the request
 * was consumed (hung, 503 or injected error); may set ex->resp_flags. */
bool rpc_faults_apply(struct sim_rpc *rpc, struct rpc_exchange *ex, bool is_jsonrpc);

#endif
