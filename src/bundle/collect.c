/* Members from a file or a URL (bundle-int.h): bounded reads, key files
 * refused by their real name, JSON kept as JSON when it parses. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle-int.h"
#include "httpc.h"
#include "json.h"

/* Adds data as JSON when as_json and it parses, else as text with a note
 * saying why it is not JSON. */
static int add_data(struct bundle_ar *ar, const char *name, const char *source, const char *data,
                    size_t len, bool as_json, char *errbuf)
{
    char err[NU_ERRMSG_MAX];
    json_t *v = NULL;
    if (!as_json)
        return bundle_ar_add(ar, name, source, data, len, NULL, errbuf);
    if (nu_json_parse(name, data, len, true, &v, err) == 0)
        return bundle_ar_add_json(ar, name, source, v, errbuf);
    return bundle_ar_add(ar, name, source, data, len, json_pack("{s:s}", "not_json", err), errbuf);
}

/* True when path, its symlinks resolved, names a key file: such a file
 * is never opened, whatever name points at it. */
static bool is_key_file(const char *path, char *real, size_t realsz)
{
    char *r = realpath(path, NULL);
    if (r == NULL)
        return false;
    snprintf(real, realsz, "%s", r);
    free(r);
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", real);
    return bundle_key_file_name(basename(copy));
}

int bundle_add_file(struct bundle_ar *ar, const char *name, const char *path, size_t max,
                    bool as_json, char *errbuf)
{
    char err[NU_ERRMSG_MAX], real[PATH_MAX] = "", why[96];
    if (is_key_file(path, real, sizeof(real))) {
        bundle_ar_omit(ar, name, path, "a key file: never read");
        return 0;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = nu_fs_read_file(path, max, &data, &len, err);
    if (rc == NU_ENOENT) {
        bundle_ar_omit(ar, name, path, "absent");
        return 0;
    }
    if (rc == NU_ETOOBIG) {
        snprintf(why, sizeof(why), "larger than %zu bytes (its limit)", max);
        bundle_ar_omit(ar, name, path, why);
        return 0;
    }
    if (rc < 0) {
        bundle_ar_fail(ar, name, path, err);
        return 0;
    }
    rc = add_data(ar, name, path, data, len, as_json, errbuf);
    free(data);
    return rc;
}

static int cancelled(void *ud, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    return bundle_ar_cancelled(ud);
}

int bundle_http_get(const struct bundle_ar *ar, const char *url, size_t max, struct nu_buf *body,
                    char *errbuf)
{
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.connect_timeout_ms = BUNDLE_HTTP_CONNECT_MS;
    o.timeout_ms = BUNDLE_HTTP_TIMEOUT_MS;
    o.max_bytes = max;
    o.progress = cancelled;
    o.progress_ud = (void *)ar;
    long status = 0;
    int rc = nu_http_get(url, &o, body, &status, errbuf);
    if (rc == NU_ETOOBIG)
        rc = nu_err_set(errbuf, rc, "GET %s: larger than %zu bytes (its limit)", url, max);
    return rc;
}

int bundle_add_url(struct bundle_ar *ar, const char *name, const char *url, size_t max,
                   bool as_json, char *errbuf)
{
    char err[NU_ERRMSG_MAX];
    struct nu_buf body;
    nu_buf_init(&body, max);
    int rc = bundle_http_get(ar, url, max, &body, err);
    if (bundle_ar_cancelled(ar)) {
        rc = nu_err_set(errbuf, NU_ESTATE, "interrupted");
    } else if (rc < 0) {
        bundle_ar_fail(ar, name, url, err);
        rc = 0;
    } else {
        rc = add_data(ar, name, url, body.data, body.len, as_json, errbuf);
    }
    nu_buf_release(&body);
    return rc;
}
