/* One node's JSON-RPC `status`, polled for the health sidecar over the
 * event-loop HTTP client (hclient.h): the URL's name resolved on the
 * loop's threadpool before each poll (every address tried in turn while
 * connecting is refused), one connection kept alive between polls, basic
 * authentication from the URL's userinfo, TLS for https. What a poll
 * learned is a struct hc_sample (sidecar.h). Internal to src/sidecar. */
#ifndef HC_PROBE_H
#define HC_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "hclient.h"
#include "sidecar.h"
#include "url.h"

#define HC_PROBE_ADDRS 8           /* addresses of a name tried in turn */
#define HC_PROBE_KEEPALIVE_MS 3000 /* an idle connection is kept this long (neard keeps 5 s) */
#define HC_URL_SHOWN_MAX 121       /* what a message shows of a node's URL */
#define HC_AUTH_MAX (2 * NU_URL_CRED_MAX + 64)

struct hc_probe;
/* A poll is over: p->sample says what it learned. */
typedef void (*hc_probe_done_fn)(void *ud, struct hc_probe *p);
typedef void (*hc_probe_closed_fn)(void *ud);

struct hc_probe {
    uv_loop_t *loop;
    struct nu_url url;
    char shown[HC_URL_SHOWN_MAX]; /* the URL with its userinfo redacted, for messages */
    char host_header[NU_URL_HOST_MAX + 16];
    char auth[HC_AUTH_MAX]; /* "Authorization: ..." line, or "" */
    const struct nu_hc_tls *tls;
    unsigned timeout_ms;
    struct nu_hc_pool *pool; /* made with the first address */
    struct nu_hc_conn *conn; /* the poll in flight */
    uv_getaddrinfo_t gai;
    bool resolving, busy, closing;
    struct sockaddr_storage addrs[HC_PROBE_ADDRS];
    size_t naddrs, at; /* addresses known; the one being tried */
    uint64_t deadline; /* loop time the poll must end by */
    struct hc_sample sample;
    hc_probe_done_fn done;
    void *ud;
    int closes; /* what is still to close: the pool, a name lookup */
    hc_probe_closed_fn closed;
    void *closed_ud;
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
 * (at once when nothing was). */
void hc_probe_close(struct hc_probe *p, hc_probe_closed_fn closed, void *ud);

#endif
