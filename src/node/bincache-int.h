/* Internals shared by bincache.c (lookup, fetch) and binprune.c (list,
 * prune). */
#ifndef NODE_BINCACHE_INT_H
#define NODE_BINCACHE_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "bincache.h"

/* blobs/.partial/<sha256>{,.part,.lock}: downloads in progress */
#define NODE_CACHE_PARTIAL ".partial"
/* A neard is ~100 MiB; anything past this is not a neard. */
#define NODE_BIN_MAX_BYTES (4ull << 30)

/* versions/<os-arch>/<version>: "<sha256> <commit>\n" ("-" for no commit). */
struct bc_entry {
    char version[NODE_VERSION_MAX];
    char sha256[NODE_SHA256_HEX];
    char commit[NODE_VERSION_MAX];
};

/* <cache dir>/<printf(fmt, ...)> into out. */
NU_WUR int bc_path(char *out, size_t outsz, char *errbuf, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads one version entry; NU_ENOENT when absent, NU_EPARSE when malformed. */
NU_WUR int bc_entry_read(const char *os_arch, const char *version, struct bc_entry *e,
                         char *errbuf);
/* flock(LOCK_EX) on path (created), waiting when wait; NU_EEXIST when held
 * and !wait. The holder may unlink path before closing *fd. */
NU_WUR int bc_lock(const char *path, bool wait, const volatile sig_atomic_t *cancel, int *fd,
                   char *errbuf);
/* Removes the verified stamp of a blob (with the blob). */
void bc_stamp_remove(const char *sha);
/* flock(op) on <cache>/.lock: fetch installs under LOCK_SH, prune runs
 * under LOCK_EX, so prune never removes a blob between its install and
 * its version entry. Close *fd to release. */
NU_WUR int bc_cache_lock(int op, int *fd, char *errbuf);

#endif
