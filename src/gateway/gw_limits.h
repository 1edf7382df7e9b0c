/* Admission: method allow/deny lists, per-method costs and the per-client
 * token buckets (gw_ratelimit.c). */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"

struct gw_ratelimit;

/* False when the method is denied (deny list, or not on a non-empty allow list). */
bool gw_method_allowed(const struct gw_config *c, int method);
unsigned gw_method_cost(const struct gw_config *c, int method);
/* Client key of a "ip:port" / "[ip6]:port" peer: the IP, into key. */
size_t gw_client_key(const char *peer, char *key, size_t keysz);
/* Charges cost tokens to the client; true when allowed. Otherwise
 * *retry_after is the whole seconds until the cost would fit. Always true
 * when rate limiting is off (rate_limit 0) or rl is NULL. */
bool gw_limits_charge(struct gw_ratelimit *rl, const struct gw_config *c, const char *peer,
                      unsigned cost, uint64_t now_ns, unsigned *retry_after);

/* ---- gw_ratelimit.c: token buckets per client, shared by all workers ---- */

/* A table of about capacity clients in striped, mutex-guarded slots. When
 * a stripe is full the least recently seen client in its probe window is
 * forgotten. NULL when out of memory. */
struct gw_ratelimit *gw_ratelimit_new(unsigned capacity);
void gw_ratelimit_free(struct gw_ratelimit *rl);
/* Takes cost tokens from key's bucket (rate tokens/s, burst size); true
 * when there were enough, else *wait_s says how long until there are. */
bool gw_ratelimit_take(struct gw_ratelimit *rl, const char *key, size_t keylen, double cost,
                       double rate, double burst, uint64_t now_ns, double *wait_s);

#endif
