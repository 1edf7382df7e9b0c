/* Internal to the config module: the settings table and the gateway's
 * own value checks (gw_config.c), used by the loader (gw_config_load.c) and by
 * `nearup gateway`'s flags and help. */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"
#include "settings.h"

/* The settings table (gw_config.c). */
extern const struct nu_setting gw_settings[];
extern const size_t gw_nsettings;
extern const struct nu_settings_table gw_settings_table;

/* host:port. host gets the host without brackets (hostsz bytes). */
NU_WUR int gw_parse_hostport(const char *s, char *host, size_t hostsz, int *port);
/* Method list into a bit mask over enum gw_method; NU_EINVAL and the
 * offending name in bad when a name is unknown. */
NU_WUR int gw_method_list_mask(const char *list, uint64_t *mask, char *bad, size_t badsz);

#endif
