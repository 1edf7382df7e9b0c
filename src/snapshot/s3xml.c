/* A small, bounded reader for S3's ListObjectsV2 XML and error bodies
 * (see s3xml.h):
 * it looks for the few elements it needs by name and never builds a tree.
 * The input comes from the network, so every copy is bounded and entities
 * other than XML's five and numeric references are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"
#include "s3xml.h"

#define VALUE_MAX 2048

/* Finds "<tag>" in [p, end), returns the start of its content and sets
 * *cend to the matching "</tag>". NULL when absent. */
static const char *find_elem(const char *p, const char *end, const char *tag, const char **cend)
{
    char open[64], close[64];
    int ol = snprintf(open, sizeof(open), "<%s>", tag);
    int cl = snprintf(close, sizeof(close), "</%s>", tag);
    size_t olen = (size_t)ol, clen = (size_t)cl;
    const char *s = memmem(p, (size_t)(end - p), open, olen);
    if (s == NULL)
        return NULL;
    s += olen;
    const char *e = memmem(s, (size_t)(end - s), close, clen);
    if (e == NULL)
        return NULL;
    *cend = e;
    return s;
}

static int decode_entity(const char **pp, const char *end, char *out)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *p = *pp;
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        size_t n = strlen(ents[i].name);
        if ((size_t)(end - p) >= n && memcmp(p, ents[i].name, n) == 0) {
            *out = ents[i].c;
            *pp = p + n;
            return 0;
        }
    }
    if (end - p > 3 && p[1] == '#') {
        char *stop;
        long v = p[2] == 'x' ? strtol(p + 3, &stop, 16) : strtol(p + 2, &stop, 10);
        if (stop < end && *stop == ';' && v >= 0x20 && v < 0x7f) {
            *out = (char)v;
            *pp = stop + 1;
            return 0;
        }
    }
    return NU_EPARSE;
}

/* Copies element text into out, decoding entities. */
static int text(const char *s, const char *e, char *out, size_t outsz)
{
    size_t n = 0;
    while (s < e) {
        char c = *s;
        if (c == '&') {
            if (decode_entity(&s, e, &c) < 0)
                return NU_EPARSE;
        } else {
            s++;
        }
        if (c == '\0' || n + 1 >= outsz)
            return NU_EPARSE;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int elem_text(const char *p, const char *end, const char *tag, char *out, size_t outsz)
{
    const char *e, *s = find_elem(p, end, tag, &e);
    if (s == NULL) {
        out[0] = '\0';
        return NU_ENOENT;
    }
    return text(s, e, out, outsz);
}

/* LastModified ("2026-11-29T00:05:34.000Z") in unix seconds; 0 when it
 * is absent or malformed. */
static int64_t last_modified(const char *s, const char *e)
{
    char text[64];
    int64_t ms;
    if (elem_text(s, e, "LastModified", text, sizeof(text)) != 0 ||
        nu_parse_rfc3339_ms(text, &ms) != 0 || ms < 0)
        return 0;
    return ms / 1000;
}

static int one_object(const char *s, const char *e, snap_s3_obj_fn fn, void *ud, char *errbuf)
{
    char key[VALUE_MAX], size[32], etag[128];
    char *stop;
    if (elem_text(s, e, "Key", key, sizeof(key)) < 0 ||
        elem_text(s, e, "Size", size, sizeof(size)) < 0)
        return nu_err_set(errbuf, NU_EPARSE, "S3 listing: an object without Key or Size");
    unsigned long long sz = strtoull(size, &stop, 10);
    if (*stop != '\0' || size[0] == '\0' || size[0] == '-')
        return nu_err_set(errbuf, NU_EPARSE, "S3 listing: bad Size '%.40s'", size);
    int64_t t = last_modified(s, e);
    if (elem_text(s, e, "ETag", etag, sizeof(etag)) < 0)
        etag[0] = '\0';
    size_t el = strlen(etag);
    if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
        memmove(etag, etag + 1, el - 2);
        etag[el - 2] = '\0';
    }
    return fn(ud, key, (uint64_t)sz, t, etag);
}

int snap_s3_parse_list(const char *xml, size_t len, snap_s3_obj_fn fn, void *ud,
                       struct snap_s3_page *page, char *errbuf)
{
    const char *end = xml + len, *p = xml, *ce;
    char trunc[16];
    memset(page, 0, sizeof(*page));
    if (len > SNAP_S3_LIST_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG, "S3 listing page is too large");
    if (memmem(xml, len, "<ListBucketResult", 17) == NULL)
        return nu_err_set(errbuf, NU_EPARSE, "not an S3 ListObjectsV2 result");
    /* Nested <Contents> would confuse the search; S3 never nests them. */
    const char *s;
    while ((s = find_elem(p, end, "Contents", &ce)) != NULL) {
        int rc = one_object(s, ce, fn, ud, errbuf);
        if (rc != 0)
            return rc;
        page->count++;
        p = ce + strlen("</Contents>");
    }
    if (elem_text(xml, end, "IsTruncated", trunc, sizeof(trunc)) == 0)
        page->truncated = strcmp(trunc, "true") == 0;
    if (page->truncated && elem_text(xml, end, "NextContinuationToken", page->next_token,
                                     sizeof(page->next_token)) < 0)
        return nu_err_set(errbuf, NU_EPARSE,
                          "S3 listing is truncated but has no continuation "
                          "token");
    return 0;
}

/* An error body's element as it is (cut to outsz), "" when absent. */
static void raw_elem(const struct nu_httpc_resp *rs, const char *tag, char *out, size_t outsz)
{
    const char *e, *s = find_elem(rs->err_body, rs->err_body + rs->err_len, tag, &e);
    snprintf(out, outsz, "%.*s", s ? (int)(e - s) : 0, s ? s : "");
}

int snap_http_status_err(const struct nu_httpc_resp *rs, const char *what, char *errbuf)
{
    if (rs->status >= 200 && rs->status < 300)
        return 0;
    int code = rs->status == 404                        ? NU_ENOENT
               : rs->status == 401 || rs->status == 403 ? NU_EPERM
                                                        : NU_EHTTP;
    char s3_code[64], s3_message[256];
    raw_elem(rs, "Code", s3_code, sizeof(s3_code));
    raw_elem(rs, "Message", s3_message, sizeof(s3_message));
    if (s3_code[0] != '\0')
        return nu_err_set(errbuf, code, "%s: HTTP %ld %s: %s", what, rs->status, s3_code,
                          s3_message);
    if (code == NU_EPERM)
        return nu_err_set(errbuf, code,
                          "%s: HTTP %ld: access denied (check the credentials and "
                          "the bucket's policy)",
                          what, rs->status);
    return nu_err_set(errbuf, code, "%s: HTTP %ld", what, rs->status);
}
