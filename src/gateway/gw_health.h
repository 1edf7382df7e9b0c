/* Active health checks, on the control loop. Every health_interval, each
 * upstream gets a JSON-RPC `status` (all at once, so heads are compared at
 * one moment); when the round is complete every upstream is classified:
 *
 *   DOWN     no answer within health_timeout, connect error, 5xx, not a
 *            status result, or another chain_id than configured
 *   SYNCING  sync_info.syncing
 *   STALE    now - latest_block_time > stale_after
 *   LAGGING  reference head - latest_block_height > max_lag, where the
 *            reference is the SECOND-highest head among answering
 *            upstreams (one node running ahead cannot fail the others)
 *   OK       otherwise
 *
 * with hysteresis: an OK upstream leaves after `fall` failed rounds, a
 * failed one returns after `rise` OK rounds; the very first round is taken
 * as is. Workers may mark an upstream DOWN from real traffic
 * (passive_failures); it then needs `rise` OK rounds like any other. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gw_gateway-t.h"

struct gw_health *gw_health_new(struct gw_gateway *gw);
/* Polls the upstreams of set with cfg's settings from now on (takes its
 * own references). The first call starts polling at once. */
void gw_health_update(struct gw_health *h, struct gw_upset *set, struct gw_config *cfg);
/* Stops polling; frees itself once its handles and connections are closed. */
void gw_health_close(struct gw_health *h);

#endif
