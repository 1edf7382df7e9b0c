/* nearup gateway: the NEAR-aware JSON-RPC gateway in front of neard RPC
 * nodes (see docs/gateway.md). This is the entry point cmd_gateway.c uses;
 * the runtime types are in gw_gateway-int.h. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "buf.h"
#include "gw_config.h"

/* Loads the configuration from file (NULL: none) and flags, runs the
 * gateway until SIGTERM or SIGINT, then drains and returns 0. SIGHUP loads
 * file and flags again (they must outlive the call). Signals are watched
 * before the configuration is read, so none is fatal while starting (see
 * docs/gateway.md, "Signals"). A configuration that does not load returns
 * NU_EINVAL with one line per error in errs and errbuf empty; any other
 * failure to start (bind, ...) a negative NU_E* code with errbuf. Logs via
 * nu_log. */
NU_WUR int gw_gateway_run(const char *file, const struct gw_flag *flags, size_t nflags,
                          struct nu_buf *errs, char *errbuf);

#endif
