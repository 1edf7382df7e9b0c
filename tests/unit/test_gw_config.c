/* Tests for loading the gateway config from a string (gw_config_load.c,
 * gw_config.c): every default, the value codecs (durations, sizes, lists,
 * addresses), upstream sections and flags, errors as "file:line: what",
 * several at once and capped, precedence defaults < file < environment <
 * flags, the dump that loads back to itself, and which changes need a
 * restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_config.h"
#include "log.h"

#define ERRS_MAX 65536
#define UP "[upstream a]\nurl = http://127.0.0.1:3030\n"
#define KiB 1024ull
#define MiB (1024 * KiB)

extern char **environ;

static struct nu_buf errs;

/* No NEARUP_GATEWAY_* from the environment the tests run in. */
static void clear_gateway_env(void)
{
    for (bool again = true; again;) {
        again = false;
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "NEARUP_GATEWAY_", 15) == 0) {
                char name[128];
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
                again = true; /* environ changed under us */
                break;
            }
        }
    }
}

static int setup(void **state)
{
    (void)state;
    clear_gateway_env();
    nu_buf_init(&errs, ERRS_MAX);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_gateway_env();
    nu_buf_release(&errs);
    return 0;
}

/* Loads text (file "gw.ini") and flags; fails the test on an error. */
static struct gw_config *load_flags(const char *text, const struct gw_flag *flags, size_t n)
{
    struct gw_config *c = NULL;
    nu_buf_reset(&errs);
    int rc = gw_config_load_string(text, "gw.ini", flags, n, &c, &errs);
    if (rc != 0)
        fail_msg("config refused: %s", errs.data ? errs.data : "");
    assert_non_null(c);
    assert_int_equal(errs.len, 0);
    return c;
}

static struct gw_config *load(const char *text)
{
    return load_flags(text, NULL, 0);
}

/* The errors text for a config that must be refused. */
static const char *refused_flags(const char *text, const struct gw_flag *flags, size_t n)
{
    struct gw_config *c = (struct gw_config *)1;
    nu_buf_reset(&errs);
    assert_int_equal(gw_config_load_string(text, "gw.ini", flags, n, &c, &errs), NU_EINVAL);
    assert_null(c);
    return errs.data ? errs.data : "";
}

static const char *refused(const char *text)
{
    return refused_flags(text, NULL, 0);
}

static void test_defaults(void **state)
{
    (void)state;
    struct gw_config *c = load(UP);
    assert_string_equal(c->file, "gw.ini");
    assert_string_equal(c->listen, "127.0.0.1:3031");
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, 3031);
    assert_int_equal(c->workers, 0);
    assert_string_equal(c->zone, "");
    assert_int_equal(c->drain_timeout_ms, 10000);
    assert_string_equal(c->access_log, "");
    assert_int_equal(c->log_level, NU_LOG_INFO);
    assert_string_equal(c->chain_id, "");
    assert_int_equal(c->health_interval_ms, 1000);
    assert_int_equal(c->health_timeout_ms, 1000);
    assert_int_equal(c->rise, 2);
    assert_int_equal(c->fall, 2);
    assert_int_equal(c->max_lag_blocks, 20);
    assert_int_equal(c->stale_after_ms, 30000);
    assert_int_equal(c->min_healthy, 1);
    assert_int_equal(c->passive_failures, 3);
    assert_int_equal(c->dns_interval_ms, 5000);
    assert_int_equal(c->dns_family, GW_DNS_ANY);
    assert_int_equal(c->retries, 2);
    assert_int_equal(c->retry_budget_percent, 20);
    assert_int_equal(c->retry_budget_min, 10);
    assert_int_equal(c->connect_timeout_ms, 1000);
    assert_int_equal(c->upstream_timeout_ms, 30000);
    assert_int_equal(c->max_batch, 100);
    assert_int_equal(c->upstream_max_inflight, 1024);
    assert_int_equal(c->pool_idle_max, 64);
    assert_int_equal(c->pool_idle_timeout_ms, 4000);
    assert_int_equal(c->max_response_bytes, 64 * MiB);
    assert_int_equal(c->max_body_bytes, 10 * MiB);
    assert_int_equal(c->max_header_bytes, 16 * KiB);
    assert_int_equal(c->max_unsent_bytes, 128 * MiB);
    assert_int_equal(c->max_connections, 10000);
    assert_int_equal(c->idle_timeout_ms, 75000);
    assert_int_equal(c->header_timeout_ms, 10000);
    assert_int_equal(c->body_timeout_ms, 60000);
    assert_int_equal(c->write_timeout_ms, 60000);
    assert_int_equal(c->retry_after_s, 1);
    assert_string_equal(c->allow_methods, "");
    assert_string_equal(c->deny_methods, "");
    assert_int_equal(c->deny, GW_DENY_HTTP);
    assert_int_equal(c->allow_mask, ~0ull);
    assert_int_equal(c->deny_mask, 0);
    assert_int_equal(c->rate_limit, 0);
    assert_int_equal(c->rate_burst, 0);
    assert_int_equal(c->ratelimit_clients, 65536);
    for (int m = 0; m < GW_NMETHODS; m++)
        assert_int_equal(c->method_cost[m], 1);
    assert_int_equal(c->nups, 1);
    const struct gw_upstream_spec *u = &c->ups[0];
    assert_string_equal(u->name, "a");
    assert_string_equal(u->url, "http://127.0.0.1:3030");
    assert_string_equal(u->host, "127.0.0.1");
    assert_int_equal(u->port, 3030);
    assert_string_equal(u->path, "/");
    assert_false(u->is_dns);
    assert_string_equal(u->zone, "");
    assert_int_equal(u->weight, 100);
    assert_false(u->archival);
    assert_int_equal(u->max_inflight, 1024); /* upstream_max_inflight */
    assert_int_equal(u->line, 2);            /* its first key's line */
    gw_config_unref(c);
}

static void test_file_values_and_units(void **state)
{
    (void)state;
    struct gw_config *c = load("; a comment\n"
                               "# another\n"
                               "[gateway]\n"
                               "listen = [::1]:8080\n"
                               "zone: eu-west\n"
                               "drain_timeout = 250ms\n"
                               "\n"
                               "[health]\n"
                               "health_interval = 2s\n"
                               "stale_after = 5m\n"
                               "dns_interval = 1h\n"
                               "health_timeout = 1500\n"
                               "\n"
                               "[proxy]\n"
                               "max_response = 1GiB\n"
                               "upstream_max_inflight = 7\n"
                               "\n"
                               "[limits]\n"
                               "max_body = 512 KiB\n"
                               "max_header = 2048\n"
                               "max_unsent = 3MB\n"
                               "deny_mode = jsonrpc\n"
                               "allow_methods = status,query, block\n"
                               "deny_methods = query\n"
                               "\n"
                               "[ratelimit]\n"
                               "rate_limit = 50\n"
                               "\n"
                               "[method_cost]\n"
                               "query = 4\n"
                               "other = 0\n"
                               "\n"
                               "[upstream rpc-1]\n"
                               "url = http://10.0.0.1/rpc/v1\n"
                               "zone = eu-west\n"
                               "weight = 250\n"
                               "\n"
                               "[upstream archive]\n"
                               "url = http://[fd00::2]:3030\n"
                               "archival = yes\n"
                               "max_inflight = 0\n"
                               "\n"
                               "[upstream pool]\n"
                               "dns = rpc.internal:3030\n");
    assert_string_equal(c->listen_host, "::1");
    assert_int_equal(c->listen_port, 8080);
    assert_string_equal(c->zone, "eu-west");
    assert_int_equal(c->drain_timeout_ms, 250);
    assert_int_equal(c->health_interval_ms, 2000);
    assert_int_equal(c->stale_after_ms, 300000);
    assert_int_equal(c->dns_interval_ms, 3600000);
    assert_int_equal(c->health_timeout_ms, 1500);
    assert_int_equal(c->max_response_bytes, 1024 * MiB);
    assert_int_equal(c->max_body_bytes, 512 * KiB);
    assert_int_equal(c->max_header_bytes, 2048);
    assert_int_equal(c->max_unsent_bytes, 3 * MiB); /* MB is binary too */
    assert_int_equal(c->deny, GW_DENY_JSONRPC);
    assert_int_equal(c->deny_mode, GW_DENY_JSONRPC);
    assert_int_equal(c->allow_mask,
                     (1ull << GW_M_STATUS) | (1ull << GW_M_QUERY) | (1ull << GW_M_BLOCK));
    assert_int_equal(c->deny_mask, 1ull << GW_M_QUERY);
    assert_int_equal(c->rate_limit, 50);
    assert_int_equal(c->rate_burst, 50); /* 0: one second's worth */
    assert_int_equal(c->method_cost[GW_M_QUERY], 4);
    assert_int_equal(c->method_cost[GW_M_OTHER], 0);
    assert_int_equal(c->method_cost[GW_M_BLOCK], 1);
    assert_int_equal(c->nups, 3);
    const struct gw_upstream_spec *u = c->ups;
    assert_string_equal(u[0].name, "rpc-1");
    assert_string_equal(u[0].host, "10.0.0.1");
    assert_int_equal(u[0].port, 80);
    assert_string_equal(u[0].path, "/rpc/v1");
    assert_string_equal(u[0].zone, "eu-west");
    assert_int_equal(u[0].weight, 250);
    assert_int_equal(u[0].max_inflight, 7);
    assert_int_equal(u[0].line, 34);
    assert_string_equal(u[1].name, "archive");
    assert_string_equal(u[1].host, "fd00::2");
    assert_int_equal(u[1].port, 3030);
    assert_true(u[1].archival);
    assert_int_equal(u[1].max_inflight, 0);
    assert_int_equal(u[1].line, 39);
    assert_string_equal(u[2].name, "pool");
    assert_true(u[2].is_dns);
    assert_string_equal(u[2].host, "rpc.internal");
    assert_int_equal(u[2].port, 3030);
    assert_string_equal(u[2].url, "");
    gw_config_unref(c);
}

static void test_value_errors_name_file_and_line(void **state)
{
    (void)state;
    assert_string_equal(refused(UP "[proxy]\nretries = x\n"),
                        "gw.ini:4: retries: \"x\" is not a whole number\n");
    assert_string_equal(refused(UP "[proxy]\nretries = 11\n"),
                        "gw.ini:4: retries: 11 is out of range [0, 10]\n");
    assert_string_equal(refused(UP "[proxy]\nretries = -1\n"),
                        "gw.ini:4: retries: \"-1\" is not a whole number\n");
    assert_string_equal(
        refused(UP "[gateway]\ndrain_timeout = 10 parsecs\n"),
        "gw.ini:4: drain_timeout: \"10 parsecs\" is not a duration (250ms, 2s, 5m, 1h)\n");
    assert_string_equal(refused(UP "[health]\nhealth_interval = 5ms\n"),
                        "gw.ini:4: health_interval: 5ms is out of range [10, 86400000] ms\n");
    assert_string_equal(refused(UP "[limits]\nmax_body = 1TiB\n"),
                        "gw.ini:4: max_body: \"1TiB\" is not a size (512, 16KiB, 10MiB)\n");
    assert_string_equal(refused(UP "[limits]\nmax_body = 100\n"),
                        "gw.ini:4: max_body: 100 is out of range [1024, 2147483648] bytes\n");
    assert_string_equal(refused(UP "[gateway]\nlog_level = loud\n"),
                        "gw.ini:4: log_level: \"loud\" is not one of debug|info|warn|error\n");
    assert_string_equal(
        refused(UP "[limits]\ndeny_methods = status,frobnicate\n"),
        "gw.ini:4: deny_methods: unknown method \"frobnicate\" (use neard's names or \"other\")\n");
    assert_string_equal(refused(UP "[gateway]\nlisten = gateway.example:80\n"),
                        "gw.ini:4: listen: \"gateway.example:80\" is not IP:PORT (or [IPv6]:PORT, "
                        "localhost:PORT)\n");
    assert_string_equal(refused(UP "[method_cost]\nfrobnicate = 2\n"),
                        "gw.ini:4: method_cost: unknown method \"frobnicate\"\n");
    assert_string_equal(refused(UP "[method_cost]\nquery = lots\n"),
                        "gw.ini:4: method_cost query: \"lots\" is not a whole number\n");
}

static void test_structure_errors(void **state)
{
    (void)state;
    assert_string_equal(refused(UP "[gateway]\nfoo = 1\n"),
                        "gw.ini:4: unknown setting \"foo\" in [gateway]\n");
    assert_string_equal(refused("foo = 1\n" UP), "gw.ini:1: unknown setting \"foo\"\n");
    /* a flag's spelling is not a file's */
    assert_string_equal(refused(UP "[limits]\nmax-body = 1MiB\n"),
                        "gw.ini:4: unknown setting \"max-body\" in [limits]\n");
    assert_string_equal(refused(UP "[proxy]\nrise = 3\n"),
                        "gw.ini:4: rise belongs in [health], not [proxy]\n");
    assert_string_equal(refused(UP "[proxy]\nretries = 1\nretries = 2\n"),
                        "gw.ini:5: retries is set twice (first on line 4)\n");
    assert_string_equal(refused(UP "[method_cost]\nquery = 1\nquery = 2\n"),
                        "gw.ini:5: method_cost query is set twice\n");
    assert_string_equal(refused(UP "[tuning]\nx = 1\n"), "gw.ini:4: unknown section [tuning]\n");
    assert_string_equal(refused(UP "[proxy\n"),
                        "gw.ini:3: syntax error: expected [section] or name = value\n");
    assert_string_equal(refused(UP "just words\n"),
                        "gw.ini:3: syntax error: expected [section] or name = value\n");
    /* settings outside any section are fine: a file of flags' names */
    struct gw_config *c = load("retries = 0\n" UP);
    assert_int_equal(c->retries, 0);
    gw_config_unref(c);
}

static void test_upstream_errors(void **state)
{
    (void)state;
    assert_string_equal(refused("[proxy]\nretries = 1\n"),
                        "gw.ini: no upstreams: add [upstream NAME] with url = http://HOST:PORT (or "
                        "dns = NAME:PORT), or --upstream URL\n");
    assert_string_equal(refused(UP "[upstream b]\nzone = x\n"),
                        "gw.ini:4: [upstream b] needs url = http://HOST:PORT or dns = NAME:PORT\n");
    assert_string_equal(
        refused(UP "[upstream b]\nurl = http://127.0.0.1:1\n[upstream a]\nzone = x\n"),
        "gw.ini:6: upstream \"a\" is defined twice\n");
    assert_string_equal(refused("[upstream a]\nurl = ftp://127.0.0.1:21\n"),
                        "gw.ini:2: [upstream a] url \"ftp://127.0.0.1:21\": expected "
                        "http://HOST:PORT[/PATH]\n");
    assert_string_equal(refused("[upstream a]\nurl = https://127.0.0.1:443\n"),
                        "gw.ini:2: [upstream a] url https://127.0.0.1:443: https upstreams are not "
                        "supported (terminate TLS elsewhere)\n");
    assert_string_equal(refused("[upstream a]\nurl = http://rpc.example:3030\n"),
                        "gw.ini:2: [upstream a] url http://rpc.example:3030: host must be an IP "
                        "address or localhost (use dns = rpc.example:3030 for names)\n");
    assert_string_equal(refused("[upstream a]\nurl = http://127.0.0.1:0\n"),
                        "gw.ini:2: [upstream a] url \"http://127.0.0.1:0\": expected "
                        "http://HOST:PORT[/PATH]\n");
    assert_string_equal(refused("[upstream a]\nurl = http://127.0.0.1:3030\ndns = x:1\n"),
                        "gw.ini:3: [upstream a] dns: an upstream has one url or one dns\n");
    assert_string_equal(refused("[upstream a]\ndns = bad/name:1\n"),
                        "gw.ini:2: [upstream a] dns \"bad/name:1\": bad character in the name\n");
    assert_string_equal(refused("[upstream a]\ndns = noport\n"),
                        "gw.ini:2: [upstream a] dns \"noport\": expected NAME:PORT\n");
    assert_string_equal(refused(UP "weight = 0\n"),
                        "gw.ini:3: [upstream a] weight: 0 is out of range [1, 1000]\n");
    assert_string_equal(refused(UP "archival = maybe\n"),
                        "gw.ini:3: [upstream a] archival: \"maybe\" is not true or false\n");
    assert_string_equal(refused(UP "color = red\n"),
                        "gw.ini:3: [upstream a] unknown upstream key \"color\" (known: url, dns, "
                        "zone, weight, archival, max_inflight)\n");
    assert_string_equal(refused("[upstream a b]\nurl = http://127.0.0.1:1\n"),
                        "gw.ini:2: upstream name \"a b\": 1-63 characters, no spaces, quotes or "
                        "=,\n");
}

static void test_many_errors_at_once_are_capped(void **state)
{
    (void)state;
    char text[4096];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof(text) - n, UP "[proxy]\n");
    for (int i = 0; i < 25; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "bogus%d = 1\n", i);
    const char *e = refused(text);
    char want[4096];
    size_t w = 0;
    for (int i = 0; i < 20; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w,
                              "gw.ini:%d: unknown setting \"bogus%d\" in [proxy]\n", 4 + i, i);
    snprintf(want + w, sizeof(want) - w, "(5 more errors)\n");
    assert_string_equal(e, want);
    /* different errors in one file are all reported, in order */
    assert_string_equal(refused("[gateway]\nworkers = many\n[health]\nrise = 0\n"
                                "[upstream a]\nurl = ftp://x\n"),
                        "gw.ini:2: workers: \"many\" is not a whole number\n"
                        "gw.ini:4: rise: 0 is out of range [1, 100]\n"
                        "gw.ini:6: [upstream a] url \"ftp://x\": expected "
                        "http://HOST:PORT[/PATH]\n");
}

static void test_precedence_file_env_flags(void **state)
{
    (void)state;
    const char *text = UP "[proxy]\nretries = 3\n";
    const struct gw_flag flag = {"retries", "5"};
    struct gw_config *c = load(text);
    assert_int_equal(c->retries, 3);
    gw_config_unref(c);
    assert_int_equal(setenv("NEARUP_GATEWAY_RETRIES", "4", 1), 0);
    c = load(text);
    assert_int_equal(c->retries, 4);
    gw_config_unref(c);
    c = load_flags(text, &flag, 1);
    assert_int_equal(c->retries, 5);
    gw_config_unref(c);
    /* the environment without a file */
    assert_int_equal(setenv("NEARUP_GATEWAY_MAX_BODY", "2MiB", 1), 0);
    c = load(UP);
    assert_int_equal(c->max_body_bytes, 2 * MiB);
    assert_int_equal(c->retries, 4);
    gw_config_unref(c);
    /* each source names itself in errors */
    assert_int_equal(setenv("NEARUP_GATEWAY_RETRIES", "x", 1), 0);
    assert_string_equal(refused(UP),
                        "env NEARUP_GATEWAY_RETRIES: retries: \"x\" is not a whole number\n");
    unsetenv("NEARUP_GATEWAY_RETRIES");
    const struct gw_flag bad[] = {{"retries", "99"}, {"nope", "1"}, {"max-body", "big"}};
    assert_string_equal(refused_flags(UP, bad, 3),
                        "flag --retries: retries: 99 is out of range [0, 10]\n"
                        "flag --nope: unknown setting (see nearup gateway --help)\n"
                        "flag --max-body: max_body: \"big\" is not a size (512, 16KiB, 10MiB)\n");
}

static void test_flags_alone(void **state)
{
    (void)state;
    const struct gw_flag flags[] = {
        {"upstream", "http://127.0.0.1:3030"},
        {"upstream", "arch=http://127.0.0.1:3040/x,archival,zone=eu,weight=7,max_inflight=9"},
        {"max-body", "1MiB"},
        {"method-cost", "query=5"},
        {"rate_limit", "10"},
        {"rate-burst", "30"},
        {"log-level", "warn"},
        {"dns_family", "ipv6"},
    };
    struct gw_config *c = NULL;
    nu_buf_reset(&errs);
    assert_int_equal(gw_config_load_string(NULL, NULL, flags, 8, &c, &errs), 0);
    assert_string_equal(c->file, "");
    assert_int_equal(c->nups, 2);
    assert_string_equal(c->ups[0].name, "127.0.0.1:3030");
    assert_int_equal(c->ups[0].line, 0);
    assert_string_equal(c->ups[1].name, "arch");
    assert_string_equal(c->ups[1].path, "/x");
    assert_true(c->ups[1].archival);
    assert_string_equal(c->ups[1].zone, "eu");
    assert_int_equal(c->ups[1].weight, 7);
    assert_int_equal(c->ups[1].max_inflight, 9);
    assert_int_equal(c->max_body_bytes, 1 * MiB);
    assert_int_equal(c->method_cost[GW_M_QUERY], 5);
    assert_int_equal(c->rate_limit, 10);
    assert_int_equal(c->rate_burst, 30);
    assert_int_equal(c->log_level, NU_LOG_WARN);
    assert_int_equal(c->dns_family, GW_DNS_IPV6);
    gw_config_unref(c);

    const struct gw_flag bad[] = {
        {"upstream", "http://127.0.0.1:3030,colour=red"},
        {"upstream", "http://127.0.0.1:3030"}, /* the same name again */
        {"method-cost", "query"},
        {"method-cost", "frobnicate=1"},
    };
    assert_string_equal(refused_flags(NULL, bad, 4),
                        "flag --upstream: unknown upstream key \"colour\" (known: url, dns, zone, "
                        "weight, archival, max_inflight)\n"
                        "flag --upstream: upstream \"127.0.0.1:3030\" is defined twice\n"
                        "flag --method-cost: expected METHOD=COST\n"
                        "flag --method-cost: method_cost: unknown method \"frobnicate\"\n");
    /* no text and no upstream flag */
    struct gw_config *none = (struct gw_config *)1;
    nu_buf_reset(&errs);
    assert_int_equal(gw_config_load_string(NULL, NULL, NULL, 0, &none, &errs), NU_EINVAL);
    assert_null(none);
    assert_string_equal(errs.data, "config: no upstreams: add [upstream NAME] with url = "
                                   "http://HOST:PORT (or dns = NAME:PORT), or --upstream URL\n");
}

static void test_credentials_are_refused_and_not_shown(void **state)
{
    (void)state;
    const char *e = refused("[upstream a]\nurl = http://user:s3cret@127.0.0.1:3030\n");
    assert_null(strstr(e, "s3cret"));
    assert_null(strstr(e, "user"));
    assert_string_equal(e, "gw.ini:2: [upstream a] url \"http://***@127.0.0.1:3030\": "
                           "credentials in an upstream url are not supported (the gateway sends "
                           "none); remove them\n");
    /* a flag's name is taken after the userinfo, never from it */
    const struct gw_flag f = {"upstream", "http://user:s3cret@127.0.0.1:3030"};
    e = refused_flags(NULL, &f, 1);
    assert_null(strstr(e, "s3cret"));
    assert_string_equal(e, "flag --upstream: url \"http://***@127.0.0.1:3030\": credentials in an "
                           "upstream url are not supported (the gateway sends none); remove "
                           "them\n");
}

static void test_dump_loads_back(void **state)
{
    (void)state;
    struct gw_config *c = load("[gateway]\nzone = z1\ndrain_timeout = 90s\n"
                               "[limits]\nmax_body = 3072\ndeny_methods = tx\n"
                               "[method_cost]\nquery = 9\n"
                               "[upstream a]\nurl = http://127.0.0.1:3030/\nzone = z1\n"
                               "archival = true\n"
                               "[upstream d]\ndns = node.internal:3030\nweight = 3\n");
    struct nu_buf one, two;
    nu_buf_init(&one, ERRS_MAX);
    nu_buf_init(&two, ERRS_MAX);
    assert_int_equal(gw_config_dump(c, &one), 0);
    assert_non_null(strstr(one.data, "\n[gateway]\nlisten = 127.0.0.1:3031\nworkers = 0\n"
                                     "zone = z1\ndrain_timeout = 90s\n"));
    assert_non_null(strstr(one.data, "\nmax_body = 3KiB\n"));
    assert_non_null(strstr(one.data, "\nmax_response = 64MiB\n"));
    assert_non_null(strstr(one.data, "\nhealth_interval = 1s\n"));
    assert_non_null(strstr(one.data, "\nidle_timeout = 75s\n"));
    assert_non_null(strstr(one.data, "\ndeny_methods = tx\n"));
    assert_non_null(strstr(one.data, "\n[method_cost]\nquery = 9\n\n[upstream a]\n"));
    assert_non_null(strstr(one.data, "\n[upstream a]\nurl = http://127.0.0.1:3030/\nzone = z1\n"
                                     "weight = 100\narchival = true\nmax_inflight = 1024\n"));
    assert_non_null(strstr(one.data, "\n[upstream d]\ndns = node.internal:3030\nweight = 3\n"
                                     "archival = false\nmax_inflight = 1024\n"));
    assert_int_equal(strncmp(one.data, "; nearup gateway: effective configuration\n", 42), 0);
    struct gw_config *back = load(one.data);
    assert_int_equal(gw_config_dump(back, &two), 0);
    assert_string_equal(two.data, one.data);
    assert_int_equal(back->drain_timeout_ms, 90000);
    assert_int_equal(back->max_body_bytes, 3072);
    assert_int_equal(back->deny_mask, c->deny_mask);
    assert_int_equal(back->nups, 2);
    nu_buf_release(&one);
    nu_buf_release(&two);
    gw_config_unref(back);
    gw_config_unref(c);
}

static void test_restart_needed_and_flags(void **state)
{
    (void)state;
    struct gw_config *a = load(UP), *b = load(UP "[proxy]\nretries = 0\n");
    struct gw_config *moved = load(UP "[gateway]\nlisten = 127.0.0.1:4000\n");
    struct gw_config *bigger = load(UP "[limits]\nmax_body = 20MiB\n");
    const char *name = "unset";
    assert_false(gw_config_restart_needed(a, b, &name));
    assert_string_equal(name, "unset");
    assert_true(gw_config_restart_needed(a, moved, &name));
    assert_string_equal(name, "listen");
    assert_true(gw_config_restart_needed(a, bigger, &name));
    assert_string_equal(name, "max_body");
    assert_ptr_equal(gw_config_ref(a), a);
    gw_config_unref(a);
    gw_config_unref(a);
    gw_config_unref(b);
    gw_config_unref(moved);
    gw_config_unref(bigger);
    gw_config_unref(NULL);
    assert_true(gw_config_is_flag("max-body"));
    assert_true(gw_config_is_flag("max_body"));
    assert_true(gw_config_is_flag("upstream"));
    assert_true(gw_config_is_flag("method-cost"));
    assert_false(gw_config_is_flag("max-bodies"));
    assert_false(gw_config_is_flag(""));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_file_values_and_units),
        T(test_value_errors_name_file_and_line),
        T(test_structure_errors),
        T(test_upstream_errors),
        T(test_many_errors_at_once_are_capped),
        T(test_precedence_file_env_flags),
        T(test_flags_alone),
        T(test_credentials_are_refused_and_not_shown),
        T(test_dump_loads_back),
        T(test_restart_needed_and_flags),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
