/* Internal to the config module: the settings table and the gateway's
 * own value checks (config.c), used by the loader (config_load.c) and by
 * `nearup gateway`'s flags and help. */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"
#include "hostport.h"
#include "settings.h"

/* The settings table (config.c). */
extern const struct nu_setting gw_settings[];
extern const size_t gw_nsettings;
extern const struct nu_settings_table gw_settings_table;

/* True for an IP address (no brackets) or "localhost": a host the gateway
 * takes without a name lookup. */
bool gw_host_numeric(const char *h);
/* Method list into a bit mask over enum gw_method; NU_EINVAL and the
 * offending name in bad when a name is unknown. */
NU_WUR int gw_method_list_mask(const char *list, uint64_t *mask, char *bad, size_t badsz);

#endif
