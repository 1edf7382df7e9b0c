/* The gateway's own JSON-RPC error replies (see gw_reply.h). The shapes
 * follow neard's RpcError: overload and upstream failures read like
 * neard's INTERNAL_ERROR ("The node reached its limits. Try again
 * later."), which clients already treat as retryable. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "gw_reply.h"

int gw_json_str(struct nu_buf *out, const char *s)
{
    int err = nu_buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p && !err; p++) {
        if (*p == '"' || *p == '\\') {
            err = nu_buf_putc(out, '\\');
            err = err ? err : nu_buf_putc(out, (char)*p);
        } else if (*p < 0x20) {
            err = nu_buf_printf(out, "\\u%04x", *p);
        } else {
            err = nu_buf_putc(out, (char)*p);
        }
    }
    return err ? err : nu_buf_putc(out, '"');
}

int gw_lerr_status(int kind, bool deny_jsonrpc)
{
    static const int status[GW_NLE] = {400, 403, 429, 503, 503, 502, 504, 500};
    if (kind == GW_LE_DENIED && deny_jsonrpc)
        return 200;
    return (kind >= 0 && kind < GW_NLE) ? status[kind] : 500;
}

static int internal_error(struct nu_buf *out, const char *detail)
{
    char text[400];
    snprintf(text, sizeof(text), "The node reached its limits. Try again later. More details: %s",
             detail);
    int err = nu_buf_puts(out, "{\"name\":\"INTERNAL_ERROR\",\"cause\":{\"name\":"
                               "\"INTERNAL_ERROR\",\"info\":{\"error_message\":");
    err = err ? err : gw_json_str(out, detail);
    err = err ? err : nu_buf_puts(out, "}},\"code\":-32000,\"message\":\"Server error\",\"data\":");
    err = err ? err : gw_json_str(out, text);
    return err ? err : nu_buf_putc(out, '}');
}

static int error_object(struct nu_buf *out, int kind, const char *detail, const char *method,
                        unsigned retry_after)
{
    int err;
    switch (kind) {
    case GW_LE_PARSE:
        err = nu_buf_puts(out, "{\"name\":\"REQUEST_VALIDATION_ERROR\",\"cause\":{\"name\":"
                               "\"PARSE_ERROR\",\"info\":{\"error_message\":");
        err = err ? err : gw_json_str(out, detail);
        err = err ? err
                  : nu_buf_puts(out, "}},\"code\":-32700,\"message\":\"Parse error\","
                                     "\"data\":");
        err = err ? err : gw_json_str(out, detail);
        return err ? err : nu_buf_putc(out, '}');
    case GW_LE_DENIED:
        err = nu_buf_puts(out, "{\"name\":\"REQUEST_VALIDATION_ERROR\",\"cause\":{\"name\":"
                               "\"METHOD_NOT_ALLOWED\",\"info\":{\"method_name\":");
        err = err ? err : gw_json_str(out, method ? method : "");
        err = err ? err
                  : nu_buf_puts(out, "}},\"code\":-32601,\"message\":\"Method not "
                                     "allowed\",\"data\":");
        err = err ? err : gw_json_str(out, detail);
        return err ? err : nu_buf_putc(out, '}');
    case GW_LE_RATE_LIMITED:
        err = nu_buf_printf(out,
                            "{\"name\":\"HANDLER_ERROR\",\"cause\":{\"name\":\"RATE_LIMITED\","
                            "\"info\":{\"retry_after_secs\":%u}},\"code\":-32000,\"message\":"
                            "\"Server error\",\"data\":",
                            retry_after);
        err = err ? err : gw_json_str(out, detail);
        return err ? err : nu_buf_putc(out, '}');
    default:
        return internal_error(out, detail);
    }
}

int gw_reply_error(struct nu_buf *out, const char *id, size_t idlen, int kind, const char *detail,
                   const char *method, unsigned retry_after)
{
    int err = nu_buf_puts(out, "{\"jsonrpc\":\"2.0\",\"error\":");
    err = err ? err : error_object(out, kind, detail ? detail : "", method, retry_after);
    err = err ? err : nu_buf_puts(out, ",\"id\":");
    if (id && idlen)
        err = err ? err : nu_buf_append(out, id, idlen);
    else
        err = err ? err : nu_buf_puts(out, "null");
    return err ? err : nu_buf_putc(out, '}');
}
