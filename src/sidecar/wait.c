/* Waiting for a node to be healthy (see wait.h). */
#include "wait.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "chaingate.h"
#include "clock.h"
#include "probe.h"

struct waiter {
    uv_loop_t loop;
    const struct hc_opts *o;
    uv_timer_t tick, deadline;
    struct nu_hc_tls *tls;
    struct hc_probe node, ref;
    struct hc_chain_gate gate;
    bool has_ref, busy, over;
    struct hc_wait_result *r;
    hc_wait_progress_fn progress;
    void *ud;
};

static void nothing(void *ud)
{
    (void)ud;
}

/* Ends the wait: every handle closes, and uv_run returns. */
static void finish(struct waiter *w)
{
    if (w->over)
        return;
    w->over = true;
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->deadline, NULL);
    hc_probe_close(&w->node, nothing, NULL);
    hc_probe_close(&w->ref, nothing, NULL);
}

/* What /healthcheck would serve for this check: the chain gate first. */
static void describe(struct waiter *w)
{
    struct hc_wait_result *r = w->r;
    if (hc_gate_blocks(&w->gate)) {
        snprintf(r->state, sizeof(r->state), "unverified");
        snprintf(r->reason, sizeof(r->reason), "%.*s", HC_REASON_MAX, w->gate.reason);
        return;
    }
    snprintf(r->state, sizeof(r->state), "%s", hc_state_name(r->last.c.state));
    if (r->last.c.state == HEALTH_OK || r->last.ref_error[0] == '\0')
        snprintf(r->reason, sizeof(r->reason), "%s", r->last.c.reason);
    else /* why a lag rule could not apply */
        snprintf(r->reason, sizeof(r->reason), "%s (%s)", r->last.c.reason, r->last.ref_error);
}

static void round_done(struct waiter *w)
{
    struct hc_wait_result *r = w->r;
    char was[HC_WAIT_STATE_MAX];
    w->busy = false;
    if (w->over)
        return;
    snprintf(was, sizeof(was), "%s", r->checks > 0 ? r->state : "");
    (void)hc_gate_refresh(&w->gate);
    hc_classify(w->o, &w->node.sample, w->has_ref ? &w->ref.sample : NULL, nu_real_ms(), &r->last);
    r->checks++;
    describe(w);
    bool ok = strcmp(r->state, "ok") == 0;
    r->in_row = ok ? r->in_row + 1 : 0;
    if (strcmp(was, r->state) != 0 && w->progress != NULL)
        w->progress(w->ud, r);
    if (r->in_row >= w->o->rise) {
        r->ok = true;
        finish(w);
    }
}

static void on_polled(void *ud, struct hc_probe *p)
{
    struct waiter *w = ud;
    (void)p;
    if (!w->node.busy && !w->ref.busy)
        round_done(w);
}

static void on_tick(uv_timer_t *t)
{
    struct waiter *w = t->data;
    if (w->busy || w->over)
        return;
    w->busy = true;
    hc_probe_start(&w->node);
    if (w->has_ref)
        hc_probe_start(&w->ref);
    if (!w->node.busy && !w->ref.busy)
        round_done(w);
}

static void on_deadline(uv_timer_t *t)
{
    finish(t->data);
}

static int setup(struct waiter *w, char *errbuf)
{
    const struct hc_opts *o = w->o;
    bool tls = strncasecmp(o->node_url, "https://", 8) == 0 ||
               (w->has_ref && strncasecmp(o->reference_url, "https://", 8) == 0);
    int rc = hc_gate_init(&w->gate, o->home[0] != '\0' ? o->home : NULL, errbuf);
    if (rc == 0 && tls)
        rc = nu_hc_tls_client(&w->tls, errbuf);
    if (rc == 0)
        rc = hc_probe_init(&w->node, &w->loop, o->node_url, o->timeout_ms, w->tls, on_polled, w,
                           errbuf);
    if (rc == 0 && w->has_ref)
        rc = hc_probe_init(&w->ref, &w->loop, o->reference_url, o->timeout_ms, w->tls, on_polled, w,
                           errbuf);
    return rc;
}

int hc_wait_run(const struct hc_opts *o, uint64_t total_ms, hc_wait_progress_fn progress, void *ud,
                struct hc_wait_result *r, char *errbuf)
{
    struct waiter w = {.o = o, .r = r, .progress = progress, .ud = ud};
    memset(r, 0, sizeof(*r));
    health_check_down(&r->last.c, "no check completed yet");
    snprintf(r->state, sizeof(r->state), "%s", hc_state_name(HEALTH_DOWN));
    snprintf(r->reason, sizeof(r->reason), "%s", r->last.c.reason);
    w.has_ref = o->reference_url[0] != '\0';
    uv_loop_init(&w.loop);
    (void)uv_timer_init(&w.loop, &w.tick); /* cannot fail for timers */
    (void)uv_timer_init(&w.loop, &w.deadline);
    w.tick.data = w.deadline.data = &w;
    int rc = setup(&w, errbuf);
    if (rc == 0 && (uv_timer_start(&w.tick, on_tick, 0, o->interval_ms) != 0 ||
                    uv_timer_start(&w.deadline, on_deadline, total_ms, 0) != 0))
        rc = nu_err_set(errbuf, NU_EINVAL, "health: cannot start the wait's timers");
    if (rc != 0)
        finish(&w);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&w.loop) != 0 && rc == 0)
        rc = nu_err_set(errbuf, NU_ESTATE, "health: event loop closed with handles still open");
    nu_hc_tls_free(w.tls); /* no connection is left that uses it */
    return rc;
}
