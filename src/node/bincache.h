/* Content-addressed cache of neard binaries, in $XDG_CACHE_HOME/nearup
 * (default ~/.cache/nearup):
 *   blobs/<sha256>                 the binary, 0755, verified
 *   versions/<os-arch>/<version>   text "<sha256> <commit>\n" naming a blob
 * A version already in the cache is used with no network access at all.
 * Downloads go to blobs/.partial/<name>.part (resumed after interruption),
 * are verified against the expected sha256 and only then renamed into
 * blobs/ and made executable; a mismatch names both hashes and leaves
 * nothing executable behind. */
#ifndef NODE_BINCACHE_H
#define NODE_BINCACHE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "release.h"

struct node_fetch_opts {
    const char *release_url; /* base URL; NULL = NODE_DEFAULT_RELEASE_URL */
    const char *chain;       /* chain whose latest_* to read */
    const char *version;     /* pinned version or NULL for latest */
    const char *sha256;      /* expected hash (--neard-sha256) or NULL: read neard.sha256 */
    bool progress;           /* progress bar on stderr (only when it is a terminal) */
    const volatile sig_atomic_t *cancel; /* set by a signal handler: abort the download
                                            (the .part is kept for a resume); may be NULL */
    const char *commit; /* with version: that deploy's build (nearcore/<os-arch>/<version>/
                           <commit>/neard); NULL or "": the pinned layout */
};

struct node_binary {
    char path[PATH_MAX]; /* executable in the cache */
    char sha256[NODE_SHA256_HEX];
    char version[NODE_VERSION_MAX];
    char commit[NODE_VERSION_MAX];
    bool downloaded; /* false when it came from the cache */
};

/* Cache root into out. */
NU_WUR int node_cache_dir(char *out, size_t outsz, char *errbuf);
/* A cached binary for (os-arch of this machine, version); NU_ENOENT if absent.
 * Verifies the blob before returning it (see node_cache_blob). */
NU_WUR int node_cache_lookup(const char *version, struct node_binary *out, char *errbuf);
/* The cached blob with this sha256, whatever version names it (out->version
 * and commit are ""). Verified: by its stamp (verified/<sha256>, written
 * after a full hash: size, mtime, ctime, inode and device of the file then)
 * when the file still matches it, else by hashing it again. A blob that
 * does not hash to its name is deleted (NU_ENOENT), never returned. */
NU_WUR int node_cache_blob(const char *sha256, struct node_binary *out, char *errbuf);
/* Resolve + cache-or-download + verify + install. o->version "latest" or
 * "" is the same as NULL. With o->version set and cached, makes no request
 * at all; for latest it reads latest_release/latest_deploy and reuses the
 * cached build of that commit, else reads neard.sha256 (unless o->sha256)
 * and downloads unless a blob with that hash is cached already. Errors
 * (one line): NU_ENET "cannot reach the release bucket: GET <url>: ...",
 * NU_EHTTP naming the URL and status, NU_EVERIFY "checksum mismatch for
 * neard <ver>: expected <hex>, got <hex>" (nothing is left behind). */
NU_WUR int node_bin_fetch(const struct node_fetch_opts *o, struct node_binary *out, char *errbuf);
/* <cache>/blobs/<sha256> into out (whether or not it exists). */
NU_WUR int node_cache_blob_path(const char *sha256, char *out, size_t outsz, char *errbuf);

struct node_cached {
    char version[NODE_VERSION_MAX];
    char commit[NODE_VERSION_MAX];
    char sha256[NODE_SHA256_HEX];
    uint64_t size;
    int64_t mtime; /* when it was cached */
    bool in_use;   /* referenced by a registered home's run.json */
};
/* -1, 0, 1 as release name a is older, equal, newer than b. */
int node_version_cmp(const char *a, const char *b);
/* Lists cached versions for this os-arch, newest version first (numeric
 * parts compared as numbers, "2.5.0-rc.1" before "2.5.0"). *out is
 * malloc'd (caller frees; NULL when *n is 0). */
NU_WUR int node_cache_list(struct node_cached **out, size_t *n, char *errbuf);
/* Keeps the newest keep versions (list order) and every version in use,
 * removes the others, then blobs no version names and partial downloads
 * nobody is working on. *removed gets the number of versions removed. */
NU_WUR int node_cache_prune(unsigned keep, unsigned *removed, char *errbuf);

#endif
