/* Fast JSON peeks for the gateway's request path, without building a tree
 * and without allocating:
 *  - validate a request body (one JSON value) and say whether it is an
 *    object (one call) or an array (a batch, with its length);
 *  - walk a batch's elements as spans of the body (forwarded zero-copy);
 *  - find a call's method, id and block reference (params.block_id,
 *    params[0] for gas_price/validators, finality);
 *  - classify an upstream reply: result, or error with neard's cause.
 * Keys and string values are read decoded, as neard (serde_json) reads
 * them: `"quer\u0079"` is the method query.
 * Also the bounded method table: metrics labels and allow/deny lists use
 * its indexes, and every method not in it folds into GW_M_OTHER. */
#ifndef GW_RPCPEEK_H
#define GW_RPCPEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define GW_JSON_MAX_DEPTH 64 /* deeper nesting is a parse error (stack bound) */

/* neard's JSON-RPC methods (chain/jsonrpc dispatch list), then "other". */
enum gw_method {
    GW_M_STATUS,
    GW_M_HEALTH,
    GW_M_NETWORK_INFO,
    GW_M_BLOCK,
    GW_M_CHUNK,
    GW_M_GAS_PRICE,
    GW_M_VALIDATORS,
    GW_M_QUERY,
    GW_M_TX,
    GW_M_SEND_TX,
    GW_M_BROADCAST_TX_ASYNC,
    GW_M_BROADCAST_TX_COMMIT,
    GW_M_LIGHT_CLIENT_PROOF,
    GW_M_NEXT_LIGHT_CLIENT_BLOCK,
    GW_M_CLIENT_CONFIG,
    GW_M_CHANGES,
    GW_M_BLOCK_EFFECTS,
    GW_M_GENESIS_CONFIG,
    GW_M_MAINTENANCE_WINDOWS,
    GW_M_X_CHANGES,
    GW_M_X_CHANGES_IN_BLOCK,
    GW_M_X_CONGESTION_LEVEL,
    GW_M_X_GENESIS_CONFIG,
    GW_M_X_LIGHT_CLIENT_PROOF,
    GW_M_X_LIGHT_CLIENT_BLOCK_PROOF,
    GW_M_X_PROTOCOL_CONFIG,
    GW_M_X_RECEIPT,
    GW_M_X_TX_STATUS,
    GW_M_X_VALIDATORS_ORDERED,
    GW_M_X_MAINTENANCE_WINDOWS,
    GW_M_X_SPLIT_STORAGE_INFO,
    GW_M_OTHER,
    GW_NMETHODS
};

enum gw_method_flags {
    GW_MF_TX = 1 << 0,       /* submits a transaction: retried only if never sent */
    GW_MF_BLOCKREF = 1 << 1, /* takes a block reference: archival routing applies */
};

/* "status", ..., "other". m out of range gives "other". */
const char *gw_method_name(int m);
/* Index of the method named s[0..len); GW_M_OTHER when unknown. */
int gw_method_lookup(const char *s, size_t len);
unsigned gw_method_flags(int m);

enum gw_body_kind { GW_BODY_INVALID, GW_BODY_OBJECT, GW_BODY_ARRAY, GW_BODY_OTHER };

/* A byte range of the body. */
struct gw_span {
    uint32_t off, len;
};

/* Validates p[0..len) as exactly one JSON value with optional surrounding
 * whitespace (RFC 8259 grammar, nesting at most GW_JSON_MAX_DEPTH). Strings
 * must be what serde_json takes for a Rust string: well-formed UTF-8, no
 * lone surrogate escapes (neard refuses the whole body otherwise).
 * Returns the top-level kind; for an array *nelems is its length. On
 * GW_BODY_INVALID, err (errsz bytes) gets "<what> at line L column C".
 * len must be below 4 GiB. */
enum gw_body_kind gw_json_check(const char *p, size_t len, size_t *nelems, char *err, size_t errsz);

/* Walks the elements of a top-level array that gw_json_check accepted.
 * Start with *cursor = 0; each call stores the next element's span and
 * returns true, false after the last one. */
bool gw_json_array_next(const char *p, size_t len, size_t *cursor, struct gw_span *elem);

enum gw_finality { GW_FIN_NONE, GW_FIN_OPTIMISTIC, GW_FIN_NEAR_FINAL, GW_FIN_FINAL };

struct gw_call_peek {
    int method;        /* enum gw_method */
    struct gw_span id; /* raw JSON value, relative to the call; len 0 when absent */
    int64_t height;    /* block height the call names, -1 when none */
    bool by_hash;      /* the block is named by hash (height unknown) */
    uint8_t finality;  /* enum gw_finality */
};

/* Peeks the call at body[call.off, +call.len): a value gw_json_check
 * accepted, or an element span of one. method is the decoded "method"
 * string looked up in the table (GW_M_OTHER when it names no method of the
 * table, is not a string or is absent; a non-object gives GW_M_OTHER, no
 * id). For a method with GW_MF_BLOCKREF: height from the last
 * params.block_id that is an integer (params[0] for gas_price, validators,
 * block), else 0 for sync_checkpoint "genesis", else -1; by_hash when that
 * block_id is a string; finality from the last params.finality.
 * Returns 0, or NU_EPARSE when the call repeats a field of neard's Request
 * (jsonrpc, method, params, id), which neard refuses: err (errsz bytes)
 * gets "duplicate field `method` at line L column C", counted from body. */
NU_WUR int gw_rpcpeek_call(const char *body, struct gw_span call, struct gw_call_peek *out,
                           char *err, size_t errsz);

/* neard error causes the gateway acts on. */
enum gw_cause {
    GW_CAUSE_NONE,
    GW_CAUSE_NOT_SYNCED,    /* NOT_SYNCED_YET, NO_SYNCED_BLOCKS */
    GW_CAUSE_UNKNOWN_BLOCK, /* UNKNOWN_BLOCK, GARBAGE_COLLECTED_BLOCK */
    GW_CAUSE_TIMEOUT,       /* TIMEOUT_ERROR */
    GW_CAUSE_INTERNAL,      /* INTERNAL_ERROR */
    GW_CAUSE_OTHER,
};

enum gw_reply_kind { GW_REPLY_RESULT, GW_REPLY_ERROR, GW_REPLY_OTHER };

struct gw_reply_peek {
    enum gw_reply_kind kind;
    enum gw_cause cause; /* for GW_REPLY_ERROR */
};

/* Classifies an upstream's JSON-RPC reply. Stops at the first top-level
 * "result" key (neard writes it before "id"), so a large result is not
 * scanned. Anything unparsable is GW_REPLY_OTHER. */
void gw_rpcpeek_reply(const char *p, size_t len, struct gw_reply_peek *out);

#endif
