/* nearup debug bundle: one .tar.zst an operator attaches to an incident
 * review or a bug report, with what a node's home, its supervisor, neard
 * itself and (optionally) a gateway say about the node, and never a secret
 * key (docs/debug-bundle.md lists every member).
 *
 * The bundle is written atomically (temp file beside the output, fsync,
 * rename; mode 0600): an interrupted or failed run leaves no file. The
 * homes are only read: no file in them is written, no lock is taken that a
 * running node could wait for, and key files (*key*.json and the ones
 * config.json names) are listed by name and mode, never opened. Every
 * text member passes through the secret scrubber before it is written. */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BUNDLE_MAX_SIZE_DEFAULT_MIB 256 /* --max-size default, plain for the flag's text */
#define BUNDLE_MAX_SIZE_MIN (64u << 10) /* --max-size at least */
#define BUNDLE_MAX_SIZE_MAX (64ull << 30)
#define BUNDLE_SINCE_MAX_S (366u * 86400) /* --since at most a year */
#define BUNDLE_TOP "nearup-bundle"        /* every member is under this directory */

struct bundle_opts {
    const char (*homes)[PATH_MAX]; /* absolute node homes */
    size_t nhomes;
    const char *gateway;                 /* base URL of a nearup gateway, or NULL */
    const char *output;                  /* the file to write */
    uint64_t max_size;                   /* members' bytes at most (MANIFEST.json aside) */
    unsigned since_s;                    /* keep log lines of the last since_s seconds; 0: all */
    const volatile sig_atomic_t *cancel; /* set by a signal: stop, remove the temp file */
};

struct bundle_result {
    uint64_t archive_bytes; /* the .tar.zst on disk */
    uint64_t member_bytes;  /* the members before compression (MANIFEST.json aside) */
    size_t members, omitted, failed;
    uint64_t elapsed_ms;
};

/* Collects and writes the bundle to o->output. Anything that cannot be
 * collected (a node that is down, a gateway that does not answer, a file
 * too large) is said in MANIFEST.json, not an error. Errors: the output
 * cannot be written (NU_EIO, NU_EPERM, NU_ENOENT with the path), libarchive
 * cannot be loaded (NU_EIO), cancelled (NU_ESTATE "interrupted"); the
 * output is then left as it was. */
NU_WUR int bundle_write(const struct bundle_opts *o, struct bundle_result *r, char *errbuf);

/* "nearup-bundle-<host>-<YYYYmmddTHHMMSSZ>.tar.zst" for the time now (UTC)
 * into out, the host reduced to [A-Za-z0-9._-]. */
NU_WUR int bundle_default_name(char *out, size_t outsz);

#endif
