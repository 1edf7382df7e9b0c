/* Differential libFuzzer target: the gateway's reading of a request body
 * (gw_json_check, gw_json_array_next, gw_rpcpeek_call) against a full
 * jansson decode of the same bytes. The input is the POST / body as is.
 *
 * The reference is jansson with JSON_DECODE_ANY | JSON_ALLOW_NUL |
 * JSON_DECODE_INT_AS_REAL and without JSON_REJECT_DUPLICATES, which reads
 * JSON the way neard's serde_json does: escapes and surrogate pairs
 * decoded, lone surrogates and invalid UTF-8 refused, \u0000 allowed, a
 * repeated key's last value kept (serde_json's map). The request's own
 * fields are walked member by member in the text, each key and value
 * decoded by jansson (JSON_DISABLE_EOF_CHECK gives where it stopped), so
 * a repeated jsonrpc/method/params/id is seen as serde's derived Request
 * sees it. The two must agree:
 *  - jansson refuses the body => the gateway refuses it;
 *  - the gateway refuses a body jansson reads => the nesting is deeper
 *    than GW_JSON_MAX_DEPTH;
 *  - every call: the gateway refuses it exactly when it repeats one of the
 *    request fields (naming the first repeat); otherwise method (decoded
 *    name looked up among gw_method_name()), id (the same value, same
 *    bytes), and for block-reference methods height, by_hash and finality
 *    from the last block_id / finality / sync_checkpoint.
 * A raw NUL byte is never valid JSON: the gateway must refuse it (jansson
 * takes "4\0" for 4, so it is not asked).
 * Two jansson refusals give no reference and are skipped: a number beyond
 * double range ("real number overflow"; serde refuses it too, the gateway
 * forwards it and neard answers the parse error) and a \u0000 inside an
 * object key (serde reads it, jansson cannot). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_rpcpeek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* ---- walking the text with jansson ---- */

struct text {
    const char *p;
    size_t len;
};

/* The byte at i, NUL past the end. */
static char at(struct text t, size_t i)
{
    return i < t.len ? t.p[i] : '\0';
}

static size_t skip_ws(struct text t, size_t i)
{
    while (at(t, i) == ' ' || at(t, i) == '\t' || at(t, i) == '\r' || at(t, i) == '\n')
        i++;
    return i;
}

/* Decodes the value at t.p[*i] (after whitespace); *i moves past it and
 * *start gets where it began. Caller owns the result. */
static json_t *value_at(struct text t, size_t *i, size_t *start)
{
    json_error_t e;
    *i = skip_ws(t, *i);
    *start = *i;
    json_t *v = json_loadb(t.p + *i, t.len - *i, REF_FLAGS | JSON_DISABLE_EOF_CHECK, &e);
    CHECK(v != NULL); /* the whole body decoded, so each part does */
    *i += (size_t)e.position;
    return v;
}

struct member {
    json_t *key; /* a string */
    json_t *val;
    size_t voff, vlen; /* the value's bytes in the walked text */
};

typedef void (*member_cb)(const struct member *m, void *ud);

/* Calls cb for each member of the object t holds (first byte '{'). */
static void walk_object(struct text t, member_cb cb, void *ud)
{
    size_t i = skip_ws(t, 0), s;
    CHECK(at(t, i) == '{');
    i = skip_ws(t, i + 1);
    if (at(t, i) == '}')
        return;
    for (;;) {
        struct member m;
        m.key = value_at(t, &i, &s);
        CHECK(json_is_string(m.key));
        i = skip_ws(t, i);
        CHECK(at(t, i) == ':');
        i++;
        m.val = value_at(t, &i, &m.voff);
        m.vlen = i - m.voff;
        cb(&m, ud);
        json_decref(m.key);
        json_decref(m.val);
        i = skip_ws(t, i);
        if (at(t, i) == '}')
            return;
        CHECK(at(t, i) == ',');
        i++;
    }
}

static bool key_is(const json_t *key, const char *name)
{
    size_t n = strlen(name);
    return json_string_length(key) == n && memcmp(json_string_value(key), name, n) == 0;
}

static size_t depth_of(const json_t *v)
{
    size_t d = 0, i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            size_t c = depth_of(x);
            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
        {
            size_t c = depth_of(x);
            d = c > d ? c : d;
        }
        return d + 1;
    }
    return 0;
}

/* ---- the reference reading of one call ---- */

static const char *const fields[] = {"jsonrpc", "method", "params", "id"};

struct ref_call {
    struct text t;
    unsigned seen;
    const char *dup; /* first repeated field, in text order */
    json_t *method, *id;
    size_t id_off, id_len, params_off, params_len;
    bool have_params;
};

static void call_member(const struct member *m, void *ud)
{
    struct ref_call *r = ud;
    for (unsigned f = 0; f < 4; f++) {
        if (!key_is(m->key, fields[f]))
            continue;
        if ((r->seen & (1u << f)) && !r->dup)
            r->dup = fields[f];
        r->seen |= 1u << f;
        if (f == 1) {
            json_decref(r->method);
            r->method = json_incref(m->val);
        } else if (f == 2) {
            r->have_params = true;
            r->params_off = m->voff;
            r->params_len = m->vlen;
        } else if (f == 3) {
            json_decref(r->id);
            r->id = json_incref(m->val);
            r->id_off = m->voff;
            r->id_len = m->vlen;
        }
    }
}

struct ref_block {
    struct text t;
    int64_t height; /* of the last block_id */
    bool by_hash, genesis;
    uint8_t finality;
};

/* A block_id: a height when its literal is digits only, at most 18. */
static void block_id(struct ref_block *b, const json_t *v, const char *lit, size_t len)
{
    b->height = -1;
    b->by_hash = json_is_string(v);
    if (!json_is_number(v) || len > 18 || len == 0)
        return;
    int64_t h = 0;
    for (size_t i = 0; i < len; i++) {
        if (lit[i] < '0' || lit[i] > '9')
            return;
        h = h * 10 + (lit[i] - '0');
    }
    b->height = h;
}

static uint8_t finality_of(const json_t *v)
{
    static const char *const names[] = {"optimistic", "near-final", "final"};
    for (unsigned i = 0; i < 3 && json_is_string(v); i++)
        if (key_is(v, names[i]))
            return (uint8_t)(GW_FIN_OPTIMISTIC + i);
    return GW_FIN_NONE;
}

static void params_member(const struct member *m, void *ud)
{
    struct ref_block *b = ud;
    if (key_is(m->key, "block_id"))
        block_id(b, m->val, b->t.p + m->voff, m->vlen);
    else if (key_is(m->key, "finality"))
        b->finality = finality_of(m->val);
    else if (key_is(m->key, "sync_checkpoint"))
        b->genesis = json_is_string(m->val) && key_is(m->val, "genesis");
}

static int method_index(const json_t *m)
{
    if (!json_is_string(m))
        return GW_M_OTHER;
    for (int i = 0; i < GW_M_OTHER; i++)
        if (key_is(m, gw_method_name(i)))
            return i;
    return GW_M_OTHER;
}

static void check_block(const struct gw_call_peek *pk, const struct ref_call *r)
{
    struct ref_block b = {.height = -1};
    if (r->have_params && (gw_method_flags(pk->method) & GW_MF_BLOCKREF)) {
        struct text pt = {r->t.p + r->params_off, r->params_len};
        b.t = pt;
        bool positional = pk->method == GW_M_GAS_PRICE || pk->method == GW_M_VALIDATORS ||
                          pk->method == GW_M_BLOCK;
        if (pt.p[0] == '{') {
            walk_object(pt, params_member, &b);
        } else if (pt.p[0] == '[' && positional) {
            size_t i = skip_ws(pt, 1), s;
            if (at(pt, i) != ']') {
                json_t *v = value_at(pt, &i, &s);
                block_id(&b, v, pt.p + s, i - s);
                json_decref(v);
            }
        }
    }
    CHECK(pk->height == (b.height >= 0 ? b.height : b.genesis ? 0 : -1));
    CHECK(pk->by_hash == b.by_hash);
    CHECK(pk->finality == b.finality);
}

static void check_call(const char *body, struct gw_span sp)
{
    struct gw_call_peek pk;
    char err[256];
    int rc = gw_rpcpeek_call(body, sp, &pk, err, sizeof(err));
    struct ref_call r = {.t = {body + sp.off, sp.len}};
    if (body[sp.off] != '{') {
        CHECK(rc == 0 && pk.method == GW_M_OTHER && pk.id.len == 0 && pk.height == -1);
        return;
    }
    walk_object(r.t, call_member, &r);
    if (r.dup) {
        char want[64];
        snprintf(want, sizeof(want), "duplicate field `%s` at line ", r.dup);
        CHECK(rc == NU_EPARSE && strncmp(err, want, strlen(want)) == 0);
        goto out;
    }
    CHECK(rc == 0);
    CHECK(pk.method == method_index(r.method));
    if (!r.id) {
        CHECK(pk.id.len == 0);
    } else {
        CHECK(pk.id.off == r.id_off && pk.id.len == r.id_len);
        json_t *id = json_loadb(r.t.p + pk.id.off, pk.id.len, REF_FLAGS, NULL);
        CHECK(id && json_equal(id, r.id));
        json_decref(id);
    }
    check_block(&pk, &r);
out:
    json_decref(r.method);
    json_decref(r.id);
}

/* ---- the body ---- */

static bool has_duplicate_keys(const char *body, size_t len)
{
    json_error_t e;
    json_t *v = json_loadb(body, len, REF_FLAGS | JSON_REJECT_DUPLICATES, &e);
    json_decref(v);
    return v == NULL;
}

static void check_batch(const char *body, size_t len, const json_t *doc, size_t n)
{
    struct text t = {body, len};
    size_t cursor = 0, k = 0, i = skip_ws(t, 0) + 1, start;
    struct gw_span sp;
    CHECK(n == json_array_size(doc));
    while (gw_json_array_next(body, len, &cursor, &sp)) {
        CHECK(k < n);
        i = skip_ws(t, i);
        if (k > 0) {
            CHECK(at(t, i) == ',');
            i++;
        }
        json_t *v = value_at(t, &i, &start);
        CHECK(sp.off == start && sp.len == i - start);
        CHECK(json_equal(v, json_array_get(doc, k)));
        json_decref(v);
        check_call(body, sp);
        k++;
    }
    CHECK(k == n);
}

static void check_body(const char *body, size_t len)
{
    size_t n = 0;
    char err[256];
    json_error_t jerr;
    enum gw_body_kind kind = gw_json_check(body, len, &n, err, sizeof(err));
    if (memchr(body, '\0', len)) { /* never valid JSON; jansson takes "4\0" for 4 */
        CHECK(kind == GW_BODY_INVALID);
        return;
    }
    json_t *doc = json_loadb(body, len, REF_FLAGS, &jerr);
    if (!doc) {
        if (strstr(jerr.text, "real number overflow") ||
            strstr(jerr.text, "NUL byte in object key"))
            return; /* no reference reading (see the top) */
        CHECK(kind == GW_BODY_INVALID);
        return;
    }
    size_t depth = depth_of(doc);
    if (kind == GW_BODY_INVALID) {
        CHECK(strstr(err, "recursion limit exceeded") &&
              (depth > GW_JSON_MAX_DEPTH || has_duplicate_keys(body, len)));
        goto out;
    }
    CHECK(depth <= GW_JSON_MAX_DEPTH);
    if (json_is_array(doc)) {
        CHECK(kind == GW_BODY_ARRAY);
        check_batch(body, len, doc, n);
    } else {
        CHECK(kind == (json_is_object(doc) ? GW_BODY_OBJECT : GW_BODY_OTHER));
        struct text t = {body, len};
        struct gw_span all = {(uint32_t)skip_ws(t, 0), 0};
        size_t i = 0, start;
        json_decref(value_at(t, &i, &start));
        all.len = (uint32_t)(i - start);
        check_call(body, all);
    }
out:
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    /* a copy of exactly size bytes, so ASan sees any read past the body */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    check_body(body, size);
    free(body);
    return 0;
}
