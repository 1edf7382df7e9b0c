/* JSON-RPC as the canary speaks it: request bodies, and what a reply
 * says (its result, or one line naming the error as neard does). Pure. */
#ifndef CN_RPC_H
#define CN_RPC_H

#include <stddef.h>
#include <jansson.h>
#include "buf.h"
#include "error.h"

#define CN_RPC_ID "nearup-canary"
#define CN_RPC_DATA_SHOWN 200 /* what an error line shows of the error's data */

/* {"jsonrpc":"2.0","id":CN_RPC_ID,"method":method,"params":params} into b
 * (reset first). Steals params. */
NU_WUR int cn_rpc_request(struct nu_buf *b, const char *method, json_t *params);

/* The result of a reply with HTTP status (shown names the endpoint): 0 and
 * *result (a new reference), or NU_EPARSE and errbuf (NU_ERRMSG_MAX):
 *   "JSON-RPC error UNKNOWN_ACCOUNT: account x does not exist while viewing"
 *   (the cause's name, else the error's; then its data, compact JSON when
 *   not a string), "<shown> answered HTTP 503" for another status without
 *   a JSON-RPC error, "malformed reply: ...", "reply has no result". */
NU_WUR int cn_rpc_result(const char *shown, int status, const char *body, size_t len,
                         json_t **result, char *errbuf);

#endif
