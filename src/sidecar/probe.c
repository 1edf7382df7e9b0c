/* Polling one node's status for the sidecar (see probe.h). */
#include <stdio.h>
#include <string.h>

#include "probe.h"

#define STATUS_REQUEST                                                                             \
    "{\"jsonrpc\":\"2.0\",\"id\":\"nearup-health\",\"method\":\"status\",\"params\":[]}"

static void sample_error(struct hc_sample *sm, const char *what)
{
    snprintf(sm->error, sizeof(sm->error), "%.*s", (int)sizeof(sm->error) - 1, what);
    sm->ok = false;
}

/* A status result the judge can use (of the node or of the reference). */
static void parse_status(const char *data, size_t len, struct hc_sample *sm)
{
    char err[NU_ERRMSG_MAX];
    int rc = health_status_parse(data, len, HEALTH_REPLY_JSONRPC, &sm->st, err);
    if (rc == 0)
        rc = health_status_judgeable(&sm->st, err);
    if (rc != 0)
        sample_error(sm, err);
    sm->ok = rc == 0;
}

static void on_answer(void *ud, struct nu_hcall *h, const struct nu_hc_resp *r)
{
    struct hc_probe *p = ud;
    char msg[NU_HCALL_SHOWN_MAX + 32];
    if (r->err != NU_HC_OK) {
        sample_error(&p->sample, h->error);
    } else if (r->status < 200 || r->status > 299) {
        snprintf(msg, sizeof(msg), "%s answered HTTP %d", h->shown, r->status);
        sample_error(&p->sample, msg);
    } else {
        parse_status(r->body, r->len, &p->sample);
    }
    p->busy = false;
    p->done(p->ud, p);
}

void hc_probe_start(struct hc_probe *p)
{
    memset(&p->sample, 0, sizeof(p->sample));
    p->busy = true;
    nu_hcall_send(&p->call, STATUS_REQUEST, sizeof(STATUS_REQUEST) - 1, NU_HC_REPLAYABLE);
}

int hc_probe_init(struct hc_probe *p, uv_loop_t *loop, const char *url, unsigned timeout_ms,
                  const struct nu_hc_tls *tls, hc_probe_done_fn done, void *ud, char *errbuf)
{
    memset(p, 0, sizeof(*p));
    p->done = done;
    p->ud = ud;
    const struct nu_hcall_opts o = {
        .timeout_ms = timeout_ms, .max_response = HC_REPLY_MAX, .what = "status reply", .tls = tls};
    return nu_hcall_init(&p->call, loop, url, &o, on_answer, p, errbuf);
}

void hc_probe_close(struct hc_probe *p, hc_probe_closed_fn closed, void *ud)
{
    p->busy = false;
    nu_hcall_close(&p->call, closed, ud);
}
