/* neard's JSON-RPC error objects (chain/jsonrpc-primitives errors.rs):
 *   {"name": REQUEST_VALIDATION_ERROR | HANDLER_ERROR | INTERNAL_ERROR,
 *    "cause": {"name": "...", "info": {...}},   -- unit causes have no "info"
 *    "code": -32700 | -32601 | -32000, "message": "...", "data": ...}
 * and the HTTP status nearcore >= 2.4 gives each of them. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include "rpc.h"

static json_t *envelope(const char *name, json_t *cause, int code, const char *message,
                        json_t *data)
{
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(name));
    json_object_set_new(e, "cause", cause);
    json_object_set_new(e, "code", json_integer(code));
    json_object_set_new(e, "message", json_string(message));
    if (data)
        json_object_set_new(e, "data", data);
    return e;
}

static json_t *cause(const char *name, json_t *info)
{
    json_t *c = json_object();
    json_object_set_new(c, "name", json_string(name));
    if (info)
        json_object_set_new(c, "info", info);
    return c;
}

json_t *rpc_err_parse(const char *msg)
{
    json_t *info = json_pack("{s:s}", "error_message", msg);
    return envelope("REQUEST_VALIDATION_ERROR", cause("PARSE_ERROR", info), RPC_CODE_PARSE,
                    "Parse error", json_string(msg));
}

json_t *rpc_err_method_not_found(const char *method)
{
    json_t *info = json_pack("{s:s}", "method_name", method);
    return envelope("REQUEST_VALIDATION_ERROR", cause("METHOD_NOT_FOUND", info),
                    RPC_CODE_METHOD_NOT_FOUND, "Method not found", json_string(method));
}

json_t *rpc_err_handler(const char *cause_name, json_t *info, json_t *data)
{
    return envelope("HANDLER_ERROR", cause(cause_name, info), RPC_CODE_SERVER, "Server error",
                    data);
}

json_t *rpc_err_internal(const char *error_message)
{
    char text[512];
    snprintf(text, sizeof(text), "The node reached its limits. Try again later. More details: %s",
             error_message);
    json_t *info = json_pack("{s:s}", "error_message", error_message);
    return envelope("INTERNAL_ERROR", cause("INTERNAL_ERROR", info), RPC_CODE_SERVER,
                    "Server error", json_string(text));
}

json_t *rpc_err_unknown_block_height(uint64_t height)
{
    char data[128];
    snprintf(data, sizeof(data), "DB Not Found Error: BLOCK HEIGHT: %" PRIu64 " \n Cause: Unknown",
             height);
    /* UnknownBlock.error_message is skip_serializing: info is {}. */
    return rpc_err_handler("UNKNOWN_BLOCK", json_object(), json_string(data));
}

json_t *rpc_err_unknown_block_hash(const char *hash)
{
    char data[160];
    snprintf(data, sizeof(data), "DB Not Found Error: BLOCK HEADER: %s \n Cause: Unknown", hash);
    return rpc_err_handler("UNKNOWN_BLOCK", json_object(), json_string(data));
}

int rpc_status_for(const struct sim_node *n, int status_2_4)
{
    if (n->cfg.sim_http_status_mode == SIM_HTTP_STATUS_LEGACY_200)
        return 200;
    return status_2_4;
}

void rpc_fail_args(struct rpc_call *c, const char *fmt, ...)
{
    char what[400], msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "Failed parsing args: %s", what);
    rpc_call_fail(c, rpc_err_parse(msg), 400);
}

void rpc_fail_unknown_height(struct rpc_call *c, uint64_t height)
{
    /* nearcore 2.4 (#11822): a missing block below the head is 422. */
    int status = height < c->n->head ? 422 : 200;
    rpc_call_fail(c, rpc_err_unknown_block_height(height), status);
}
