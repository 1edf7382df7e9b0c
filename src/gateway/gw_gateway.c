/* The gateway process (see gw_gateway.h): the control loop on the main
 * thread owns signals, health checks, DNS and reloads, and publishes
 * snapshots (config + upstream set + access log) that the workers pick
 * up. Upstream objects that did not change are carried from one set to
 * the next, so health state and counters survive reloads. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_accesslog.h"
#include "gw_dns.h"
#include "gw_gateway.h"
#include "gw_health.h"
#include "gw_limits.h"
#include "gw_worker.h"
#include "hostport.h"
#include "log.h"
#include "proc.h"
#include "sigs.h"

/* ---- snapshots ---- */

struct gw_snap *gw_snap_ref(struct gw_snap *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void gw_snap_unref(struct gw_snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    gw_config_unref(s->cfg);
    gw_upset_unref(s->set);
    gw_alog_unref(s->alog);
    free(s);
}

struct gw_snap *gw_gateway_snap(struct gw_gateway *gw)
{
    pthread_mutex_lock(&gw->mu);
    struct gw_snap *s = gw_snap_ref(gw->snap);
    pthread_mutex_unlock(&gw->mu);
    return s;
}

/* Publishes (cfg, set, alog), taking references, and pokes the workers. */
static int publish(struct gw_gateway *gw, struct gw_config *cfg, struct gw_upset *set,
                   struct gw_alog *alog)
{
    struct gw_snap *s = calloc(1, sizeof(*s));
    if (!s)
        return NU_ENOMEM;
    atomic_init(&s->refs, 1);
    s->cfg = gw_config_ref(cfg);
    s->set = gw_upset_ref(set);
    s->alog = gw_alog_ref(alog);
    pthread_mutex_lock(&gw->mu);
    struct gw_snap *old = gw->snap;
    gw->snap = s;
    pthread_mutex_unlock(&gw->mu);
    gw_snap_unref(old);
    if (gw->health)
        gw_health_update(gw->health, set, cfg);
    for (unsigned i = 0; gw->w && i < gw->nworkers && !gw->stopping; i++)
        if (gw->w[i])
            gw_worker_poke(gw->w[i]);
    return 0;
}

/* ---- upstream sets ---- */

static void add_member(struct gw_gateway *gw, struct gw_upset *set, const struct gw_upset *old,
                       const struct gw_upstream_spec *spec, const char *display,
                       const struct sockaddr *addr)
{
    const char *name = display ? display : spec->name;
    if (set->n >= GW_MAX_UPSTREAMS) {
        nu_warn("too many upstreams; ignoring one", "upstream", name);
        return;
    }
    const struct gw_upstream *prev = NULL;
    for (size_t i = 0; old && i < old->n; i++) {
        if (strcmp(old->u[i]->name, name) != 0)
            continue;
        if (gw_upstream_same(old->u[i], spec, addr)) {
            set->u[set->n++] = gw_upstream_ref(old->u[i]);
            return;
        }
        prev = old->u[i];
    }
    struct gw_upstream *u = gw_upstream_new(spec, display, addr, gw->nworkers);
    if (!u) {
        nu_error("out of memory; ignoring an upstream", "upstream", name);
        return;
    }
    if (prev)
        gw_upstream_take_state(u, prev);
    set->u[set->n++] = u;
}

/* A new set for cfg: static upstreams plus the current DNS members. */
static struct gw_upset *build_set(struct gw_gateway *gw, const struct gw_config *cfg,
                                  const struct gw_upset *old)
{
    struct gw_upset *set = gw_upset_new();
    if (!set)
        return NULL;
    for (size_t i = 0; i < cfg->nups; i++) {
        const struct gw_upstream_spec *spec = &cfg->ups[i];
        struct sockaddr_storage addrs[GW_MAX_UPSTREAMS];
        if (!spec->is_dns) {
            if (gw_addr_parse(spec->host, spec->port, &addrs[0]) == 0)
                add_member(gw, set, old, spec, NULL, (struct sockaddr *)&addrs[0]);
            continue;
        }
        size_t n = gw_dns_members(gw->dns, spec->name, addrs, GW_MAX_UPSTREAMS);
        for (size_t k = 0; k < n; k++) {
            char a[96], display[GW_NAME_MAX + 100];
            gw_addr_format((struct sockaddr *)&addrs[k], a, sizeof(a));
            snprintf(display, sizeof(display), "%s/%s", spec->name, a);
            add_member(gw, set, old, spec, display, (struct sockaddr *)&addrs[k]);
        }
    }
    return set;
}

/* The current snapshot's parts, borrowed (control thread is the only writer). */
static struct gw_snap *current(struct gw_gateway *gw)
{
    return gw->snap;
}

static void on_dns_change(struct gw_gateway *gw)
{
    if (gw->stopping)
        return;
    struct gw_snap *cur = current(gw);
    struct gw_upset *set = build_set(gw, cur->cfg, cur->set);
    if (!set || publish(gw, cur->cfg, set, cur->alog) != 0)
        nu_error("out of memory; dns members not applied");
    gw_upset_unref(set);
}

/* ---- reload ---- */

static void log_errors(const char *msg, const struct nu_buf *errs)
{
    const char *p = errs->data ? errs->data : "";
    while (*p) {
        size_t n = strcspn(p, "\n");
        char line[NU_ERRMSG_MAX + 64];
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
        nu_error(msg, "error", line);
        p += n + (p[n] == '\n');
    }
}

static void apply_log_level(const struct gw_config *cfg)
{
    nu_log_set_level((enum nu_log_level)cfg->log_level); /* choices in the enum's order */
}

static int reload_apply(struct gw_gateway *gw, struct gw_config *nc, char *errbuf)
{
    struct gw_alog *alog = NULL;
    if (nc->access_log[0] && !(alog = gw_alog_open(nc->access_log, errbuf)))
        return NU_EIO;
    const char *name;
    if (gw_config_restart_needed(gw->cfg, nc, &name))
        nu_warn("setting changed; it takes effect after a restart", "setting", name);
    apply_log_level(nc);
    gw_dns_configure(gw->dns, nc);
    struct gw_upset *set = build_set(gw, nc, current(gw)->set);
    int err = set ? publish(gw, nc, set, alog) : NU_ENOMEM;
    gw_upset_unref(set);
    gw_alog_unref(alog);
    if (err)
        return nu_err_set(errbuf, err, "out of memory");
    gw_config_unref(gw->cfg);
    gw->cfg = gw_config_ref(nc);
    return 0;
}

static void reload(struct gw_gateway *gw)
{
    struct nu_buf errs;
    nu_buf_init(&errs, 64 * 1024);
    struct gw_config *nc = NULL;
    char errbuf[NU_ERRMSG_MAX];
    int err = gw_config_load(gw->file[0] ? gw->file : NULL, gw->flags, gw->nflags, &nc, &errs);
    if (err) {
        log_errors("config reload failed; keeping the old config", &errs);
    } else if ((err = reload_apply(gw, nc, errbuf)) != 0) {
        nu_error("config reload failed; keeping the old config", "error", errbuf);
    }
    gw_config_unref(nc);
    nu_buf_release(&errs);
    if (err) {
        atomic_fetch_add(&gw->reloads_failed, 1);
        return;
    }
    atomic_fetch_add(&gw->reloads_ok, 1);
    char n[16];
    snprintf(n, sizeof(n), "%zu", current(gw)->set->n);
    nu_info("config reloaded", "file", gw->file[0] ? gw->file : "-", "upstreams", n);
}

/* ---- signals and shutdown ---- */

/* The drain is over once every worker thread has finished: only then do
 * the signal handles close (a SIGHUP or second SIGTERM during the drain
 * must find a handler, never the default action). Workers count down and
 * wake this loop under mu, so workers_done is never closed while a worker
 * is still sending on it. */
static void maybe_finish(struct gw_gateway *gw)
{
    if (!gw->stopping || gw->finished)
        return;
    pthread_mutex_lock(&gw->mu);
    bool all_draining = gw->workers_draining == gw->workers_running;
    bool done = gw->workers_running == 0;
    if (done)
        uv_close((uv_handle_t *)&gw->workers_done, NULL);
    pthread_mutex_unlock(&gw->mu);
    /* Logged once no worker can answer as if nothing happened, so whoever
     * reads the line knows every later reply says Connection: close. A
     * teardown after a failed start (no signal) logs nothing. */
    if (all_draining && gw->stop_why != NULL && !gw->stop_logged) {
        char drain[32];
        snprintf(drain, sizeof(drain), "%u", gw->cfg->drain_timeout_ms);
        nu_info("stopping: finishing in-flight requests", "signal", gw->stop_why,
                "drain_timeout_ms", drain);
        gw->stop_logged = true;
    }
    if (!done)
        return;
    gw->finished = true;
    nu_sigs_close(&gw->sigs);
}

static void on_workers_done(uv_async_t *a)
{
    maybe_finish(a->data);
}

void gw_gateway_worker_starting(struct gw_gateway *gw)
{
    pthread_mutex_lock(&gw->mu);
    gw->workers_running++;
    pthread_mutex_unlock(&gw->mu);
}

void gw_gateway_worker_exited(struct gw_gateway *gw, bool drained)
{
    pthread_mutex_lock(&gw->mu);
    gw->workers_running--;
    if (drained)
        gw->workers_draining--;
    uv_async_send(&gw->workers_done);
    pthread_mutex_unlock(&gw->mu);
}

void gw_gateway_worker_draining(struct gw_gateway *gw)
{
    pthread_mutex_lock(&gw->mu);
    gw->workers_draining++;
    uv_async_send(&gw->workers_done);
    pthread_mutex_unlock(&gw->mu);
}

static void stop_everything(struct gw_gateway *gw)
{
    gw->stopping = true;
    gw->stop_ms = uv_now(&gw->loop);
    atomic_store(&gw->draining, true);
    for (unsigned i = 0; gw->w && i < gw->nworkers; i++)
        gw_worker_stop(gw->w[i]);
    gw_health_close(gw->health);
    gw->health = NULL;
    gw_dns_close(gw->dns);
    gw->dns = NULL;
    maybe_finish(gw);
}

static void begin_stop(struct gw_gateway *gw, const char *why)
{
    gw->stop_why = why; /* logged by maybe_finish once every worker drains */
    stop_everything(gw);
}

/* While draining every signal is logged and ignored: a SIGHUP (logrotate)
 * reloads nothing, and a second SIGTERM or SIGINT does not cut the
 * requests still in flight; drain_timeout bounds the drain. */
static void ignore_signal(struct gw_gateway *gw, int signum)
{
    uint64_t spent = uv_now(&gw->loop) - gw->stop_ms;
    uint64_t limit = gw->cfg ? gw->cfg->drain_timeout_ms : 0; /* NULL: start failed */
    char left[32];
    snprintf(left, sizeof(left), "%llu", (unsigned long long)(spent < limit ? limit - spent : 0));
    nu_info("draining; signal ignored", "signal", nu_sig_name(signum), "drain_left_ms", left);
}

static void on_signal(void *data, int signum)
{
    struct gw_gateway *gw = data;
    if (gw->stopping)
        ignore_signal(gw, signum);
    else if (signum == SIGHUP)
        reload(gw);
    else
        begin_stop(gw, nu_sig_name(signum));
}

/* ---- run ---- */

static int start_workers(struct gw_gateway *gw, char *errbuf)
{
    gw->w = calloc(gw->nworkers, sizeof(gw->w[0]));
    if (!gw->w)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (unsigned i = 0; i < gw->nworkers; i++) {
        int err = gw_worker_start(gw, i, &gw->w[i], errbuf);
        if (err) {
            gw->nworkers = i;
            return err;
        }
    }
    return 0;
}

/* Every client connection is a descriptor, and so is every upstream
 * connection a worker keeps: ask for them all, up to the hard limit, and say
 * so when even that is too low (accepts would fail with EMFILE). */
static void raise_fd_limit(const struct gw_gateway *gw, const struct gw_config *cfg)
{
    uint64_t want = (uint64_t)gw->nworkers * ((uint64_t)cfg->max_connections +
                                              (uint64_t)cfg->pool_idle_max * cfg->nups) +
                    256;
    uint64_t got = 0;
    int err = nu_proc_raise_nofile(want, &got);
    if (!err)
        return;
    char w[32], g[32];
    snprintf(w, sizeof(w), "%llu", (unsigned long long)want);
    snprintf(g, sizeof(g), "%llu", (unsigned long long)got);
    nu_warn("open file limit is below what max_connections needs; raise LimitNOFILE (ulimit -n) "
            "or lower max_connections",
            "limit", g, "needed", w);
}

static int setup(struct gw_gateway *gw, struct gw_config *cfg, char *errbuf)
{
    gw->cfg = gw_config_ref(cfg);
    gw->nworkers = cfg->workers ? cfg->workers : uv_available_parallelism();
    if (gw->nworkers == 0)
        gw->nworkers = 1;
    apply_log_level(cfg);
    raise_fd_limit(gw, cfg);
    gw->rl = gw_ratelimit_new(cfg->ratelimit_clients);
    gw->health = gw_health_new(gw);
    gw->dns = gw_dns_new(gw, on_dns_change);
    if (!gw->rl || !gw->health || !gw->dns)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    struct gw_alog *alog = NULL;
    if (cfg->access_log[0] && !(alog = gw_alog_open(cfg->access_log, errbuf)))
        return NU_EIO;
    gw_dns_configure(gw->dns, cfg);
    struct gw_upset *set = build_set(gw, cfg, NULL);
    int err = set ? publish(gw, cfg, set, alog) : NU_ENOMEM;
    gw_upset_unref(set);
    gw_alog_unref(alog);
    if (err)
        return nu_err_set(errbuf, err, "out of memory");
    return start_workers(gw, errbuf);
}

static void teardown(struct gw_gateway *gw)
{
    if (!gw->w)
        gw->nworkers = 0; /* setup failed before any worker started */
    if (!gw->stopping)
        stop_everything(gw);
    uv_run(&gw->loop, UV_RUN_DEFAULT); /* until the workers are done */
    for (unsigned i = 0; i < gw->nworkers; i++)
        gw_worker_join(gw->w[i]);
    free(gw->w);
    gw_snap_unref(gw->snap);
    gw_config_unref(gw->cfg);
    gw_ratelimit_free(gw->rl);
    uv_loop_close(&gw->loop);
    pthread_mutex_destroy(&gw->mu);
}

static void log_listening(const struct gw_gateway *gw)
{
    const struct gw_config *cfg = gw->cfg;
    char addr[NU_HOSTPORT_MAX], nw[16], nu[16];
    (void)!nu_hostport_format(cfg->listen_host, gw->port, addr, sizeof(addr)); /* fits */
    snprintf(nw, sizeof(nw), "%u", gw->nworkers);
    snprintf(nu, sizeof(nu), "%zu", cfg->nups);
    nu_info("gateway listening", "addr", addr, "workers", nw, "upstreams", nu);
}

/* Signals first, then the configuration: a signal while the file is read
 * or the listeners bind waits for the first loop turn. */
static int start(struct gw_gateway *gw, struct nu_buf *errs, char *errbuf)
{
    int err = nu_sigs_start(&gw->sigs, &gw->loop, on_signal, gw, errbuf);
    if (err)
        return err;
    struct gw_config *cfg = NULL;
    errbuf[0] = '\0';
    if (gw_config_load(gw->file[0] ? gw->file : NULL, gw->flags, gw->nflags, &cfg, errs) != 0)
        return NU_EINVAL;
    err = setup(gw, cfg, errbuf);
    gw_config_unref(cfg);
    return err;
}

int gw_gateway_run(const char *file, const struct gw_flag *flags, size_t nflags,
                   struct nu_buf *errs, char *errbuf)
{
    struct gw_gateway gw_storage, *gw = &gw_storage;
    memset(gw, 0, sizeof(*gw));
    if (uv_loop_init(&gw->loop) != 0)
        return nu_err_set(errbuf, NU_ENOMEM, "cannot set up the event loop");
    pthread_mutex_init(&gw->mu, NULL);
    uv_async_init(&gw->loop, &gw->workers_done, on_workers_done);
    gw->workers_done.data = gw;
    snprintf(gw->file, sizeof(gw->file), "%s", file ? file : "");
    gw->flags = flags;
    gw->nflags = nflags;
    int err = start(gw, errs, errbuf);
    if (!err) {
        log_listening(gw);
        uv_run(&gw->loop, UV_RUN_DEFAULT);
    }
    teardown(gw);
    if (!err)
        nu_info("gateway stopped");
    return err;
}
