/* Upstreams given as dns = NAME:PORT: the name is resolved on the control
 * loop (uv_getaddrinfo, in libuv's thread pool) at once and then every
 * dns_interval; every address becomes an upstream member "NAME/IP:PORT".
 * A failed resolution keeps the previous members. When members change,
 * the gateway rebuilds and publishes its upstream set. */
#ifndef GW_DNS_H
#define GW_DNS_H

#include <stddef.h>
#include <sys/socket.h>
#include "gw_gateway-int.h"

typedef void (*gw_dns_change_fn)(struct gw_gateway *gw);

struct gw_dns *gw_dns_new(struct gw_gateway *gw, gw_dns_change_fn on_change);
/* Resolves the dns upstreams of cfg from now on (new names at once). */
void gw_dns_configure(struct gw_dns *d, const struct gw_config *cfg);
/* Current addresses of the dns upstream named name; returns the count. */
size_t gw_dns_members(const struct gw_dns *d, const char *name, struct sockaddr_storage *out,
                      size_t max);
/* Stops; frees itself once pending lookups have finished. */
void gw_dns_close(struct gw_dns *d);

#endif
