/* What `nearup status` reports about each node: the supervisor's view
 * (status.json, pid files) joined with what neard itself answers over HTTP
 * (JSON-RPC status and network_info, GET /health). Nodes are queried
 * concurrently with short timeouts, so a slow or dead node delays the
 * report by at most NODE_STATUS_TIMEOUT_MS and is reported, not fatal. */
#ifndef NODE_NODESTATUS_H
#define NODE_NODESTATUS_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "release.h"

#define NODE_STATUS_TIMEOUT_MS 2000 /* whole request, per call */
#define NODE_STATUS_CONNECT_MS 500  /* a loopback connect is immediate or refused */
#define NODE_STATUS_THREADS 16      /* nodes queried at once */
#define NODE_STATUS_REPLY_MAX (1u << 20)

enum node_state {
    NODE_STATE_DOWN,         /* no live neard (pid file absent, stale or dead) */
    NODE_STATE_UNRESPONSIVE, /* neard is alive but its RPC does not answer status */
    NODE_STATE_UP,           /* neard answers */
    NODE_STATE_RESTORING,    /* a snapshot restore holds the home: no neard may run */
};

struct node_status {
    char home[PATH_MAX];
    char network[128];          /* run.json, else genesis chain_id */
    char chain_id[128];         /* genesis.json (or status) */
    char rpc_url[NODE_URL_MAX]; /* "http://127.0.0.1:3030", "" if unknown */
    enum node_state state;
    pid_t pid;                            /* neard, 0 unless alive with its start time */
    int64_t uptime_s;                     /* neard process age, -1 unknown */
    char neard_version[NODE_VERSION_MAX]; /* as neard reports it; else run.json's */
    char neard_build[NODE_VERSION_MAX];   /* "" unless neard answered */
    int64_t head;                         /* latest_block_height, -1 unknown */
    int syncing;                          /* 1/0, -1 unknown */
    int peers;                            /* num_active_peers, -1 unknown */
    long health;                          /* HTTP status of GET /health, 0 no answer */
    int64_t lag;                          /* blocks behind the reference (or best local), -1 */
    /* The supervisor, from status.json and supervisor.pid. */
    bool supervised;           /* a live supervisor holds the home */
    pid_t supervisor_pid;      /* 0 unless alive */
    char supervisor_state[32]; /* status.json "state", "" when no file */
    int64_t restarts;          /* -1 when no status.json */
    char error[NU_ERRMSG_MAX]; /* why down/unresponsive, "" otherwise */
    /* A restore's chain check (chaincheck.h): "" without one, else
     * "pending", "ok", "mismatch" or "unreadable", and the line saying
     * where it stands. */
    char chain_check[16];
    char chain_reason[NU_ERRMSG_MAX];
};

/* The reference RPC heads are compared with (--reference URL). */
struct node_status_ref {
    char url[NODE_URL_MAX];   /* "" when none was given */
    char shown[NODE_URL_MAX]; /* url with its userinfo redacted, for output */
    int64_t head;             /* -1 when it did not answer */
    char error[NU_ERRMSG_MAX];
};

/* Fills out[i] for homes[i] (i < n), querying the nodes and the reference
 * (NULL for none) concurrently; then sets each node's lag behind the
 * reference head, or without a reference behind the highest head among
 * the given nodes of the same chain. A node that cannot be reached is
 * reported in its entry; the call fails only on resource errors. */
NU_WUR int node_status_collect(const char (*homes)[PATH_MAX], size_t n, const char *reference,
                               struct node_status *out, struct node_status_ref *ref, char *errbuf);

/* The head height neard at rpc_url ("http://host:port") reports in its
 * JSON-RPC status, with the status timeouts. */
NU_WUR int node_rpc_head(const char *rpc_url, int64_t *head, char *errbuf);

/* "down", "unresponsive", "up". */
const char *node_state_name(enum node_state s);

/* The --json document (schema in docs and cmd_status.c); new reference. */
json_t *node_status_json(const struct node_status *st, size_t n, const struct node_status_ref *ref);

#endif
