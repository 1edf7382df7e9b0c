/* Coordinated neard upgrades (hard forks), the `nearup upgrade` side.
 *
 * The new binary is fetched and verified into the cache first; then
 * <home>/.nearup/upgrade.json records the pending upgrade:
 *   {"version", "commit", "sha256", "binary", "at_height": int|null, "jitter_s"}
 * With a height, config.json gets expected_shutdown = height and neard a
 * SIGHUP (it re-reads that field), so neard stops itself cleanly there and
 * its supervisor, seeing exit 0 with upgrade.json present, starts the new
 * binary. Without a height the supervisor gets the SIGHUP and switches at
 * once. Either way the supervisor first waits a random delay in
 * [0, jitter_s] s, so nodes upgraded together do not all restart at once. */
#ifndef NODE_UPGRADE_H
#define NODE_UPGRADE_H

#include <limits.h>
#include <stdint.h>
#include "error.h"
#include "release.h"

#define NODE_UPGRADE_JITTER_MAX_S 86400

struct node_upgrade {
    char version[NODE_VERSION_MAX];
    char commit[NODE_VERSION_MAX];
    char sha256[NODE_SHA256_HEX];
    char binary[PATH_MAX]; /* verified executable (cache blob or --binary-path) */
    int64_t at_height;     /* -1: now */
    unsigned jitter_s;
};

/* Writes upgrade.json atomically. */
NU_WUR int node_upgrade_write(const char *home, const struct node_upgrade *u, char *errbuf);
/* Reads upgrade.json; NU_ENOENT when no upgrade is pending. */
NU_WUR int node_upgrade_read(const char *home, struct node_upgrade *u, char *errbuf);
/* What `nearup upgrade --check` asks of a staged upgrade: version NULL and
 * at_height -1 accept any. */
struct node_upgrade_want {
    const char *version;
    int64_t at_height;
};
/* Judges the upgrade staged in home without changing anything: reads
 * upgrade.json into *u, recomputes its binary's sha256, compares version
 * and height with *want, and for a height checks that config.json's
 * expected_shutdown is that height (or neard would not stop there).
 * Returns 0 when staged and matching; NU_ENOENT when nothing is staged;
 * another negative code when the staged upgrade differs or is unsound.
 * errbuf says why in one line (on 0 too, it stays empty). */
NU_WUR int node_upgrade_check(const char *home, const struct node_upgrade_want *want,
                              struct node_upgrade *u, char *errbuf);
/* Hands the upgrade to the running supervisor of home: writes upgrade.json,
 * then either sets expected_shutdown and SIGHUPs neard (at_height >= 0) or
 * SIGHUPs the supervisor. Processes are identified by pid and start time.
 * NU_ESTATE when no supervisor runs the home. On failure nothing stays
 * pending (upgrade.json and expected_shutdown are undone). */
NU_WUR int node_upgrade_schedule(const char *home, const struct node_upgrade *u, char *errbuf);
/* For a stopped node: switches run.json to the new binary now, so its next
 * start runs it (and drops a stale upgrade.json / expected_shutdown). */
NU_WUR int node_upgrade_apply_stopped(const char *home, const struct node_upgrade *u, char *errbuf);

#endif
