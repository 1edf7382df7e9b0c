/* neard's status reply (see health.h). */
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "json.h"
#include "rfc3339.h"

static void copy_str(char *dst, size_t dstsz, const json_t *obj, const char *path)
{
    const char *s;
    if (nu_json_get_str(obj, path, &s) == 0)
        snprintf(dst, dstsz, "%s", s);
}

static void status_init(struct health_status *st)
{
    memset(st, 0, sizeof(*st));
    st->head = st->earliest = st->protocol = -1;
    st->syncing = -1;
}

void health_status_read(const json_t *r, struct health_status *st)
{
    int64_t v;
    status_init(st);
    bool b;
    const char *t;
    if (nu_json_get_int(r, "sync_info.latest_block_height", &v) == 0 && v >= 0)
        st->head = v;
    if (nu_json_get_int(r, "sync_info.earliest_block_height", &v) == 0 && v >= 0)
        st->earliest = v;
    if (nu_json_get_int(r, "protocol_version", &v) == 0 && v >= 0)
        st->protocol = v;
    if (nu_json_get_bool(r, "sync_info.syncing", &b) == 0)
        st->syncing = b;
    if (nu_json_get_str(r, "sync_info.latest_block_time", &t) == 0) {
        st->has_time = true;
        st->time_ok = nu_parse_rfc3339_ms(t, &st->block_time_ms) == 0;
        snprintf(st->time_text, sizeof(st->time_text), "%s", t);
    }
    copy_str(st->chain_id, sizeof(st->chain_id), r, "chain_id");
    copy_str(st->version, sizeof(st->version), r, "version.version");
    copy_str(st->build, sizeof(st->build), r, "version.build");
}

/* "status answered with JSON-RPC error NAME" from a reply's error object. */
static int rpc_error(const json_t *err, char *errbuf)
{
    const char *name = NULL;
    if (nu_json_get_str(err, "cause.name", &name) != 0 && nu_json_get_str(err, "name", &name) != 0)
        name = "(unnamed)";
    return nu_err_set(errbuf, NU_EPARSE, "status answered with JSON-RPC error %s", name);
}

/* The status result inside root, or NULL with errbuf set. */
static const json_t *find_result(const json_t *root, enum health_reply form, int *rc, char *errbuf)
{
    if (form == HEALTH_REPLY_BARE) {
        if (json_is_object(root))
            return root;
        *rc = nu_err_set(errbuf, NU_EPARSE, "status reply is not an object");
        return NULL;
    }
    const json_t *e = json_object_get(root, "error");
    const json_t *r = json_object_get(root, "result");
    if (e != NULL)
        *rc = rpc_error(e, errbuf);
    else if (!json_is_object(r))
        *rc = nu_err_set(errbuf, NU_EPARSE, "status reply has no result object");
    return *rc == 0 ? r : NULL;
}

int health_status_parse(const char *body, size_t len, enum health_reply form,
                        struct health_status *st, char *errbuf)
{
    char err[NU_ERRMSG_MAX];
    json_t *root = NULL;
    status_init(st);
    if (nu_json_parse("status reply", body, len, false, &root, err) != 0)
        return nu_err_set(errbuf, NU_EPARSE, "malformed status reply: %.400s", err);
    int rc = 0;
    const json_t *r = find_result(root, form, &rc, errbuf);
    if (r != NULL)
        health_status_read(r, st);
    json_decref(root);
    return rc;
}

int health_status_judgeable(const struct health_status *st, char *errbuf)
{
    if (st->head < 0 || st->syncing < 0 || !st->has_time)
        return nu_err_set(errbuf, NU_EPARSE,
                          "status result lacks sync_info.latest_block_height, syncing or "
                          "latest_block_time");
    if (!st->time_ok)
        return nu_err_set(errbuf, NU_EPARSE, "status result has a bad latest_block_time %s",
                          st->time_text);
    return 0;
}
