/* A small, bounded reader for S3's ListObjectsV2 XML and error bodies:
 * it looks for the few elements it needs by name and never builds a tree.
 * The input comes from the network, so every copy is bounded and entities
 * other than XML's five and numeric references are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snaphttp.h"
#include "store.h"

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

int64_t snap_s3_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
        return -1;
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    return (int64_t)timegm(&tm);
}

static int one_object(const char *s, const char *e, snap_s3_obj_fn fn, void *ud, char *errbuf)
{
    char key[VALUE_MAX], size[32], mtime[64], etag[128];
    char *stop;
    if (elem_text(s, e, "Key", key, sizeof(key)) < 0 ||
        elem_text(s, e, "Size", size, sizeof(size)) < 0)
        return nu_err_set(errbuf, NU_EPARSE, "S3 listing: an object without Key or Size");
    unsigned long long sz = strtoull(size, &stop, 10);
    if (*stop != '\0' || size[0] == '\0' || size[0] == '-')
        return nu_err_set(errbuf, NU_EPARSE, "S3 listing: bad Size '%.40s'", size);
    int64_t t =
        elem_text(s, e, "LastModified", mtime, sizeof(mtime)) == 0 ? snap_s3_parse_time(mtime) : 0;
    if (elem_text(s, e, "ETag", etag, sizeof(etag)) < 0)
        etag[0] = '\0';
    size_t el = strlen(etag);
    if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
        memmove(etag, etag + 1, el - 2);
        etag[el - 2] = '\0';
    }
    return fn(ud, key, (uint64_t)sz, t < 0 ? 0 : t, etag);
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
