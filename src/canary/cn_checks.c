/* The checks' requests and what their answers must say (see canary.h);
 * the transfer's steps are cn_transfer.c's. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "canary-int.h"
#include "clock.h"
#include "health.h"
#include "json.h"
#include "jsonrpc.h"

static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

/* The result's block_height (every query answer has it), or null. */
static json_t *block_height(const json_t *r)
{
    int64_t h;
    return nu_json_get_int(r, "block_height", &h) == 0 ? json_integer(h) : json_null();
}

static void end(struct cn_probe *p, json_t *values, bool ok)
{
    p->res.duration_ms = cn_ms_since(p->started_ns);
    p->res.ok = ok;
    json_decref(p->res.values);
    p->res.values = values;
    cn_check_done(p);
}

void cn_probe_ok(struct cn_probe *p, json_t *values)
{
    p->res.error[0] = '\0';
    end(p, values, true);
}

void cn_probe_fail(struct cn_probe *p, json_t *values, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->res.error, sizeof(p->res.error), fmt, ap);
    va_end(ap);
    end(p, values, false);
}

void cn_probe_send(struct cn_probe *p, const char *method, json_t *params, unsigned flags)
{
    p->step_ns = nu_mono_ns();
    if (nu_jsonrpc_request(&p->req, CN_RPC_ID, method, params) != 0) {
        cn_probe_fail(p, NULL, "cannot build the %s request (larger than %u bytes)", method,
                      CN_REQUEST_MAX);
        return;
    }
    nu_hcall_send(&p->call, p->req.data, p->req.len, flags);
}

/* ---- status ---- */

static void read_status(struct cn_probe *p, const json_t *r)
{
    struct health_status st;
    struct health_check c;
    const struct health_limits lim = {.stale_ms = p->cn->cfg.max_block_age_ms};
    health_status_read(r, &st);
    health_classify(&st, -1, nu_real_ms(), &lim, &c);
    json_t *v =
        json_pack("{s:o,s:o,s:o,s:s,s:s,s:o}", "head", int_or_null(st.head), "head_age_ms",
                  int_or_null(c.age_ms), "syncing",
                  st.syncing < 0 ? json_null() : json_boolean(st.syncing), "chain_id", st.chain_id,
                  "version", st.version, "protocol_version", int_or_null(st.protocol));
    if (c.state == HEALTH_OK)
        cn_probe_ok(p, v);
    else
        cn_probe_fail(p, v, "%s", c.reason);
}

/* ---- final_lag ---- */

/* The final block's height: the lag is judged once the heights it is
 * measured against are in (canary.c). */
static void read_final(struct cn_probe *p, const json_t *r, const char *err)
{
    int64_t h = -1;
    p->res.duration_ms = cn_ms_since(p->started_ns);
    if (err == NULL && (nu_json_get_int(r, "header.height", &h) != 0 || h < 0))
        err = "block result has no header.height";
    p->height = err ? -1 : h;
    snprintf(p->res.error, sizeof(p->res.error), "%s", err ? err : "");
    cn_final_fetched(p);
}

void cn_lag_judge(struct cn_canary *cn, struct cn_ep *ep, int64_t ref_height, const char *ref_error)
{
    struct cn_probe *p = &ep->probes[CN_FINAL_LAG];
    const char *against = cn->has_ref ? "the reference's" : "the highest endpoint's";
    int64_t lag = p->height >= 0 && ref_height >= 0 ? ref_height - p->height : -1;
    json_t *v = json_pack("{s:o,s:o,s:o}", "height", int_or_null(p->height), "reference_height",
                          int_or_null(ref_height), "lag",
                          p->height >= 0 && ref_height >= 0 ? json_integer(lag) : json_null());
    p->res.ok = false;
    if (p->res.error[0] == '\0' && ref_height < 0)
        snprintf(p->res.error, sizeof(p->res.error), "reference: %.300s", ref_error);
    else if (p->res.error[0] == '\0' && lag > (int64_t)cn->cfg.max_lag)
        snprintf(p->res.error, sizeof(p->res.error),
                 "final block %lld is %lld blocks behind %s %lld (limit %u)", (long long)p->height,
                 (long long)lag, against, (long long)ref_height, cn->cfg.max_lag);
    else
        p->res.ok = p->res.error[0] == '\0';
    json_decref(p->res.values);
    p->res.values = v;
    cn_check_done(p);
}

/* ---- view_account ---- */

static void read_account(struct cn_probe *p, const json_t *r)
{
    const char *amount = NULL;
    nu_u128 y;
    int rc = nu_json_get_str(r, "amount", &amount);
    json_t *v =
        json_pack("{s:s,s:o,s:o}", "account_id", p->cn->cfg.account_id, "amount",
                  rc == 0 ? json_string(amount) : json_null(), "block_height", block_height(r));
    if (rc != 0)
        cn_probe_fail(p, v, "view_account result has no amount");
    else if (nu_u128_parse(amount, &y) != 0)
        cn_probe_fail(p, v, "view_account amount \"%.60s\" is not a u128", amount);
    else
        cn_probe_ok(p, v);
}

/* ---- call_function ---- */

/* The result's bytes (an array of 0..255) into out; NU_EINVAL otherwise. */
static int result_bytes(const json_t *arr, struct nu_buf *out)
{
    size_t i;
    const json_t *b;
    if (!json_is_array(arr))
        return NU_EINVAL;
    json_array_foreach(arr, i, b)
    {
        json_int_t c = json_integer_value(b);
        if (!json_is_integer(b) || c < 0 || c > 255 || nu_buf_putc(out, (char)c) != 0)
            return NU_EINVAL;
    }
    return 0;
}

static void read_call(struct cn_probe *p, const json_t *r)
{
    const struct cn_call *call = &p->cn->cfg.call;
    const char *error = NULL;
    struct nu_buf bytes;
    nu_buf_init(&bytes, CN_REPLY_MAX);
    int rc = nu_json_get_str(r, "error", &error) == 0
                 ? NU_EPARSE
                 : result_bytes(json_object_get(r, "result"), &bytes);
    json_t *text = rc == 0 ? json_stringn(bytes.data ? bytes.data : "", bytes.len) : NULL;
    json_t *v = json_pack("{s:s,s:s,s:o,s:o,s:o}", "contract", call->contract, "method",
                          call->method, "result", text ? text : json_null(), "result_len",
                          rc == 0 ? json_integer((json_int_t)bytes.len) : json_null(),
                          "block_height", block_height(r));
    if (error != NULL)
        cn_probe_fail(p, v, "%s.%s failed: %.300s", call->contract, call->method, error);
    else if (rc != 0)
        cn_probe_fail(p, v, "call_function result is not an array of bytes");
    else
        cn_probe_ok(p, v);
    nu_buf_release(&bytes);
}

/* ---- answers without a result ---- */

/* The values of a check that got no result: the same keys, unknown
 * values, so every report of a check has one shape. */
static json_t *no_values(const struct cn_probe *p)
{
    const struct cn_config *cfg = &p->cn->cfg;
    switch (p->check) {
    case CN_STATUS:
        return json_pack("{s:n,s:n,s:n,s:n,s:n,s:n}", "head", "head_age_ms", "syncing", "chain_id",
                         "version", "protocol_version");
    case CN_VIEW_ACCOUNT:
        return json_pack("{s:s,s:n,s:n}", "account_id", cfg->account_id, "amount", "block_height");
    default:
        return json_pack("{s:s,s:s,s:n,s:n,s:n}", "contract", cfg->call.contract, "method",
                         cfg->call.method, "result", "result_len", "block_height");
    }
}

/* ---- requests ---- */

static json_t *call_params(const struct cn_call *c)
{
    size_t len = strlen(c->args);
    char b64[CN_ARGS_MAX / 3 * 4 + 8];
    cn_base64((const uint8_t *)c->args, len, b64);
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "request_type", "call_function", "finality", "final",
                     "account_id", c->contract, "method_name", c->method, "args_base64", b64);
}

void cn_check_start(struct cn_probe *p)
{
    const struct cn_config *cfg = &p->cn->cfg;
    json_decref(p->res.values);
    p->res = (struct cn_result){0};
    p->height = -1;
    p->started_ns = p->step_ns = nu_mono_ns();
    switch (p->check) {
    case CN_STATUS:
        cn_probe_send(p, "status", json_array(), NU_HC_REPLAYABLE);
        break;
    case CN_FINAL_LAG:
        cn_probe_send(p, "block", json_pack("{s:s}", "finality", "final"), NU_HC_REPLAYABLE);
        break;
    case CN_VIEW_ACCOUNT:
        cn_probe_send(p, "query",
                      json_pack("{s:s,s:s,s:s}", "request_type", "view_account", "finality",
                                "final", "account_id", cfg->account_id),
                      NU_HC_REPLAYABLE);
        break;
    case CN_CALL_FUNCTION:
        cn_probe_send(p, "query", call_params(&cfg->call), NU_HC_REPLAYABLE);
        break;
    case CN_TRANSFER:
        cn_transfer_start(p);
        break;
    }
}

void cn_on_answer(void *ud, struct nu_hcall *h, const struct nu_hc_resp *r)
{
    struct cn_probe *p = ud;
    char err[NU_ERRMSG_MAX];
    json_t *result = NULL;
    int rc = r->err != NU_HC_OK
                 ? nu_err_set(err, NU_ENET, "%s", h->error)
                 : nu_jsonrpc_result(h->shown, r->status, r->body, r->len, &result, NULL, err);
    if (p->check == CN_TRANSFER)
        cn_transfer_step(p, result, rc ? err : NULL);
    else if (p->check == CN_FINAL_LAG)
        read_final(p, result, rc ? err : NULL);
    else if (rc != 0)
        cn_probe_fail(p, no_values(p), "%s", err);
    else if (p->check == CN_STATUS)
        read_status(p, result);
    else if (p->check == CN_VIEW_ACCOUNT)
        read_account(p, result);
    else
        read_call(p, result);
    json_decref(result);
}
