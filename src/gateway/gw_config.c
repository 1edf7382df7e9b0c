/* The gateway's settings table (see gw_config.h; the machinery is
 * src/lib/settings.h) and its own checks; the loader (file, environment,
 * flags, validation) is gw_config_load.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_config-int.h"

#define F(field) NU_FIELD(struct gw_config, field)
#define MS_MAX (24u * 3600 * 1000)

static int set_addr(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz);
static int set_methods(const struct nu_setting *s, void *obj, const char *v, char *msg,
                       size_t msgsz);

const struct nu_setting gw_settings[] = {
    {.name = "listen",
     .section = "gateway",
     .type = NU_T_TEXT,
     F(listen),
     .def = "127.0.0.1:3031",
     .flags = NU_S_RESTART,
     .metavar = "ADDR",
     .set = set_addr,
     .help = "address to serve clients on; a wider bind (0.0.0.0) must be asked for"},
    {.name = "workers",
     .section = "gateway",
     .type = NU_T_UINT,
     F(workers),
     .def = "0",
     .max = 256,
     .flags = NU_S_RESTART,
     .help = "worker threads, each with its own loop and listener (0: one per core)"},
    {.name = "zone",
     .section = "gateway",
     .type = NU_T_TEXT,
     F(zone),
     .def = "",
     .help = "this gateway's zone; OK upstreams of the same zone are preferred"},
    {.name = "drain_timeout",
     .section = "gateway",
     .type = NU_T_MS,
     F(drain_timeout_ms),
     .def = "10s",
     .min = 1,
     .max = MS_MAX,
     .help = "on SIGTERM, how long in-flight requests may take before connections are closed"},
    {.name = "access_log",
     .section = "gateway",
     .type = NU_T_TEXT,
     F(access_log),
     .def = "",
     .help = "logfmt access log file (\"-\": stderr, empty: off); reopened on SIGHUP"},
    {.name = "log_level",
     .section = "gateway",
     .type = NU_T_ENUM,
     F(log_level),
     .def = "info",
     .choices = "debug|info|warn|error",
     .help = "log level of the gateway's own log (stderr)"},
    {.name = "chain_id",
     .section = "gateway",
     .type = NU_T_TEXT,
     F(chain_id),
     .def = "",
     .help = "when set, an upstream reporting another chain_id is DOWN"},
    {.name = "health_interval",
     .section = "health",
     .type = NU_T_MS,
     F(health_interval_ms),
     .def = "1s",
     .min = 10,
     .max = MS_MAX,
     .help = "how often every upstream is polled with JSON-RPC status"},
    {.name = "health_timeout",
     .section = "health",
     .type = NU_T_MS,
     F(health_timeout_ms),
     .def = "1s",
     .min = 10,
     .max = MS_MAX,
     .help = "a status poll slower than this counts as DOWN"},
    {.name = "rise",
     .section = "health",
     .type = NU_T_UINT,
     F(rise),
     .def = "2",
     .min = 1,
     .max = 100,
     .help = "consecutive OK polls before a failed upstream is OK again"},
    {.name = "fall",
     .section = "health",
     .type = NU_T_UINT,
     F(fall),
     .def = "2",
     .min = 1,
     .max = 100,
     .help = "consecutive failed polls before an OK upstream leaves the rotation"},
    {.name = "max_lag",
     .section = "health",
     .type = NU_T_UINT,
     F(max_lag_blocks),
     .def = "20",
     .max = 1000000000,
     .help = "blocks behind the reference head (second-highest head) before LAGGING"},
    {.name = "stale_after",
     .section = "health",
     .type = NU_T_MS,
     F(stale_after_ms),
     .def = "30s",
     .min = 10,
     .max = MS_MAX,
     .help = "latest_block_time older than this is STALE"},
    {.name = "min_healthy",
     .section = "health",
     .type = NU_T_UINT,
     F(min_healthy),
     .def = "1",
     .max = GW_MAX_UPSTREAMS,
     .help = "GET /healthcheck answers 200 while at least this many upstreams are OK"},
    {.name = "passive_failures",
     .section = "health",
     .type = NU_T_UINT,
     F(passive_failures),
     .def = "3",
     .max = 1000000,
     .help = "consecutive real-traffic failures (connect, 5xx, timeout) that mark an upstream DOWN "
             "(0: off)"},
    {.name = "dns_interval",
     .section = "health",
     .type = NU_T_MS,
     F(dns_interval_ms),
     .def = "5s",
     .min = 100,
     .max = MS_MAX,
     .help = "how often dns = NAME:PORT upstreams are resolved again"},
    {.name = "dns_family",
     .section = "health",
     .type = NU_T_ENUM,
     F(dns_family),
     .def = "any",
     .choices = "any|ipv4|ipv6",
     .help = "address family of dns = NAME:PORT members"},
    {.name = "retries",
     .section = "proxy",
     .type = NU_T_UINT,
     F(retries),
     .def = "2",
     .max = 10,
     .help = "retries of a call on other upstreams"},
    {.name = "retry_budget_percent",
     .section = "proxy",
     .type = NU_T_UINT,
     F(retry_budget_percent),
     .def = "20",
     .max = 100,
     .help = "retries allowed as a share of requests over the last 10 s (per worker)"},
    {.name = "retry_budget_min",
     .section = "proxy",
     .type = NU_T_UINT,
     F(retry_budget_min),
     .def = "10",
     .max = 1000000,
     .help = "retries always allowed per 10 s and worker, whatever the share"},
    {.name = "connect_timeout",
     .section = "proxy",
     .type = NU_T_MS,
     F(connect_timeout_ms),
     .def = "1s",
     .min = 1,
     .max = MS_MAX,
     .help = "upstream TCP connect timeout"},
    {.name = "upstream_timeout",
     .section = "proxy",
     .type = NU_T_MS,
     F(upstream_timeout_ms),
     .def = "30s",
     .min = 1,
     .max = MS_MAX,
     .help = "an upstream must answer a call within this (504 beyond; never retried)"},
    {.name = "max_batch",
     .section = "proxy",
     .type = NU_T_UINT,
     F(max_batch),
     .def = "100",
     .min = 1,
     .max = 100000,
     .help = "most calls in one JSON-RPC batch (a parse error beyond)"},
    {.name = "upstream_max_inflight",
     .section = "proxy",
     .type = NU_T_UINT,
     F(upstream_max_inflight),
     .def = "1024",
     .max = 100000000,
     .help = "default max_inflight of an upstream (0: unlimited)"},
    {.name = "pool_idle_max",
     .section = "proxy",
     .type = NU_T_UINT,
     F(pool_idle_max),
     .def = "64",
     .max = 100000,
     .help = "idle keep-alive connections kept per upstream and worker"},
    {.name = "pool_idle_timeout",
     .section = "proxy",
     .type = NU_T_MS,
     F(pool_idle_timeout_ms),
     .def = "4s",
     .min = 1,
     .max = MS_MAX,
     .help = "an idle upstream connection is closed after this, and never reused this old; keep it "
             "below the upstreams' keep-alive timeout (neard of the actix era: 5 s)"},
    {.name = "max_response",
     .section = "proxy",
     .type = NU_T_SIZE,
     F(max_response_bytes),
     .def = "64MiB",
     .min = 1024,
     .max = 1ull << 32,
     .help = "largest upstream reply accepted (502 beyond)"},
    {.name = "max_body",
     .section = "limits",
     .type = NU_T_SIZE,
     F(max_body_bytes),
     .def = "10MiB",
     .min = 1024,
     .max = 1ull << 31,
     .flags = NU_S_RESTART,
     .help = "largest request body (413 beyond), like neard's json_payload_max_size"},
    {.name = "max_header",
     .section = "limits",
     .type = NU_T_SIZE,
     F(max_header_bytes),
     .def = "16KiB",
     .min = 1024,
     .max = 1u << 20,
     .flags = NU_S_RESTART,
     .help = "largest request line plus headers (431 beyond)"},
    {.name = "max_connections",
     .section = "limits",
     .type = NU_T_UINT,
     F(max_connections),
     .def = "10000",
     .min = 1,
     .max = 10000000,
     .flags = NU_S_RESTART,
     .help = "open client connections per worker; more are closed at once"},
    {.name = "idle_timeout",
     .section = "limits",
     .type = NU_T_MS,
     F(idle_timeout_ms),
     .def = "75s",
     .min = 1,
     .max = MS_MAX,
     .flags = NU_S_RESTART,
     .help = "idle keep-alive client connections are closed after this"},
    {.name = "header_timeout",
     .section = "limits",
     .type = NU_T_MS,
     F(header_timeout_ms),
     .def = "10s",
     .min = 1,
     .max = MS_MAX,
     .flags = NU_S_RESTART,
     .help = "a request head must arrive within this (408 beyond; slow clients)"},
    {.name = "body_timeout",
     .section = "limits",
     .type = NU_T_MS,
     F(body_timeout_ms),
     .def = "60s",
     .min = 1,
     .max = MS_MAX,
     .flags = NU_S_RESTART,
     .help = "a whole request must arrive within this (408 beyond)"},
    {.name = "write_timeout",
     .section = "limits",
     .type = NU_T_MS,
     F(write_timeout_ms),
     .def = "60s",
     .min = 1,
     .max = MS_MAX,
     .flags = NU_S_RESTART,
     .help = "a client must take an answer within this, else it is reset"},
    {.name = "max_unsent",
     .section = "limits",
     .type = NU_T_SIZE,
     F(max_unsent_bytes),
     .def = "128MiB",
     .min = 64 * 1024,
     .max = 1ull << 40,
     .flags = NU_S_RESTART,
     .help = "answer bytes a worker holds for clients that have not read them yet; a client whose "
             "answer would go beyond is reset"},
    {.name = "retry_after",
     .section = "limits",
     .type = NU_T_UINT,
     F(retry_after_s),
     .def = "1",
     .min = 1,
     .max = 3600,
     .help = "Retry-After seconds sent with 503 when every upstream is full"},
    {.name = "allow_methods",
     .section = "limits",
     .type = NU_T_TEXT,
     F(allow_methods),
     .def = "",
     .metavar = "METHODS",
     .set = set_methods,
     .help = "only these methods are served (empty: all); \"other\" means unknown methods"},
    {.name = "deny_methods",
     .section = "limits",
     .type = NU_T_TEXT,
     F(deny_methods),
     .def = "",
     .metavar = "METHODS",
     .set = set_methods,
     .help = "these methods are refused"},
    {.name = "deny_mode",
     .section = "limits",
     .type = NU_T_ENUM,
     F(deny_mode),
     .def = "http",
     .choices = "http|jsonrpc",
     .help =
         "refused methods get HTTP 403 (http) or 200 (jsonrpc), with a JSON-RPC error either way"},
    {.name = "rate_limit",
     .section = "ratelimit",
     .type = NU_T_UINT,
     F(rate_limit),
     .def = "0",
     .max = 100000000,
     .help = "tokens per second per client IP (a call costs its method's cost; 0: off)"},
    {.name = "rate_burst",
     .section = "ratelimit",
     .type = NU_T_UINT,
     F(rate_burst),
     .def = "0",
     .max = 100000000,
     .help = "token bucket size per client IP (0: one second's worth, rate_limit)"},
    {.name = "ratelimit_clients",
     .section = "ratelimit",
     .type = NU_T_UINT,
     F(ratelimit_clients),
     .def = "65536",
     .min = 64,
     .max = 16777216,
     .flags = NU_S_RESTART,
     .help = "client IPs tracked; the least recently seen are forgotten first"},
};

const size_t gw_nsettings = sizeof(gw_settings) / sizeof(gw_settings[0]);
const struct nu_settings_table gw_settings_table = {gw_settings,
                                                    sizeof(gw_settings) / sizeof(gw_settings[0])};

bool gw_config_is_flag(const char *name)
{
    return nu_setting_find(gw_settings, gw_nsettings, name, strlen(name)) != NULL ||
           strcmp(name, "upstream") == 0 || strcmp(name, "method-cost") == 0 ||
           strcmp(name, "method_cost") == 0;
}

bool gw_host_numeric(const char *h)
{
    struct sockaddr_storage ss;
    return strcmp(h, "localhost") == 0 || nu_ip_sockaddr(h, 0, &ss, NULL) == 0;
}

int gw_method_list_mask(const char *list, uint64_t *mask, char *bad, size_t badsz)
{
    *mask = 0;
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (n == 0)
            break;
        int m = gw_method_lookup(p, n);
        if (m == GW_M_OTHER && !(n == 5 && memcmp(p, "other", 5) == 0)) {
            snprintf(bad, badsz, "%.*s", (int)(n > 64 ? 64 : n), p);
            return NU_EINVAL;
        }
        *mask |= 1ull << m;
        p += n;
    }
    return 0;
}

/* listen: host:port with a numeric host, [v6]:port or localhost:port. */
static int set_addr(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct nu_hostport hp;
    const char *why;
    if (nu_hostport_parse(v, strlen(v), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0 ||
        !gw_host_numeric(hp.host)) {
        snprintf(msg, msgsz, "\"%s\" is not IP:PORT (or [IPv6]:PORT, localhost:PORT)", v);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, v, msg, msgsz);
}

/* allow_methods, deny_methods: comma-separated method names, or "other". */
static int set_methods(const struct nu_setting *s, void *obj, const char *v, char *msg,
                       size_t msgsz)
{
    uint64_t mask;
    char bad[80];
    if (gw_method_list_mask(v, &mask, bad, sizeof(bad)) != 0) {
        snprintf(msg, msgsz, "unknown method \"%s\" (use neard's names or \"other\")", bad);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, v, msg, msgsz);
}

/* ---- help, dump, reload checks ---- */

int gw_config_help(struct nu_buf *out)
{
    return nu_settings_help(gw_settings, gw_nsettings, out);
}

static int dump_upstream(const struct gw_upstream_spec *u, struct nu_buf *out)
{
    int err = nu_buf_printf(out, "\n[upstream %s]\n", u->name);
    if (u->is_dns)
        err = err ? err : nu_buf_printf(out, "dns = %s:%d\n", u->host, u->port);
    else
        err = err ? err : nu_buf_printf(out, "url = %s\n", u->url);
    if (u->zone[0])
        err = err ? err : nu_buf_printf(out, "zone = %s\n", u->zone);
    err = err ? err
              : nu_buf_printf(out, "weight = %u\narchival = %s\nmax_inflight = %u\n", u->weight,
                              u->archival ? "true" : "false", u->max_inflight);
    return err;
}

int gw_config_dump(const struct gw_config *c, struct nu_buf *out)
{
    int err = nu_buf_puts(out, "; nearup gateway: effective configuration\n");
    err = err ? err : nu_settings_dump(gw_settings, gw_nsettings, c, out);
    bool costs = false;
    for (int m = 0; m < GW_NMETHODS && !err; m++) {
        if (c->method_cost[m] == 1)
            continue;
        if (!costs)
            err = nu_buf_puts(out, "\n[method_cost]\n");
        costs = true;
        err = err ? err : nu_buf_printf(out, "%s = %u\n", gw_method_name(m), c->method_cost[m]);
    }
    for (size_t i = 0; i < c->nups && !err; i++)
        err = dump_upstream(&c->ups[i], out);
    return err;
}

bool gw_config_restart_needed(const struct gw_config *a, const struct gw_config *b,
                              const char **name)
{
    const struct nu_setting *s = nu_settings_differ(gw_settings, gw_nsettings, a, b, NU_S_RESTART);
    if (s != NULL)
        *name = s->name;
    return s != NULL;
}
