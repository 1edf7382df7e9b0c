/* Readiness and liveness of neard: GET http://<rpc addr>/status from a
 * worker thread (libcurl blocks), never on the loop. While neard starts it
 * is polled every SUP_PROBE_START_MS until it answers (state running,
 * "ok <pid>" on the ready pipe, READY=1 to systemd). Under a systemd
 * watchdog it is then polled every WatchdogSec/3, and WATCHDOG=1 is sent
 * only when latest_block_height moved, so systemd restarts a stuck node. */
#include "sup-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "httpc.h"

#define PROBE_TIMEOUT_MS 3000
#define PROBE_BODY_MAX (1u << 20)

void sup_notify(struct sup *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!s->notify)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sd_notify(0, msg);
}

static int64_t parse_height(const char *body, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb(body, len, 0, &e);
    json_t *h = json_object_get(json_object_get(root, "sync_info"), "latest_block_height");
    int64_t v = json_is_integer(h) ? (int64_t)json_integer_value(h) : -1;
    json_decref(root);
    return v;
}

/* Worker thread: one blocking GET. */
static void probe_work(uv_work_t *w)
{
    struct sup_probe *p = w->data;
    struct nu_httpc_opts o;
    struct nu_buf body;
    nu_httpc_opts_init(&o);
    o.connect_timeout_ms = PROBE_TIMEOUT_MS;
    o.timeout_ms = PROBE_TIMEOUT_MS;
    o.max_bytes = PROBE_BODY_MAX;
    nu_buf_init(&body, PROBE_BODY_MAX);
    p->status = 0;
    p->height = -1;
    if (nu_http_get(p->url, &o, &body, &p->status, NULL) == 0)
        p->height = parse_height(body.data, body.len);
    nu_buf_release(&body);
}

static void on_ready(struct sup *s)
{
    char line[64], pid[24];
    s->ready = true;
    sup_set_state(s, SUP_RUNNING);
    snprintf(pid, sizeof(pid), "%ld", (long)s->child.pid);
    sup_log(s, "info", "neard answers /status", "pid", pid, NULL);
    snprintf(line, sizeof(line), "ok %ld\n", (long)s->child.pid);
    sup_report_ready(s, line);
    sup_notify(s, "READY=1\nSTATUS=neard %s running (pid %ld)", s->version, (long)s->child.pid);
}

static void on_height(struct sup *s, int64_t h)
{
    if (s->watchdog_ms == 0 || h < 0)
        return;
    if (s->last_height < 0 || h > s->last_height) {
        s->last_height = h;
        sup_notify(s, "WATCHDOG=1");
    }
}

static void probe_done(uv_work_t *w, int status)
{
    struct sup *s = w->loop->data;
    struct sup_probe *p = &s->probe;
    p->busy = false;
    if (s->closing || status != 0)
        return;
    bool alive = s->child.pid > 0 && !s->child.exited;
    if (alive && p->status == 200) {
        if (!s->ready && s->state == SUP_STARTING)
            on_ready(s);
        on_height(s, p->height);
    }
    sup_probe_schedule(s);
}

static void on_probe_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    if (s->probe.busy || s->closing || s->child.pid <= 0 || s->child.exited)
        return;
    if (s->rpc_addr[0] == '\0') {
        /* No RPC to ask: running is the best we can know. */
        if (!s->ready && s->state == SUP_STARTING)
            on_ready(s);
        return;
    }
    snprintf(s->probe.url, sizeof(s->probe.url), "http://%s/status", s->rpc_addr);
    s->probe.work.data = &s->probe;
    if (uv_queue_work(&s->loop, &s->probe.work, probe_work, probe_done) == 0)
        s->probe.busy = true;
}

void sup_probe_init(struct sup *s)
{
    uint64_t usec = 0;
    s->last_height = -1;
    s->loop.data = s;
    uv_timer_init(&s->loop, &s->t_probe);
    s->t_probe.data = s;
    if (s->notify && sd_watchdog_enabled(0, &usec) > 0)
        s->watchdog_ms = usec / 3000 > 0 ? usec / 3000 : 1;
}

void sup_probe_schedule(struct sup *s)
{
    if (s->closing || s->probe.busy)
        return;
    bool alive = s->child.pid > 0 && !s->child.exited;
    if (alive && !s->ready && s->state == SUP_STARTING)
        uv_timer_start(&s->t_probe, on_probe_timer, SUP_PROBE_START_MS, 0);
    else if (alive && s->watchdog_ms > 0)
        uv_timer_start(&s->t_probe, on_probe_timer, s->watchdog_ms, 0);
    else
        uv_timer_stop(&s->t_probe);
}
