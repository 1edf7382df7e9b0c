/* The gateway's settings table and value codecs (see gw_config.h); the
 * loader (file, environment, flags, validation) is config_load.c. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uv.h>
#include "gw_config_int.h"

#define F(field) offsetof(struct gw_config, field), sizeof(((struct gw_config *)0)->field)
#define MS_MAX (24u * 3600 * 1000)

const struct gw_setting gw_settings[] = {
    {"listen", "gateway", GW_T_ADDR, F(listen), "127.0.0.1:3031", 0, 0, NULL, true,
     "address to serve clients on; a wider bind (0.0.0.0) must be asked for"},
    {"workers", "gateway", GW_T_UINT, F(workers), "0", 0, 256, NULL, true,
     "worker threads, each with its own loop and listener (0: one per core)"},
    {"zone", "gateway", GW_T_STR, F(zone), "", 0, 0, NULL, false,
     "this gateway's zone; OK upstreams of the same zone are preferred"},
    {"drain_timeout", "gateway", GW_T_MS, F(drain_timeout_ms), "10s", 1, MS_MAX, NULL, false,
     "on SIGTERM, how long in-flight requests may take before connections are closed"},
    {"access_log", "gateway", GW_T_STR, F(access_log), "", 0, 0, NULL, false,
     "logfmt access log file (\"-\": stderr, empty: off); reopened on SIGHUP"},
    {"log_level", "gateway", GW_T_ENUM, F(log_level), "info", 0, 0, "debug|info|warn|error", false,
     "log level of the gateway's own log (stderr)"},
    {"chain_id", "gateway", GW_T_STR, F(chain_id), "", 0, 0, NULL, false,
     "when set, an upstream reporting another chain_id is DOWN"},
    {"health_interval", "health", GW_T_MS, F(health_interval_ms), "1s", 10, MS_MAX, NULL, false,
     "how often every upstream is polled with JSON-RPC status"},
    {"health_timeout", "health", GW_T_MS, F(health_timeout_ms), "1s", 10, MS_MAX, NULL, false,
     "a status poll slower than this counts as DOWN"},
    {"rise", "health", GW_T_UINT, F(rise), "2", 1, 100, NULL, false,
     "consecutive OK polls before a failed upstream is OK again"},
    {"fall", "health", GW_T_UINT, F(fall), "2", 1, 100, NULL, false,
     "consecutive failed polls before an OK upstream leaves the rotation"},
    {"max_lag", "health", GW_T_UINT, F(max_lag_blocks), "20", 0, 1000000000, NULL, false,
     "blocks behind the reference head (second-highest head) before LAGGING"},
    {"stale_after", "health", GW_T_MS, F(stale_after_ms), "30s", 10, MS_MAX, NULL, false,
     "latest_block_time older than this is STALE"},
    {"min_healthy", "health", GW_T_UINT, F(min_healthy), "1", 0, GW_MAX_UPSTREAMS, NULL, false,
     "GET /healthcheck answers 200 while at least this many upstreams are OK"},
    {"passive_failures", "health", GW_T_UINT, F(passive_failures), "3", 0, 1000000, NULL, false,
     "consecutive real-traffic failures (connect, 5xx, timeout) that mark an upstream DOWN "
     "(0: off)"},
    {"dns_interval", "health", GW_T_MS, F(dns_interval_ms), "5s", 100, MS_MAX, NULL, false,
     "how often dns = NAME:PORT upstreams are resolved again"},
    {"dns_family", "health", GW_T_ENUM, F(dns_family), "any", 0, 0, "any|ipv4|ipv6", false,
     "address family of dns = NAME:PORT members"},
    {"retries", "proxy", GW_T_UINT, F(retries), "2", 0, 10, NULL, false,
     "retries of a call on other upstreams"},
    {"retry_budget_percent", "proxy", GW_T_UINT, F(retry_budget_percent), "20", 0, 100, NULL, false,
     "retries allowed as a share of requests over the last 10 s (per worker)"},
    {"retry_budget_min", "proxy", GW_T_UINT, F(retry_budget_min), "10", 0, 1000000, NULL, false,
     "retries always allowed per 10 s and worker, whatever the share"},
    {"connect_timeout", "proxy", GW_T_MS, F(connect_timeout_ms), "1s", 1, MS_MAX, NULL, false,
     "upstream TCP connect timeout"},
    {"upstream_timeout", "proxy", GW_T_MS, F(upstream_timeout_ms), "30s", 1, MS_MAX, NULL, false,
     "an upstream must answer a call within this (504 beyond; never retried)"},
    {"max_batch", "proxy", GW_T_UINT, F(max_batch), "100", 1, 100000, NULL, false,
     "most calls in one JSON-RPC batch (a parse error beyond)"},
    {"upstream_max_inflight", "proxy", GW_T_UINT, F(upstream_max_inflight), "1024", 0, 100000000,
     NULL, false, "default max_inflight of an upstream (0: unlimited)"},
    {"pool_idle_max", "proxy", GW_T_UINT, F(pool_idle_max), "64", 0, 100000, NULL, false,
     "idle keep-alive connections kept per upstream and worker"},
    {"pool_idle_timeout", "proxy", GW_T_MS, F(pool_idle_timeout_ms), "4s", 1, MS_MAX, NULL, false,
     "an idle upstream connection is closed after this, and never reused this old; keep it below "
     "the upstreams' keep-alive timeout (neard of the actix era: 5 s)"},
    {"max_response", "proxy", GW_T_BYTES, F(max_response_bytes), "64MiB", 1024, 1ull << 32, NULL,
     false, "largest upstream reply accepted (502 beyond)"},
    {"max_body", "limits", GW_T_BYTES, F(max_body_bytes), "10MiB", 1024, 1ull << 31, NULL, true,
     "largest request body (413 beyond), like neard's json_payload_max_size"},
    {"max_header", "limits", GW_T_BYTES, F(max_header_bytes), "16KiB", 1024, 1u << 20, NULL, true,
     "largest request line plus headers (431 beyond)"},
    {"max_connections", "limits", GW_T_UINT, F(max_connections), "10000", 1, 10000000, NULL, true,
     "open client connections per worker; more are closed at once"},
    {"idle_timeout", "limits", GW_T_MS, F(idle_timeout_ms), "75s", 1, MS_MAX, NULL, true,
     "idle keep-alive client connections are closed after this"},
    {"header_timeout", "limits", GW_T_MS, F(header_timeout_ms), "10s", 1, MS_MAX, NULL, true,
     "a request head must arrive within this (408 beyond; slow clients)"},
    {"body_timeout", "limits", GW_T_MS, F(body_timeout_ms), "60s", 1, MS_MAX, NULL, true,
     "a whole request must arrive within this (408 beyond)"},
    {"write_timeout", "limits", GW_T_MS, F(write_timeout_ms), "60s", 1, MS_MAX, NULL, true,
     "a client must take an answer within this, else it is reset"},
    {"max_unsent", "limits", GW_T_BYTES, F(max_unsent_bytes), "128MiB", 64 * 1024, 1ull << 40, NULL,
     true,
     "answer bytes a worker holds for clients that have not read them yet; a client whose answer "
     "would go beyond is reset"},
    {"retry_after", "limits", GW_T_UINT, F(retry_after_s), "1", 1, 3600, NULL, false,
     "Retry-After seconds sent with 503 when every upstream is full"},
    {"allow_methods", "limits", GW_T_LIST, F(allow_methods), "", 0, 0, NULL, false,
     "only these methods are served (empty: all); \"other\" means unknown methods"},
    {"deny_methods", "limits", GW_T_LIST, F(deny_methods), "", 0, 0, NULL, false,
     "these methods are refused"},
    {"deny_mode", "limits", GW_T_ENUM, F(deny_mode), "http", 0, 0, "http|jsonrpc", false,
     "refused methods get HTTP 403 (http) or 200 (jsonrpc), with a JSON-RPC error either way"},
    {"rate_limit", "ratelimit", GW_T_UINT, F(rate_limit), "0", 0, 100000000, NULL, false,
     "tokens per second per client IP (a call costs its method's cost; 0: off)"},
    {"rate_burst", "ratelimit", GW_T_UINT, F(rate_burst), "0", 0, 100000000, NULL, false,
     "token bucket size per client IP (0: one second's worth, rate_limit)"},
    {"ratelimit_clients", "ratelimit", GW_T_UINT, F(ratelimit_clients), "65536", 64, 16777216, NULL,
     true, "client IPs tracked; the least recently seen are forgotten first"},
};

const size_t gw_nsettings = sizeof(gw_settings) / sizeof(gw_settings[0]);

static bool same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

const struct gw_setting *gw_setting_find(const char *name)
{
    for (size_t i = 0; i < gw_nsettings; i++)
        if (same_name(gw_settings[i].name, name))
            return &gw_settings[i];
    return NULL;
}

bool gw_config_is_flag(const char *name)
{
    return gw_setting_find(name) || same_name(name, "upstream") || same_name(name, "method_cost");
}

/* ---- value codecs ---- */

int gw_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return NU_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return NU_EINVAL;
    *out = v;
    return 0;
}

int gw_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return NU_EINVAL;
}

/* A number followed by a unit from units (multipliers in mult). */
static int parse_unit(const char *s, const char *const *units, const uint64_t *mult, size_t n,
                      uint64_t *out)
{
    char num[32];
    size_t i = 0;
    while (isdigit((unsigned char)s[i]) && i < sizeof(num) - 1) {
        num[i] = s[i];
        i++;
    }
    num[i] = '\0';
    uint64_t v;
    if (i == 0 || gw_parse_uint(num, UINT64_MAX / (1ull << 30), &v) != 0)
        return NU_EINVAL;
    const char *unit = s + i;
    while (*unit == ' ')
        unit++;
    for (size_t k = 0; k < n; k++) {
        if (strcasecmp(unit, units[k]) == 0) {
            *out = v * mult[k];
            return 0;
        }
    }
    return NU_EINVAL;
}

static int parse_ms(const char *s, uint64_t *out)
{
    static const char *const u[] = {"", "ms", "s", "m", "h"};
    static const uint64_t m[] = {1, 1, 1000, 60000, 3600000};
    return parse_unit(s, u, m, 5, out);
}

static int parse_bytes(const char *s, uint64_t *out)
{
    static const char *const u[] = {"", "b", "k", "kib", "kb", "m", "mib", "mb", "g", "gib", "gb"};
    static const uint64_t K = 1024, M = 1024 * 1024, G = 1024 * 1024 * 1024;
    static const uint64_t m[] = {1, 1, K, K, K, M, M, M, G, G, G};
    return parse_unit(s, u, m, 11, out);
}

int gw_parse_hostport(const char *s, char *host, size_t hostsz, int *port)
{
    const char *colon, *h = s;
    size_t hlen;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return NU_EINVAL;
        h = s + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return NU_EINVAL;
        hlen = (size_t)(colon - s);
    }
    uint64_t p;
    if (hlen == 0 || hlen >= hostsz || gw_parse_uint(colon + 1, 65535, &p) != 0)
        return NU_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

static bool numeric_host(const char *h)
{
    struct sockaddr_storage ss;
    return strcmp(h, "localhost") == 0 || uv_ip4_addr(h, 0, (struct sockaddr_in *)&ss) == 0 ||
           uv_ip6_addr(h, 0, (struct sockaddr_in6 *)&ss) == 0;
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

static int set_text(struct gw_config *c, const struct gw_setting *s, const char *v, char *msg,
                    size_t msgsz)
{
    char *field = (char *)c + s->off;
    if (strlen(v) >= s->size) {
        snprintf(msg, msgsz, "%s: value longer than %zu bytes", s->name, s->size - 1);
        return NU_EINVAL;
    }
    if (s->type == GW_T_ENUM) {
        size_t n = strlen(v);
        const char *ch = s->choices;
        bool found = false;
        while (*ch && !found) {
            size_t k = strcspn(ch, "|");
            found = k == n && memcmp(ch, v, n) == 0;
            ch += k + (ch[k] == '|');
        }
        if (!found) {
            snprintf(msg, msgsz, "%s: \"%s\" is not one of %s", s->name, v, s->choices);
            return NU_EINVAL;
        }
    } else if (s->type == GW_T_LIST) {
        uint64_t mask;
        char bad[80];
        if (gw_method_list_mask(v, &mask, bad, sizeof(bad)) != 0) {
            snprintf(msg, msgsz, "%s: unknown method \"%s\" (use neard's names or \"other\")",
                     s->name, bad);
            return NU_EINVAL;
        }
    } else if (s->type == GW_T_ADDR) {
        char host[GW_HOST_MAX];
        int port;
        if (gw_parse_hostport(v, host, sizeof(host), &port) != 0 || !numeric_host(host)) {
            snprintf(msg, msgsz, "%s: \"%s\" is not IP:PORT (or [IPv6]:PORT, localhost:PORT)",
                     s->name, v);
            return NU_EINVAL;
        }
    }
    memset(field, 0, s->size); /* so equal values compare equal byte for byte */
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static int set_number(struct gw_config *c, const struct gw_setting *s, const char *v, char *msg,
                      size_t msgsz)
{
    uint64_t n;
    int err = s->type == GW_T_MS      ? parse_ms(v, &n)
              : s->type == GW_T_BYTES ? parse_bytes(v, &n)
                                      : gw_parse_uint(v, UINT64_MAX, &n);
    static const char *what[] = {[GW_T_UINT] = "a whole number",
                                 [GW_T_MS] = "a duration (250ms, 2s, 5m, 1h)",
                                 [GW_T_BYTES] = "a size (512, 16KiB, 10MiB)"};
    if (err) {
        snprintf(msg, msgsz, "%s: \"%s\" is not %s", s->name, v, what[s->type]);
        return NU_EINVAL;
    }
    if (n < s->min || n > s->max) {
        char lo[32], hi[32];
        snprintf(lo, sizeof(lo), "%llu", (unsigned long long)s->min);
        snprintf(hi, sizeof(hi), "%llu", (unsigned long long)s->max);
        snprintf(msg, msgsz, "%s: %s is out of range [%s, %s]%s", s->name, v, lo, hi,
                 s->type == GW_T_MS      ? " ms"
                 : s->type == GW_T_BYTES ? " bytes"
                                         : "");
        return NU_EINVAL;
    }
    void *field = (char *)c + s->off;
    if (s->type == GW_T_BYTES)
        *(uint64_t *)field = n;
    else
        *(unsigned *)field = (unsigned)n;
    return 0;
}

int gw_setting_set(struct gw_config *c, const struct gw_setting *s, const char *value, char *msg,
                   size_t msgsz)
{
    switch (s->type) {
    case GW_T_UINT:
    case GW_T_MS:
    case GW_T_BYTES:
        return set_number(c, s, value, msg, msgsz);
    default:
        return set_text(c, s, value, msg, msgsz);
    }
}

static void format_ms(uint64_t v, char *out, size_t outsz)
{
    if (v && v % 3600000 == 0)
        snprintf(out, outsz, "%lluh", (unsigned long long)(v / 3600000));
    else if (v && v % 60000 == 0)
        snprintf(out, outsz, "%llum", (unsigned long long)(v / 60000));
    else if (v && v % 1000 == 0)
        snprintf(out, outsz, "%llus", (unsigned long long)(v / 1000));
    else
        snprintf(out, outsz, "%llums", (unsigned long long)v);
}

static void format_bytes(uint64_t v, char *out, size_t outsz)
{
    if (v && v % (1ull << 30) == 0)
        snprintf(out, outsz, "%lluGiB", (unsigned long long)(v >> 30));
    else if (v && v % (1ull << 20) == 0)
        snprintf(out, outsz, "%lluMiB", (unsigned long long)(v >> 20));
    else if (v && v % 1024 == 0)
        snprintf(out, outsz, "%lluKiB", (unsigned long long)(v >> 10));
    else
        snprintf(out, outsz, "%llu", (unsigned long long)v);
}

void gw_setting_format(const struct gw_config *c, const struct gw_setting *s, char *out,
                       size_t outsz)
{
    const void *field = (const char *)c + s->off;
    switch (s->type) {
    case GW_T_UINT:
        snprintf(out, outsz, "%u", *(const unsigned *)field);
        break;
    case GW_T_MS:
        format_ms(*(const unsigned *)field, out, outsz);
        break;
    case GW_T_BYTES:
        format_bytes(*(const uint64_t *)field, out, outsz);
        break;
    default:
        snprintf(out, outsz, "%s", (const char *)field);
        break;
    }
}

/* ---- help, dump, reload checks ---- */

static const char *kind_name(const struct gw_setting *s)
{
    static const char *k[] = {
        [GW_T_UINT] = "N",    [GW_T_MS] = "DURATION",  [GW_T_BYTES] = "SIZE", [GW_T_STR] = "TEXT",
        [GW_T_ENUM] = "WORD", [GW_T_LIST] = "METHODS", [GW_T_ADDR] = "ADDR"};
    return k[s->type];
}

int gw_config_help(struct nu_buf *out)
{
    int err = 0;
    const char *section = "";
    for (size_t i = 0; i < gw_nsettings && !err; i++) {
        const struct gw_setting *s = &gw_settings[i];
        char flag[64], dash[48];
        size_t k = 0;
        for (; s->name[k] && k < sizeof(dash) - 1; k++)
            dash[k] = s->name[k] == '_' ? '-' : s->name[k];
        dash[k] = '\0';
        if (strcmp(section, s->section) != 0) {
            section = s->section;
            err = nu_buf_printf(out, "\n[%s]\n", section);
        }
        snprintf(flag, sizeof(flag), "--%s %s", dash, kind_name(s));
        err = err ? err
                  : nu_buf_printf(out, "  %s (default \"%s\"%s%s%s)\n      %s\n", flag, s->def,
                                  s->type == GW_T_ENUM ? ": " : "",
                                  s->type == GW_T_ENUM ? s->choices : "",
                                  s->restart ? "; read at start only" : "", s->help);
    }
    return err;
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
    const char *section = "";
    for (size_t i = 0; i < gw_nsettings && !err; i++) {
        const struct gw_setting *s = &gw_settings[i];
        char v[2100];
        if (strcmp(section, s->section) != 0) {
            section = s->section;
            err = nu_buf_printf(out, "\n[%s]\n", section);
        }
        gw_setting_format(c, s, v, sizeof(v));
        err = err ? err : nu_buf_printf(out, "%s = %s\n", s->name, v);
    }
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
    for (size_t i = 0; i < gw_nsettings; i++) {
        const struct gw_setting *s = &gw_settings[i];
        if (s->restart && memcmp((const char *)a + s->off, (const char *)b + s->off, s->size)) {
            *name = s->name;
            return true;
        }
    }
    return false;
}
