/* S3 and S3-compatible stores. Requests are signed with SigV4 by libcurl
 * when credentials are set (unsigned otherwise: public buckets). Custom
 * endpoints use path-style URLs (<endpoint>/<bucket>/<key>), AWS itself
 * virtual-hosted ones. S3 has no portable put-if-absent, so it is a HEAD
 * before the PUT: a chunk's content is its name, so a racing duplicate
 * writes the same bytes, and a manifest name is chosen by one creator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snaphttp.h"
#include "store.h"

static int url_of(struct snap_store *s, const char *key, char *out, size_t outsz, char *errbuf)
{
    if ((size_t)snprintf(out, outsz, "%s%s", s->spec->base_url, key) >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "URL too long for %s", key);
    return 0;
}

static void creds(const struct snap_store *s, struct snap_http_req *rq)
{
    rq->region = s->spec->region;
    rq->access_key = s->spec->access_key;
    rq->secret_key = s->spec->secret_key;
    rq->session_token = s->spec->session_token;
}

static int request(struct snap_store *s, const char *method, const char *key,
                   struct snap_http_req *rq, struct snap_http_resp *rs, char *errbuf)
{
    char url[SNAP_URL_MAX + SNAP_KEY_MAX];
    int rc = key != NULL ? url_of(s, key, url, sizeof(url), errbuf) : 0;
    if (rc < 0)
        return rc;
    rq->method = method;
    if (key != NULL)
        rq->url = url;
    creds(s, rq);
    s->requests++;
    rc = snap_http_do(s->impl, rq, rs, errbuf);
    return rc < 0 ? rc : snap_http_status_err(rs, key != NULL ? key : "listing", errbuf);
}

static int s3_head(struct snap_store *s, const char *key, uint64_t *size, char *errbuf)
{
    struct snap_http_req rq = {.fd = -1};
    struct snap_http_resp rs;
    int rc = request(s, "HEAD", key, &rq, &rs, errbuf);
    if (rc == 0)
        *size = rs.content_length != UINT64_MAX ? rs.content_length : 0;
    return rc;
}

static int s3_put(struct snap_store *s, const char *key, const void *data, size_t len,
                  unsigned flags, char *errbuf)
{
    struct snap_http_req rq = {.fd = -1, .body = data, .body_len = len};
    struct snap_http_resp rs;
    uint64_t size;
    if (flags & SNAP_PUT_IF_ABSENT) {
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
    struct snap_http_req rq = {.out = out, .max = max, .fd = -1};
    struct snap_http_resp rs;
    return request(s, "GET", key, &rq, &rs, errbuf);
}

static int s3_peek(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
                   uint64_t *size, char *errbuf)
{
    struct snap_http_req rq = {.out = out,
                               .max = len,
                               .truncate_ok = true,
                               .fd = -1,
                               .has_range = true,
                               .range_from = 0,
                               .range_to = len - 1};
    struct snap_http_resp rs;
    int rc = request(s, "GET", key, &rq, &rs, errbuf);
    if (rc == 0)
        *size = rs.status == 206 && rs.range_total != UINT64_MAX ? rs.range_total : rs.received;
    return rc;
}

static int s3_del(struct snap_store *s, const char *key, char *errbuf)
{
    struct snap_http_req rq = {.fd = -1};
    struct snap_http_resp rs;
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
    if (snap_url_encode(full, false, enc, sizeof(enc)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "listing prefix too long");
    nu_buf_init(&body, SNAP_S3_LIST_MAX);
    while (rc == 0 && page.truncated) {
        snprintf(url, sizeof(url), "%s?%s%s%slist-type=2&prefix=%s", s->spec->bucket_url,
                 tok[0] ? "continuation-token=" : "", tok, tok[0] ? "&" : "", enc);
        struct snap_http_req rq = {.url = url, .out = &body, .max = SNAP_S3_LIST_MAX, .fd = -1};
        struct snap_http_resp rs;
        nu_buf_reset(&body);
        rc = request(s, "GET", NULL, &rq, &rs, errbuf);
        if (rc == 0)
            rc = snap_s3_parse_list(body.data, body.len, on_object, &l, &page, errbuf);
        if (rc == 0 && page.truncated &&
            snap_url_encode(page.next_token, false, tok, sizeof(tok)) < 0)
            rc = nu_err_set(errbuf, NU_EPARSE, "S3 continuation token too long");
    }
    nu_buf_release(&body);
    return rc;
}

static void s3_free(struct snap_store *s)
{
    snap_http_free(s->impl);
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

int snap_store_s3_open(struct snap_store *s, char *errbuf)
{
    struct snap_http *h;
    int rc = snap_http_new(&h, errbuf);
    if (rc < 0)
        return rc;
    s->impl = h;
    s->ops = &s3_ops;
    return 0;
}
