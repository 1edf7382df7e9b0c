/* The store interface: STORE text to a spec, and dispatch to the backend
 * (see store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "store.h"

bool snap_key_valid(const char *key)
{
    size_t len = strlen(key), seg = 0;
    if (len == 0 || len >= SNAP_KEY_MAX)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = key[i];
        if (c == '/' || c == '\0') {
            if (seg == 0)
                return false;
            if ((seg == 1 && key[i - 1] == '.') ||
                (seg == 2 && key[i - 1] == '.' && key[i - 2] == '.'))
                return false;
            seg = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
        seg++;
    }
    return true;
}

/* Trims trailing '/' from a prefix and checks its characters. */
static int clean_prefix(const char *in, char *out, size_t outsz, char *errbuf)
{
    size_t len = strlen(in);
    while (len > 0 && in[len - 1] == '/')
        len--;
    while (len > 0 && in[0] == '/') {
        in++;
        len--;
    }
    if (len + 2 > outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "store prefix is too long");
    memcpy(out, in, len);
    out[len] = '\0';
    if (len > 0 && !snap_key_valid(out))
        return nu_err_set(errbuf, NU_EINVAL,
                          "store prefix '%s' may only hold [A-Za-z0-9._-] segments", out);
    if (len > 0) {
        out[len] = '/';
        out[len + 1] = '\0';
    }
    return 0;
}

static const char *endpoint_of(const struct snap_store_opts *o)
{
    const char *e = o != NULL ? o->s3_endpoint : NULL;
    if (e == NULL || *e == '\0')
        e = getenv("AWS_ENDPOINT_URL_S3");
    if (e == NULL || *e == '\0')
        e = getenv("AWS_ENDPOINT_URL");
    return e != NULL && *e != '\0' ? e : NULL;
}

static int parse_s3(const char *rest, const struct snap_store_opts *o, struct snap_store_spec *spec,
                    char *errbuf)
{
    char bucket[256];
    const char *slash = strchr(rest, '/');
    size_t blen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (blen == 0 || blen >= sizeof(bucket))
        return nu_err_set(errbuf, NU_EINVAL, "store %s: expected s3://BUCKET[/PREFIX]", spec->text);
    memcpy(bucket, rest, blen);
    bucket[blen] = '\0';
    for (size_t i = 0; i < blen; i++) {
        char c = bucket[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return nu_err_set(errbuf, NU_EINVAL, "store %s: bad bucket name '%s'", spec->text,
                              bucket);
    }
    int rc = clean_prefix(slash != NULL ? slash + 1 : "", spec->key_prefix,
                          sizeof(spec->key_prefix), errbuf);
    if (rc == 0)
        rc = snap_s3_credentials(spec, errbuf);
    if (rc < 0)
        return rc;
    const char *ep = endpoint_of(o);
    if (ep != NULL) {
        size_t elen = strlen(ep);
        while (elen > 0 && ep[elen - 1] == '/')
            elen--;
        if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
            return nu_err_set(errbuf, NU_EINVAL, "--s3-endpoint %s: expected http(s)://HOST[:PORT]",
                              ep);
        spec->path_style = true;
        snprintf(spec->bucket_url, sizeof(spec->bucket_url), "%.*s/%s/", (int)elen, ep, bucket);
    } else {
        snprintf(spec->bucket_url, sizeof(spec->bucket_url), "https://%s.s3.%s.amazonaws.com/",
                 bucket, spec->region);
    }
    if ((size_t)snprintf(spec->base_url, sizeof(spec->base_url), "%s%s", spec->bucket_url,
                         spec->key_prefix) >= sizeof(spec->base_url))
        return nu_err_set(errbuf, NU_ETOOBIG, "store %s: URL too long", spec->text);
    spec->kind = SNAP_STORE_S3;
    return 0;
}

static int parse_http(const char *text, struct snap_store_spec *spec, char *errbuf)
{
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '/')
        len--;
    if (len + 2 > sizeof(spec->base_url))
        return nu_err_set(errbuf, NU_ETOOBIG, "store %s: URL too long", spec->text);
    if (strchr(text, '?') != NULL || strchr(text, '#') != NULL)
        return nu_err_set(errbuf, NU_EINVAL, "store %s: a store URL has no query or fragment",
                          spec->text);
    snprintf(spec->base_url, sizeof(spec->base_url), "%.*s/", (int)len, text);
    spec->kind = SNAP_STORE_HTTP;
    return 0;
}

int snap_store_spec_parse(const char *text, const struct snap_store_opts *o,
                          struct snap_store_spec *spec, char *errbuf)
{
    memset(spec, 0, sizeof(*spec));
    if (text == NULL || *text == '\0')
        return nu_err_set(errbuf, NU_EINVAL, "no store given");
    if (strlen(text) >= sizeof(spec->text))
        return nu_err_set(errbuf, NU_ETOOBIG, "store name is too long");
    snprintf(spec->text, sizeof(spec->text), "%s", text);
    if (strncmp(text, "s3://", 5) == 0)
        return parse_s3(text + 5, o, spec, errbuf);
    if (strncmp(text, "http://", 7) == 0 || strncmp(text, "https://", 8) == 0)
        return parse_http(text, spec, errbuf);
    const char *path = text;
    if (strncmp(text, "file://", 7) == 0)
        path = text + 7;
    else if (strstr(text, "://") != NULL)
        return nu_err_set(errbuf, NU_EINVAL,
                          "store %s: unknown scheme; use a directory, file://, s3:// or http(s)://",
                          text);
    if (*path == '\0')
        return nu_err_set(errbuf, NU_EINVAL, "store %s: empty path", text);
    spec->kind = SNAP_STORE_DIR;
    return node_abspath(path, spec->root, sizeof(spec->root), errbuf);
}

int snap_store_open(const struct snap_store_spec *spec, struct snap_store **out, char *errbuf)
{
    struct snap_store *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (s == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    s->spec = spec;
    int rc;
    switch (spec->kind) {
    case SNAP_STORE_DIR:
        rc = snap_store_dir_open(s, errbuf);
        break;
    default: /* S3, and HTTP: its read-only, unsigned mode */
        rc = snap_store_s3_open(s, errbuf);
        break;
    }
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void snap_store_free(struct snap_store *s)
{
    if (s == NULL)
        return;
    if (s->ops != NULL && s->ops->free != NULL)
        s->ops->free(s);
    free(s);
}

bool snap_store_writable(const struct snap_store *s)
{
    return s->spec->kind != SNAP_STORE_HTTP;
}

enum snap_store_kind snap_store_kind(const struct snap_store *s)
{
    return s->spec->kind;
}

uint64_t snap_store_requests(const struct snap_store *s)
{
    return s->requests;
}

static int bad_key(const char *key, char *errbuf)
{
    return nu_err_set(errbuf, NU_EINVAL, "invalid store key '%s'", key);
}

int snap_store_put(struct snap_store *s, const char *key, const void *data, size_t len,
                   unsigned flags, char *errbuf)
{
    if (!snap_key_valid(key))
        return bad_key(key, errbuf);
    return s->ops->put(s, key, data, len, flags, errbuf);
}

int snap_store_get(struct snap_store *s, const char *key, size_t max, struct nu_buf *out,
                   char *errbuf)
{
    if (!snap_key_valid(key))
        return bad_key(key, errbuf);
    return s->ops->get(s, key, max, out, errbuf);
}

int snap_store_peek(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
                    uint64_t *size, char *errbuf)
{
    if (!snap_key_valid(key))
        return bad_key(key, errbuf);
    return s->ops->peek(s, key, len, out, size, errbuf);
}

int snap_store_head(struct snap_store *s, const char *key, uint64_t *size, char *errbuf)
{
    if (!snap_key_valid(key))
        return bad_key(key, errbuf);
    return s->ops->head(s, key, size, errbuf);
}

int snap_store_list(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud,
                    char *errbuf)
{
    return s->ops->list(s, prefix, fn, ud, errbuf);
}

int snap_store_delete(struct snap_store *s, const char *key, char *errbuf)
{
    if (!snap_key_valid(key))
        return bad_key(key, errbuf);
    return s->ops->del(s, key, errbuf);
}

int snap_store_sync(struct snap_store *s, char *errbuf)
{
    return s->ops->sync != NULL ? s->ops->sync(s, errbuf) : 0;
}
