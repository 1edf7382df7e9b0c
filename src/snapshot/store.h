/* Where snapshots live: one interface, three backends.
 *
 *   /path or file:///path          a local directory (store_dir.c)
 *   s3://bucket/prefix             S3 or an S3-compatible service, SigV4-signed by libcurl
 *                                  (store_s3.c); path-style on a custom endpoint
 *   http://... or https://...      a read-only public bucket or CDN: the S3 store's
 *                                  read-only, unsigned mode (store_s3.c)
 *
 * Keys are relative to the store root ("chunks/ab/ab12...", "manifests/x.json").
 * A struct snap_store is used by one thread at a time (it owns one curl
 * handle); parallel workers each open their own from the same spec. */
#ifndef SNAP_STORE_H
#define SNAP_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"

#define SNAP_URL_MAX 2048
#define SNAP_KEY_MAX 512
#define SNAP_SECRET_MAX 2048

enum snap_store_kind { SNAP_STORE_DIR, SNAP_STORE_S3, SNAP_STORE_HTTP };

/* Everything needed to open a store, resolved once (credentials included). */
struct snap_store_spec {
    enum snap_store_kind kind;
    char text[SNAP_URL_MAX];     /* as the user wrote it, for messages */
    char root[PATH_MAX];         /* dir: absolute root */
    char base_url[SNAP_URL_MAX]; /* s3/http: URL that keys are appended to (ends in '/') */
    char region[64];             /* s3 */
    char access_key[256];        /* s3: "" = unsigned requests */
    char secret_key[SNAP_SECRET_MAX];
    char session_token[SNAP_SECRET_MAX];
    bool path_style;               /* s3 on a custom endpoint */
    char bucket_url[SNAP_URL_MAX]; /* s3: URL of the bucket itself, for listing */
    char key_prefix[SNAP_KEY_MAX]; /* s3: "prefix/" inside the bucket, "" at the root */
};

struct snap_store_opts {
    const char *s3_endpoint; /* --s3-endpoint; NULL: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS */
    bool create;             /* dir: create the root if missing (snapshot create) */
};

/* Parses STORE text into spec; for S3 reads credentials from the
 * environment or ~/.aws/credentials. NU_EINVAL with a message on a bad
 * URL. */
NU_WUR int snap_store_spec_parse(const char *text, const struct snap_store_opts *o,
                                 struct snap_store_spec *spec, char *errbuf);

struct snap_store;

/* What a listing reports about one object. */
struct snap_obj_info {
    const char *key; /* relative to the store root */
    uint64_t size;
    int64_t mtime;    /* unix seconds (the store's clock), 0 unknown */
    const char *etag; /* S3 ETag without quotes, "" if none */
};

/* Called once per listed object; a non-zero return stops the listing and
 * is returned by snap_store_list. */
typedef int (*snap_list_fn)(void *ud, const struct snap_obj_info *o);

#define SNAP_PUT_IF_ABSENT 1u /* NU_EEXIST when the key exists (best effort on S3: HEAD first) */
/* With SNAP_PUT_IF_ABSENT: the key is the hash of the bytes and the caller
 * has just found it absent, so a racing writer stores the same bytes and a
 * store may skip a check that costs a request (S3's HEAD). */
#define SNAP_PUT_CONTENT_KEY 2u

/* Opens a store handle for this thread (caller frees with snap_store_free). */
NU_WUR int snap_store_open(const struct snap_store_spec *spec, struct snap_store **out,
                           char *errbuf);
void snap_store_free(struct snap_store *s);
bool snap_store_writable(const struct snap_store *s);
enum snap_store_kind snap_store_kind(const struct snap_store *s);
/* Requests (or file operations) made through this handle so far. */
uint64_t snap_store_requests(const struct snap_store *s);

NU_WUR int snap_store_put(struct snap_store *s, const char *key, const void *data, size_t len,
                          unsigned flags, char *errbuf);
/* Reads the whole object into out (appended); NU_ETOOBIG past max bytes,
 * NU_ENOENT when absent. */
NU_WUR int snap_store_get(struct snap_store *s, const char *key, size_t max, struct nu_buf *out,
                          char *errbuf);
/* Reads up to len bytes from the start of the object into out (appended)
 * and its total size into *size: existence, size and header in one request. */
NU_WUR int snap_store_peek(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
                           uint64_t *size, char *errbuf);
/* NU_ENOENT when absent. */
NU_WUR int snap_store_head(struct snap_store *s, const char *key, uint64_t *size, char *errbuf);
/* Lists objects whose key starts with prefix, in no particular order. */
NU_WUR int snap_store_list(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud,
                           char *errbuf);
/* Deletes key; an absent key is not an error. */
NU_WUR int snap_store_delete(struct snap_store *s, const char *key, char *errbuf);
/* Makes earlier puts durable (dir: fsyncs the directories written to);
 * called before a manifest is written, so it never outlives its chunks. */
NU_WUR int snap_store_sync(struct snap_store *s, char *errbuf);

/* ---- backends (store_*.c) ---- */

struct snap_store_ops {
    int (*put)(struct snap_store *s, const char *key, const void *data, size_t len, unsigned flags,
               char *errbuf);
    int (*get)(struct snap_store *s, const char *key, size_t max, struct nu_buf *out, char *errbuf);
    int (*peek)(struct snap_store *s, const char *key, size_t len, struct nu_buf *out,
                uint64_t *size, char *errbuf);
    int (*head)(struct snap_store *s, const char *key, uint64_t *size, char *errbuf);
    int (*list)(struct snap_store *s, const char *prefix, snap_list_fn fn, void *ud, char *errbuf);
    int (*del)(struct snap_store *s, const char *key, char *errbuf);
    int (*sync)(struct snap_store *s, char *errbuf);
    void (*free)(struct snap_store *s);
};

struct snap_store {
    const struct snap_store_ops *ops;
    const struct snap_store_spec *spec; /* borrowed: outlives the handle */
    uint64_t requests;
    void *impl;
};

NU_WUR int snap_store_dir_open(struct snap_store *s, char *errbuf);
/* S3, or (spec kind HTTP) its read-only, unsigned mode. */
NU_WUR int snap_store_s3_open(struct snap_store *s, char *errbuf);

/* Reads AWS credentials for spec from the environment, then
 * ~/.aws/credentials (profile AWS_PROFILE or "default"); none is fine
 * (public buckets are read unsigned). Region from AWS_REGION,
 * AWS_DEFAULT_REGION, else us-east-1. */
NU_WUR int snap_s3_credentials(struct snap_store_spec *spec, char *errbuf);

/* A key is [A-Za-z0-9._-] segments separated by single '/', no "." or
 * ".." segment, at most SNAP_KEY_MAX - 1 bytes. */
bool snap_key_valid(const char *key);

#endif
