/* The round's JSON report (see cn_report.h). */
#include <math.h>

#include "canary-int.h"
#include "cn_report.h"

json_t *cn_json_ms(double v)
{
    return json_real(round(v * 1000) / 1000);
}

static json_t *error_or_null(const struct cn_result *r)
{
    return r->ok ? json_null() : json_string(r->done ? r->error : "did not run");
}

static json_t *check_json(const struct cn_result *r)
{
    json_t *o = json_pack("{s:b,s:o,s:o}", "ok", r->done && r->ok, "duration_ms",
                          cn_json_ms(r->duration_ms), "error", error_or_null(r));
    if (o != NULL && r->values != NULL)
        json_object_update(o, r->values);
    return o;
}

static bool ep_ok(const struct cn_report_ep *e, unsigned checks)
{
    for (int c = 0; c < CN_NCHECKS; c++)
        if ((checks & (1u << c)) && !(e->res[c]->done && e->res[c]->ok))
            return false;
    return true;
}

bool cn_report_ok(const struct cn_report_ep *eps, size_t n, unsigned checks)
{
    for (size_t i = 0; i < n; i++)
        if (!ep_ok(&eps[i], checks))
            return false;
    return true;
}

static json_t *ep_json(const struct cn_report_ep *e, unsigned checks)
{
    json_t *cs = json_object();
    for (int c = 0; c < CN_NCHECKS && cs; c++)
        if (checks & (1u << c))
            json_object_set_new(cs, cn_check_name(c), check_json(e->res[c]));
    return json_pack("{s:s,s:s,s:b,s:o}", "name", e->name, "url", e->url, "ok", ep_ok(e, checks),
                     "checks", cs);
}

static json_t *ref_json(const struct cn_report_ref *r)
{
    if (r == NULL)
        return json_null();
    return json_pack("{s:s,s:b,s:o,s:o,s:o}", "url", r->url, "ok", r->final_height >= 0,
                     "final_height",
                     r->final_height >= 0 ? json_integer(r->final_height) : json_null(),
                     "duration_ms", cn_json_ms(r->res->duration_ms), "error",
                     r->final_height >= 0 ? json_null() : json_string(r->res->error));
}

json_t *cn_report_json(const struct cn_report_ep *eps, size_t n, unsigned checks,
                       const struct cn_report_ref *ref)
{
    json_t *names = json_array(), *list = json_array();
    for (int c = 0; c < CN_NCHECKS && names; c++)
        if (checks & (1u << c))
            json_array_append_new(names, json_string(cn_check_name(c)));
    for (size_t i = 0; i < n && list; i++)
        json_array_append_new(list, ep_json(&eps[i], checks));
    return json_pack("{s:b,s:o,s:o,s:o}", "ok", cn_report_ok(eps, n, checks), "checks", names,
                     "reference", ref_json(ref), "endpoints", list);
}
