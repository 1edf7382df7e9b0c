/* Upstreams (neard RPC nodes) as the gateway's threads share them.
 *
 * A struct gw_upstream is created by the control thread from a config spec
 * (or a DNS member) and is reference-counted: upstream sets hold it, and so
 * does each worker's connection pool to it. Its health fields are written
 * by the health checker (control thread) and read by the workers' routers
 * with relaxed atomics; the in-flight count and traffic counters are
 * updated by the workers. Slot i of pools[] belongs to worker i alone.
 *
 * A struct gw_upset is an immutable, reference-counted list of upstreams:
 * what the router chooses from. Reloads and DNS changes publish a new set;
 * upstreams that did not change are carried over with their state. */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "gw_config.h"
#include "hclient.h"
#include "health.h"

/* Outcomes of one upstream exchange: the client's (hclient.h), and a
 * complete 5xx answer (counted as an error, not a transport one). */
enum gw_uperr {
    GW_UE_OK = NU_HC_OK,
    GW_UE_CONNECT = NU_HC_CONNECT,     /* the request never left */
    GW_UE_RESET = NU_HC_RESET,         /* closed or reset before any response byte */
    GW_UE_TRUNCATED = NU_HC_TRUNCATED, /* closed in the middle of the response */
    GW_UE_TIMEOUT = NU_HC_TIMEOUT,     /* no complete response within upstream_timeout */
    GW_UE_PROTOCOL = NU_HC_PROTOCOL,   /* not a valid HTTP/1.x response */
    GW_UE_TOO_BIG = NU_HC_TOO_BIG,     /* response over max_response */
    GW_UE_HTTP_5XX = NU_HC_NERR,
    GW_NUE
};

/* Fail-open preference among enum health_state (health.h): 0 OK, 1 LAGGING/STALE, 2 SYNCING, 3
 * UNKNOWN, 4 DOWN. */
int gw_state_rank(int st);
/* "ok", "connect", "reset", "truncated", "timeout", "protocol", "too_big", "http_5xx". */
const char *gw_uperr_name(int e);

struct gw_upstream {
    atomic_int refs;
    struct gw_upstream_spec spec;
    char name[GW_NAME_MAX + 64];     /* spec name; "NAME/IP:PORT" for DNS members */
    char hostport[GW_HOST_MAX + 16]; /* Host header */
    struct sockaddr_storage addr;
    unsigned nworkers;

    /* health: written by the health checker */
    atomic_int state; /* enum health_state served */
    atomic_int_fast64_t head, earliest, lag, block_time_ms, probe_us;
    atomic_bool passive_down; /* set by a worker that marked it DOWN from real traffic */

    /* traffic: written by workers */
    atomic_uint inflight;
    atomic_uint passive_fails; /* consecutive real-traffic failures */
    atomic_uint_fast64_t requests, latency_us, errors[GW_NUE];
    atomic_uint_fast64_t resends; /* calls sent again after a kept-alive connection closed */

    pthread_mutex_t mu; /* guards last_error */
    char last_error[200];

    struct nu_hc_pool *pools[]; /* nworkers slots */
};

/* New upstream with one reference. display is the name (NULL: spec->name),
 * addr the resolved address (port included). NULL when out of memory. */
struct gw_upstream *gw_upstream_new(const struct gw_upstream_spec *spec, const char *display,
                                    const struct sockaddr *addr, unsigned nworkers);
struct gw_upstream *gw_upstream_ref(struct gw_upstream *u);
void gw_upstream_unref(struct gw_upstream *u); /* accepts NULL */
/* Carries health state and counters over from an upstream it replaces. */
void gw_upstream_take_state(struct gw_upstream *dst, const struct gw_upstream *src);
/* True when spec and address are the same (the upstream can be reused as is). */
bool gw_upstream_same(const struct gw_upstream *u, const struct gw_upstream_spec *spec,
                      const struct sockaddr *addr);

/* Takes an in-flight slot; false when max_inflight slots are taken. */
bool gw_upstream_acquire(struct gw_upstream *u);
void gw_upstream_release(struct gw_upstream *u);
/* Records a real-traffic outcome: latency (us), error kind, passive health.
 * passive_limit consecutive failures mark it DOWN (0: never). */
void gw_upstream_record(struct gw_upstream *u, int uperr, uint64_t latency_us,
                        unsigned passive_limit, const char *detail);

/* A keep-alive pool to u on loop (POST to its path, Host its hostport);
 * the pool holds a reference to u until it is freed, and counts requests
 * sent again in u->resends. NULL when out of memory. */
struct nu_hc_pool *gw_upstream_pool_new(struct gw_upstream *u, uv_loop_t *loop,
                                        const struct nu_hc_pool_opts *o);

void gw_upstream_set_error(struct gw_upstream *u, const char *text);
void gw_upstream_get_error(struct gw_upstream *u, char *out, size_t outsz);

struct gw_upset {
    atomic_int refs;
    size_t n;
    struct gw_upstream *u[GW_MAX_UPSTREAMS];
};

/* Empty set with one reference. */
struct gw_upset *gw_upset_new(void);
struct gw_upset *gw_upset_ref(struct gw_upset *s);
void gw_upset_unref(struct gw_upset *s); /* drops the upstreams' references; accepts NULL */

/* Resolves a numeric host (or localhost) and port into addr. */
NU_WUR int gw_addr_parse(const char *host, int port, struct sockaddr_storage *addr);
/* "IP:PORT" or "[IP6]:PORT". */
void gw_addr_format(const struct sockaddr *addr, char *out, size_t outsz);

#endif
