/* The gateway's own HTTP endpoints: GET /healthcheck (for an outer load
 * balancer), GET /upstreams (state of every upstream) and GET /metrics. */
#ifndef GW_ENDPOINTS_H
#define GW_ENDPOINTS_H

#include <stdbool.h>
#include "httpd.h"
#include "gw_gateway-int.h"

/* Answers req when its path is one of the endpoints; false otherwise. */
bool gw_endpoints_handle(struct gw_worker *w, struct nu_http_req *req);

#endif
