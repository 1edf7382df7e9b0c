/* One request at a time to a URL over the event-loop HTTP client
 * (hclient.h), for probes that run on a loop (the health sidecar's status
 * polls, the canary's checks): the URL's name resolved on the loop's
 * threadpool before each request (every address tried in turn while
 * connecting is refused), one connection kept alive between requests,
 * basic authentication from the URL's userinfo, TLS for https.
 *
 * A request that gets no HTTP answer is described in h->error in the words
 * libcurl's messages use, where operators know them ("no answer from URL
 * within N ms", "URL: Failed to connect to HOST port N: ...", "URL: Could
 * not resolve host: ..."); URLs in messages have their userinfo redacted.
 * Everything runs on the loop's thread; done is never called from inside
 * nu_hcall_send. */
#ifndef NU_HCALL_H
#define NU_HCALL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "hclient.h"
#include "url.h"

#define NU_HCALL_ADDRS 8           /* addresses of a name tried in turn */
#define NU_HCALL_KEEPALIVE_MS 3000 /* an idle connection is kept this long (neard keeps 5 s) */
#define NU_HCALL_SHOWN_MAX 121     /* what a message shows of a URL */
#define NU_HCALL_ERROR_MAX 256
#define NU_HCALL_AUTH_MAX (2 * NU_URL_CRED_MAX + 64)

struct nu_hcall;
/* A request is over. r->err is NU_HC_OK when an HTTP answer arrived (any
 * status; r->body is valid during the call only); otherwise h->error says
 * what went wrong. */
typedef void (*nu_hcall_done_fn)(void *ud, struct nu_hcall *h, const struct nu_hc_resp *r);
typedef void (*nu_hcall_closed_fn)(void *ud);

struct nu_hcall_opts {
    unsigned timeout_ms;         /* the whole request: lookup, connect, answer */
    size_t max_response;         /* body bytes; more fails */
    const char *what;            /* names the answer in the too-big message ("status reply") */
    const struct nu_hc_tls *tls; /* for https; must outlive the call */
};

struct nu_hcall {
    uv_loop_t *loop;
    struct nu_url url;
    char shown[NU_HCALL_SHOWN_MAX]; /* the URL with its userinfo redacted, for messages */
    char host_header[NU_URL_HOST_MAX + 16];
    char auth[NU_HCALL_AUTH_MAX]; /* "Authorization: ..." line, or "" */
    struct nu_hcall_opts o;
    char what[32];
    struct nu_hc_pool *pool; /* made with the first address */
    struct nu_hc_conn *conn; /* the request in flight */
    uv_getaddrinfo_t gai;
    uv_timer_t defer; /* reports a request that could not start */
    bool timer_open, resolving, busy, closing;
    struct sockaddr_storage addrs[NU_HCALL_ADDRS];
    size_t naddrs, at; /* addresses known; the one being tried */
    uint64_t deadline; /* loop time the request must end by */
    const char *body;  /* the caller's, valid until done */
    size_t blen;
    unsigned flags; /* enum nu_hc_flags */
    char error[NU_HCALL_ERROR_MAX];
    nu_hcall_done_fn done;
    void *ud;
    int closes; /* what is still to close: the pool, a name lookup, the timer */
    nu_hcall_closed_fn closed;
    void *closed_ud;
};

/* Sets h up for url (http:// or https://; o->tls must be set for https).
 * o is copied. NU_EINVAL for a bad URL (errbuf says why). After a
 * successful init, h must be closed with nu_hcall_close. */
NU_WUR int nu_hcall_init(struct nu_hcall *h, uv_loop_t *loop, const char *url,
                         const struct nu_hcall_opts *o, nu_hcall_done_fn done, void *ud,
                         char *errbuf);
/* POSTs body (valid until done) with flags (enum nu_hc_flags); h->busy
 * until done is called. One request at a time: h must not be busy. */
void nu_hcall_send(struct nu_hcall *h, const char *body, size_t len, unsigned flags);
/* Gives up a request in flight (done is not called) and closes h's
 * connections; closed(ud) is called once nothing of h is left on the loop. */
void nu_hcall_close(struct nu_hcall *h, nu_hcall_closed_fn closed, void *ud);

#endif
