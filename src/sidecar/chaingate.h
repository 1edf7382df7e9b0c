/* `nearup health --home DIR`: the home's chain check (chaincheck.h) as the
 * sidecar serves it. While the check is pending, failed, or its file
 * cannot be read, the node is "unverified": /healthcheck answers 503, the
 * agent "down #unverified", whatever the node's status says. Without a
 * check file (or with one that passed) nothing changes.
 *
 * Each check round costs one stat(2) of the file; the file (about 1 KiB,
 * at most NODE_CHAIN_FILE_MAX) is read again only when the stat shows
 * another file or other contents (inode, size, mtime, ctime). Internal to
 * src/sidecar. */
#ifndef HC_CHAINGATE_H
#define HC_CHAINGATE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <jansson.h>
#include "chaincheck.h"
#include "error.h"
#include "health.h"

enum hc_gate_state {
    HC_GATE_NONE,       /* no check file */
    HC_GATE_PENDING,    /* the node has not shown the snapshot's block yet */
    HC_GATE_OK,         /* it has */
    HC_GATE_MISMATCH,   /* it showed another: the restored data was rejected */
    HC_GATE_UNREADABLE, /* the file cannot be read or parsed */
    HC_GATE_NSTATES
};

struct hc_chain_gate {
    bool on; /* --home was given */
    char home[PATH_MAX];
    char path[PATH_MAX]; /* its chain-check.json */
    bool seen;           /* a stat found a file, described by id */
    struct stat id;
    enum hc_gate_state state;
    char reason[768];              /* why unverified ("" otherwise) */
    struct node_chain_check check; /* the file's, when it was read */
};

/* Watches home's check (home NULL: off). Reads it at once. */
NU_WUR int hc_gate_init(struct hc_chain_gate *g, const char *home, char *errbuf);
/* One stat; reads the file again when it changed. True when the state or
 * the reason changed. */
bool hc_gate_refresh(struct hc_chain_gate *g);
/* True while the node must not serve. */
bool hc_gate_blocks(const struct hc_chain_gate *g);
/* "none", "pending", "ok", "mismatch", "unreadable". */
const char *hc_gate_state_name(int st);
/* /healthcheck's "chain_check": null without a file, else its state,
 * snapshot, height, expected hash and the node's (null until decided). */
json_t *hc_gate_json(const struct hc_chain_gate *g);

#endif
