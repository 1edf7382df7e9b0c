/* nearup health --node URL [--listen ADDR] [--reference URL] [--max-lag N]
 *               [--stale SECONDS] [--interval MS] [--timeout MS] [--rise N]
 *               [--fall N] [--agent-port PORT] [--drain-timeout MS]
 *               [--log-level LEVEL]
 * nearup health --wait --node URL [--home DIR] [--reference URL] [--max-lag N]
 *               [--stale SECONDS] [--interval MS] [--timeout MS] [--rise N]
 *               [--timeout-total SECONDS]
 * nearup health --drain --sidecar URL [--wait-idle SECONDS]
 * nearup health --undrain --sidecar URL
 *
 * A health-check sidecar for one node (src/sidecar/sidecar.h): GET
 * /healthcheck, GET /metrics and the HAProxy agent-check protocol; with
 * --home DIR, that home's restore chain check (chaincheck.h) holds the
 * node back ("unverified") while it is pending or failed. Runs in
 * the foreground until SIGTERM or SIGINT (exit 0). SIGHUP reloads nothing —
 * every setting is a flag — and runs a check at once. While it drains,
 * every signal is logged and ignored (docs/health.md, "Signals").
 *
 * With --wait it serves nothing: it runs the same checks (wait.h) until
 * --rise OK checks in a row (exit 0) or --timeout-total (exit 1, the last
 * state and reason on stderr). A mode of `nearup health` rather than a
 * command of its own, so that a rollout waits with the very flags its
 * sidecar is started with.
 *
 * --drain / --undrain ask a running sidecar (POST /drain, /undrain, from
 * this host) to stop or resume serving the node as healthy; --wait-idle
 * then gives the requests already sent to it time to finish. */
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "buf.h"
#include "clock.h"
#include "cmd.h"
#include "httpc.h"
#include "json.h"
#include "hostport.h"
#include "log.h"
#include "sidecar.h"
#include "sigs.h"
#include "state.h"
#include "url.h"
#include "wait.h"

#define CMD "health"

struct health_args {
    struct hc_opts o;
    int log_level; /* enum nu_log_level */
    bool have_node;
    bool wait;
    unsigned total_s; /* --timeout-total */
    bool drain, undrain;
    char sidecar_url[HC_URL_MAX];
    unsigned idle_s; /* --wait-idle */
};

#define DRAIN_REPLY_MAX (64u << 10) /* the sidecar's /healthcheck body */
#define DRAIN_TIMEOUT_MS 10000

/* "http://host:port[/path]"; a bare "host:port" gets http://. */
static int set_url(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    int rc = nu_url_from_user(v, (char *)obj + s->off, s->size, msg, msgsz);
    if (rc == 0 && strcmp(s->name, "node") == 0)
        ((struct health_args *)obj)->have_node = true;
    return rc;
}

/* The node's home, made absolute. */
static int set_home(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct hc_opts *o = &((struct health_args *)obj)->o;
    if (node_abspath(v, o->home, sizeof(o->home), msg) < 0) {
        snprintf(msg, msgsz, "%s is not a usable path", v);
        return NU_EINVAL;
    }
    return 0;
}

/* "host:port" or "[v6]:port" with a numeric host. */
static int set_listen(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    struct hc_opts *o = &((struct health_args *)obj)->o;
    struct nu_hostport hp;
    const char *why;
    size_t hlen = 0;
    if (nu_hostport_parse(v, strlen(v), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0 ||
        (hlen = strlen(hp.host)) >= sizeof(o->listen_host)) {
        snprintf(msg, msgsz, "\"%s\" is not HOST:PORT with a numeric host", v);
        return NU_EINVAL;
    }
    memcpy(o->listen_host, hp.host, hlen + 1);
    o->listen_port = hp.port;
    return 0;
}

static int set_port(const struct nu_setting *s, void *obj, const char *v, char *msg, size_t msgsz)
{
    uint64_t port;
    if (nu_parse_uint_in(v, 0, 65535, &port, msg, msgsz) != 0)
        return NU_EINVAL;
    *(int *)((char *)obj + s->off) = (int)port;
    return 0;
}

#define O(field) NU_FIELD(struct health_args, field)

static const struct nu_setting opts[] = {
    {.name = "node",
     .type = NU_T_TEXT,
     O(o.node_url),
     .metavar = "URL",
     .set = set_url,
     .help = "the node's JSON-RPC URL (http://127.0.0.1:3030); required"},
    {.name = "home",
     .type = NU_T_TEXT,
     O(o.home),
     .metavar = "DIR",
     .set = set_home,
     .help = "the node's home: while its restore's chain check is pending or failed, "
             "/healthcheck says 503 'unverified'"},
    {.name = "listen",
     .type = NU_T_TEXT,
     O(o.listen_host),
     .def = "127.0.0.1:3032",
     .metavar = "ADDR",
     .set = set_listen,
     .help = "HTTP address; 0.0.0.0:PORT or [::]:PORT binds every interface"},
    {.name = "reference",
     .type = NU_T_TEXT,
     O(o.reference_url),
     .metavar = "URL",
     .set = set_url,
     .help = "JSON-RPC URL of a trusted node to measure lag against"},
    {.name = "max-lag",
     .type = NU_T_UINT,
     O(o.max_lag),
     .def = "20",
     .max = 1000000000,
     .help = "blocks behind the reference before 'lagging'"},
    {.name = "stale",
     .type = NU_T_MS_SECS,
     O(o.stale_ms),
     .def = "30",
     .min = 10,
     .max = 86400000,
     .help = "a head older than this (seconds) is 'stale'"},
    {.name = "interval",
     .type = NU_T_MS,
     O(o.interval_ms),
     .def = "1s",
     .min = 10,
     .max = 3600000,
     .help = "time between checks (a bare number is milliseconds)"},
    {.name = "timeout",
     .type = NU_T_MS,
     O(o.timeout_ms),
     .def = "1s",
     .min = 10,
     .max = 600000,
     .help = "a check without an answer in time is 'down'"},
    {.name = "rise",
     .type = NU_T_UINT,
     O(o.rise),
     .def = "2",
     .min = 1,
     .max = 100,
     .help = "OK checks in a row before healthy again"},
    {.name = "fall",
     .type = NU_T_UINT,
     O(o.fall),
     .def = "2",
     .min = 1,
     .max = 100,
     .help = "failed checks in a row before unhealthy"},
    {.name = "agent-port",
     .type = NU_T_UINT,
     O(o.agent_port),
     .max = 65535,
     .metavar = "PORT",
     .set = set_port,
     .help = "serve HAProxy agent-check on the --listen host, this port"},
    {.name = "drain-timeout",
     .type = NU_T_MS,
     O(o.drain_ms),
     .def = "1s",
     .min = 1,
     .max = 600000,
     .help = "on SIGTERM/SIGINT, how long answers in flight may take"},
    {.name = "wait",
     .type = NU_T_BOOL,
     O(wait),
     .help = "serve nothing: check until --rise OK checks in a row (exit 0) or "
             "--timeout-total (exit 1)"},
    {.name = "timeout-total",
     .type = NU_T_SECONDS,
     O(total_s),
     .def = "600",
     .min = 1,
     .max = 604800,
     .metavar = "SECONDS",
     .help = "with --wait: how long to wait in all"},
    {.name = "drain",
     .type = NU_T_BOOL,
     O(drain),
     .help = "tell the sidecar at --sidecar to stop serving the node (503 'draining', agent "
             "'drain')"},
    {.name = "undrain",
     .type = NU_T_BOOL,
     O(undrain),
     .help = "tell the sidecar at --sidecar to serve the node again"},
    {.name = "sidecar",
     .type = NU_T_TEXT,
     O(sidecar_url),
     .metavar = "URL",
     .set = set_url,
     .help = "with --drain/--undrain: the sidecar's HTTP address (http://127.0.0.1:3032)"},
    {.name = "wait-idle",
     .type = NU_T_SECONDS,
     O(idle_s),
     .max = 3600,
     .metavar = "SECONDS",
     .help = "with --drain: then wait this long for requests in flight to finish"},
    {.name = "log-level",
     .type = NU_T_ENUM,
     O(log_level),
     .def = "info",
     .choices = "debug|info|warn|error",
     .help = "the sidecar's own log (stderr, logfmt)"},
};

const struct cli_doc cli_health_doc = {
    .prog = CMD,
    .summary = "health-check sidecar for one node (HTTP and HAProxy agent-check)",
    .usage = "nearup health --node URL [--home DIR] [options]\n"
             "       nearup health --wait --node URL [--home DIR] [--timeout-total SECONDS] "
             "[options]\n"
             "       nearup health --drain --sidecar URL [--wait-idle SECONDS]\n"
             "       nearup health --undrain --sidecar URL",
    .about = "Serves GET /healthcheck (200 or 503 with the reason), GET /metrics and, with\n"
             "--agent-port, HAProxy's agent-check for one NEAR node. Runs until SIGTERM or\n"
             "SIGINT; SIGHUP runs a check at once. With --home, a node whose snapshot restore\n"
             "has not passed its chain check is 'unverified' (503, 'down #unverified').\n"
             "\n"
             "--wait serves nothing: it runs the same checks every --interval until --rise OK\n"
             "checks in a row (exit 0), printing each change of state, or until\n"
             "--timeout-total (exit 1, the last state and its reason on stderr).\n"
             "\n"
             "--drain tells a running sidecar (POST /drain, accepted from this host only) to\n"
             "answer /healthcheck 503 'draining' and the agent 'drain' until --undrain, then\n"
             "waits --wait-idle for the requests already sent to finish.\n",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

/* The flags --drain and --undrain go with. */
static int drain_usage(const struct health_args *a)
{
    if (a->drain && a->undrain)
        return cli_usage(CMD, "--drain and --undrain exclude each other");
    if (a->wait)
        return cli_usage(CMD, "--wait and --drain/--undrain exclude each other");
    if (a->sidecar_url[0] == '\0')
        return cli_usage(CMD, "--%s needs --sidecar URL (the sidecar's HTTP address)",
                         a->drain ? "drain" : "undrain");
    if (a->undrain && a->idle_s > 0)
        return cli_usage(CMD, "--wait-idle goes with --drain");
    return 0;
}

/* Returns 0 to run, -1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct health_args *a)
{
    memset(a, 0, sizeof(*a));
    a->o.agent_port = -1;
    int rc = cli_parse(&cli_health_doc, argc, argv, a, NULL, 0, NULL);
    if (rc == 0 && (a->drain || a->undrain))
        return drain_usage(a);
    if (rc == 0 && (a->sidecar_url[0] != '\0' || a->idle_s > 0))
        return cli_usage(CMD, "--sidecar and --wait-idle go with --drain or --undrain");
    if (rc == 0 && !a->have_node)
        return cli_usage(CMD, "--node URL is required (the node's JSON-RPC URL)");
    if (rc == 0 && a->wait && a->o.agent_port >= 0)
        return cli_usage(CMD, "--wait serves nothing; drop --agent-port");
    if (rc == 0)
        nu_log_set_level((enum nu_log_level)a->log_level);
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

static void print_change(void *ud, const struct hc_wait_result *r)
{
    const struct hc_opts *o = ud;
    if (r->reason[0] != '\0')
        printf("%s: %s: %s\n", o->node_url, r->state, r->reason);
    else
        printf("%s: %s (head %lld)\n", o->node_url, r->state, (long long)r->last.c.head);
    fflush(stdout);
}

/* --wait: 0 healthy, 1 not healthy in time. */
static int wait_healthy(const struct health_args *a)
{
    char errbuf[NU_ERRMSG_MAX];
    struct hc_wait_result r;
    const struct hc_opts *o = &a->o;
    if (hc_wait_run(o, (uint64_t)a->total_s * 1000, print_change, (void *)o, &r, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    if (r.ok) {
        printf("%s: healthy: %u ok checks in a row (head %lld)\n", o->node_url, r.in_row,
               (long long)r.last.c.head);
        return 0;
    }
    cli_error(CMD, "%s not healthy after %u s (%u checks): %s: %s", o->node_url, a->total_s,
              r.checks, r.state, r.reason);
    return 1;
}

/* The "status" of a /healthcheck body into out; 0, or -1 when it has none. */
static int served_status(const struct nu_buf *b, char *out, size_t outsz)
{
    json_t *o = json_loadb(b->data != NULL ? b->data : "", b->len, 0, NULL);
    const char *st = json_string_value(json_object_get(o, "status"));
    int rc = st != NULL ? 0 : -1;
    snprintf(out, outsz, "%s", st != NULL ? st : "");
    json_decref(o);
    return rc;
}

/* How much of an error body to show: its first line, 200 bytes at most. */
static int first_line(const struct nu_buf *b)
{
    size_t n = b->data != NULL ? strcspn(b->data, "\r\n") : 0;
    return n > 200 ? 200 : (int)n;
}

/* POST <sidecar>/drain or /undrain; the state then served into state. */
static int post_drain(const struct health_args *a, char *state, size_t statesz)
{
    char url[HC_URL_MAX + 16], errbuf[NU_ERRMSG_MAX];
    size_t n = strlen(a->sidecar_url);
    while (n > 0 && a->sidecar_url[n - 1] == '/')
        n--;
    snprintf(url, sizeof(url), "%.*s/%s", (int)n, a->sidecar_url, a->drain ? "drain" : "undrain");
    if (nu_httpc_global_init() != 0) {
        cli_error(CMD, "cannot load libcurl, which --drain and --undrain need");
        return 1;
    }
    struct nu_httpc_opts ho;
    nu_httpc_opts_init(&ho);
    ho.timeout_ms = DRAIN_TIMEOUT_MS;
    ho.max_bytes = DRAIN_REPLY_MAX;
    struct nu_buf body;
    nu_buf_init(&body, DRAIN_REPLY_MAX);
    long status = 0;
    int rc = nu_http_post(url, &ho, "text/plain", "", 0, &body, &status, errbuf);
    /* The answer is /healthcheck's: 503 while not serving, as after a drain. */
    if ((rc == 0 || (rc == NU_EHTTP && status == 503)) && served_status(&body, state, statesz) == 0)
        rc = 0;
    else if (rc == 0 || rc == NU_EHTTP)
        cli_error(CMD, "%s answered HTTP %ld: %.*s; is it a nearup health sidecar?", url, status,
                  first_line(&body), body.data != NULL ? body.data : "");
    else
        cli_error(CMD, "%s; is the sidecar running there?", errbuf);
    nu_buf_release(&body);
    return rc == 0 ? 0 : 1;
}

/* --drain / --undrain: 0 done, 1 when the sidecar did not take it. */
static int drain(const struct health_args *a)
{
    char state[64];
    if (post_drain(a, state, sizeof(state)) != 0)
        return 1;
    if (a->undrain) {
        printf("%s: serving again (state %s)\n", a->sidecar_url, state);
        return 0;
    }
    printf("%s: %s: /healthcheck answers 503, the agent 'drain'\n", a->sidecar_url, state);
    fflush(stdout);
    if (a->idle_s == 0)
        return 0;
    uint64_t end = nu_mono_ms() + (uint64_t)a->idle_s * 1000;
    for (uint64_t now; (now = nu_mono_ms()) < end;) {
        uint64_t left = end - now;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                              .tv_nsec = (long)(left % 1000) * 1000000};
        (void)nanosleep(&ts, NULL);
    }
    printf("%s: waited %u s for requests in flight to finish\n", a->sidecar_url, a->idle_s);
    return 0;
}

int cmd_health(int argc, char **argv)
{
    struct health_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (a.drain || a.undrain)
        return drain(&a);
    return a.wait ? wait_healthy(&a) : run(&a.o);
}
