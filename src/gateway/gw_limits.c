/* Admission checks: method lists, costs and the per-client rate limit
 * (see gw_limits.h; the token buckets are in gw_ratelimit.c). */
#include <math.h>
#include <string.h>
#include "gw_limits.h"
#include "hostport.h"

bool gw_method_allowed(const struct gw_config *c, int method)
{
    if (method < 0 || method >= GW_NMETHODS)
        method = GW_M_OTHER;
    uint64_t bit = 1ull << method;
    return !(c->deny_mask & bit) && (c->allow_mask & bit);
}

unsigned gw_method_cost(const struct gw_config *c, int method)
{
    if (method < 0 || method >= GW_NMETHODS)
        method = GW_M_OTHER;
    return c->method_cost[method];
}

size_t gw_client_key(const char *peer, char *key, size_t keysz)
{
    struct nu_hostport hp;
    const char *why, *host = peer; /* no port ("unix"): the whole peer */
    if (nu_hostport_parse(peer, strlen(peer), 0, NU_HOSTPORT_PORT0, &hp, &why) == 0)
        host = hp.host;
    size_t n = strnlen(host, keysz - 1);
    memcpy(key, host, n);
    key[n] = '\0';
    return n;
}

bool gw_limits_charge(struct gw_ratelimit *rl, const struct gw_config *c, const char *peer,
                      unsigned cost, uint64_t now_ns, unsigned *retry_after)
{
    if (!rl || !c->rate_limit || cost == 0)
        return true;
    char key[64];
    size_t n = gw_client_key(peer ? peer : "", key, sizeof(key));
    double wait = 0;
    if (gw_ratelimit_take(rl, key, n, cost, c->rate_limit, c->rate_burst, now_ns, &wait))
        return true;
    double secs = ceil(wait);
    *retry_after = secs < 1 ? 1 : secs > 3600 ? 3600 : (unsigned)secs;
    return false;
}
