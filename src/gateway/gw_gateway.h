/* nearup gateway: the NEAR-aware JSON-RPC gateway in front of neard RPC
 * nodes (see docs/gateway.md). This is the entry point cmd_gateway.c uses;
 * the runtime types are in gw_gateway-t.h. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "gw_config.h"

/* Runs the gateway with cfg until SIGTERM or SIGINT, then drains and
 * returns 0. file and flags are what cfg was loaded from: SIGHUP loads
 * them again (they must outlive the call). Returns a negative NU_E* code
 * with errbuf when it cannot start (bind failure, ...). Logs via nu_log. */
NU_WUR int gw_gateway_run(struct gw_config *cfg, const char *file, const struct gw_flag *flags,
                          size_t nflags, char *errbuf);

#endif
