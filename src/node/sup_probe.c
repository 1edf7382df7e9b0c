/* Readiness and liveness of neard: GET http://<rpc addr>/status on the
 * loop (the event-loop HTTP client, hclient.h; one connection kept alive
 * for SUP_PROBE_IDLE_MS). While neard starts it is probed SUP_PROBE_FIRST_MS
 * after the spawn, then at doubling intervals up to SUP_PROBE_MAX_MS, until
 * it answers (state running, "ok <pid>" on the ready pipe, READY=1 to
 * systemd): a detached `nearup run` returns as soon as neard answers.
 *
 * Under a systemd watchdog, keep-alives (WATCHDOG=1) go every
 * WatchdogSec/3. They are withheld only while neard is running and its
 * head (sync_info.latest_block_height, probed at the same interval) has
 * not advanced since the last keep-alive, so systemd restarts a stuck
 * node. While neard starts (a slow RocksDB open), during a backoff, an
 * upgrade's jitter delay or a stop, the supervisor is doing its job and
 * keeps the watchdog fed. The height to beat is kept across restarts of
 * neard, so a neard that comes back at the same head does not count.
 *
 * With metrics on (sup_metrics.c) and no watchdog, running neard is
 * probed every SUP_HEAD_PROBE_MS too, for nearup_node_head_advancing. */
#include "sup-int.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "hostport.h"

/* GET /status answers the status result itself; -1 when it has no head. */
static int64_t parse_height(const char *body, size_t len)
{
    char err[NU_ERRMSG_MAX];
    struct health_status st;
    return health_status_parse(body, len, HEALTH_REPLY_BARE, &st, err) == 0 ? st.head : -1;
}

static bool neard_alive(const struct sup *s)
{
    return s->child.pid > 0 && !s->child.exited;
}

void sup_report_started(struct sup *s)
{
    char line[64];
    if (s->started_reported)
        return;
    s->started_reported = true;
    snprintf(line, sizeof(line), "ok %ld\n", (long)s->child.pid);
    sup_report_ready(s, line);
    sup_notify(s, "READY=1\nSTATUS=neard %s running (pid %ld)", s->version, (long)s->child.pid);
}

/* A pending chain check holds the report back until neard shows the
 * snapshot's block (sup_chain.c). */
static void on_ready(struct sup *s)
{
    char pid[24];
    s->ready = true;
    s->started_reported = false;
    sup_set_state(s, SUP_RUNNING);
    snprintf(pid, sizeof(pid), "%ld", (long)s->child.pid);
    sup_log(s, NU_LOG_INFO, "neard answers /status", "pid", pid, NULL);
    if (sup_chain_waiting(s))
        sup_chain_on_status(s);
    else
        sup_report_started(s);
}

/* Running: a keep-alive only for a head past the one of the last. */
static void on_height(struct sup *s, int64_t h)
{
    if (s->watchdog_ms == 0 || h < 0 || s->state != SUP_RUNNING)
        return;
    if (s->kept_height < 0 || h > s->kept_height) {
        s->kept_height = h;
        sup_notify(s, "WATCHDOG=1");
    }
}

static void on_reply(void *ud, const struct nu_hc_resp *r)
{
    struct sup *s = ud;
    s->probe_conn = NULL;
    if (s->closing)
        return;
    /* The reply must be from the neard it was sent to, not a predecessor. */
    if (neard_alive(s) && s->child.pid == s->probe_pid && r->err == NU_HC_OK && r->status == 200) {
        if (!s->ready && s->state == SUP_STARTING)
            on_ready(s);
        else if (sup_chain_waiting(s))
            sup_chain_on_status(s);
        if (!sup_chain_waiting(s))
            sup_swap_cleanup(s); /* neard has opened its data: a restore's old data may go */
        int64_t h = parse_height(r->body, r->len);
        on_height(s, h);
        sup_metrics_head(s, h);
    }
    sup_probe_schedule(s);
}

static void on_probe_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    if (s->probe_conn || s->closing || !neard_alive(s))
        return;
    if (s->rpc_addr[0] == '\0') {
        /* No RPC to ask: running is the best we can know. */
        if (!s->ready && s->state == SUP_STARTING)
            on_ready(s);
        return;
    }
    s->probe_pid = s->child.pid;
    s->probe_conn = nu_hc_pool_get(s->probe_pool);
    if (!s->probe_conn) {
        sup_probe_schedule(s);
        return;
    }
    nu_hc_send(s->probe_conn, "", 0, SUP_PROBE_TIMEOUT_MS, NU_HC_REPLAYABLE, on_reply, s);
}

void sup_probe_schedule(struct sup *s)
{
    if (s->closing || s->probe_conn)
        return;
    if (neard_alive(s) && !s->ready && s->state == SUP_STARTING) {
        uv_timer_start(&s->t_probe, on_probe_timer, s->probe_delay_ms, 0);
        s->probe_delay_ms =
            s->probe_delay_ms * 2 < SUP_PROBE_MAX_MS ? s->probe_delay_ms * 2 : SUP_PROBE_MAX_MS;
    } else if (neard_alive(s) && s->state == SUP_RUNNING && s->watchdog_ms > 0) {
        uv_timer_start(&s->t_probe, on_probe_timer, s->watchdog_ms, 0);
    } else if (neard_alive(s) && s->state == SUP_RUNNING && sup_metrics_on(s)) {
        uv_timer_start(&s->t_probe, on_probe_timer, SUP_HEAD_PROBE_MS, 0);
    } else {
        uv_timer_stop(&s->t_probe);
    }
}

/* Every WatchdogSec/3: a keep-alive unless running neard's head must show
 * progress first (then the probe's reply sends it, see on_height). */
static void on_watchdog_tick(uv_timer_t *t)
{
    struct sup *s = t->data;
    if (s->closing)
        return;
    if (s->state != SUP_RUNNING || !neard_alive(s) || s->rpc_addr[0] == '\0')
        sup_notify(s, "WATCHDOG=1");
}

/* "127.0.0.1:3030", "[::1]:3030" or "host:port" into s->rpc_sa. The name
 * lookup (if any) is done once, before the loop runs. */
static int resolve_rpc(struct sup *s, char *errbuf)
{
    struct nu_hostport hp;
    const char *addr = s->rpc_addr, *why;
    char port[8];
    if (nu_hostport_parse(addr, strlen(addr), 0, 0, &hp, &why) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "rpc address %s: %s", addr, why);
    if (nu_ip_sockaddr(hp.host, hp.port, &s->rpc_sa, NULL) == 0)
        return 0;
    snprintf(port, sizeof(port), "%d", hp.port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(hp.host, port, &hints, &res);
    if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(s->rpc_sa)) {
        if (res != NULL)
            freeaddrinfo(res);
        return nu_err_set(errbuf, NU_ENET, "rpc address %s: %s", addr, gai_strerror(rc));
    }
    memcpy(&s->rpc_sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int sup_probe_init(struct sup *s, char *errbuf)
{
    s->kept_height = -1;
    s->probe_delay_ms = SUP_PROBE_FIRST_MS;
    s->loop.data = s;
    uv_timer_init(&s->loop, &s->t_probe);
    s->t_probe.data = s;
    uv_timer_init(&s->loop, &s->t_watchdog);
    s->t_watchdog.data = s;
    if (s->watchdog_ms > 0)
        uv_timer_start(&s->t_watchdog, on_watchdog_tick, s->watchdog_ms, s->watchdog_ms);
    if (s->rpc_addr[0] == '\0')
        return 0;
    int rc = resolve_rpc(s, errbuf);
    if (rc < 0)
        return rc;
    const struct nu_hc_target t = {.method = "GET", .path = "/status", .host = s->rpc_addr};
    const struct nu_hc_pool_opts o = {.idle_max = 1,
                                      .idle_timeout_ms = SUP_PROBE_IDLE_MS,
                                      .connect_timeout_ms = SUP_PROBE_TIMEOUT_MS,
                                      .max_response = SUP_HTTP_REPLY_MAX};
    s->probe_pool = nu_hc_pool_new(&s->loop, (const struct sockaddr *)&s->rpc_sa, &t, &o, errbuf);
    return s->probe_pool ? 0 : NU_ENOMEM;
}

void sup_probe_close(struct sup *s)
{
    if (s->probe_conn)
        nu_hc_cancel(s->probe_conn);
    s->probe_conn = NULL;
    nu_hc_pool_retire(s->probe_pool);
    s->probe_pool = NULL;
}
