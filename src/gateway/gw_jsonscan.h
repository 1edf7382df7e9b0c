/* The gateway's in-place JSON scanner, shared by the request and reply
 * peeks (gw_rpcpeek.c). It validates while it walks, never allocates and
 * never builds a tree. Strings are checked the way serde_json reads them
 * into Rust strings (neard's request parser): well-formed UTF-8, and a
 * \uXXXX leading surrogate must be followed by a trailing one. A string is
 * kept as its raw contents plus a flag saying whether they hold escapes;
 * gw_jstr_* compare and decode such strings exactly, so `"m\u0065thod"`
 * is the key `method` here as it is for neard. */
#ifndef GW_JSONSCAN_H
#define GW_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest decoded name gw_jstr_is/gw_jstr_find compare (method names, keys). */
#define GW_JSTR_NAME_MAX 64

struct gw_scan {
    const char *base, *p, *end;
    const char *err;    /* static message of the first error */
    const char *err_at; /* where it was found */
    int depth;
    bool stop; /* a member hook asked to stop early (not an error) */
};

/* A JSON string's raw contents (between the quotes) in the scanned text. */
struct gw_jstr {
    const char *p;
    size_t len;
    bool esc; /* holds escapes: compare through gw_jstr_decode */
};

/* Sees one member of an object: s->p is at its value, which the hook must
 * consume (gw_scan_value or a finer reader). false stops the walk. */
typedef bool (*gw_member_fn)(struct gw_scan *s, const struct gw_jstr *key, void *ud);

void gw_scan_init(struct gw_scan *s, const char *p, size_t len);
/* Records the first error, found at s->p; always returns false. */
bool gw_scan_fail(struct gw_scan *s, const char *what);
/* The same, found at `at`. */
bool gw_scan_fail_at(struct gw_scan *s, const char *at, const char *what);
void gw_scan_ws(struct gw_scan *s);
/* Each consumes one value at s->p (a string at '"', an object at '{', an
 * array at '['); false on a syntax error (s->err says which). */
bool gw_scan_value(struct gw_scan *s);
/* j (may be NULL) gets the contents. */
bool gw_scan_string(struct gw_scan *s, struct gw_jstr *j);
/* fn NULL: members are only validated. */
bool gw_scan_object(struct gw_scan *s, gw_member_fn fn, void *ud);
/* *count (may be NULL) gets the number of elements. */
bool gw_scan_array(struct gw_scan *s, size_t *count);
/* *ival (may be NULL) gets the number when it is a plain non-negative
 * integer of at most 18 digits, else -1. */
bool gw_scan_number(struct gw_scan *s, int64_t *ival);

/* "<s->err> at line L column C": the line and column (from 1, in bytes) of
 * s->err_at counted from text, the start of the whole body. */
void gw_scan_format_err(const struct gw_scan *s, const char *text, char *err, size_t errsz);

/* Decodes j (a string gw_scan_string accepted) into out[0..outsz) as UTF-8.
 * Returns the decoded length; a result above outsz means the string is
 * longer than outsz (out then holds a prefix, and decoding stopped early). */
size_t gw_jstr_decode(const struct gw_jstr *j, char *out, size_t outsz);
/* Whether j decodes to exactly name. */
bool gw_jstr_is(const struct gw_jstr *j, const char *name);
/* Index in names[0..n) of the name j decodes to, or -1. */
int gw_jstr_find(const struct gw_jstr *j, const char *const *names, int n);

#endif
