/* nearup snapshot: consistent, incremental, verified snapshots of a neard
 * home's data dirs to a store (directory, S3, HTTP), and parallel restore.
 * This is the API the CLI uses; docs/snapshots.md describes the format and
 * the guarantees. Library code never prints: stage messages go to an
 * optional note callback, results to the result structs. */
#ifndef SNAP_SNAP_H
#define SNAP_SNAP_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chaincheck.h"
#include "error.h"
#include "manifest.h"

#define SNAP_GRACE_DEFAULT_S 3600         /* prune never deletes younger chunks */
#define SNAP_MARKER_STALE_DEFAULT_S 86400 /* a create marker older than this is dead */
#define SNAP_MARKER_REFRESH_S 600         /* a running create refreshes its marker */
#define SNAP_PRUNE_WAIT_S 600             /* create waits this long for a running prune */

typedef void (*snap_note_fn)(void *ud, const char *msg);

/* Settings every command shares. */
struct snap_common {
    const char *store;       /* STORE text */
    const char *s3_endpoint; /* or NULL */
    unsigned parallel;       /* workers; 0 = SNAP_PARALLEL_DEFAULT */
    int progress_fd;         /* where a progress bar is drawn */
    bool progress_tty;       /* draw at all */
    const volatile sig_atomic_t *cancel;
    snap_note_fn note; /* stage messages ("node stopped", ...); may be NULL */
    void *note_ud;
};

struct snap_create_opts {
    struct snap_common c;
    const char *home;
    const char *name;         /* NULL: "<UTC time>-<height>" */
    bool compress;            /* zstd */
    const char *sign_key;     /* NEAR key file, or NULL */
    unsigned stop_timeout_s;  /* 0: run.json's */
    unsigned start_timeout_s; /* 0: 60 */
};

struct snap_create_result {
    char name[SNAP_NAME_MAX];
    int64_t height;
    bool was_running, restarted;
    uint64_t stop_ms, checkpoint_ms, start_ms, downtime_ms, total_ms;
    size_t files_linked, files_copied;
    uint64_t bytes_copied;
    bool link_fallback; /* hard links were impossible somewhere: copied instead */
    char link_fallback_why[128];
    size_t files, files_new; /* files_new: files with at least one uploaded chunk */
    size_t chunks, chunks_uploaded;
    uint64_t bytes, bytes_new, bytes_uploaded; /* plain total, plain of uploaded, stored */
    bool signed_manifest;
};

NU_WUR int snap_create(const struct snap_create_opts *o, struct snap_create_result *r,
                       char *errbuf);

enum snap_layout { SNAP_LAYOUT_AUTO, SNAP_LAYOUT_NEARUP, SNAP_LAYOUT_NEAR, SNAP_LAYOUT_FASTNEAR };

/* Reference RPCs a restore checks the snapshot's block against
 * (--verify-with, --verify-quorum; docs/snapshots.md, "Chain check"). */
#define SNAP_VERIFY_REFS_MAX NODE_CHAIN_REFS_MAX /* --verify-with, at most */
#define SNAP_VERIFY_TIMEOUT_MS 10000             /* one reference's two calls, connect included */

struct snap_verify_refs {
    const char *const *urls; /* NULL-terminated; NULL or empty: no check */
    unsigned quorum;         /* matches needed, 1..n; 0: a majority, n / 2 + 1 */
};

/* What the references said (every outcome, in the order given). */
struct snap_chain_report {
    bool checked; /* references were asked */
    unsigned quorum;
    size_t nrefs, matches;
    int64_t height;
    char hash[NODE_CHAIN_HASH_MAX];
    struct node_chain_ref refs[SNAP_VERIFY_REFS_MAX];
};

struct snap_restore_opts {
    struct snap_common c;
    const char *home;
    const char *name;       /* NULL or "latest": the store's latest */
    const char *verify_key; /* "ed25519:..." or NULL */
    bool replace;           /* replace existing data (moved aside, see keep_old) */
    bool keep_old;          /* keep replaced data for good, not only until the node opens
                               the new data */
    bool home_locked;       /* the caller holds the home lock (state.h) */
    enum snap_layout layout;
    const char *kind; /* public layouts: rpc (default), archive, fast-rpc, ... */
    /* Before anything is downloaded, the manifest's block must be confirmed
     * by a quorum of these; the restore then records a chain check the
     * node itself must pass before it serves (chaincheck.h). Only for
     * nearup's own layout. */
    struct snap_verify_refs verify;
};

struct snap_restore_result {
    char name[SNAP_NAME_MAX];
    char chain_id[SNAP_CHAIN_MAX];
    int64_t height;
    enum snap_layout layout;
    size_t files;
    uint64_t bytes;
    size_t chunks, chunks_present, chunks_downloaded; /* present: already verified in staging */
    uint64_t bytes_downloaded;
    bool replaced, signature_verified;
    size_t nold;                /* data dirs whose old data was moved aside */
    char old_data[2][PATH_MAX]; /* where it is */
    bool old_kept;              /* for good (keep_old); else until the node opens the new data */
    char checks[256];           /* what was verified ("sha256 of every chunk", or weaker) */
    char data_dir[PATH_MAX];
    uint64_t total_ms;
    bool skipped;                   /* snap_bootstrap_home: the home already had data */
    struct snap_chain_report chain; /* the references' outcomes, also on a refusal */
};

NU_WUR int snap_restore(const struct snap_restore_opts *o, struct snap_restore_result *r,
                        char *errbuf);

/* `nearup run --from-snapshot STORE`: restores the store's latest
 * snapshot into home (already initialised, node not running, the caller
 * holding its home lock) when its data dir is absent or empty;
 * r->skipped otherwise. */
struct snap_bootstrap_opts {
    const char *home, *store;
    const char *s3_endpoint;               /* or NULL (the environment's, else AWS) */
    const char *verify_key;                /* or NULL: as in snap_restore_opts */
    const struct snap_verify_refs *verify; /* or NULL: as in snap_restore_opts */
    const volatile sig_atomic_t *cancel;
};

NU_WUR int snap_bootstrap_home(const struct snap_bootstrap_opts *b, struct snap_restore_result *r,
                               char *errbuf);

struct snap_info {
    char name[SNAP_NAME_MAX];
    char created_at[32];
    int64_t created_unix;
    char chain_id[SNAP_CHAIN_MAX];
    int64_t height;
    char block_hash[SNAP_TEXT_MAX];
    char neard_version[SNAP_TEXT_MAX];
    size_t files, chunks;
    uint64_t bytes;
    bool latest, has_signature;
    char error[NU_ERRMSG_MAX]; /* a manifest that does not parse */
};

/* Every snapshot of the store, oldest first (*out: caller frees). */
NU_WUR int snap_list(const struct snap_common *c, struct snap_info **out, size_t *n, char *errbuf);

struct snap_verify_opts {
    struct snap_common c;
    const char *name;       /* NULL: every snapshot (with home: the one restored there) */
    const char *verify_key; /* also check signatures */
    const char *home;       /* NULL, or check this home's data dirs instead of the store */
};

struct snap_verify_result {
    size_t snapshots, chunks, chunks_bad;
    uint64_t bytes;
    char first_bad[NU_ERRMSG_MAX];
    /* with home */
    char name[SNAP_NAME_MAX]; /* the snapshot the data was checked against */
    size_t files;             /* in that snapshot */
    size_t files_bad;         /* differences: files missing, extra, of another size or content */
    size_t old_removed;       /* old data dirs a restore kept aside, removed after the check */
};

/* Downloads every chunk the snapshots name once and checks it; NU_EVERIFY
 * when any is missing or wrong (counted in r). With o->home: reads the
 * home's data dirs (node stopped, under its home lock) and checks every
 * file against the snapshot's manifest (--name, else the snapshot the
 * last restore put there, else latest); NU_EVERIFY on any difference;
 * when all match, the old data that restore kept aside is removed. */
NU_WUR int snap_verify(const struct snap_verify_opts *o, struct snap_verify_result *r,
                       char *errbuf);

struct snap_prune_opts {
    struct snap_common c;
    unsigned keep;   /* newest snapshots kept (>= 1) */
    int64_t grace_s; /* chunks younger than this are never deleted */
    int64_t stale_s; /* create markers older than this are dead */
    bool dry_run;
};

struct snap_prune_result {
    size_t snapshots, kept, manifests_deleted;
    size_t chunks, chunks_deleted, chunks_young, chunks_referenced;
    uint64_t bytes_deleted;
    size_t stale_markers;
    bool chunks_deferred; /* a create was running: no chunk was deleted */
    char deferred_by[SNAP_NAME_MAX];
};

NU_WUR int snap_prune(const struct snap_prune_opts *o, struct snap_prune_result *r, char *errbuf);

#endif
