/* The canary's settings table and its hooks (see cn_config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "canary.h"
#include "cn_config.h"
#include "fs.h"
#include "hostport.h"
#include "url.h"

#define F(field) NU_FIELD(struct cn_config, field)
#define MS_MAX (24u * 3600 * 1000)

static void *field(const struct nu_setting *s, void *obj)
{
    return (char *)obj + s->off;
}

void cn_url_without_userinfo(const char *url, char *out, size_t outsz)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    size_t authority = strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < host + authority; p++)
        if (*p == '@')
            at = p;
    if (at == NULL) {
        snprintf(out, outsz, "%s", url);
        return;
    }
    snprintf(out, outsz, "%.*s%s", (int)(host - url), url, at + 1);
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= CN_NAME_MAX)
        return false;
    for (const char *p = n; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == ',' || *p == 0x7f)
            return false;
    return true;
}

/* URL[,name=N] */
static int set_endpoint(const struct nu_setting *s, void *obj, const char *v, char *msg,
                        size_t msgsz)
{
    struct cn_endpoints *e = field(s, obj);
    char url[CN_URL_MAX];
    const char *comma = strchr(v, ','), *name = NULL;
    size_t ulen = comma ? (size_t)(comma - v) : strlen(v);
    if (e->n == CN_MAX_ENDPOINTS) {
        snprintf(msg, msgsz, "more than %d endpoints", CN_MAX_ENDPOINTS);
        return NU_EINVAL;
    }
    if (comma && strncmp(comma + 1, "name=", 5) != 0) {
        snprintf(msg, msgsz, "\"%s\": expected URL[,name=NAME]", v);
        return NU_EINVAL;
    }
    if (comma && !name_ok(name = comma + 6)) {
        snprintf(msg, msgsz, "name \"%s\": 1-%d characters, no spaces, quotes, '\\' or ','", name,
                 CN_NAME_MAX - 1);
        return NU_EINVAL;
    }
    snprintf(url, sizeof(url), "%.*s", ulen < sizeof(url) ? (int)ulen : (int)sizeof(url) - 1, v);
    struct cn_endpoint_spec *sp = &e->v[e->n];
    if (ulen >= sizeof(url) || nu_url_from_user(url, sp->url, sizeof(sp->url), msg, msgsz) != 0) {
        if (ulen >= sizeof(url))
            snprintf(msg, msgsz, "URL longer than %zu bytes", sizeof(url) - 8);
        return NU_EINVAL;
    }
    if (name)
        snprintf(sp->name, sizeof(sp->name), "%s", name);
    else
        cn_url_without_userinfo(sp->url, sp->name, sizeof(sp->name));
    e->n++;
    return 0;
}

static int set_url(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    return nu_url_from_user(v, field(s, obj), s->size, msg, msgsz);
}

static int set_account(const struct nu_setting *s, void *obj, const char *v, char *msg,
                       size_t msgsz)
{
    if (!nu_account_id_valid(v, strlen(v))) {
        snprintf(msg, msgsz, "\"%s\" is not a NEAR account id (%d-%d characters of a-z 0-9 . _ -)",
                 v, NU_ACCOUNT_ID_MIN, NU_ACCOUNT_ID_MAX);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, v, msg, msgsz);
}

/* CONTRACT:METHOD[:ARGS_JSON]; the JSON may hold colons of its own. */
static int set_call(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct cn_call *c = field(s, obj), n = {.text = ""};
    const char *m = strchr(v, ':'), *a = m ? strchr(m + 1, ':') : NULL;
    size_t clen = m ? (size_t)(m - v) : 0, mlen = m ? (a ? (size_t)(a - m - 1) : strlen(m + 1)) : 0;
    if (!m || !nu_account_id_valid(v, clen) || mlen == 0 || mlen >= sizeof(n.method)) {
        snprintf(msg, msgsz, "\"%s\": expected CONTRACT:METHOD:ARGS_JSON with a NEAR account id",
                 v);
        return NU_EINVAL;
    }
    memcpy(n.contract, v, clen);
    memcpy(n.method, m + 1, mlen);
    if (a && strlen(a + 1) >= sizeof(n.args)) {
        snprintf(msg, msgsz, "ARGS_JSON longer than %zu bytes", sizeof(n.args) - 1);
        return NU_EINVAL;
    }
    json_error_t jerr;
    json_t *doc = a && a[1] ? json_loads(a + 1, JSON_DECODE_ANY, &jerr) : NULL;
    if (a && a[1] && !doc) {
        snprintf(msg, msgsz, "ARGS_JSON is not JSON: %s", jerr.text);
        return NU_EINVAL;
    }
    json_decref(doc);
    snprintf(n.args, sizeof(n.args), "%s", a ? a + 1 : "");
    snprintf(n.text, sizeof(n.text), "%s", v);
    *c = n;
    return 0;
}

static int set_amount(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct cn_amount *am = field(s, obj);
    nu_u128 y;
    if (strlen(v) >= sizeof(am->text) || nu_u128_parse(v, &y) != 0) {
        snprintf(msg, msgsz, "\"%s\" is not a whole number of yoctoNEAR below 2^128", v);
        return NU_EINVAL;
    }
    snprintf(am->text, sizeof(am->text), "%s", v);
    am->yocto = y;
    return 0;
}

/* HOST:PORT or [V6]:PORT; port 0 binds any free one. */
static int set_listen(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct cn_listen *l = field(s, obj);
    struct nu_hostport hp;
    const char *why;
    size_t hlen = 0;
    if (nu_hostport_parse(v, strlen(v), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0 ||
        (hlen = strlen(hp.host)) >= sizeof(l->host)) {
        snprintf(msg, msgsz, "\"%s\" is not HOST:PORT with a numeric host", v);
        return NU_EINVAL;
    }
    memcpy(l->host, hp.host, hlen + 1);
    l->port = hp.port;
    return 0;
}

const struct nu_setting cn_settings[] = {
    {.name = "endpoint",
     .section = "canary",
     .type = NU_T_TEXT,
     F(endpoints),
     .flags = NU_S_MANY,
     .metavar = "URL[,name=NAME]",
     .set = set_endpoint,
     .help = "a JSON-RPC endpoint to check (a gateway, a node, a public RPC); repeatable; the "
             "name labels its metrics (default: the URL without its userinfo)"},
    {.name = "reference",
     .section = "canary",
     .type = NU_T_TEXT,
     F(reference),
     .metavar = "URL",
     .set = set_url,
     .help = "trusted RPC the final-block lag is measured against (default: the endpoints' "
             "highest final block)"},
    {.name = "interval",
     .section = "canary",
     .type = NU_T_MS,
     F(interval_ms),
     .def = "30s",
     .min = 100,
     .max = MS_MAX,
     .help = "time between rounds of checks (a bare number is milliseconds)"},
    {.name = "timeout",
     .section = "canary",
     .type = NU_T_MS,
     F(timeout_ms),
     .def = "10s",
     .min = 10,
     .max = 600000,
     .help = "a request without a whole answer in time fails its check"},
    {.name = "max_block_age",
     .section = "canary",
     .type = NU_T_MS,
     F(max_block_age_ms),
     .def = "30s",
     .min = 10,
     .max = MS_MAX,
     .help = "status fails when the latest block is older than this"},
    {.name = "max_lag",
     .section = "canary",
     .type = NU_T_UINT,
     F(max_lag),
     .def = "20",
     .max = 1000000000,
     .help = "final_lag fails when the final block is more blocks behind than this"},
    {.name = "account_id",
     .section = "canary",
     .type = NU_T_TEXT,
     F(account_id),
     .metavar = "ACCOUNT",
     .set = set_account,
     .help = "account the view_account check reads (no check without it)"},
    {.name = "call",
     .section = "canary",
     .type = NU_T_TEXT,
     F(call),
     .metavar = "CONTRACT:METHOD:ARGS_JSON",
     .set = set_call,
     .help = "view function the call_function check calls (no check without it)"},
    {.name = "transfer_key",
     .section = "canary",
     .type = NU_T_TEXT,
     F(transfer_key),
     .metavar = "FILE",
     .help = "key file (account_id, secret_key) that signs the transfer check's transaction "
             "(localnet and testnet; no check without it)"},
    {.name = "transfer_to",
     .section = "canary",
     .type = NU_T_TEXT,
     F(transfer_to),
     .metavar = "ACCOUNT",
     .set = set_account,
     .help = "receiver of the transfer"},
    {.name = "transfer_amount",
     .section = "canary",
     .type = NU_T_TEXT,
     F(transfer_amount),
     .metavar = "YOCTO",
     .set = set_amount,
     .help = "yoctoNEAR the transfer moves"},
    {.name = "listen",
     .section = "canary",
     .type = NU_T_TEXT,
     F(listen),
     .metavar = "ADDR",
     .set = set_listen,
     .help = "serve GET /metrics on this HOST:PORT (0.0.0.0:PORT binds every interface)"},
    {.name = "log_level",
     .section = "canary",
     .type = NU_T_ENUM,
     F(log_level),
     .def = "info",
     .choices = "debug|info|warn|error",
     .help = "the canary's own log (stderr, logfmt)"},
};

const size_t cn_nsettings = sizeof(cn_settings) / sizeof(cn_settings[0]);
const struct nu_settings_table cn_settings_table = {cn_settings,
                                                    sizeof(cn_settings) / sizeof(cn_settings[0])};

int cn_config_load(const char *file, struct cn_config *c, struct nu_buf *errs)
{
    char msg[NU_ERRMSG_MAX];
    memset(c, 0, sizeof(*c));
    NU_BUG_ON(nu_settings_defaults(cn_settings, cn_nsettings, c, msg, sizeof(msg)) != 0);
    struct nu_settings_load l = {
        .t = cn_settings, .n = cn_nsettings, .obj = c, .file = file, .errs = errs};
    if (file != NULL) {
        char *text = NULL;
        size_t len = 0;
        int rc = nu_fs_read_file(file, NU_SETTINGS_FILE_MAX, &text, &len, msg);
        if (rc != 0) {
            nu_settings_error(&l, file, 0, "%s", msg);
            return rc;
        }
        nu_settings_parse_ini(&l, text, len);
        free(text);
    }
    nu_settings_parse_env(&l, "NEARUP_CANARY_");
    return l.nerr ? NU_EINVAL : 0;
}

int cn_config_check(const struct cn_config *c, char *errbuf)
{
    const struct cn_endpoints *e = &c->endpoints;
    if (e->n == 0)
        return nu_err_set(errbuf, NU_EINVAL,
                          "--endpoint URL is required (an RPC endpoint; repeat it for more)");
    for (size_t i = 0; i < e->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->v[i].name, e->v[j].name) == 0)
                return nu_err_set(errbuf, NU_EINVAL,
                                  "--endpoint: two endpoints are named \"%s\"; give one "
                                  "another with ,name=NAME",
                                  e->v[i].name);
    const char *names[] = {"--transfer-key", "--transfer-to", "--transfer-amount"};
    bool given[] = {c->transfer_key[0], c->transfer_to[0], c->transfer_amount.text[0]};
    char missing[80] = "";
    size_t len = 0;
    for (int i = 0; i < 3; i++)
        if (!given[i])
            len += (size_t)snprintf(missing + len, sizeof(missing) - len, "%s%s",
                                    len ? " and " : "", names[i]);
    if (len > 0 && (given[0] || given[1] || given[2]))
        return nu_err_set(errbuf, NU_EINVAL,
                          "--transfer-key, --transfer-to and --transfer-amount go together; "
                          "missing %s",
                          missing);
    return 0;
}

unsigned cn_config_checks(const struct cn_config *c)
{
    unsigned m = (1u << CN_STATUS) | (1u << CN_FINAL_LAG);
    if (c->account_id[0])
        m |= 1u << CN_VIEW_ACCOUNT;
    if (c->call.text[0])
        m |= 1u << CN_CALL_FUNCTION;
    if (c->transfer_key[0])
        m |= 1u << CN_TRANSFER;
    return m;
}
