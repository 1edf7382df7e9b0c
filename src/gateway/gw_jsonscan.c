/* The gateway's in-place JSON scanner (see gw_jsonscan.h).
 *
 * A small recursive-descent scanner over RFC 8259. Objects are walked
 * member by member with an optional hook that sees the decoded-on-demand
 * key and consumes the value itself, which is how the peeks find what they
 * need in a single pass. Error messages follow serde_json's wording, since
 * neard's own parse errors read that way. */
#include <stdio.h>
#include <string.h>
#include "gw_jsonscan.h"
#include "gw_rpcpeek.h"

void gw_scan_init(struct gw_scan *s, const char *p, size_t len)
{
    *s = (struct gw_scan){.base = p, .p = p, .end = p + len};
}

bool gw_scan_fail_at(struct gw_scan *s, const char *at, const char *what)
{
    if (!s->err) {
        s->err = what;
        s->err_at = at;
    }
    return false;
}

bool gw_scan_fail(struct gw_scan *s, const char *what)
{
    return gw_scan_fail_at(s, s->p, what);
}

void gw_scan_ws(struct gw_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* ---- strings ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* At the 'u' of \uXXXX: consumes it into *cp. */
static bool scan_hex4(struct gw_scan *s, unsigned *cp)
{
    if (s->end - s->p < 5)
        return gw_scan_fail_at(s, s->end, "EOF while parsing a string");
    unsigned v = 0;
    for (int i = 1; i <= 4; i++) {
        int d = hex_digit(s->p[i]);
        if (d < 0)
            return gw_scan_fail_at(s, s->p + i, "invalid escape");
        v = v << 4 | (unsigned)d;
    }
    s->p += 5;
    *cp = v;
    return true;
}

/* At a backslash. A leading surrogate must be followed by a \u trailing
 * one, and a trailing one cannot stand alone: serde_json refuses both in a
 * str (its messages are kept, the second one included). */
static bool scan_escape(struct gw_scan *s)
{
    s->p++;
    if (s->p >= s->end)
        return gw_scan_fail(s, "EOF while parsing a string");
    if (*s->p != 'u') {
        if (*s->p == '\0' || !strchr("\"\\/bfnrt", *s->p))
            return gw_scan_fail(s, "invalid escape");
        s->p++;
        return true;
    }
    unsigned cp;
    if (!scan_hex4(s, &cp))
        return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return gw_scan_fail(s, "lone leading surrogate in hex escape");
    if (cp < 0xD800 || cp > 0xDBFF)
        return true;
    if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
        return gw_scan_fail(s, "unexpected end of hex escape");
    s->p++;
    if (!scan_hex4(s, &cp))
        return false;
    if (cp < 0xDC00 || cp > 0xDFFF)
        return gw_scan_fail(s, "lone leading surrogate in hex escape");
    return true;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), 0
 * when there is none: RFC 3629, no overlong forms, no surrogates, nothing
 * above U+10FFFF (what Rust's str and jansson accept). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* Bytes that stand for themselves in a string: printable ASCII but the
 * quote and the backslash. Most string bytes are; one load tells. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xA0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xB0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xC0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xD0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xE0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xF0 */
};

bool gw_scan_string(struct gw_scan *s, struct gw_jstr *j)
{
    const char *start = ++s->p;
    bool esc = false;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (plain[c]) {
            s->p++;
            continue;
        }
        if (c == '"') {
            if (j)
                *j = (struct gw_jstr){.p = start, .len = (size_t)(s->p - start), .esc = esc};
            s->p++;
            return true;
        }
        if (c == '\\') {
            esc = true;
            if (!scan_escape(s))
                return false;
        } else if (c < 0x20) {
            return gw_scan_fail(s,
                                "control character (\\u0000-\\u001F) found while parsing a string");
        } else {
            size_t n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end);
            if (n == 0)
                return gw_scan_fail(s, "invalid unicode code point");
            s->p += n;
        }
    }
    return gw_scan_fail(s, "EOF while parsing a string");
}

/* ---- decoding ---- */

static char simple_escape(char c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c; /* '"', '\\', '/' */
    }
}

static unsigned hex4_at(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 4 | (unsigned)hex_digit(p[i]);
    return v;
}

static size_t put_utf8(char *out, size_t outsz, size_t n, unsigned cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    for (size_t i = 0; i < k; i++, n++)
        if (n < outsz)
            out[n] = (char)b[i];
    return n;
}

size_t gw_jstr_decode(const struct gw_jstr *j, char *out, size_t outsz)
{
    const char *p = j->p, *end = j->p + j->len;
    size_t n = 0;
    while (p < end && n <= outsz) {
        if (*p != '\\') {
            if (n < outsz)
                out[n] = *p;
            n++;
            p++;
            continue;
        }
        if (p[1] != 'u') {
            if (n < outsz)
                out[n] = simple_escape(p[1]);
            n++;
            p += 2;
            continue;
        }
        unsigned cp = hex4_at(p + 2);
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* the scanner saw the trailing half */
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4_at(p + 2) - 0xDC00);
            p += 6;
        }
        n = put_utf8(out, outsz, n, cp);
    }
    return n;
}

bool gw_jstr_is(const struct gw_jstr *j, const char *name)
{
    return gw_jstr_find(j, &name, 1) == 0;
}

int gw_jstr_find(const struct gw_jstr *j, const char *const *names, int n)
{
    char buf[GW_JSTR_NAME_MAX];
    const char *s = j->p;
    size_t len = j->len;
    if (j->esc) {
        len = gw_jstr_decode(j, buf, sizeof(buf));
        if (len > sizeof(buf))
            return -1;
        s = buf;
    }
    if (len == 0)
        return -1; /* no name is empty */
    for (int i = 0; i < n; i++)
        if (names[i][0] == s[0] && strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return i;
    return -1;
}

/* ---- other values ---- */

static bool scan_digits(struct gw_scan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

bool gw_scan_number(struct gw_scan *s, int64_t *ival)
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
        return gw_scan_fail(s, "invalid number");
    const char *int_end = s->p;
    if (s->p < s->end && *s->p == '.') {
        simple = false;
        s->p++;
        if (!scan_digits(s))
            return gw_scan_fail(s, "invalid number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        simple = false;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return gw_scan_fail(s, "invalid number");
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

static bool scan_literal(struct gw_scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return gw_scan_fail(s, "expected value");
    s->p += n;
    return true;
}

/* After a member or element: true at `,` (consumed), false at the closer
 * (consumed, *done set) or on an error. */
static bool next_item(struct gw_scan *s, char closer, const char *eof_msg, const char *bad_msg,
                      bool *done)
{
    gw_scan_ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        gw_scan_ws(s);
        return true;
    }
    if (s->p < s->end && *s->p == closer) {
        s->p++;
        s->depth--;
        *done = true;
        return false;
    }
    return gw_scan_fail(s, s->p >= s->end ? eof_msg : bad_msg);
}

static bool scan_member(struct gw_scan *s, gw_member_fn fn, void *ud)
{
    struct gw_jstr key;
    if (s->p >= s->end)
        return gw_scan_fail(s, "EOF while parsing an object");
    if (*s->p != '"')
        return gw_scan_fail(s, "key must be a string");
    if (!gw_scan_string(s, &key))
        return false;
    gw_scan_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return gw_scan_fail(s, s->p >= s->end ? "EOF while parsing an object" : "expected `:`");
    s->p++;
    gw_scan_ws(s);
    return fn ? fn(s, &key, ud) : gw_scan_value(s);
}

bool gw_scan_object(struct gw_scan *s, gw_member_fn fn, void *ud)
{
    if (++s->depth > GW_JSON_MAX_DEPTH)
        return gw_scan_fail(s, "recursion limit exceeded");
    s->p++;
    gw_scan_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return true;
    }
    bool done = false;
    for (;;) {
        if (!scan_member(s, fn, ud))
            return false;
        if (!next_item(s, '}', "EOF while parsing an object", "expected `,` or `}`", &done))
            return done;
    }
}

bool gw_scan_array(struct gw_scan *s, size_t *count)
{
    size_t n = 0;
    if (++s->depth > GW_JSON_MAX_DEPTH)
        return gw_scan_fail(s, "recursion limit exceeded");
    s->p++;
    gw_scan_ws(s);
    bool done = false;
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        done = true;
    }
    while (!done) {
        if (!gw_scan_value(s))
            return false;
        n++;
        if (!next_item(s, ']', "EOF while parsing a list", "expected `,` or `]`", &done) && !done)
            return false;
    }
    if (count)
        *count = n;
    return true;
}

bool gw_scan_value(struct gw_scan *s)
{
    if (s->p >= s->end)
        return gw_scan_fail(s, "EOF while parsing a value");
    switch (*s->p) {
    case '{':
        return gw_scan_object(s, NULL, NULL);
    case '[':
        return gw_scan_array(s, NULL);
    case '"':
        return gw_scan_string(s, NULL);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return gw_scan_number(s, NULL);
        return gw_scan_fail(s, "expected value");
    }
}

void gw_scan_format_err(const struct gw_scan *s, const char *text, char *err, size_t errsz)
{
    if (!err || errsz == 0)
        return;
    const char *at = s->err_at ? s->err_at : s->p;
    unsigned line = 1, col = 1;
    for (const char *q = text; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(err, errsz, "%s at line %u column %u", s->err ? s->err : "invalid JSON", line, col);
}
