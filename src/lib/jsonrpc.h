/* JSON-RPC 2.0 as neard speaks it: request bodies, and what a reply says
 * (its result, or one line naming the error as neard does). Pure: the
 * transports are the callers' (the canary and the supervisor over the
 * event-loop client, snapshot restores over libcurl). */
#ifndef NU_JSONRPC_H
#define NU_JSONRPC_H

#include <stddef.h>
#include <jansson.h>
#include "buf.h"
#include "error.h"

#define NU_JSONRPC_DATA_SHOWN 200 /* what an error line shows of the error's data */
#define NU_JSONRPC_NAME_MAX 64    /* an error's (cause's) name, as in UNKNOWN_BLOCK */

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params} into b (reset
 * first). Steals params (NULL: null). */
NU_WUR int nu_jsonrpc_request(struct nu_buf *b, const char *id, const char *method, json_t *params);

/* The result of a reply with HTTP status (shown names the endpoint): 0 and
 * *result (a new reference), or NU_EPARSE and errbuf (NU_ERRMSG_MAX):
 *   "JSON-RPC error UNKNOWN_ACCOUNT: account x does not exist while viewing"
 *   (the cause's name, else the error's; then its data, compact JSON when
 *   not a string), "<shown> answered HTTP 503" for another status without
 *   a JSON-RPC error, "malformed reply: ...", "reply has no result".
 * The message is one line whatever the server sent. For a JSON-RPC error,
 * name (NU_JSONRPC_NAME_MAX bytes, may be NULL) gets that name, else "". */
NU_WUR int nu_jsonrpc_result(const char *shown, int status, const char *body, size_t len,
                             json_t **result, char *name, char *errbuf);

#endif
