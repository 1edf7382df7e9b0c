/* nearup health --node URL [--listen ADDR] [--reference URL] [--max-lag N]
 *               [--stale SECONDS] [--interval MS] [--timeout MS] [--rise N]
 *               [--fall N] [--agent-port PORT] [--drain-timeout MS]
 *               [--log-level LEVEL]
 *
 * A health-check sidecar for one node (src/sidecar/sidecar.h): GET
 * /healthcheck, GET /metrics and the HAProxy agent-check protocol. Runs in
 * the foreground until SIGTERM or SIGINT (exit 0). SIGHUP reloads nothing —
 * every setting is a flag — and runs a check at once. While it drains,
 * every signal is logged and ignored (docs/health.md, "Signals"). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cmd.h"
#include "log.h"
#include "sidecar.h"
#include "sigs.h"
#include "url.h"

#define CMD "health"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nearup health --node URL [options]\n"
            "\n"
            "Serves GET /healthcheck (200 or 503 with the reason), GET /metrics and, with\n"
            "--agent-port, HAProxy's agent-check for one NEAR node.\n"
            "\n"
            "  --node URL          the node's JSON-RPC URL (http://127.0.0.1:3030)\n"
            "  --listen ADDR       HTTP address (default 127.0.0.1:3032); 0.0.0.0:PORT or\n"
            "                      [::]:PORT binds every interface\n"
            "  --reference URL     JSON-RPC URL of a trusted node to measure lag against\n"
            "  --max-lag N         blocks behind the reference before 'lagging' (default 20)\n"
            "  --stale SECONDS     head older than this is 'stale' (default 30)\n"
            "  --interval MS       time between checks (default 1000)\n"
            "  --timeout MS        a check without an answer in time is 'down' (default 1000)\n"
            "  --rise N            OK checks in a row before healthy again (default 2)\n"
            "  --fall N            failed checks in a row before unhealthy (default 2)\n"
            "  --agent-port PORT   serve HAProxy agent-check on the --listen host, this port\n"
            "  --drain-timeout MS  on SIGTERM/SIGINT, how long answers in flight may take\n"
            "                      (default 1000)\n"
            "  --log-level LEVEL   debug, info, warn or error (default info)\n");
}

static int parse_uint(const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
        cli_error(CMD, "%s: expected a whole number from %ld to %ld, got '%s'", flag, lo, hi, v);
        return 2;
    }
    *out = n;
    return 0;
}

static int parse_seconds(const char *flag, const char *v, unsigned *ms)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= 0.01 && d <= 86400)) {
        cli_error(CMD, "%s: expected seconds from 0.01 to 86400, got '%s'", flag, v);
        return 2;
    }
    *ms = (unsigned)(d * 1000 + 0.5);
    return 0;
}

/* "http://host:port[/path]"; a bare "host:port" gets http://. */
static int parse_url(const char *flag, const char *v, char *out, size_t outsz)
{
    bool has_scheme = strstr(v, "://") != NULL;
    bool known = strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
    int n = snprintf(out, outsz, "%s%s", has_scheme ? "" : "http://", v);
    if ((has_scheme && !known) || v[0] == '\0' || n < 0 || (size_t)n >= outsz) {
        cli_error(CMD, "%s: expected an http:// or https:// URL, got '%s'", flag, v);
        return 2;
    }
    struct nu_url u;
    char errbuf[NU_ERRMSG_MAX];
    if (nu_url_parse(out, &u, errbuf) != 0) {
        cli_error(CMD, "%s: %s", flag, errbuf);
        return 2;
    }
    return 0;
}

/* "host:port" or "[v6]:port" with a numeric host. */
static int parse_listen(const char *v, struct hc_opts *o)
{
    const char *colon = strrchr(v, ':');
    const char *h = v;
    size_t hlen = colon ? (size_t)(colon - v) : 0;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    long port = -1;
    char *end = NULL;
    if (colon != NULL)
        port = strtol(colon + 1, &end, 10);
    if (colon == NULL || hlen == 0 || hlen >= sizeof(o->listen_host) || end == colon + 1 ||
        *end != '\0' || port < 0 || port > 65535) {
        cli_error(CMD, "--listen: expected HOST:PORT with a numeric host, got '%s'", v);
        return 2;
    }
    memcpy(o->listen_host, h, hlen);
    o->listen_host[hlen] = '\0';
    o->listen_port = (int)port;
    return 0;
}

static int apply_opt(int c, const char *v, struct hc_opts *o, bool *have_node)
{
    long n = 0;
    int rc = 0;
    switch (c) {
    case 'n':
        *have_node = true;
        return parse_url("--node", v, o->node_url, sizeof(o->node_url));
    case 'r':
        return parse_url("--reference", v, o->reference_url, sizeof(o->reference_url));
    case 'l':
        return parse_listen(v, o);
    case 's':
        return parse_seconds("--stale", v, &o->stale_ms);
    case 'm':
        rc = parse_uint("--max-lag", v, 0, 1000000000, &n);
        o->max_lag = (unsigned)n;
        return rc;
    case 'i':
        rc = parse_uint("--interval", v, 10, 3600000, &n);
        o->interval_ms = (unsigned)n;
        return rc;
    case 't':
        rc = parse_uint("--timeout", v, 10, 600000, &n);
        o->timeout_ms = (unsigned)n;
        return rc;
    case 'R':
        rc = parse_uint("--rise", v, 1, 100, &n);
        o->rise = (unsigned)n;
        return rc;
    case 'F':
        rc = parse_uint("--fall", v, 1, 100, &n);
        o->fall = (unsigned)n;
        return rc;
    case 'd':
        rc = parse_uint("--drain-timeout", v, 1, 600000, &n);
        o->drain_ms = (unsigned)n;
        return rc;
    case 'a':
        rc = parse_uint("--agent-port", v, 0, 65535, &n);
        o->agent_port = (int)n;
        return rc;
    default:
        return 2;
    }
}

/* Returns 0 to run, -1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct hc_opts *o)
{
    static const struct option opts[] = {
        {"node", required_argument, NULL, 'n'},
        {"reference", required_argument, NULL, 'r'},
        {"listen", required_argument, NULL, 'l'},
        {"max-lag", required_argument, NULL, 'm'},
        {"stale", required_argument, NULL, 's'},
        {"interval", required_argument, NULL, 'i'},
        {"timeout", required_argument, NULL, 't'},
        {"rise", required_argument, NULL, 'R'},
        {"fall", required_argument, NULL, 'F'},
        {"agent-port", required_argument, NULL, 'a'},
        {"drain-timeout", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool have_node = false;
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        enum nu_log_level level;
        if (c == 'h') {
            usage(stdout);
            return -1;
        } else if (c == ':') {
            cli_error(CMD, "%s needs a value; see 'nearup health --help'", argv[optind - 1]);
            rc = 2;
        } else if (c == '?') {
            cli_error(CMD, "unknown option '%s'; see 'nearup health --help'", argv[optind - 1]);
            rc = 2;
        } else if (c == 'L' && nu_log_parse_level(optarg, &level) != 0) {
            cli_error(CMD, "--log-level: expected debug, info, warn or error, got '%s'", optarg);
            rc = 2;
        } else if (c == 'L') {
            nu_log_set_level(level);
        } else {
            rc = apply_opt(c, optarg, o, &have_node);
        }
    }
    if (rc == 0 && optind < argc) {
        cli_error(CMD, "unexpected argument '%s'; see 'nearup health --help'", argv[optind]);
        rc = 2;
    }
    if (rc == 0 && !have_node) {
        cli_error(CMD, "--node URL is required (the node's JSON-RPC URL)");
        rc = 2;
    }
    return rc;
}

struct run {
    uv_loop_t loop;
    struct nu_sigs sigs; /* open until the sidecar has closed */
    struct hc_sidecar *sc;
    bool stopping;
};

static void on_sidecar_closed(void *ud)
{
    struct run *r = ud;
    nu_sigs_close(&r->sigs);
}

/* A signal during the start waits for the first loop turn (sigs.h). While
 * the listeners drain, every signal is logged and ignored: answers still
 * in flight finish (--drain-timeout bounds it). */
static void on_signal(void *data, int signum)
{
    struct run *r = data;
    if (r->stopping) {
        nu_info("draining; signal ignored", "signal", nu_sig_name(signum));
        return;
    }
    if (signum == SIGHUP) {
        nu_info("SIGHUP: nothing to reload (settings are flags); checking now");
        hc_sidecar_check_now(r->sc);
        return;
    }
    nu_info("stopping", "signal", nu_sig_name(signum));
    r->stopping = true;
    hc_sidecar_close(r->sc, on_sidecar_closed, r);
    r->sc = NULL;
}

static void log_started(const struct hc_opts *o, const struct hc_sidecar *sc)
{
    char http[96], agent[96] = "off", lag[32], stale[32];
    snprintf(http, sizeof(http), "%s:%d", o->listen_host, hc_sidecar_http_port(sc));
    if (hc_sidecar_agent_port(sc) >= 0)
        snprintf(agent, sizeof(agent), "%s:%d", o->listen_host, hc_sidecar_agent_port(sc));
    snprintf(lag, sizeof(lag), "%u", o->max_lag);
    snprintf(stale, sizeof(stale), "%u", o->stale_ms);
    nu_info("health sidecar listening", "http", http, "agent", agent, "node", o->node_url,
            "reference", o->reference_url[0] ? o->reference_url : "-", "max_lag", lag, "stale_ms",
            stale);
}

/* Signals first, then everything else; 0 or the exit code. */
static int start(struct run *r, const struct hc_opts *o)
{
    char errbuf[NU_ERRMSG_MAX];
    if (nu_sigs_start(&r->sigs, &r->loop, on_signal, r, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    if (hc_sidecar_new(&r->loop, o, &r->sc, errbuf) != 0) {
        cli_error(CMD, "%s; pick other addresses with --listen / --agent-port", errbuf);
        return 1;
    }
    return 0;
}

static int run(const struct hc_opts *o)
{
    struct run r = {0};
    uv_loop_init(&r.loop);
    int rc = start(&r, o);
    if (rc != 0) {
        nu_sigs_close(&r.sigs);
        uv_run(&r.loop, UV_RUN_DEFAULT); /* lets the half-built sidecar close */
        uv_loop_close(&r.loop);
        return rc;
    }
    log_started(o, r.sc);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    nu_info("health sidecar stopped");
    int crc = uv_loop_close(&r.loop);
    if (crc != 0) {
        cli_error(CMD, "event loop closed with handles still open");
        return 1;
    }
    return 0;
}

int cmd_health(int argc, char **argv)
{
    struct hc_opts o;
    hc_opts_init(&o);
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    return run(&o);
}
