/* Internal to the config module: the gateway's own value checks
 * (gw_config.c), used by the loader (gw_config_load.c). */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"
#include "settings.h"

/* host:port. host gets the host without brackets (hostsz bytes). */
NU_WUR int gw_parse_hostport(const char *s, char *host, size_t hostsz, int *port);
/* Method list into a bit mask over enum gw_method; NU_EINVAL and the
 * offending name in bad when a name is unknown. */
NU_WUR int gw_method_list_mask(const char *list, uint64_t *mask, char *bad, size_t badsz);

#endif
