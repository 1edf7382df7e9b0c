/* Internal to the config module: the gateway's own value checks
 * (gw_config.c), used by the loader (gw_config_load.c). */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"
#include "hostport.h"
#include "settings.h"

/* True for an IP address (no brackets) or "localhost": a host the gateway
 * takes without a name lookup. */
bool gw_host_numeric(const char *h);
/* Method list into a bit mask over enum gw_method; NU_EINVAL and the
 * offending name in bad when a name is unknown. */
NU_WUR int gw_method_list_mask(const char *list, uint64_t *mask, char *bad, size_t badsz);

#endif
