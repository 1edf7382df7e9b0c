/* Gateway configuration: one static settings table (name, section, type,
 * default, bounds, help) that parses the INI file, environment variables
 * and flags, validates, prints --help and --dump-config.
 *
 * Precedence: defaults < file (-c) < environment (NEARUP_GATEWAY_<NAME>) <
 * flags (--name VALUE). Errors read "file:line: what is wrong" (or
 * "env NEARUP_GATEWAY_X: ..." / "flag --x: ..."), one per line.
 *
 * A loaded config is immutable and reference-counted: the gateway shares
 * it between threads and swaps it on SIGHUP. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"
#include "gw_rpcpeek.h"
#include "settings.h"

#define GW_NAME_MAX 64
#define GW_HOST_MAX 256
#define GW_PATH_MAX 256
#define GW_MAX_UPSTREAMS 64 /* configured upstreams plus DNS members */
#define GW_CONFIG_FILE_MAX (1u << 20)
#define GW_CONFIG_MAX_ERRORS NU_SETTINGS_MAX_ERRORS

/* One [upstream NAME] section (or --upstream flag). Exactly one of url and
 * dns is set. */
struct gw_upstream_spec {
    char name[GW_NAME_MAX];
    char url[GW_PATH_MAX];  /* http://host:port/path as written */
    char host[GW_HOST_MAX]; /* url: IP literal (no brackets); dns: the name */
    int port;
    char path[GW_PATH_MAX]; /* url path, "/" by default */
    bool is_dns;            /* dns = NAME:PORT, re-resolved every dns_interval */
    char zone[GW_NAME_MAX];
    unsigned weight;       /* 1..1000, default 100 */
    bool archival;         /* keeps all blocks; old-block requests go here */
    unsigned max_inflight; /* 0: the global upstream_max_inflight */
    int line;              /* section line in the file, 0 for flags */
};

/* In the order of the settings' choices ("http|jsonrpc", "any|ipv4|ipv6"). */
enum gw_deny_mode { GW_DENY_HTTP, GW_DENY_JSONRPC };
enum gw_dns_family { GW_DNS_ANY, GW_DNS_IPV4, GW_DNS_IPV6 };

struct gw_config {
    atomic_int refs;
    char file[GW_PATH_MAX]; /* "" when no -c */

    /* [gateway] */
    char listen[GW_HOST_MAX];
    unsigned workers;
    char zone[GW_NAME_MAX];
    unsigned drain_timeout_ms;
    char access_log[GW_PATH_MAX];
    int log_level; /* enum nu_log_level */
    char chain_id[GW_NAME_MAX];
    /* [health] */
    unsigned health_interval_ms, health_timeout_ms, rise, fall, max_lag_blocks;
    unsigned stale_after_ms, min_healthy, passive_failures, dns_interval_ms;
    int dns_family; /* enum gw_dns_family */
    /* [proxy] */
    unsigned retries, retry_budget_percent, retry_budget_min;
    unsigned connect_timeout_ms, upstream_timeout_ms, max_batch, upstream_max_inflight;
    unsigned pool_idle_max, pool_idle_timeout_ms;
    uint64_t max_response_bytes;
    /* [limits] */
    uint64_t max_body_bytes, max_header_bytes, max_unsent_bytes;
    unsigned max_connections, idle_timeout_ms, header_timeout_ms, body_timeout_ms;
    unsigned write_timeout_ms, retry_after_s;
    char allow_methods[2048], deny_methods[2048];
    int deny_mode; /* enum gw_deny_mode */
    /* [ratelimit] */
    unsigned rate_limit, rate_burst, ratelimit_clients;

    /* derived by validation */
    char listen_host[GW_HOST_MAX];
    int listen_port;
    enum gw_deny_mode deny;
    uint64_t allow_mask, deny_mask; /* bit per enum gw_method; allow_mask all-ones: no list */
    unsigned method_cost[GW_NMETHODS];
    struct gw_upstream_spec ups[GW_MAX_UPSTREAMS];
    size_t nups;
};

/* A flag from the command line: name without leading dashes ('-' and '_'
 * are the same), value as given. */
struct gw_flag {
    const char *name;
    const char *value;
};

/* Builds a config: defaults, then file (NULL: none), environment, flags,
 * then validation. Besides table settings, flags may be "upstream"
 * ([NAME=]URL[,archival][,zone=Z][,weight=N][,max_inflight=N]) and
 * "method-cost" (METHOD=N). On failure *out is NULL and errs holds one
 * error per line (at most GW_CONFIG_MAX_ERRORS); returns NU_EINVAL, or
 * NU_EIO/NU_ETOOBIG when the file cannot be read. On success *out has one
 * reference (gw_config_unref). */
NU_WUR int gw_config_load(const char *file, const struct gw_flag *flags, size_t nflags,
                          struct gw_config **out, struct nu_buf *errs);
/* Same from a string (file names the text in errors); for tests and the fuzzer. */
NU_WUR int gw_config_load_string(const char *text, const char *file, const struct gw_flag *flags,
                                 size_t nflags, struct gw_config **out, struct nu_buf *errs);

struct gw_config *gw_config_ref(struct gw_config *c);
void gw_config_unref(struct gw_config *c); /* accepts NULL */

/* True when name ('-' or '_') is a table setting, "upstream" or "method-cost". */
bool gw_config_is_flag(const char *name);

/* Effective configuration as an INI file that loads back to the same values. */
NU_WUR int gw_config_dump(const struct gw_config *c, struct nu_buf *out);
/* One line per setting: flag, value kind, default, bounds, help. */
NU_WUR int gw_config_help(struct nu_buf *out);
/* True when a setting that only applies at start differs; name gets its name. */
bool gw_config_restart_needed(const struct gw_config *a, const struct gw_config *b,
                              const char **name);

/* The settings table (gw_config.c): the config file's keys and, through
 * it, `nearup gateway`'s flags, help, man page and completion. */
extern const struct nu_setting gw_settings[];
extern const size_t gw_nsettings;
extern const struct nu_settings_table gw_settings_table;

#endif
