/* Fast JSON peeks for the request path (see gw_rpcpeek.h).
 *
 * The scanner (gw_jsonscan.c) validates and walks JSON in place; the member
 * hooks here pick out method, id and params in a single pass without
 * building a tree. Keys and the string values that matter (method,
 * finality, error names) are compared decoded, as neard's serde_json reads
 * them: an escaped spelling is the same name. */
#include <string.h>
#include "gw_jsonscan.h"
#include "gw_rpcpeek.h"

/* ---- method table ---- */

static const struct {
    const char *name;
    unsigned flags;
} methods[GW_NMETHODS] = {
    [GW_M_STATUS] = {"status", 0},
    [GW_M_HEALTH] = {"health", 0},
    [GW_M_NETWORK_INFO] = {"network_info", 0},
    [GW_M_BLOCK] = {"block", GW_MF_BLOCKREF},
    [GW_M_CHUNK] = {"chunk", GW_MF_BLOCKREF},
    [GW_M_GAS_PRICE] = {"gas_price", GW_MF_BLOCKREF},
    [GW_M_VALIDATORS] = {"validators", GW_MF_BLOCKREF},
    [GW_M_QUERY] = {"query", GW_MF_BLOCKREF},
    [GW_M_TX] = {"tx", 0},
    [GW_M_SEND_TX] = {"send_tx", GW_MF_TX},
    [GW_M_BROADCAST_TX_ASYNC] = {"broadcast_tx_async", GW_MF_TX},
    [GW_M_BROADCAST_TX_COMMIT] = {"broadcast_tx_commit", GW_MF_TX},
    [GW_M_LIGHT_CLIENT_PROOF] = {"light_client_proof", 0},
    [GW_M_NEXT_LIGHT_CLIENT_BLOCK] = {"next_light_client_block", 0},
    [GW_M_CLIENT_CONFIG] = {"client_config", 0},
    [GW_M_CHANGES] = {"changes", GW_MF_BLOCKREF},
    [GW_M_BLOCK_EFFECTS] = {"block_effects", GW_MF_BLOCKREF},
    [GW_M_GENESIS_CONFIG] = {"genesis_config", 0},
    [GW_M_MAINTENANCE_WINDOWS] = {"maintenance_windows", 0},
    [GW_M_X_CHANGES] = {"EXPERIMENTAL_changes", GW_MF_BLOCKREF},
    [GW_M_X_CHANGES_IN_BLOCK] = {"EXPERIMENTAL_changes_in_block", GW_MF_BLOCKREF},
    [GW_M_X_CONGESTION_LEVEL] = {"EXPERIMENTAL_congestion_level", GW_MF_BLOCKREF},
    [GW_M_X_GENESIS_CONFIG] = {"EXPERIMENTAL_genesis_config", 0},
    [GW_M_X_LIGHT_CLIENT_PROOF] = {"EXPERIMENTAL_light_client_proof", 0},
    [GW_M_X_LIGHT_CLIENT_BLOCK_PROOF] = {"EXPERIMENTAL_light_client_block_proof", 0},
    [GW_M_X_PROTOCOL_CONFIG] = {"EXPERIMENTAL_protocol_config", GW_MF_BLOCKREF},
    [GW_M_X_RECEIPT] = {"EXPERIMENTAL_receipt", 0},
    [GW_M_X_TX_STATUS] = {"EXPERIMENTAL_tx_status", 0},
    [GW_M_X_VALIDATORS_ORDERED] = {"EXPERIMENTAL_validators_ordered", GW_MF_BLOCKREF},
    [GW_M_X_MAINTENANCE_WINDOWS] = {"EXPERIMENTAL_maintenance_windows", 0},
    [GW_M_X_SPLIT_STORAGE_INFO] = {"EXPERIMENTAL_split_storage_info", 0},
    [GW_M_OTHER] = {"other", 0},
};

const char *gw_method_name(int m)
{
    if (m < 0 || m >= GW_NMETHODS)
        m = GW_M_OTHER;
    return methods[m].name;
}

unsigned gw_method_flags(int m)
{
    return (m < 0 || m >= GW_NMETHODS) ? 0 : methods[m].flags;
}

int gw_method_lookup(const char *s, size_t len)
{
    /* Most traffic is a handful of short names: compare length first. */
    if (len == 0)
        return GW_M_OTHER;
    for (int i = 0; i < GW_M_OTHER; i++) {
        const char *n = methods[i].name;
        if (n[0] == s[0] && strlen(n) == len && memcmp(n, s, len) == 0)
            return i;
    }
    return GW_M_OTHER;
}

/* ---- validation and batches ---- */

enum gw_body_kind gw_json_check(const char *p, size_t len, size_t *nelems, char *err, size_t errsz)
{
    struct gw_scan s;
    gw_scan_init(&s, p, len);
    gw_scan_ws(&s);
    enum gw_body_kind kind = GW_BODY_OTHER;
    bool ok;
    if (s.p < s.end && *s.p == '[') {
        kind = GW_BODY_ARRAY;
        ok = gw_scan_array(&s, nelems);
    } else {
        if (s.p < s.end && *s.p == '{')
            kind = GW_BODY_OBJECT;
        ok = gw_scan_value(&s);
    }
    if (ok) {
        gw_scan_ws(&s);
        if (s.p == s.end)
            return kind;
        gw_scan_fail(&s, "trailing characters");
    }
    gw_scan_format_err(&s, p, err, errsz);
    return GW_BODY_INVALID;
}

bool gw_json_array_next(const char *p, size_t len, size_t *cursor, struct gw_span *elem)
{
    struct gw_scan s;
    gw_scan_init(&s, p, len);
    s.p = p + *cursor;
    gw_scan_ws(&s);
    if (*cursor == 0) {
        if (s.p >= s.end || *s.p != '[')
            return false;
        s.p++;
        gw_scan_ws(&s);
    } else if (s.p < s.end && *s.p == ',') {
        s.p++;
        gw_scan_ws(&s);
    }
    if (s.p >= s.end || *s.p == ']')
        return false;
    const char *start = s.p;
    if (!gw_scan_value(&s))
        return false;
    elem->off = (uint32_t)(start - p);
    elem->len = (uint32_t)(s.p - start);
    *cursor = (size_t)(s.p - p);
    return true;
}

/* ---- calls ---- */

/* The fields of neard's Request struct. serde refuses a second one
 * ("duplicate field `method`"); unknown fields are neard's to refuse. */
enum { RF_JSONRPC, RF_METHOD, RF_PARAMS, RF_ID, RF_N };
static const char *const request_fields[RF_N] = {"jsonrpc", "method", "params", "id"};
static const char *const duplicate_field[RF_N] = {
    "duplicate field `jsonrpc`", "duplicate field `method`", "duplicate field `params`",
    "duplicate field `id`"};

struct call_ctx {
    struct gw_call_peek *out;
    struct gw_jstr method;
    bool have_method;
    unsigned seen; /* bit per RF_* */
    const char *params;
    size_t plen;
};

static bool call_member(struct gw_scan *s, const struct gw_jstr *key, void *ud)
{
    struct call_ctx *c = ud;
    int f = gw_jstr_find(key, request_fields, RF_N);
    if (f >= 0 && (c->seen & (1u << f)))
        return gw_scan_fail_at(s, key->p + key->len, duplicate_field[f]);
    if (f >= 0)
        c->seen |= 1u << f;
    const char *start = s->p;
    if (f == RF_METHOD && s->p < s->end && *s->p == '"') {
        c->have_method = true;
        return gw_scan_string(s, &c->method);
    }
    if (!gw_scan_value(s))
        return false;
    if (f == RF_ID) {
        c->out->id.off = (uint32_t)(start - s->base);
        c->out->id.len = (uint32_t)(s->p - start);
    } else if (f == RF_PARAMS) {
        c->params = start;
        c->plen = (size_t)(s->p - start);
    }
    return true;
}

/* What the block reference keys said; each key's last occurrence counts,
 * as in neard's params (a serde_json map keeps the last value). */
struct ref_ctx {
    int64_t height; /* block_id as a height, -1 when it is not one */
    bool by_hash;   /* block_id as a hash */
    bool genesis;   /* sync_checkpoint "genesis" */
    uint8_t finality;
};

/* A block_id value at s->p: a height, a hash or neither. */
static bool block_ref(struct gw_scan *s, struct ref_ctx *r)
{
    r->height = -1;
    r->by_hash = false;
    if (s->p < s->end && *s->p == '"') {
        r->by_hash = true;
        return gw_scan_string(s, NULL);
    }
    if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        return gw_scan_number(s, &r->height);
    return gw_scan_value(s);
}

static const char *const ref_keys[] = {"block_id", "finality", "sync_checkpoint"};
static const char *const finalities[] = {"optimistic", "near-final", "final"};

static bool params_member(struct gw_scan *s, const struct gw_jstr *key, void *ud)
{
    struct ref_ctx *r = ud;
    int k = gw_jstr_find(key, ref_keys, 3);
    if (k == 0)
        return block_ref(s, r);
    if (k == 1)
        r->finality = GW_FIN_NONE;
    else if (k == 2)
        r->genesis = false;
    if (k < 0 || s->p >= s->end || *s->p != '"')
        return gw_scan_value(s);
    struct gw_jstr v;
    if (!gw_scan_string(s, &v))
        return false;
    int f = gw_jstr_find(&v, finalities, 3);
    if (k == 1)
        r->finality = f < 0 ? GW_FIN_NONE : (uint8_t)(GW_FIN_OPTIMISTIC + f);
    else
        r->genesis = gw_jstr_is(&v, "genesis"); /* older than any GC boundary: archival */
    return true;
}

/* gas_price, validators and block also take a positional [block_id]. */
static bool positional_ref(int m)
{
    return m == GW_M_GAS_PRICE || m == GW_M_VALIDATORS || m == GW_M_BLOCK;
}

static void peek_params(const char *p, size_t len, struct gw_call_peek *out)
{
    struct ref_ctx r = {.height = -1};
    struct gw_scan s;
    gw_scan_init(&s, p, len);
    if (len == 0)
        return;
    if (*p == '{') {
        (void)gw_scan_object(&s, params_member, &r);
    } else if (*p == '[' && positional_ref(out->method)) {
        s.p++;
        gw_scan_ws(&s);
        if (s.p < s.end && *s.p != ']')
            (void)block_ref(&s, &r);
    }
    out->height = r.height >= 0 ? r.height : r.genesis ? 0 : -1;
    out->by_hash = r.by_hash;
    out->finality = r.finality;
}

static int method_of(const struct gw_jstr *m)
{
    if (!m->esc)
        return gw_method_lookup(m->p, m->len);
    char name[GW_JSTR_NAME_MAX];
    size_t n = gw_jstr_decode(m, name, sizeof(name));
    return n <= sizeof(name) ? gw_method_lookup(name, n) : GW_M_OTHER; /* longer than any */
}

int gw_rpcpeek_call(const char *body, struct gw_span call, struct gw_call_peek *out, char *err,
                    size_t errsz)
{
    *out = (struct gw_call_peek){.method = GW_M_OTHER, .height = -1};
    struct gw_scan s;
    gw_scan_init(&s, body + call.off, call.len);
    gw_scan_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return 0;
    struct call_ctx c = {.out = out};
    if (!gw_scan_object(&s, call_member, &c)) {
        gw_scan_format_err(&s, body, err, errsz);
        *out = (struct gw_call_peek){.method = GW_M_OTHER, .height = -1};
        return NU_EPARSE;
    }
    if (c.have_method)
        out->method = method_of(&c.method);
    if (c.params && (gw_method_flags(out->method) & GW_MF_BLOCKREF))
        peek_params(c.params, c.plen, out);
    return 0;
}

/* ---- replies ---- */

struct reply_ctx {
    struct gw_reply_peek *out;
    struct gw_jstr name, cause;
    bool have_name, have_cause;
};

static bool cause_member(struct gw_scan *s, const struct gw_jstr *key, void *ud)
{
    struct reply_ctx *r = ud;
    if (gw_jstr_is(key, "name") && s->p < s->end && *s->p == '"') {
        r->have_cause = true;
        return gw_scan_string(s, &r->cause);
    }
    return gw_scan_value(s);
}

static bool error_member(struct gw_scan *s, const struct gw_jstr *key, void *ud)
{
    struct reply_ctx *r = ud;
    if (gw_jstr_is(key, "name") && s->p < s->end && *s->p == '"') {
        r->have_name = true;
        return gw_scan_string(s, &r->name);
    }
    if (gw_jstr_is(key, "cause") && s->p < s->end && *s->p == '{')
        return gw_scan_object(s, cause_member, r);
    return gw_scan_value(s);
}

static bool reply_member(struct gw_scan *s, const struct gw_jstr *key, void *ud)
{
    struct reply_ctx *r = ud;
    if (gw_jstr_is(key, "result")) {
        r->out->kind = GW_REPLY_RESULT;
        s->stop = true;
        return false;
    }
    if (gw_jstr_is(key, "error") && s->p < s->end && *s->p == '{') {
        r->out->kind = GW_REPLY_ERROR;
        return gw_scan_object(s, error_member, r);
    }
    return gw_scan_value(s);
}

static const char *const cause_names[] = {"NOT_SYNCED_YET", "NO_SYNCED_BLOCKS",
                                          "UNKNOWN_BLOCK",  "GARBAGE_COLLECTED_BLOCK",
                                          "TIMEOUT_ERROR",  "INTERNAL_ERROR"};
static const enum gw_cause cause_kinds[] = {GW_CAUSE_NOT_SYNCED,    GW_CAUSE_NOT_SYNCED,
                                            GW_CAUSE_UNKNOWN_BLOCK, GW_CAUSE_UNKNOWN_BLOCK,
                                            GW_CAUSE_TIMEOUT,       GW_CAUSE_INTERNAL};

static enum gw_cause cause_of(const struct gw_jstr *n)
{
    int i = gw_jstr_find(n, cause_names, 6);
    return i < 0 ? GW_CAUSE_OTHER : cause_kinds[i];
}

void gw_rpcpeek_reply(const char *p, size_t len, struct gw_reply_peek *out)
{
    *out = (struct gw_reply_peek){.kind = GW_REPLY_OTHER, .cause = GW_CAUSE_NONE};
    struct gw_scan s;
    gw_scan_init(&s, p, len);
    gw_scan_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return;
    struct reply_ctx r = {.out = out};
    bool ok = gw_scan_object(&s, reply_member, &r);
    if (out->kind == GW_REPLY_RESULT && s.stop)
        return;
    if (!ok || out->kind != GW_REPLY_ERROR) {
        out->kind = GW_REPLY_OTHER;
        return;
    }
    out->cause = r.have_cause  ? cause_of(&r.cause)
                 : r.have_name ? cause_of(&r.name)
                               : GW_CAUSE_OTHER;
}
