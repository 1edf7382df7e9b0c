/* Fast JSON peeks for the request path (see gw_rpcpeek.h).
 *
 * One small recursive-descent scanner validates and walks JSON in place.
 * Objects are walked member by member with an optional hook that sees the
 * key and consumes the value itself, which is how method, id and params are
 * found in a single pass without building a tree. */
#include <stdio.h>
#include <string.h>
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
    for (int i = 0; i < GW_M_OTHER; i++) {
        const char *n = methods[i].name;
        if (n[0] == s[0] && strlen(n) == len && memcmp(n, s, len) == 0)
            return i;
    }
    return GW_M_OTHER;
}

/* ---- scanner ---- */

struct scan {
    const char *base, *p, *end;
    const char *err; /* static message of the first error */
    int depth;
    bool stop; /* a member hook asked to stop early (not an error) */
};

typedef bool (*member_fn)(struct scan *s, const char *key, size_t klen, void *ud);

static bool scan_value(struct scan *s);

static bool fail(struct scan *s, const char *what)
{
    if (!s->err)
        s->err = what;
    return false;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool scan_escape(struct scan *s)
{
    s->p++; /* the backslash */
    if (s->p >= s->end)
        return fail(s, "EOF while parsing a string");
    char c = *s->p;
    if (c == 'u') {
        if (s->end - s->p < 5)
            return fail(s, "EOF while parsing a string");
        for (int i = 1; i <= 4; i++)
            if (!is_hex(s->p[i]))
                return fail(s, "invalid escape");
        s->p += 5;
        return true;
    }
    if (!strchr("\"\\/bfnrt", c) || c == '\0')
        return fail(s, "invalid escape");
    s->p++;
    return true;
}

/* At '"': consumes the string; *content is its raw contents. */
static bool scan_string(struct scan *s, const char **content, size_t *clen, bool *escaped)
{
    const char *start = ++s->p;
    bool esc = false;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            if (content) {
                *content = start;
                *clen = (size_t)(s->p - start);
            }
            if (escaped)
                *escaped = esc;
            s->p++;
            return true;
        }
        if (c < 0x20)
            return fail(s, "control character (\\u0000-\\u001F) found while parsing a string");
        if (c == '\\') {
            esc = true;
            if (!scan_escape(s))
                return false;
            continue;
        }
        s->p++;
    }
    return fail(s, "EOF while parsing a string");
}

static bool scan_digits(struct scan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* Consumes a number; *ival gets it when it is a plain non-negative integer
 * that fits int64 (else -1). */
static bool scan_number(struct scan *s, int64_t *ival)
{
    const char *start = s->p;
    bool simple = true;
    if (*s->p == '-') {
        simple = false;
        s->p++;
    }
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!scan_digits(s))
        return fail(s, "invalid number");
    const char *int_end = s->p;
    if (s->p < s->end && *s->p == '.') {
        simple = false;
        s->p++;
        if (!scan_digits(s))
            return fail(s, "invalid number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        simple = false;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return fail(s, "invalid number");
    }
    if (ival) {
        *ival = -1;
        if (simple && int_end - start <= 18) {
            int64_t v = 0;
            for (const char *q = start; q < int_end; q++)
                v = v * 10 + (*q - '0');
            *ival = v;
        }
    }
    return true;
}

static bool scan_literal(struct scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return fail(s, "expected value");
    s->p += n;
    return true;
}

/* At '{': walks members; fn (or scan_value) consumes each value. */
static bool scan_object(struct scan *s, member_fn fn, void *ud)
{
    if (++s->depth > GW_JSON_MAX_DEPTH)
        return fail(s, "recursion limit exceeded");
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        const char *key;
        size_t klen;
        if (s->p >= s->end)
            return fail(s, "EOF while parsing an object");
        if (*s->p != '"')
            return fail(s, "key must be a string");
        if (!scan_string(s, &key, &klen, NULL))
            return false;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return fail(s, s->p >= s->end ? "EOF while parsing an object" : "expected `:`");
        s->p++;
        skip_ws(s);
        if (!(fn ? fn(s, key, klen, ud) : scan_value(s)))
            return false;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return true;
        }
        return fail(s, s->p >= s->end ? "EOF while parsing an object" : "expected `,` or `}`");
    }
}

/* At '[': consumes the array; *count gets the number of elements. */
static bool scan_array(struct scan *s, size_t *count)
{
    size_t n = 0;
    if (++s->depth > GW_JSON_MAX_DEPTH)
        return fail(s, "recursion limit exceeded");
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        goto out;
    }
    for (;;) {
        if (!scan_value(s))
            return false;
        n++;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            goto out;
        }
        return fail(s, s->p >= s->end ? "EOF while parsing a list" : "expected `,` or `]`");
    }
out:
    if (count)
        *count = n;
    return true;
}

static bool scan_value(struct scan *s)
{
    if (s->p >= s->end)
        return fail(s, "EOF while parsing a value");
    switch (*s->p) {
    case '{':
        return scan_object(s, NULL, NULL);
    case '[':
        return scan_array(s, NULL);
    case '"':
        return scan_string(s, NULL, NULL, NULL);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s, NULL);
        return fail(s, "expected value");
    }
}

static void scan_init(struct scan *s, const char *p, size_t len)
{
    *s = (struct scan){.base = p, .p = p, .end = p + len};
}

/* ---- validation and batches ---- */

static void format_err(const struct scan *s, char *err, size_t errsz)
{
    if (!err || errsz == 0)
        return;
    unsigned line = 1, col = 1;
    for (const char *q = s->base; q < s->p && q < s->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(err, errsz, "%s at line %u column %u", s->err ? s->err : "invalid JSON", line, col);
}

enum gw_body_kind gw_json_check(const char *p, size_t len, size_t *nelems, char *err, size_t errsz)
{
    struct scan s;
    scan_init(&s, p, len);
    skip_ws(&s);
    enum gw_body_kind kind = GW_BODY_OTHER;
    bool ok;
    if (s.p < s.end && *s.p == '[') {
        kind = GW_BODY_ARRAY;
        ok = scan_array(&s, nelems);
    } else {
        if (s.p < s.end && *s.p == '{')
            kind = GW_BODY_OBJECT;
        ok = scan_value(&s);
    }
    if (ok) {
        skip_ws(&s);
        if (s.p == s.end)
            return kind;
        fail(&s, "trailing characters");
    }
    format_err(&s, err, errsz);
    return GW_BODY_INVALID;
}

bool gw_json_array_next(const char *p, size_t len, size_t *cursor, struct gw_span *elem)
{
    struct scan s;
    scan_init(&s, p, len);
    s.p = p + *cursor;
    skip_ws(&s);
    if (*cursor == 0) {
        if (s.p >= s.end || *s.p != '[')
            return false;
        s.p++;
        skip_ws(&s);
    } else if (s.p < s.end && *s.p == ',') {
        s.p++;
        skip_ws(&s);
    }
    if (s.p >= s.end || *s.p == ']')
        return false;
    const char *start = s.p;
    if (!scan_value(&s))
        return false;
    elem->off = (uint32_t)(start - p);
    elem->len = (uint32_t)(s.p - start);
    *cursor = (size_t)(s.p - p);
    return true;
}

/* ---- calls ---- */

struct call_ctx {
    struct gw_call_peek *out;
    const char *method;
    size_t mlen;
    bool method_escaped, have_method;
    const char *params;
    size_t plen;
};

static bool key_is(const char *key, size_t klen, const char *name)
{
    size_t n = strlen(name);
    return klen == n && memcmp(key, name, n) == 0;
}

static bool call_member(struct scan *s, const char *key, size_t klen, void *ud)
{
    struct call_ctx *c = ud;
    const char *start = s->p;
    if (key_is(key, klen, "method") && s->p < s->end && *s->p == '"') {
        c->have_method = true;
        return scan_string(s, &c->method, &c->mlen, &c->method_escaped);
    }
    if (!scan_value(s))
        return false;
    if (key_is(key, klen, "id")) {
        c->out->id.off = (uint32_t)(start - s->base);
        c->out->id.len = (uint32_t)(s->p - start);
    } else if (key_is(key, klen, "params")) {
        c->params = start;
        c->plen = (size_t)(s->p - start);
    }
    return true;
}

/* Sets height/by_hash from a block reference value at s->p. */
static bool block_ref(struct scan *s, struct gw_call_peek *out)
{
    if (s->p < s->end && *s->p == '"') {
        out->by_hash = true;
        return scan_string(s, NULL, NULL, NULL);
    }
    if (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        int64_t v;
        if (!scan_number(s, &v))
            return false;
        out->height = v;
        return true;
    }
    return scan_value(s);
}

static bool params_member(struct scan *s, const char *key, size_t klen, void *ud)
{
    struct gw_call_peek *out = ud;
    if (key_is(key, klen, "block_id"))
        return block_ref(s, out);
    if ((key_is(key, klen, "finality") || key_is(key, klen, "sync_checkpoint")) && s->p < s->end &&
        *s->p == '"') {
        const char *v;
        size_t vlen;
        if (!scan_string(s, &v, &vlen, NULL))
            return false;
        if (key_is(v, vlen, "optimistic"))
            out->finality = GW_FIN_OPTIMISTIC;
        else if (key_is(v, vlen, "near-final"))
            out->finality = GW_FIN_NEAR_FINAL;
        else if (key_is(v, vlen, "final"))
            out->finality = GW_FIN_FINAL;
        else if (key_is(v, vlen, "genesis"))
            out->height = 0; /* older than any GC boundary: archival */
        return true;
    }
    return scan_value(s);
}

/* gas_price, validators and block also take a positional [block_id]. */
static bool positional_ref(int m)
{
    return m == GW_M_GAS_PRICE || m == GW_M_VALIDATORS || m == GW_M_BLOCK;
}

static void peek_params(const char *p, size_t len, struct gw_call_peek *out)
{
    struct scan s;
    scan_init(&s, p, len);
    if (len == 0)
        return;
    if (*p == '{') {
        (void)scan_object(&s, params_member, out);
    } else if (*p == '[' && positional_ref(out->method)) {
        s.p++;
        skip_ws(&s);
        (void)block_ref(&s, out);
    }
}

void gw_rpcpeek_call(const char *p, size_t len, struct gw_call_peek *out)
{
    *out = (struct gw_call_peek){.method = GW_M_OTHER, .height = -1};
    struct scan s;
    scan_init(&s, p, len);
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return;
    struct call_ctx c = {.out = out};
    if (!scan_object(&s, call_member, &c)) {
        out->id.len = 0;
        return;
    }
    if (c.have_method && !c.method_escaped && c.mlen > 0)
        out->method = gw_method_lookup(c.method, c.mlen);
    if (c.params && (gw_method_flags(out->method) & GW_MF_BLOCKREF))
        peek_params(c.params, c.plen, out);
    if (!(gw_method_flags(out->method) & GW_MF_BLOCKREF)) {
        out->height = -1;
        out->by_hash = false;
    }
}

/* ---- replies ---- */

struct reply_ctx {
    struct gw_reply_peek *out;
    const char *name, *cause;
    size_t nlen, clen;
};

static bool cause_member(struct scan *s, const char *key, size_t klen, void *ud)
{
    struct reply_ctx *r = ud;
    if (key_is(key, klen, "name") && s->p < s->end && *s->p == '"')
        return scan_string(s, &r->cause, &r->clen, NULL);
    return scan_value(s);
}

static bool error_member(struct scan *s, const char *key, size_t klen, void *ud)
{
    struct reply_ctx *r = ud;
    if (key_is(key, klen, "name") && s->p < s->end && *s->p == '"')
        return scan_string(s, &r->name, &r->nlen, NULL);
    if (key_is(key, klen, "cause") && s->p < s->end && *s->p == '{')
        return scan_object(s, cause_member, r);
    return scan_value(s);
}

static bool reply_member(struct scan *s, const char *key, size_t klen, void *ud)
{
    struct reply_ctx *r = ud;
    if (key_is(key, klen, "result")) {
        r->out->kind = GW_REPLY_RESULT;
        s->stop = true;
        return false;
    }
    if (key_is(key, klen, "error") && s->p < s->end && *s->p == '{') {
        r->out->kind = GW_REPLY_ERROR;
        return scan_object(s, error_member, r);
    }
    return scan_value(s);
}

static enum gw_cause cause_of(const char *n, size_t len)
{
    if (!n)
        return GW_CAUSE_OTHER;
    if (key_is(n, len, "NOT_SYNCED_YET") || key_is(n, len, "NO_SYNCED_BLOCKS"))
        return GW_CAUSE_NOT_SYNCED;
    if (key_is(n, len, "UNKNOWN_BLOCK") || key_is(n, len, "GARBAGE_COLLECTED_BLOCK"))
        return GW_CAUSE_UNKNOWN_BLOCK;
    if (key_is(n, len, "TIMEOUT_ERROR"))
        return GW_CAUSE_TIMEOUT;
    if (key_is(n, len, "INTERNAL_ERROR"))
        return GW_CAUSE_INTERNAL;
    return GW_CAUSE_OTHER;
}

void gw_rpcpeek_reply(const char *p, size_t len, struct gw_reply_peek *out)
{
    *out = (struct gw_reply_peek){.kind = GW_REPLY_OTHER, .cause = GW_CAUSE_NONE};
    struct scan s;
    scan_init(&s, p, len);
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return;
    struct reply_ctx r = {.out = out};
    bool ok = scan_object(&s, reply_member, &r);
    if (out->kind == GW_REPLY_RESULT && s.stop)
        return;
    if (!ok || out->kind != GW_REPLY_ERROR) {
        out->kind = GW_REPLY_OTHER;
        return;
    }
    out->cause = r.cause ? cause_of(r.cause, r.clen) : cause_of(r.name, r.nlen);
}
