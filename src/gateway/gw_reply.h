/* JSON-RPC error replies the gateway writes itself, in neard's envelope
 * ({"jsonrpc","error":{"name","cause":{"name","info"},"code","message",
 * "data"},"id"}) so clients handle them like neard's own errors. */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "error.h"

enum gw_lerr {
    GW_LE_PARSE,        /* 400 REQUEST_VALIDATION_ERROR / PARSE_ERROR (bad JSON, batch size) */
    GW_LE_DENIED,       /* 403 (or 200) REQUEST_VALIDATION_ERROR / METHOD_NOT_ALLOWED */
    GW_LE_RATE_LIMITED, /* 429 HANDLER_ERROR / RATE_LIMITED, with Retry-After */
    GW_LE_OVERLOADED,   /* 503 INTERNAL_ERROR: every candidate upstream is full */
    GW_LE_NO_UPSTREAM,  /* 503 INTERNAL_ERROR: no upstream to send to */
    GW_LE_UPSTREAM,     /* 502 INTERNAL_ERROR: the upstream failed (after retries) */
    GW_LE_TIMEOUT,      /* 504 INTERNAL_ERROR: the upstream did not answer in time */
    GW_LE_INTERNAL,     /* 500 INTERNAL_ERROR: out of memory and the like */
    GW_NLE
};

/* HTTP status for a local error; deny_jsonrpc picks 200 for GW_LE_DENIED. */
int gw_lerr_status(int kind, bool deny_jsonrpc);

/* Appends the reply for kind to out. id is the raw JSON id (NULL or
 * idlen 0: null); detail is free text (escaped), method the method name
 * for GW_LE_DENIED, retry_after the seconds for GW_LE_RATE_LIMITED. */
NU_WUR int gw_reply_error(struct nu_buf *out, const char *id, size_t idlen, int kind,
                          const char *detail, const char *method, unsigned retry_after);

/* Appends s as a JSON string (quoted, escaped). */
NU_WUR int gw_json_str(struct nu_buf *out, const char *s);

#endif
