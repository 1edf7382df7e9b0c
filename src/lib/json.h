/* JSON helpers over jansson. */
#ifndef NU_JSON_H
#define NU_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "buf.h"
#include "error.h"

#define NU_JSON_FILE_MAX (64u << 20) /* config/genesis files we parse at most */

/* Loads a JSON file. allow_comments strips //, / * * / and # comments first
 * (neard's config.json allows them) keeping line numbers. Errors read
 * "<path>:<line>:<col>: <what>". Returns a new reference (caller decrefs). */
NU_WUR int nu_json_load_file(const char *path, bool allow_comments, json_t **out, char *errbuf);
/* Parses a buffer; same error format with name in place of the path.
 * Any JSON value is accepted at top level; duplicate object keys are an
 * error (as serde rejects duplicate fields). */
NU_WUR int nu_json_parse(const char *name, const char *data, size_t len, bool allow_comments,
                         json_t **out, char *errbuf);
/* Writes pretty JSON (2-space indent, keys in insertion order, like
 * serde_json::to_string_pretty) atomically. trailing_newline adds "\n". */
NU_WUR int nu_json_write_file(const char *path, const json_t *v, mode_t mode, bool trailing_newline,
                              char *errbuf);
/* Serializes into b (appends). flags are extra jansson encoding flags;
 * JSON_COMPACT is implied unless flags has a JSON_INDENT(n). NU_ETOOBIG
 * when b's maximum is reached (b is then left as it was). */
NU_WUR int nu_json_dump_buf(const json_t *v, struct nu_buf *b, size_t flags);

/* Typed getters by dotted path ("rpc.limits_config.json_payload_max_size").
 * NU_ENOENT when missing or null, NU_EINVAL when the type differs. */
NU_WUR int nu_json_get_str(const json_t *obj, const char *path, const char **out);
NU_WUR int nu_json_get_int(const json_t *obj, const char *path, int64_t *out);
NU_WUR int nu_json_get_bool(const json_t *obj, const char *path, bool *out);
json_t *nu_json_get(const json_t *obj, const char *path); /* borrowed, NULL if missing */
/* Sets obj at a dotted path, creating intermediate objects; steals value. */
NU_WUR int nu_json_set(json_t *obj, const char *path, json_t *value);

/* serde std Duration {"secs":N,"nanos":M} <-> milliseconds. */
json_t *nu_json_duration(uint64_t ms);
NU_WUR int nu_json_get_duration_ms(const json_t *obj, const char *path, uint64_t *ms);

#endif
