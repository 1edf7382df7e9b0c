/* The references a restore asks before anything is downloaded (restore's
 * --verify-with): does each one's chain hold the manifest's block? */
#ifndef SNAP_REFCHECK_H
#define SNAP_REFCHECK_H

#include <signal.h>
#include <stdint.h>
#include "error.h"
#include "snap.h"

/* Asks every reference of v, at once, for its `status` chain_id and its
 * `block {"block_id": height}` header hash, each within
 * SNAP_VERIFY_TIMEOUT_MS, and fills r (every outcome, in order). 0 when at
 * least the quorum (v->quorum, 0: a majority) matches; NU_EVERIFY
 * otherwise, errbuf saying how many did of how many needed; NU_ESTATE when
 * cancelled; NU_EINVAL for a quorum out of 1..n or too many references.
 * Library code: libcurl must be initialised. */
NU_WUR int snap_check_references(const struct snap_verify_refs *v, const char *chain_id,
                                 int64_t height, const char *hash,
                                 const volatile sig_atomic_t *cancel, struct snap_chain_report *r,
                                 char *errbuf);

#endif
