/* run.json (runcfg.c): how the supervisor runs a home's neard, and the
 * address it probes. */
#ifndef NODE_RUNCFG_H
#define NODE_RUNCFG_H

#include <limits.h>
#include <stdint.h>
#include "error.h"
#include "hostport.h"
#include "release.h"

enum node_restart_policy { NODE_RESTART_ALWAYS, NODE_RESTART_ON_FAILURE, NODE_RESTART_NO };

#define NODE_MAX_ARGS 64
#define NODE_MAX_ENV 32
#define NODE_DEFAULT_STOP_TIMEOUT_S 60

/* <home>/.nearup/run.json: how to run this home. Written by `nearup run`,
 * read by the supervisor, restart, status and upgrade. */
struct node_run_config {
    char network[128];
    char chain_id[128];
    char binary[PATH_MAX];                /* neard to run */
    char neard_version[NODE_VERSION_MAX]; /* "" when --binary-path */
    char neard_commit[NODE_VERSION_MAX];
    char neard_sha256[NODE_SHA256_HEX];
    char release_url[NODE_URL_MAX]; /* saved with its userinfo redacted (redact.h) */
    char *args[NODE_MAX_ARGS + 1];  /* after `run`, NULL-terminated, owned */
    char *env[NODE_MAX_ENV + 1];    /* "KEY=VAL", NULL-terminated, owned */
    enum node_restart_policy restart;
    uint64_t log_max_size;
    unsigned log_keep;
    unsigned stop_timeout_s;
    char metrics_textfile_dir[PATH_MAX];  /* "" when none: --metrics-textfile-dir */
    char metrics_listen[NU_HOSTPORT_MAX]; /* "" when none: --metrics-listen, "host:port" */
};

void node_runcfg_init(struct node_run_config *c);
void node_runcfg_release(struct node_run_config *c);
NU_WUR int node_runcfg_load(const char *home, struct node_run_config *c, char *errbuf);
NU_WUR int node_runcfg_save(const char *home, const struct node_run_config *c, char *errbuf);
NU_WUR int node_restart_policy_parse(const char *s, enum node_restart_policy *out);
const char *node_restart_policy_name(enum node_restart_policy p);

/* The value of a neard run flag in c->args ("--rpc-addr X" or
 * "--rpc-addr=X") into *value (borrowed); with value NULL only checks that
 * the flag is present. NU_ENOENT when absent. */
NU_WUR int node_runcfg_arg(const struct node_run_config *c, const char *flag, const char **value);
/* The address to probe neard's RPC on: --rpc-addr from c->args (c may be
 * NULL), else node_home_rpc_addr; 0.0.0.0 becomes 127.0.0.1. NU_ENOENT when
 * the node has no RPC (--disable-rpc, no rpc section). */
NU_WUR int node_runcfg_rpc_addr(const char *home, const struct node_run_config *c, char *out,
                                size_t outsz, char *errbuf);

/* --metrics-listen: "PORT" (on 127.0.0.1), "HOST:PORT" or "[V6]:PORT",
 * where HOST is an IP address or localhost (the supervisor resolves no
 * names) and PORT 1 to 65535: a scrape target needs a port that stays the
 * same across restarts, so 0 is refused. 0 with *hp filled, or NU_EINVAL
 * with errbuf saying why. */
NU_WUR int node_metrics_listen_parse(const char *addr, struct nu_hostport *hp, char *errbuf);

#endif
