/* Inside the debug bundle (bundle.h): the archive writer with its budget
 * and the manifest's lists (archive.c), the secret scrubber (scrub.c),
 * rotated logs (logs.c), one node's members (node.c) and the rest
 * (bundle.c). */
#ifndef BUNDLE_INT_H
#define BUNDLE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "bundle.h"
#include "fs.h"
#include "nodestatus.h"

/* What one member may hold (docs/debug-bundle.md, "Limits"). A file or an
 * answer beyond its limit is left out and the manifest says so; a log is
 * cut to its newest lines instead. */
#define BUNDLE_FILE_MAX (4u << 20)       /* config.json and the .nearup/ JSON files */
#define BUNDLE_PROC_MAX (64u << 10)      /* a /proc file, a pid file */
#define BUNDLE_STATUS_MAX (1u << 20)     /* neard's /status */
#define BUNDLE_METRICS_MAX (16u << 20)   /* neard's or the gateway's /metrics */
#define BUNDLE_UPSTREAMS_MAX (4u << 20)  /* the gateway's /upstreams */
#define BUNDLE_JSON_MAX (16u << 20)      /* a JSON member as written, indented */
#define BUNDLE_LOG_MAX (1ull << 30)      /* one log member */
#define BUNDLE_LOG_READ_MAX (4ull << 30) /* bytes read from one log file (decompressed) */
#define BUNDLE_LINE_MAX (64u << 10)      /* a longer log line keeps its first bytes */
#define BUNDLE_MANIFEST_MAX (1u << 20)
#define BUNDLE_LIST_MAX 1024 /* entries listed per directory in files.json */
#define BUNDLE_HTTP_TIMEOUT_MS 5000
#define BUNDLE_HTTP_CONNECT_MS 1000

/* ---- the archive (archive.c) ---- */

struct archive;

struct bundle_ar {
    struct archive *a;
    struct nu_fs_atomic out;
    int64_t now;       /* members' mtime, seconds */
    uint64_t max;      /* the budget (--max-size) */
    uint64_t used;     /* members' bytes so far */
    uint64_t left;     /* a streamed member's bytes still to come */
    json_t *members;   /* [{"name", "source", "bytes", "redacted", ...}] */
    json_t *omitted;   /* [{"name", "source", "why"}] */
    json_t *failed;    /* [{"name", "source", "error"}] */
    struct nu_buf tmp; /* a member's scrubbed bytes */
    const volatile sig_atomic_t *cancel;
};

/* Opens a temp file beside path and a pax tar writer with the zstd filter
 * over it. NU_EIO when libarchive cannot be loaded. */
NU_WUR int bundle_ar_open(struct bundle_ar *ar, const char *path, uint64_t max, int64_t now,
                          const volatile sig_atomic_t *cancel, char *errbuf);
/* Scrubs data (scrub.c) and adds it as BUNDLE_TOP/name; source (may be
 * NULL) says where it came from. Beyond the budget it is recorded as
 * omitted instead, which is not an error; an error is a failed write.
 * Ownership of note (may be NULL) is taken: it is merged into the
 * member's record. */
NU_WUR int bundle_ar_add(struct bundle_ar *ar, const char *name, const char *source,
                         const char *data, size_t len, json_t *note, char *errbuf);
/* bundle_ar_add of v (taken) after bundle_scrub_json, as indented JSON;
 * v NULL (a json_pack that failed) is recorded as failed. */
NU_WUR int bundle_ar_add_json(struct bundle_ar *ar, const char *name, const char *source, json_t *v,
                              char *errbuf);
/* A member written in pieces of bytes scrubbed already: begin with its
 * exact size (at most bundle_ar_room), write all of them, then end with
 * the same name and size, which records it; note (may be NULL) is taken
 * and merged into its record. */
NU_WUR int bundle_ar_begin(struct bundle_ar *ar, const char *name, uint64_t size, char *errbuf);
NU_WUR int bundle_ar_write(struct bundle_ar *ar, const void *data, size_t len, char *errbuf);
NU_WUR int bundle_ar_end(struct bundle_ar *ar, const char *name, const char *source, uint64_t size,
                         unsigned redacted, json_t *note, char *errbuf);
/* Bytes the budget has left. */
uint64_t bundle_ar_room(const struct bundle_ar *ar);
/* Records name as not collected: on purpose or by a limit (why), or
 * because collecting it failed (error). */
void bundle_ar_omit(struct bundle_ar *ar, const char *name, const char *source, const char *why);
void bundle_ar_fail(struct bundle_ar *ar, const char *name, const char *source, const char *error);
/* True once the cancel flag is set. */
bool bundle_ar_cancelled(const struct bundle_ar *ar);
/* Adds manifest (taken) with the lists and "bytes" as
 * BUNDLE_TOP/MANIFEST.json outside the budget, closes the archive and
 * renames it into place. */
NU_WUR int bundle_ar_commit(struct bundle_ar *ar, json_t *manifest, char *errbuf);
/* Frees ar; the temp file is removed unless the commit renamed it. */
void bundle_ar_release(struct bundle_ar *ar);

/* ---- secrets (scrub.c) ---- */

/* What replaces a line that names a key field. */
#define BUNDLE_DROPPED_LINE "[nearup debug bundle: line removed, it named a key field]"

/* Appends line (len bytes, its '\n' if it has one) to out with secrets
 * removed: a line naming secret_key or private_key is replaced by
 * BUNDLE_DROPPED_LINE; an ed25519: key text longer than a public key
 * (a secret key or a signature) becomes ed25519:***; the value after a
 * secret-looking NAME= or "NAME": becomes ***; URL userinfo becomes ***.
 * *redacted is increased by the number of replacements. NU_ETOOBIG when
 * out is full. */
NU_WUR int bundle_scrub_line(const char *line, size_t len, struct nu_buf *out, unsigned *redacted);
/* bundle_scrub_line of each line of text. */
NU_WUR int bundle_scrub_text(const char *text, size_t len, struct nu_buf *out, unsigned *redacted);
/* In place: members whose name is a key field are removed, other
 * secret-looking names get "***" (null and booleans are kept), every string
 * goes through the line rules. */
NU_WUR int bundle_scrub_json(json_t *v, unsigned *redacted);
/* Names that hold a secret: password, token, secret, ... (any case). */
bool bundle_secret_name(const char *name, size_t len);
/* A key file by its name: *key*.json (any case). */
bool bundle_key_file_name(const char *name);

/* ---- logs (logs.c) ---- */

/* The time at the start of a log line, ms since the epoch: neard's
 * "2026-01-02T03:04:05.123456Z  INFO ..." or the supervisor's
 * "ts=2026-01-02T03:04:05.123Z ...". False when it has none. */
bool bundle_line_time(const char *line, size_t len, int64_t *ms);

/* Adds <prefix>/neard.log, neard.log.1, ... from logdir: the lines since
 * cutoff_ms (-1: all), decompressed, scrubbed, newest generation first,
 * within budget bytes (newest lines kept); *used gets what they took. */
NU_WUR int bundle_add_logs(struct bundle_ar *ar, const char *logdir, const char *prefix,
                           int64_t cutoff_ms, uint64_t budget, uint64_t *used, char *errbuf);

/* ---- one node (node.c) ---- */

struct bundle_node {
    const char *home;             /* absolute */
    char name[64];                /* nodes/<name>/ in the archive */
    const struct node_status *st; /* what `nearup status` found */
};

/* Every member of a node but its logs (bundle_add_logs). Collection
 * failures are recorded, not returned. */
NU_WUR int bundle_add_node(struct bundle_ar *ar, const struct bundle_node *n, char *errbuf);

/* GET url (bounded by max bytes and BUNDLE_HTTP_TIMEOUT_MS) into body;
 * the cancel flag aborts it. */
NU_WUR int bundle_http_get(const struct bundle_ar *ar, const char *url, size_t max,
                           struct nu_buf *body, char *errbuf);
/* Adds GET url as name: a JSON answer as scrubbed JSON when as_json, else
 * as text; a failure or an answer over max is recorded. */
NU_WUR int bundle_add_url(struct bundle_ar *ar, const char *name, const char *url, size_t max,
                          bool as_json, char *errbuf);
/* Adds the file at path as name (JSON when as_json and it parses):
 * absent is recorded as omitted "absent", larger than max as omitted, a key
 * file (by its real name) is never read. */
NU_WUR int bundle_add_file(struct bundle_ar *ar, const char *name, const char *path, size_t max,
                           bool as_json, char *errbuf);

#endif
