/* A restored home's chain check: proof, before the node serves, that the
 * data a snapshot restore put in place is of the right chain.
 *
 * A snapshot restore with reference RPCs (--verify-with) first checks the
 * manifest's block (height and hash) against them, then records what the
 * node itself must confirm in <home>/.nearup/chain-check.json (written
 * atomically before the swap, so no neard ever runs on the restored data
 * without it): the height, the expected hash, each reference's outcome.
 * The supervisor asks its own neard for the block at that height once it
 * answers /status: the same hash makes the check "ok" (only then does the
 * old data a restore kept aside go); another hash makes it "mismatch":
 * neard is stopped, the restored data is moved aside to
 * <dir>.rejected-<snapshot> (never deleted), the old data put back, and
 * the supervisor gives up. `nearup health --home` serves 503 "unverified"
 * while the check is pending or failed; `nearup status` says why.
 *
 * This is node_core: the supervisor links it. */
#ifndef NODE_CHAINCHECK_H
#define NODE_CHAINCHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define NODE_CHAIN_FILE "chain-check.json"
#define NODE_CHAIN_FILE_MAX (64u << 10) /* the file is about 1 KiB */
#define NODE_CHAIN_REFS_MAX 8           /* references one check names (--verify-with) */
#define NODE_CHAIN_URL_MAX 512
#define NODE_CHAIN_HASH_MAX 64 /* base58 of 32 bytes is at most 44 characters */
#define NODE_CHAIN_ID_MAX 128
#define NODE_CHAIN_NAME_MAX 128 /* a snapshot name, as SNAP_NAME_MAX */
#define NODE_CHAIN_DETAIL_MAX 256
#define NODE_CHAIN_DIRS_MAX 2 /* hot and cold */

enum node_chain_state {
    NODE_CHAIN_PENDING,  /* the node has not confirmed the block yet */
    NODE_CHAIN_OK,       /* it has: the same hash */
    NODE_CHAIN_MISMATCH, /* it has another: the data was rejected */
};

/* What one reference said of the snapshot's block, before the restore. */
enum node_chain_outcome {
    NODE_CHAIN_REF_MATCH,       /* same chain, same hash at that height */
    NODE_CHAIN_REF_MISMATCH,    /* another hash, or another chain */
    NODE_CHAIN_REF_UNAVAILABLE, /* no answer, or no block at that height */
};

struct node_chain_ref {
    char url[NODE_CHAIN_URL_MAX]; /* userinfo redacted */
    enum node_chain_outcome outcome;
    char detail[NODE_CHAIN_DETAIL_MAX]; /* "block 123 is <hash>", or why it is unavailable */
};

struct node_chain_check {
    enum node_chain_state state;
    char snapshot[NODE_CHAIN_NAME_MAX];
    char chain_id[NODE_CHAIN_ID_MAX];
    int64_t height;
    char expected_hash[NODE_CHAIN_HASH_MAX];
    unsigned quorum; /* matches that were needed */
    size_t nrefs;
    struct node_chain_ref refs[NODE_CHAIN_REFS_MAX];
    int64_t created_at; /* unix seconds */
    size_t ndirs;
    char data_dirs[NODE_CHAIN_DIRS_MAX][PATH_MAX]; /* the restored data dirs */
    /* once decided */
    int64_t checked_at;                           /* unix seconds; 0 while pending */
    char node_hash[NODE_CHAIN_HASH_MAX];          /* what the node said; "" while pending */
    char rejected[NODE_CHAIN_DIRS_MAX][PATH_MAX]; /* mismatch: where each data dir went */
    bool old_back; /* mismatch: the old data a restore kept aside is in place again */
};

/* "pending", "ok", "mismatch"; "match", "mismatch", "unavailable". */
const char *node_chain_state_name(enum node_chain_state s);
const char *node_chain_outcome_name(enum node_chain_outcome o);
/* References whose outcome is a match. */
size_t node_chain_matches(const struct node_chain_check *c);

/* <home>/.nearup/chain-check.json into out. */
NU_WUR int node_chain_path(const char *home, char *out, size_t outsz, char *errbuf);
/* Parses the file's text (len bytes) into *c. NU_EPARSE with why. */
NU_WUR int node_chain_parse(const char *text, size_t len, struct node_chain_check *c, char *why);
/* Reads home's check: NU_ENOENT (quietly) when there is none; NU_EPARSE
 * "HOME/.nearup/chain-check.json cannot be read (WHY)" otherwise. */
NU_WUR int node_chain_load(const char *home, struct node_chain_check *c, char *errbuf);
/* Writes it atomically (fsynced), replacing the one there. */
NU_WUR int node_chain_save(const char *home, const struct node_chain_check *c, char *errbuf);
/* Removes home's check (none is fine). */
NU_WUR int node_chain_remove(const char *home, char *errbuf);

/* True when the check keeps the node from serving: pending or mismatch. */
bool node_chain_blocks(const struct node_chain_check *c);
/* True when home has a check that blocks, or one that cannot be read. */
bool node_chain_blocking(const char *home);
/* One line saying where the check stands, for logs, /healthcheck and
 * `nearup status`:
 *   "chain check of snapshot S pending: block H must have hash X (N of M
 *    references agree); the node has not confirmed it yet"
 *   "chain check of snapshot S failed: the node's block H has hash Y, not X
 *    (N of M references agree); the restored data was moved to P[; the old
 *    data is back in place]"
 *   "chain check of snapshot S passed: block H has hash X" */
void node_chain_describe(const struct node_chain_check *c, char *out, size_t outsz);

#endif
