/* nearup_node_*: what the supervisor knows and Prometheus cannot see from
 * neard (its state, restarts, last exit, pending upgrade, the binary),
 * labelled with the home and its chain id (contract: docs/supervisor.md,
 * "Metrics").
 *
 * Two ways out, both optional, so many nodes on one machine never fight
 * over a port: a file in node_exporter's textfile directory
 * (nearup_node_<home with every byte but [A-Za-z0-9_] as '_'>_<12 hex of
 * its sha256>.prom,
 * written atomically: node_exporter never reads half a file), rewritten on
 * every state change and every SUP_METRICS_EVERY_MS; and GET /metrics on
 * --metrics-listen, served by the loop. The text is built afresh each time
 * from the supervisor's state (a handful of series): an upgrade's new
 * version replaces the old info series instead of adding one.
 *
 * On a clean stop the file is removed: node_exporter exports every file it
 * finds, so a stopped node's last state would otherwise stay visible for
 * ever. After a failure (gave up) it stays, since that state is what the
 * alerts look for; if the supervisor itself is killed, the file stays as
 * it was and node_textfile_mtime_seconds shows it is no longer updated. */
#include "sup-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaincheck.h"
#include "clock.h"
#include "fs.h"
#include "httpd.h"
#include "metrics.h"
#include "sha256.h"

#define METRICS_TEXT_MAX (64u << 10) /* the text is about 2 KiB */
#define LISTEN_HEADER_MAX 8192       /* a scrape's request line and headers */
#define LISTEN_BODY_MAX 1024         /* a GET has none */
#define LISTEN_TIMEOUT_MS 5000       /* a whole request must arrive within */
#define LISTEN_KEEPALIVE_MS 15000
#define LISTEN_MAX_CONNS 16
#define LISTEN_UNSENT_MAX (1u << 20)
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char *const base_labels[] = {"home", "chain_id", NULL};
static const char *const state_labels[] = {"home", "chain_id", "state", NULL};
static const char *const info_labels[] = {"home", "chain_id", "version", "sha256", NULL};

/* The exported states, in this order (SUP_STOPPED is not one, see below). */
static const char *const exported_states[] = {"starting", "running",   "backoff",
                                              "gave_up",  "upgrading", "stopping"};

/* The supervisor stopped (it exits next): after a failure neard is not
 * running and nothing will restart it, which is what gave_up means to an
 * operator; a clean stop is the end of stopping (the file goes at once). */
static const char *exported_state(const struct sup *s)
{
    switch (s->state) {
    case SUP_STARTING:
        return "starting";
    case SUP_RUNNING:
        return "running";
    case SUP_BACKOFF:
        return "backoff";
    case SUP_GAVE_UP:
        return "gave_up";
    case SUP_UPGRADING:
        return "upgrading";
    case SUP_STOPPING:
        return "stopping";
    case SUP_STOPPED:
        break;
    }
    return s->exit_rc != 0 ? "gave_up" : "stopping";
}

bool sup_metrics_on(const struct sup *s)
{
    return s->metrics_path[0] != '\0' || s->metrics_httpd != NULL;
}

/* Head moved within the window: WatchdogSec under a systemd watchdog (the
 * window in which a stalled head gets neard restarted), else
 * SUP_HEAD_WINDOW_MS. */
static bool head_advancing(const struct sup *s)
{
    uint64_t window = s->watchdog_ms > 0 ? 3 * s->watchdog_ms : SUP_HEAD_WINDOW_MS;
    return s->state == SUP_RUNNING && s->head_moved_ms != 0 &&
           nu_mono_ms() - s->head_moved_ms <= window;
}

struct family {
    enum nu_metric_type type;
    const char *name, *help;
    const char *const *labels;
};

enum {
    F_STATE,
    F_RESTARTS,
    F_EXIT_CODE,
    F_EXIT_AT,
    F_UPGRADE,
    F_INFO,
    F_HEAD,
    F_START,
    F_CHAIN,
    F_N
};

static const struct family families[F_N] = {
    [F_STATE] = {NU_METRIC_GAUGE, "nearup_node_state",
                 "The supervisor's state (1 for the current one).", state_labels},
    [F_RESTARTS] = {NU_METRIC_COUNTER, "nearup_node_restarts_total",
                    "Restarts of neard by the supervisor since it started.", base_labels},
    [F_EXIT_CODE] = {NU_METRIC_GAUGE, "nearup_node_last_exit_code",
                     "Exit status of the last neard exit (128+N for signal N).", base_labels},
    [F_EXIT_AT] = {NU_METRIC_GAUGE, "nearup_node_last_exit_timestamp_seconds",
                   "When neard last exited (unix seconds).", base_labels},
    [F_UPGRADE] = {NU_METRIC_GAUGE, "nearup_node_pending_upgrade_height",
                   "Height of the pending upgrade (0 when none or immediate).", base_labels},
    [F_INFO] = {NU_METRIC_GAUGE, "nearup_node_info", "The neard binary that runs.", info_labels},
    [F_HEAD] = {NU_METRIC_GAUGE, "nearup_node_head_advancing",
                "1 when the running neard's head moved within the probe window.", base_labels},
    [F_START] = {NU_METRIC_GAUGE, "nearup_node_supervisor_start_time_seconds",
                 "When the supervisor started (unix seconds).", base_labels},
    [F_CHAIN] = {NU_METRIC_GAUGE, "nearup_node_chain_check",
                 "The restore's chain check (1 for its state); absent without one.", state_labels},
};

static void set_values(struct sup *s, struct nu_metric **m)
{
    const char *base[] = {s->home, s->cfg.chain_id};
    const char *info[] = {s->home, s->cfg.chain_id, s->version, s->cfg.neard_sha256};
    const char *now = exported_state(s);
    for (size_t i = 0; i < sizeof(exported_states) / sizeof(exported_states[0]); i++) {
        const char *st[] = {s->home, s->cfg.chain_id, exported_states[i]};
        nu_metric_set(m[F_STATE], st, strcmp(now, exported_states[i]) == 0);
    }
    nu_metric_add(m[F_RESTARTS], base, s->restarts);
    if (s->have_exit) { /* absent before the first exit */
        int code = s->exit_signal != 0 ? 128 + s->exit_signal : s->exit_code;
        nu_metric_set(m[F_EXIT_CODE], base, code);
        nu_metric_set(m[F_EXIT_AT], base, (double)s->exit_at);
    }
    nu_metric_set(m[F_UPGRADE], base, (double)sup_upgrade_height(s));
    nu_metric_set(m[F_INFO], info, 1);
    s->head_advancing = head_advancing(s);
    nu_metric_set(m[F_HEAD], base, s->head_advancing);
    nu_metric_set(m[F_START], base, (double)s->started_at);
    for (int st = 0; s->chain != NULL && st <= NODE_CHAIN_MISMATCH; st++) {
        const char *lv[] = {s->home, s->cfg.chain_id, node_chain_state_name(st)};
        nu_metric_set(m[F_CHAIN], lv, s->chain->state == (enum node_chain_state)st);
    }
}

/* The whole text into out (bounded by METRICS_TEXT_MAX). */
static int render(struct sup *s, struct nu_buf *out, char *errbuf)
{
    struct nu_metric *m[F_N];
    struct nu_metrics *r = nu_metrics_new();
    int rc = r != NULL ? 0 : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < F_N; i++)
        rc = nu_metric_new(r, families[i].type, families[i].name, families[i].help,
                           families[i].labels, NULL, 0, &m[i], errbuf);
    if (rc == 0) {
        set_values(s, m);
        if ((rc = nu_metrics_render(r, out)) < 0)
            nu_err_set(errbuf, rc, "metrics text larger than %u bytes", METRICS_TEXT_MAX);
    }
    nu_metrics_free(r);
    return rc;
}

static void write_textfile(struct sup *s)
{
    char err[NU_ERRMSG_MAX];
    struct nu_buf b;
    nu_buf_init(&b, METRICS_TEXT_MAX);
    int rc = render(s, &b, err);
    if (rc == 0)
        rc = nu_fs_write_atomic(s->metrics_path, b.data, b.len, 0644, err);
    nu_buf_release(&b);
    if (rc < 0 && !s->metrics_write_failed)
        sup_log(s, NU_LOG_WARN, "cannot write the metrics file", "error", err, NULL);
    else if (rc == 0 && s->metrics_write_failed)
        sup_log(s, NU_LOG_INFO, "metrics file written again", "path", s->metrics_path, NULL);
    s->metrics_write_failed = rc < 0;
}

void sup_metrics_update(struct sup *s)
{
    if (s->metrics_path[0] != '\0')
        write_textfile(s);
}

void sup_metrics_head(struct sup *s, int64_t h)
{
    if (h >= 0 && (s->head_seen < 0 || h > s->head_seen)) {
        s->head_seen = h;
        s->head_moved_ms = nu_mono_ms();
    }
    if (head_advancing(s) != s->head_advancing)
        sup_metrics_update(s);
}

static void on_metrics_timer(uv_timer_t *t)
{
    sup_metrics_update(t->data);
}

/* ---- GET /metrics ---- */

static void answer(struct nu_http_req *req, int status, const char *text)
{
    (void)nu_httpd_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void on_request(struct nu_http_req *req, void *ud)
{
    struct sup *s = ud;
    static const char *const allow[] = {"Allow: GET, HEAD", NULL};
    char err[NU_ERRMSG_MAX];
    struct nu_buf b;
    if (strcmp(req->path, "/metrics") != 0) {
        answer(req, 404, "not found: the supervisor serves /metrics only\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        const char *text = "method not allowed: use GET\n";
        (void)nu_httpd_respond_ex(req, 405, "text/plain; charset=utf-8", allow, text, strlen(text),
                                  0);
        return;
    }
    nu_buf_init(&b, METRICS_TEXT_MAX);
    if (render(s, &b, err) < 0) {
        sup_log(s, NU_LOG_ERROR, "cannot render metrics", "error", err, NULL);
        answer(req, 500, "cannot render metrics\n");
    } else {
        (void)nu_httpd_respond(req, 200, CONTENT_TYPE, b.data, b.len);
    }
    nu_buf_release(&b);
}

static int start_listener(struct sup *s, char *errbuf)
{
    struct nu_hostport hp;
    struct nu_httpd_opts o;
    int rc = node_metrics_listen_parse(s->cfg.metrics_listen, &hp, errbuf);
    if (rc < 0)
        return rc;
    nu_httpd_opts_init(&o);
    o.host = hp.host;
    o.port = hp.port;
    o.max_header_bytes = LISTEN_HEADER_MAX;
    o.max_body_bytes = LISTEN_BODY_MAX;
    o.header_timeout_ms = o.body_timeout_ms = LISTEN_TIMEOUT_MS;
    o.write_timeout_ms = LISTEN_TIMEOUT_MS;
    o.keepalive_ms = LISTEN_KEEPALIVE_MS;
    o.max_connections = LISTEN_MAX_CONNS;
    o.max_unsent_bytes = LISTEN_UNSENT_MAX;
    rc = nu_httpd_new(&s->loop, &o, on_request, s, &s->metrics_httpd, errbuf);
    if (rc < 0)
        return nu_err_prefix(errbuf, rc, "--metrics-listen");
    sup_log(s, NU_LOG_INFO, "serving metrics", "listen", s->cfg.metrics_listen, NULL);
    return 0;
}

/* "/srv/near/mainnet" -> "<dir>/nearup_node_srv_near_mainnet_<12 hex>.prom":
 * the hex (of the home's sha256) keeps homes that differ only in the
 * bytes replaced by '_' (a-b, a_b) apart, and the readable part is cut at
 * SUP_METRICS_NAME_MAX so the name fits a file system's NAME_MAX. */
#define SUP_METRICS_NAME_MAX 160
#define SUP_METRICS_HASH_HEX 12

static int textfile_path(struct sup *s, char *errbuf)
{
    char name[SUP_METRICS_NAME_MAX + SUP_METRICS_HASH_HEX + 32], hex[NU_SHA256_HEX];
    uint8_t md[NU_SHA256_LEN];
    const char *h = s->home;
    nu_sha256(s->home, strlen(s->home), md);
    nu_sha256_hex(md, hex);
    while (*h == '/')
        h++;
    size_t n = (size_t)snprintf(name, sizeof(name), "nearup_node_");
    for (; *h != '\0' && n < SUP_METRICS_NAME_MAX; h++, n++) {
        unsigned char c = (unsigned char)*h;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        name[n] = keep ? (char)c : '_';
    }
    snprintf(name + n, sizeof(name) - n, "_%.*s.prom", SUP_METRICS_HASH_HEX, hex);
    if (nu_fs_join(s->metrics_path, sizeof(s->metrics_path), s->cfg.metrics_textfile_dir, name) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", s->cfg.metrics_textfile_dir);
    return 0;
}

int sup_metrics_init(struct sup *s, char *errbuf)
{
    s->started_at = (int64_t)time(NULL);
    s->head_seen = -1;
    uv_timer_init(&s->loop, &s->t_metrics);
    s->t_metrics.data = s;
    int rc = 0;
    if (s->cfg.metrics_textfile_dir[0] != '\0' && (rc = textfile_path(s, errbuf)) == 0)
        uv_timer_start(&s->t_metrics, on_metrics_timer, SUP_METRICS_EVERY_MS, SUP_METRICS_EVERY_MS);
    if (rc == 0 && s->cfg.metrics_listen[0] != '\0')
        rc = start_listener(s, errbuf);
    return rc;
}

void sup_metrics_close(struct sup *s, void (*then)(void *), void *arg)
{
    uv_timer_stop(&s->t_metrics);
    if (s->metrics_path[0] != '\0' && s->state == SUP_STOPPED && s->exit_rc == 0 &&
        unlink(s->metrics_path) < 0 && errno != ENOENT)
        sup_log(s, NU_LOG_WARN, "cannot remove the metrics file", "path", s->metrics_path, "error",
                strerror(errno), NULL);
    struct nu_httpd *h = s->metrics_httpd;
    s->metrics_httpd = NULL;
    if (h == NULL) {
        then(arg);
        return;
    }
    /* Its handles close with its own callbacks: the rest of the loop's
     * handles are closed only once it is gone. */
    nu_httpd_close(h, 0, then, arg);
}
