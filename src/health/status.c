/* neard's status reply and its RFC 3339 block time (see health.h). */
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "json.h"

/* n decimal digits at *p (advanced); -1 when any is not a digit. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -1;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    return v;
}

/* Consumes sep at *p; false when it is not there. */
static bool expect(const char **p, const char *seps)
{
    if (**p == '\0' || strchr(seps, **p) == NULL)
        return false;
    (*p)++;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), counted in eras of
 * 400 years (146097 days) from 0000-03-01 so February ends each year. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "[.digits]" into ms (first three digits); false on a '.' without digits. */
static bool fraction_ms(const char **p, int64_t *ms)
{
    *ms = 0;
    if (**p != '.')
        return true;
    (*p)++;
    if (**p < '0' || **p > '9')
        return false;
    for (int64_t unit = 100; **p >= '0' && **p <= '9'; (*p)++, unit /= 10)
        *ms += (**p - '0') * unit;
    return true;
}

/* "Z" or "+hh:mm" / "-hh:mm" into minutes east of UTC. */
static bool utc_offset(const char **p, int64_t *minutes)
{
    *minutes = 0;
    if (expect(p, "Zz"))
        return true;
    char sign = **p;
    if (!expect(p, "+-"))
        return false;
    int oh = digits(p, 2), om = -1;
    if (oh >= 0 && expect(p, ":"))
        om = digits(p, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59)
        return false;
    *minutes = (sign == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
    return true;
}

int health_parse_rfc3339_ms(const char *s, int64_t *ms)
{
    const char *p = s;
    int y = digits(&p, 4), mo = -1, d = -1, hh = -1, mi = -1, ss = -1;
    if (y >= 0 && expect(&p, "-"))
        mo = digits(&p, 2);
    if (mo >= 1 && mo <= 12 && expect(&p, "-"))
        d = digits(&p, 2);
    if (d >= 1 && d <= month_days(y, mo) && expect(&p, "Tt"))
        hh = digits(&p, 2);
    if (hh >= 0 && hh <= 23 && expect(&p, ":"))
        mi = digits(&p, 2);
    if (mi >= 0 && mi <= 59 && expect(&p, ":"))
        ss = digits(&p, 2);
    int64_t frac, off;
    if (ss < 0 || ss > 60 || !fraction_ms(&p, &frac) || !utc_offset(&p, &off) || *p != '\0')
        return NU_EPARSE;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    *ms = (secs - off * 60) * 1000 + frac;
    return 0;
}

/* ---- the reply ---- */

static void copy_str(char *dst, size_t dstsz, const json_t *obj, const char *path)
{
    const char *s;
    if (nu_json_get_str(obj, path, &s) == 0)
        snprintf(dst, dstsz, "%s", s);
}

static void read_result(const json_t *r, struct health_status *st)
{
    int64_t v;
    bool b;
    const char *t;
    if (nu_json_get_int(r, "sync_info.latest_block_height", &v) == 0 && v >= 0)
        st->head = v;
    if (nu_json_get_int(r, "sync_info.earliest_block_height", &v) == 0 && v >= 0)
        st->earliest = v;
    if (nu_json_get_bool(r, "sync_info.syncing", &b) == 0)
        st->syncing = b;
    if (nu_json_get_str(r, "sync_info.latest_block_time", &t) == 0) {
        st->has_time = true;
        st->time_ok = health_parse_rfc3339_ms(t, &st->block_time_ms) == 0;
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
    memset(st, 0, sizeof(*st));
    st->head = st->earliest = -1;
    st->syncing = -1;
    if (nu_json_parse("status reply", body, len, false, &root, err) != 0)
        return nu_err_set(errbuf, NU_EPARSE, "malformed status reply: %.400s", err);
    int rc = 0;
    const json_t *r = find_result(root, form, &rc, errbuf);
    if (r != NULL)
        read_result(r, st);
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
