/* One node's JSON-RPC `status`, polled for the health sidecar over the
 * one event-loop request helper (hcall.h: name resolution, keep-alive,
 * basic authentication, TLS). What a poll learned is a struct hc_sample
 * (sidecar.h). Internal to src/sidecar. */
#ifndef HC_PROBE_H
#define HC_PROBE_H

#include <stdbool.h>
#include <uv.h>
#include "hcall.h"
#include "sidecar.h"

struct hc_probe;
/* A poll is over: p->sample says what it learned. */
typedef void (*hc_probe_done_fn)(void *ud, struct hc_probe *p);
typedef void (*hc_probe_closed_fn)(void *ud);

struct hc_probe {
    struct nu_hcall call;
    bool busy;
    struct hc_sample sample;
    hc_probe_done_fn done;
    void *ud;
};

/* Sets p up to poll url (http:// or https://; tls must be set for https
 * and outlive p). NU_EINVAL for a bad URL. */
NU_WUR int hc_probe_init(struct hc_probe *p, uv_loop_t *loop, const char *url, unsigned timeout_ms,
                         const struct nu_hc_tls *tls, hc_probe_done_fn done, void *ud,
                         char *errbuf);
/* Starts a poll (p->busy until done is called, never from inside). */
void hc_probe_start(struct hc_probe *p);
/* Gives up a poll in flight (done is not called) and closes p's
 * connections; closed(ud) is called once nothing of p is left on the loop
 * (at once when nothing was). Accepts a p that was never set up (zeroed). */
void hc_probe_close(struct hc_probe *p, hc_probe_closed_fn closed, void *ud);

#endif
