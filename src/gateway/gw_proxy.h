/* The proxy path for POST /: validate and peek the body, split batches,
 * admit (method lists, rate limits), route each call, retry on another
 * upstream when that is safe and useful, and answer. */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include "httpd.h"
#include "gw_gateway-int.h"

/* Handles one POST / on worker w; answers req now or later. */
void gw_proxy_handle(struct gw_worker *w, struct nu_http_req *req);
/* Frees the worker's cached exchange objects (at worker exit). */
void gw_proxy_worker_cleanup(struct gw_worker *w);

#endif
