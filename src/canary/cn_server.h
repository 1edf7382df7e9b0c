/* The canary as a daemon: an engine (canary.h) running every interval and
 * GET /metrics on the --listen address (nu_httpd). A reload swaps in a new
 * engine for the new configuration and keeps the listener, so scrapes
 * never see a refused connection; the new engine's metrics start afresh
 * (its counters restart at 0, which Prometheus reads as a reset). */
#ifndef CN_SERVER_H
#define CN_SERVER_H

#include <uv.h>
#include "canary.h"

struct cn_server;

/* Starts the engine and, with cfg->listen set, the listener. key as for
 * cn_canary_new. On failure *out is NULL; run the loop to release what
 * was set up. */
NU_WUR int cn_server_new(uv_loop_t *loop, const struct cn_config *cfg, const struct nu_keypair *key,
                         struct cn_server **out, char *errbuf);
/* The port bound; -1 without a listener. */
int cn_server_port(const struct cn_server *s);
/* A new engine for cfg in place of the running one (its checks in flight
 * are cancelled). NU_EINVAL when cfg wants another listen address (that
 * needs a restart): nothing changes then. */
NU_WUR int cn_server_reload(struct cn_server *s, const struct cn_config *cfg,
                            const struct nu_keypair *key, char *errbuf);
/* Runs a round now (unless one is running). */
void cn_server_run_now(struct cn_server *s);
/* Stops the engine and the listener; frees s once everything is closed,
 * then calls done (may be NULL). */
void cn_server_close(struct cn_server *s, cn_closed_fn done, void *ud);

#endif
