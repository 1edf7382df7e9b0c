/* Read-only store over plain HTTP(S): a public bucket or a CDN in front of
 * one. Objects are fetched at <base URL>/<key>; nothing is written and
 * nothing listed (restore needs only `latest`, the manifest and chunks). */
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

static int get_common(struct snap_store *s, const char *method, const char *key,
                      struct snap_http_req *rq, struct snap_http_resp *rs, char *errbuf)
{
    char url[SNAP_URL_MAX + SNAP_KEY_MAX];
    int rc = url_of(s, key, url, sizeof(url), errbuf);
    if (rc < 0)
        return rc;
    rq->method = method;
    rq->url = url;
    s->requests++;
    rc = snap_http_do(s->impl, rq, rs, errbuf);
    return rc < 0 ? rc : snap_http_status_err(rs, key, errbuf);
}

static int http_get(struct snap_store *s, const char *key, size_t max, struct nu_buf *out,
                    char *errbuf)
{
    struct snap_http_req rq = {.out = out, .max = max, .fd = -1};
    struct snap_http_resp rs;
    return get_common(s, "GET", key, &rq, &rs, errbuf);
}

static int http_peek(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
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
    int rc = get_common(s, "GET", key, &rq, &rs, errbuf);
    if (rc == 0)
        *size = rs.status == 206 && rs.range_total != UINT64_MAX ? rs.range_total : rs.received;
    return rc;
}

static int http_head(struct snap_store *s, const char *key, uint64_t *size, char *errbuf)
{
    struct snap_http_req rq = {.fd = -1};
    struct snap_http_resp rs;
    int rc = get_common(s, "HEAD", key, &rq, &rs, errbuf);
    if (rc == 0)
        *size = rs.content_length != UINT64_MAX ? rs.content_length : 0;
    return rc;
}

static int read_only(struct snap_store *s, char *errbuf)
{
    return nu_err_set(errbuf, NU_EPERM, "store %s is read-only (plain HTTP)", s->spec->text);
}

static int http_put(struct snap_store *s, const char *key, const void *data, size_t len,
                    unsigned flags, char *errbuf)
{
    return read_only(s, errbuf);
}

static int http_del(struct snap_store *s, const char *key, char *errbuf)
{
    return read_only(s, errbuf);
}

static int http_list(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud,
                     char *errbuf)
{
    return nu_err_set(errbuf, NU_ESTATE,
                      "store %s is plain HTTP and cannot be listed; use its s3:// address, or "
                      "name a snapshot (--name) or 'latest'",
                      s->spec->text);
}

static void http_free(struct snap_store *s)
{
    snap_http_free(s->impl);
    s->impl = NULL;
}

static const struct snap_store_ops http_ops = {
    .put = http_put,
    .get = http_get,
    .peek = http_peek,
    .head = http_head,
    .list = http_list,
    .del = http_del,
    .free = http_free,
};

int snap_store_http_open(struct snap_store *s, char *errbuf)
{
    struct snap_http *h;
    int rc = snap_http_new(&h, errbuf);
    if (rc < 0)
        return rc;
    s->impl = h;
    s->ops = &http_ops;
    return 0;
}
