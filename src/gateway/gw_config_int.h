/* Internal to the config module: the settings table and value codecs
 * (config.c), used by the loader (config_load.c). */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"

enum gw_stype {
    GW_T_UINT,  /* unsigned, decimal */
    GW_T_MS,    /* duration: 250ms, 2s, 5m, 1h; a bare number is milliseconds */
    GW_T_BYTES, /* size: 512, 16KiB, 10MiB, 1GiB (K/M/G are binary too) */
    GW_T_STR,   /* free text */
    GW_T_ENUM,  /* one of choices ("a|b|c") */
    GW_T_LIST,  /* comma-separated method names from the method table, or "other" */
    GW_T_ADDR,  /* host:port with a numeric host, [v6]:port or localhost:port */
};

struct gw_setting {
    const char *name;
    const char *section;
    enum gw_stype type;
    size_t off, size; /* field in struct gw_config; size for text types */
    const char *def;
    uint64_t min, max; /* numeric bounds, inclusive */
    const char *choices;
    bool restart; /* read only at start: a reload that changes it warns */
    const char *help;
};

extern const struct gw_setting gw_settings[];
extern const size_t gw_nsettings;

/* Table lookup; '-' and '_' are the same. NULL when unknown. */
const struct gw_setting *gw_setting_find(const char *name);
/* Parses value into c's field. 0, or NU_EINVAL with msg (msgsz bytes). */
NU_WUR int gw_setting_set(struct gw_config *c, const struct gw_setting *s, const char *value,
                          char *msg, size_t msgsz);
/* The field's current value as text that gw_setting_set reads back. */
void gw_setting_format(const struct gw_config *c, const struct gw_setting *s, char *out,
                       size_t outsz);

NU_WUR int gw_parse_uint(const char *s, uint64_t max, uint64_t *out);
NU_WUR int gw_parse_bool(const char *s, bool *out);
/* host:port. host gets the host without brackets (hostsz bytes). */
NU_WUR int gw_parse_hostport(const char *s, char *host, size_t hostsz, int *port);
/* Method list into a bit mask over enum gw_method; NU_EINVAL and the
 * offending name in bad when a name is unknown. */
NU_WUR int gw_method_list_mask(const char *list, uint64_t *mask, char *bad, size_t badsz);

#endif
