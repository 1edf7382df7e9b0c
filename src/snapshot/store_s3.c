/* S3 and S3-compatible stores, and their read-only, unsigned mode: plain
 * HTTP(S) to a public bucket or a CDN in front of one. Requests go through
 * the blocking HTTP client (httpc.h) on one kept handle per store handle;
 * they are signed with SigV4 by libcurl when credentials are set
 * (unsigned otherwise: public buckets, and always for http(s):// stores).
 * Custom endpoints use path-style URLs (<endpoint>/<bucket>/<key>), AWS
 * itself virtual-hosted ones. S3 has no portable put-if-absent, so it is
 * a HEAD before the PUT, except for chunks (SNAP_PUT_CONTENT_KEY): a
 * chunk's content is its name, so a racing duplicate writes the same
 * bytes, and create has just looked it up; a manifest name is chosen by
 * one creator. A plain HTTP store writes nothing and lists nothing (restore
 * needs only `latest`, the manifest and chunks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "httpc.h"
#include "s3xml.h"
#include "sha256.h"
#include "store.h"
#include "url.h"

#define SECRET_LINE_MAX (SNAP_SECRET_MAX + 64) /* "x-amz-security-token: " + token */

static int url_of(struct snap_store *s, const char *key, char *out, size_t outsz, char *errbuf)
{
    if ((size_t)snprintf(out, outsz, "%s%s", s->spec->base_url, key) >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "URL too long for %s", key);
    return 0;
}

/* What SigV4 needs beside what libcurl computes: the payload hash header
 * (curl 7.88 does not add x-amz-content-sha256, which S3 requires) and a
 * session token. */
struct signing {
    char sha_line[SNAP_SHA256_HEX + 32];
    char token_line[SECRET_LINE_MAX];
    const char *lines[3];
    char provider[128];
};

static void sign(const struct snap_store *s, struct nu_httpc_req *rq, struct signing *g)
{
    const struct snap_store_spec *sp = s->spec;
    char hex[SNAP_SHA256_HEX];
    uint8_t sha[SNAP_SHA256_LEN];
    if (sp->access_key[0] == '\0')
        return; /* unsigned */
    nu_sha256(rq->body != NULL ? rq->body : "", rq->body != NULL ? rq->body_len : 0, sha);
    snap_hex(sha, sizeof(sha), hex);
    size_t n = 0;
    snprintf(g->sha_line, sizeof(g->sha_line), "x-amz-content-sha256: %s", hex);
    g->lines[n++] = g->sha_line;
    if (sp->session_token[0] != '\0') {
        snprintf(g->token_line, sizeof(g->token_line), "x-amz-security-token: %s",
                 sp->session_token);
        g->lines[n++] = g->token_line;
    }
    g->lines[n] = NULL;
    snprintf(g->provider, sizeof(g->provider), "aws:amz:%s:s3", sp->region);
    rq->headers = g->lines;
    rq->sigv4 = g->provider;
    rq->user = sp->access_key;
    rq->password = sp->secret_key;
}

static int request(struct snap_store *s, const char *method, const char *key,
                   struct nu_httpc_req *rq, struct nu_httpc_resp *rs, char *errbuf)
{
    char url[SNAP_URL_MAX + SNAP_KEY_MAX];
    struct signing g;
    int rc = key != NULL ? url_of(s, key, url, sizeof(url), errbuf) : 0;
    if (rc < 0)
        return rc;
    rq->method = method;
    if (key != NULL)
        rq->url = url;
    sign(s, rq, &g);
    s->requests++;
    rc = nu_httpc_do(s->impl, rq, rs, errbuf);
    return rc < 0 ? rc : snap_http_status_err(rs, key != NULL ? key : "listing", errbuf);
}

static int s3_head(struct snap_store *s, const char *key, uint64_t *size, char *errbuf)
{
    struct nu_httpc_req rq = {.fd = -1};
    struct nu_httpc_resp rs;
    int rc = request(s, "HEAD", key, &rq, &rs, errbuf);
    if (rc == 0)
        *size = rs.content_length != UINT64_MAX ? rs.content_length : 0;
    return rc;
}

static int s3_put(struct snap_store *s, const char *key, const void *data, size_t len,
                  unsigned flags, char *errbuf)
{
    struct nu_httpc_req rq = {.fd = -1, .body = data, .body_len = len};
    struct nu_httpc_resp rs;
    uint64_t size;
    if ((flags & SNAP_PUT_IF_ABSENT) && !(flags & SNAP_PUT_CONTENT_KEY)) {
        int rc = s3_head(s, key, &size, errbuf);
        if (rc == 0)
            return nu_err_set(errbuf, NU_EEXIST, "%s already exists in the store", key);
        if (rc != NU_ENOENT)
            return rc;
    }
    return request(s, "PUT", key, &rq, &rs, errbuf);
}

static int s3_get(struct snap_store *s, const char *key, size_t max, struct nu_buf *out,
                  char *errbuf)
{
    struct nu_httpc_req rq = {.out = out, .max = max, .fd = -1};
    struct nu_httpc_resp rs;
    return request(s, "GET", key, &rq, &rs, errbuf);
}

static int s3_peek(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
                   uint64_t *size, char *errbuf)
{
    struct nu_httpc_req rq = {.out = out,
                              .max = len,
                              .truncate_ok = true,
                              .fd = -1,
                              .has_range = true,
                              .range_from = 0,
                              .range_to = len - 1};
    struct nu_httpc_resp rs;
    int rc = request(s, "GET", key, &rq, &rs, errbuf);
    if (rc == 0)
        *size = rs.status == 206 && rs.range_total != UINT64_MAX ? rs.range_total : rs.received;
    return rc;
}

static int s3_del(struct snap_store *s, const char *key, char *errbuf)
{
    struct nu_httpc_req rq = {.fd = -1};
    struct nu_httpc_resp rs;
    int rc = request(s, "DELETE", key, &rq, &rs, errbuf);
    return rc == NU_ENOENT ? 0 : rc;
}

struct list_ctx {
    const struct snap_store_spec *spec;
    snap_list_fn fn;
    void *ud;
};

static int on_object(void *ud, const char *key, uint64_t size, int64_t mtime, const char *etag)
{
    struct list_ctx *l = ud;
    size_t plen = strlen(l->spec->key_prefix);
    if (strncmp(key, l->spec->key_prefix, plen) != 0)
        return 0;
    struct snap_obj_info o = {key + plen, size, mtime, etag};
    return l->fn(l->ud, &o);
}

/* ListObjectsV2, page by page. Query parameters are sorted and encoded
 * here, so the canonical request curl signs is the one S3 computes. */
static int s3_list(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud,
                   char *errbuf)
{
    char full[2 * SNAP_KEY_MAX], enc[6 * SNAP_KEY_MAX], tok[3 * 1024 + 1] = "";
    char url[SNAP_URL_MAX + sizeof(enc) + sizeof(tok) + 64];
    struct list_ctx l = {s->spec, fn, ud};
    struct snap_s3_page page = {.truncated = true};
    struct nu_buf body;
    int rc = 0;
    snprintf(full, sizeof(full), "%s%s", s->spec->key_prefix, prefix);
    if (nu_url_encode(full, false, enc, sizeof(enc)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "listing prefix too long");
    nu_buf_init(&body, SNAP_S3_LIST_MAX);
    while (rc == 0 && page.truncated) {
        snprintf(url, sizeof(url), "%s?%s%s%slist-type=2&prefix=%s", s->spec->bucket_url,
                 tok[0] ? "continuation-token=" : "", tok, tok[0] ? "&" : "", enc);
        struct nu_httpc_req rq = {.url = url, .out = &body, .max = SNAP_S3_LIST_MAX, .fd = -1};
        struct nu_httpc_resp rs;
        nu_buf_reset(&body);
        rc = request(s, "GET", NULL, &rq, &rs, errbuf);
        if (rc == 0)
            rc = snap_s3_parse_list(body.data, body.len, on_object, &l, &page, errbuf);
        if (rc == 0 && page.truncated &&
            nu_url_encode(page.next_token, false, tok, sizeof(tok)) < 0)
            rc = nu_err_set(errbuf, NU_EPARSE, "S3 continuation token too long");
    }
    nu_buf_release(&body);
    return rc;
}

static void s3_free(struct snap_store *s)
{
    nu_httpc_free(s->impl);
    s->impl = NULL;
}

static const struct snap_store_ops s3_ops = {
    .put = s3_put,
    .get = s3_get,
    .peek = s3_peek,
    .head = s3_head,
    .list = s3_list,
    .del = s3_del,
    .free = s3_free,
};

/* ---- the read-only mode (http:// and https:// stores) ---- */

static int read_only(struct snap_store *s, char *errbuf)
{
    return nu_err_set(errbuf, NU_EPERM, "store %s is read-only (plain HTTP)", s->spec->text);
}

static int ro_put(struct snap_store *s, const char *key, const void *data, size_t len,
                  unsigned flags, char *errbuf)
{
    return read_only(s, errbuf);
}

static int ro_del(struct snap_store *s, const char *key, char *errbuf)
{
    return read_only(s, errbuf);
}

static int ro_list(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud,
                   char *errbuf)
{
    return nu_err_set(errbuf, NU_ESTATE,
                      "store %s is plain HTTP and cannot be listed; use its s3:// address, or "
                      "name a snapshot (--name) or 'latest'",
                      s->spec->text);
}

static const struct snap_store_ops http_ops = {
    .put = ro_put,
    .get = s3_get,
    .peek = s3_peek,
    .head = s3_head,
    .list = ro_list,
    .del = ro_del,
    .free = s3_free,
};

int snap_store_s3_open(struct snap_store *s, char *errbuf)
{
    struct nu_httpc *h;
    int rc = nu_httpc_new(&h, errbuf);
    if (rc < 0)
        return rc;
    s->impl = h;
    s->ops = s->spec->kind == SNAP_STORE_HTTP ? &http_ops : &s3_ops;
    return 0;
}
