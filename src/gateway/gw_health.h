/* Active health checks, on the control loop. Every health_interval, each
 * upstream gets a JSON-RPC `status` (all at once, so heads are compared at
 * one moment); when the round is complete every upstream is judged by the
 * one NEAR health judge (src/health/health.h: DOWN, SYNCING, STALE with
 * stale_after, LAGGING with max_lag, OK; rise/fall hysteresis, the first
 * round taken as is). What the gateway adds:
 *
 *   - an answer other than HTTP 200, or of another chain_id than the
 *     configured one, is DOWN;
 *   - the reference head for LAGGING is the SECOND-highest head among the
 *     upstreams that answered (one node running ahead cannot fail the
 *     others);
 *   - workers may mark an upstream DOWN from real traffic
 *     (passive_failures); it then needs `rise` OK rounds like any other. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gw_gateway-int.h"

struct gw_health *gw_health_new(struct gw_gateway *gw);
/* Polls the upstreams of set with cfg's settings from now on (takes its
 * own references). The first call starts polling at once. */
void gw_health_update(struct gw_health *h, struct gw_upset *set, struct gw_config *cfg);
/* Stops polling; frees itself once its handles and connections are closed. */
void gw_health_close(struct gw_health *h);

#endif
