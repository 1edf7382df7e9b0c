/* JSON-RPC 2.0 over POST /: request validation (neard's Request has
 * deny_unknown_fields), method dispatch, batches, per-call metrics and
 * the final HTTP status. */
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "rpc.h"

struct method_entry {
    const char *name;
    rpc_method_fn fn;
};

/* Sorted by name for bsearch. */
static const struct method_entry methods[] = {
    {"EXPERIMENTAL_genesis_config", rpc_m_genesis_config},
    {"EXPERIMENTAL_protocol_config", rpc_m_protocol_config},
    {"EXPERIMENTAL_tx_status", rpc_m_tx},
    {"block", rpc_m_block},
    {"broadcast_tx_async", rpc_m_broadcast_async},
    {"broadcast_tx_commit", rpc_m_broadcast_commit},
    {"chunk", rpc_m_chunk},
    {"gas_price", rpc_m_gas_price},
    {"health", rpc_m_health},
    {"network_info", rpc_m_network_info},
    {"query", rpc_m_query},
    {"send_tx", rpc_m_send_tx},
    {"status", rpc_m_status},
    {"tx", rpc_m_tx},
    {"validators", rpc_m_validators},
};

static int method_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct method_entry *)elem)->name);
}

static rpc_method_fn find_method(const char *name)
{
    const struct method_entry *e = bsearch(name, methods, sizeof(methods) / sizeof(methods[0]),
                                           sizeof(methods[0]), method_cmp);
    return e ? e->fn : NULL;
}

/* HTTP status of an error reply per nearcore >= 2.4 (#11806, #11822). */
static int status_of_error(const json_t *err, int hint)
{
    const char *name = json_string_value(json_object_get(err, "name"));
    const char *cause = json_string_value(json_object_get(json_object_get(err, "cause"), "name"));
    if (hint == 422)
        return 422;
    if (name && strcmp(name, "REQUEST_VALIDATION_ERROR") == 0)
        return 400;
    if (name && strcmp(name, "INTERNAL_ERROR") == 0)
        return 500;
    if (cause && strcmp(cause, "TIMEOUT_ERROR") == 0)
        return 408;
    return 200;
}

static void exchange_call_done(struct rpc_exchange *ex);

static void finish(struct rpc_call *c, const char *key, const char *raw, size_t rawlen,
                   int err_code)
{
    struct nu_buf *b = &c->reply;
    int rc = nu_buf_puts(b, "{\"jsonrpc\":\"2.0\",\"");
    rc = rc ? rc : nu_buf_puts(b, key);
    rc = rc ? rc : nu_buf_puts(b, "\":");
    rc = rc ? rc : nu_buf_append(b, raw, rawlen);
    rc = rc ? rc : nu_buf_puts(b, ",\"id\":");
    rc = rc ? rc : nu_json_dump_buf(c->id ? c->id : json_null(), b, JSON_COMPACT | JSON_ENCODE_ANY);
    rc = rc ? rc : nu_buf_putc(b, '}');
    if (rc) {
        /* Only a reply over SIM_RPC_REPLY_MAX gets here: say so instead. */
        nu_buf_reset(b);
        rc = nu_buf_puts(b, "{\"jsonrpc\":\"2.0\",\"error\":{\"name\":\"INTERNAL_ERROR\","
                            "\"cause\":{\"name\":\"INTERNAL_ERROR\",\"info\":{\"error_message\":"
                            "\"response too large\"}},\"code\":-32000,\"message\":\"Server "
                            "error\",\"data\":\"response too large\"},\"id\":null}");
        c->http_status = 500; /* a reply that itself failed to fit is empty */
    }
    c->done = true;
    if (c->ex->rpc)
        rpc_metrics_call(c->ex->rpc, c, err_code);
    exchange_call_done(c->ex);
}

static void finish_json(struct rpc_call *c, const char *key, json_t *v, int err_code)
{
    struct nu_buf tmp;
    nu_buf_init(&tmp, SIM_RPC_REPLY_MAX);
    if (nu_json_dump_buf(v, &tmp, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        nu_buf_reset(&tmp);
    finish(c, key, tmp.data ? tmp.data : "null", tmp.data ? tmp.len : 4, err_code);
    nu_buf_release(&tmp);
}

void rpc_call_ok(struct rpc_call *c, json_t *result)
{
    NU_BUG_ON(c->done);
    c->http_status = 200;
    finish_json(c, "result", result ? result : json_null(), 0);
    json_decref(result);
}

void rpc_call_ok_raw(struct rpc_call *c, const char *json, size_t len)
{
    NU_BUG_ON(c->done);
    c->http_status = 200;
    finish(c, "result", json, len, 0);
}

void rpc_call_fail(struct rpc_call *c, json_t *err, int http_status)
{
    NU_BUG_ON(c->done);
    c->http_status = rpc_status_for(c->n, status_of_error(err, http_status));
    json_int_t code = json_integer_value(json_object_get(err, "code"));
    finish_json(c, "error", err, (int)code);
    json_decref(err);
}

/* Checks the Request shape: {"jsonrpc":"2.0","id","method","params"?}, no
 * other keys, none twice (serde's derived Request refuses a repeated field,
 * and neard's untagged Message then takes the object as no request at all;
 * inside params the last value wins, as in serde_json's Value). NULL when
 * fine, else the parse error message. */
static const char *check_request(const json_t *req, bool repeated_field)
{
    const char *key;
    json_t *v;
    if (!json_is_object(req) || repeated_field)
        return "JSON RPC Request format was expected";
    json_object_foreach((json_t *)req, key, v)
    {
        if (strcmp(key, "jsonrpc") && strcmp(key, "id") && strcmp(key, "method") &&
            strcmp(key, "params"))
            return "JSON RPC Request format was expected";
    }
    v = json_object_get(req, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
        return "JSON RPC Request format was expected";
    if (!json_is_string(json_object_get(req, "method")) || !json_object_get(req, "id"))
        return "JSON RPC Request format was expected";
    return NULL;
}

static void label_for(struct rpc_call *c)
{
    snprintf(c->label, sizeof(c->label), "%s", c->method);
}

static void dispatch(struct rpc_call *c, const json_t *req)
{
    const char *bad = check_request(req, c->repeated_field);
    c->start_ns = nu_mono_ns();
    c->id = json_object_get(req, "id");
    c->method = "";
    if (bad) {
        snprintf(c->label, sizeof(c->label), "UNSUPPORTED_METHOD");
        c->id = NULL; /* neard answers a malformed request with id null */
        rpc_call_fail(c, rpc_err_parse(bad), 400);
        return;
    }
    c->method = json_string_value(json_object_get(req, "method"));
    c->params = json_object_get(req, "params");
    if (json_is_null(c->params))
        c->params = NULL;
    rpc_method_fn fn = find_method(c->method);
    if (!fn) {
        snprintf(c->label, sizeof(c->label), "UNSUPPORTED_METHOD");
        rpc_call_fail(c, rpc_err_method_not_found(c->method), 400);
        return;
    }
    label_for(c);
    fn(c);
}

static void exchange_call_done(struct rpc_exchange *ex)
{
    ex->ndone++;
    if (ex->ndone < ex->ncalls || ex->answered)
        return;
    if (!ex->batch) {
        struct rpc_call *c = &ex->calls[0];
        rpc_exchange_answer(ex, c->http_status, "application/json", c->reply.data, c->reply.len);
        return;
    }
    struct nu_buf b;
    nu_buf_init(&b, SIM_RPC_REPLY_MAX);
    int rc = nu_buf_putc(&b, '[');
    for (size_t i = 0; i < ex->ncalls && rc == 0; i++) {
        if (i)
            rc = nu_buf_putc(&b, ',');
        rc = rc ? rc : nu_buf_append(&b, ex->calls[i].reply.data, ex->calls[i].reply.len);
    }
    rc = rc ? rc : nu_buf_putc(&b, ']');
    if (rc == 0)
        rpc_exchange_answer(ex, 200, "application/json", b.data, b.len);
    else
        rpc_exchange_answer(ex, 500, "application/json", "", 0);
    nu_buf_release(&b);
}

static int alloc_calls(struct rpc_exchange *ex, size_t n)
{
    ex->calls = calloc(n, sizeof(*ex->calls));
    if (!ex->calls)
        return NU_ENOMEM;
    ex->ncalls = n;
    for (size_t i = 0; i < n; i++) {
        ex->calls[i].ex = ex;
        ex->calls[i].n = ex->rpc->n;
        nu_buf_init(&ex->calls[i].reply, SIM_RPC_REPLY_MAX);
    }
    return 0;
}

/* One call answering a malformed body (bad JSON, empty or oversized batch). */
static void answer_single_error(struct rpc_exchange *ex, const char *msg)
{
    if (alloc_calls(ex, 1) != 0) {
        rpc_exchange_answer(ex, 500, "application/json", "", 0);
        return;
    }
    struct rpc_call *c = &ex->calls[0];
    c->start_ns = nu_mono_ns();
    c->method = "";
    snprintf(c->label, sizeof(c->label), "UNSUPPORTED_METHOD");
    rpc_call_fail(c, rpc_err_parse(msg), 400);
}

/* Members written in the text of each request object: the top-level object
 * (counts[0]) or each element of a top-level array (counts[i]), counted as
 * the colons at that object's own depth. jansson keeps the last of repeated
 * keys, so fewer members in the parsed object than in its text means a
 * repeated key. The text is valid JSON (jansson parsed it). */
static void count_members(const char *p, size_t len, size_t *counts, size_t max)
{
    int depth = 0;
    bool array = len > 0 && p[0] == '[', in_str = false;
    size_t elem = 0;
    int own = array ? 2 : 1; /* depth inside a request object */
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"')
            in_str = true;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']')
            depth--;
        else if (ch == ',' && array && depth == 1)
            elem++;
        else if (ch == ':' && depth == own && elem < max)
            counts[elem]++;
    }
}

/* Marks the calls whose request object repeats a key. */
static void mark_repeated(struct rpc_exchange *ex, const char *body, size_t len)
{
    size_t *counts = calloc(ex->ncalls, sizeof(*counts));
    if (counts == NULL)
        return;
    count_members(body, len, counts, ex->ncalls);
    for (size_t i = 0; i < ex->ncalls; i++) {
        const json_t *req = ex->batch ? json_array_get(ex->doc, i) : ex->doc;
        ex->calls[i].repeated_field = json_is_object(req) && counts[i] > json_object_size(req);
    }
    free(counts);
}

void rpc_exchange_run_body(struct rpc_exchange *ex, const char *body, size_t len)
{
    json_error_t jerr;
    char msg[300];
    ex->doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!ex->doc) {
        snprintf(msg, sizeof(msg), "%s at line %d column %d", jerr.text, jerr.line, jerr.column);
        answer_single_error(ex, msg);
        return;
    }
    if (!json_is_array(ex->doc)) {
        if (alloc_calls(ex, 1) != 0) {
            rpc_exchange_answer(ex, 500, "application/json", "", 0);
            return;
        }
        mark_repeated(ex, body, len);
        dispatch(&ex->calls[0], ex->doc);
        return;
    }
    size_t n = json_array_size(ex->doc);
    if (n == 0 || n > SIM_RPC_MAX_BATCH) {
        snprintf(msg, sizeof(msg), "batch must hold 1 to %d requests", SIM_RPC_MAX_BATCH);
        answer_single_error(ex, msg);
        return;
    }
    ex->batch = true;
    if (alloc_calls(ex, n) != 0) {
        rpc_exchange_answer(ex, 500, "application/json", "", 0);
        return;
    }
    mark_repeated(ex, body, len);
    /* A call may finish the exchange (and free it) when it is the last one,
     * so count dispatched calls before touching ex again. */
    for (size_t i = 0; i < n; i++)
        dispatch(&ex->calls[i], json_array_get(ex->doc, i));
}

int sim_jsonrpc_handle_body(struct sim_node *n, const char *body, size_t len, struct nu_buf *out,
                            int *http_status)
{
    struct rpc_exchange *ex = rpc_exchange_new(n->rpc, NULL);
    if (!ex)
        return NU_ENOMEM;
    ex->sync = true;
    rpc_exchange_run_body(ex, body, len);
    NU_BUG_ON(!ex->answered);
    int rc = nu_buf_append(out, ex->body.data ? ex->body.data : "", ex->body.len);
    *http_status = ex->status;
    rpc_exchange_maybe_free(ex);
    return rc;
}
