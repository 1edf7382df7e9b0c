/* What the S3 and HTTP stores read from S3's answers (s3xml.c): pages of
 * ListObjectsV2, and the <Code> and <Message> of an error body, which
 * turn an answer's status into an NU_E* code and message. The requests
 * themselves go through the blocking HTTP client (httpc.h). */
#ifndef SNAP_S3XML_H
#define SNAP_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "httpc.h"

#define SNAP_S3_LIST_MAX (8u << 20) /* bytes of one ListObjectsV2 page we accept */

typedef int (*snap_s3_obj_fn)(void *ud, const char *key, uint64_t size, int64_t mtime,
                              const char *etag);

struct snap_s3_page {
    bool truncated;
    char next_token[1024];
    size_t count;
};

/* Parses one ListObjectsV2 result page, calling fn for each <Contents>
 * (mtime: LastModified in unix seconds, 0 when absent or malformed). Keys
 * are entity-decoded; a malformed page is NU_EPARSE. */
NU_WUR int snap_s3_parse_list(const char *xml, size_t len, snap_s3_obj_fn fn, void *ud,
                              struct snap_s3_page *page, char *errbuf);

/* Maps an answer to an NU_E* code with a message naming what: 2xx 0, 404
 * NU_ENOENT, 401/403 NU_EPERM, other statuses NU_EHTTP (S3's error code
 * and message included when the body has them). */
int snap_http_status_err(const struct nu_httpc_resp *rs, const char *what, char *errbuf);

#endif
