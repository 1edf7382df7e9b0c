/* JSON-RPC requests and replies (see jsonrpc.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonrpc.h"

int nu_jsonrpc_request(struct nu_buf *b, const char *id, const char *method, json_t *params)
{
    json_t *req = json_pack("{s:s,s:s,s:s,s:o}", "jsonrpc", "2.0", "id", id, "method", method,
                            "params", params ? params : json_null());
    nu_buf_reset(b);
    int rc = req ? nu_json_dump_buf(req, b, JSON_COMPACT) : NU_ENOMEM;
    json_decref(req);
    return rc;
}

/* Control characters in what a server sent become spaces: an error is
 * one line (neard's own data reads "...: 123 \n Cause: Unknown"). */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* "JSON-RPC error NAME: DATA" from a reply's error object. */
static int rpc_error(const json_t *err, char *name, char *errbuf)
{
    const char *n = NULL;
    if (nu_json_get_str(err, "cause.name", &n) != 0 && nu_json_get_str(err, "name", &n) != 0)
        n = "(unnamed)";
    if (name != NULL) {
        snprintf(name, NU_JSONRPC_NAME_MAX, "%s", n);
        one_line(name);
    }
    const json_t *data = json_object_get(err, "data");
    char *text = json_is_string(data) ? NULL : json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *shown = json_is_string(data) ? json_string_value(data) : text;
    int rc = shown && shown[0] ? nu_err_set(errbuf, NU_EPARSE, "JSON-RPC error %s: %.*s", n,
                                            NU_JSONRPC_DATA_SHOWN, shown)
                               : nu_err_set(errbuf, NU_EPARSE, "JSON-RPC error %s", n);
    free(text);
    if (errbuf != NULL)
        one_line(errbuf);
    return rc;
}

int nu_jsonrpc_result(const char *shown, int status, const char *body, size_t len, json_t **result,
                      char *name, char *errbuf)
{
    char err[NU_ERRMSG_MAX];
    json_t *root = NULL;
    *result = NULL;
    if (name != NULL)
        name[0] = '\0';
    bool http_ok = status >= 200 && status <= 299;
    if (nu_json_parse("reply", body, len, false, &root, err) != 0) {
        one_line(err);
        return http_ok ? nu_err_set(errbuf, NU_EPARSE, "malformed reply: %.400s", err)
                       : nu_err_set(errbuf, NU_EPARSE, "%s answered HTTP %d", shown, status);
    }
    const json_t *e = json_object_get(root, "error");
    json_t *r = json_object_get(root, "result");
    int rc = 0;
    if (json_is_object(e))
        rc = rpc_error(e, name, errbuf); /* neard >= 2.3 answers some with 4xx/5xx */
    else if (!http_ok)
        rc = nu_err_set(errbuf, NU_EPARSE, "%s answered HTTP %d", shown, status);
    else if (r == NULL)
        rc = nu_err_set(errbuf, NU_EPARSE, "reply has no result");
    else
        *result = json_incref(r);
    json_decref(root);
    return rc;
}
