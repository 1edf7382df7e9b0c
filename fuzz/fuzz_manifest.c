/* libFuzzer target for the parsers of what a snapshot store sends back:
 * manifests (snap_manifest_parse), S3 ListObjectsV2 pages
 * (snap_s3_parse_list) and chunk object headers. The first input byte picks
 * the parser, so one seed corpus covers all three. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chunker.h"
#include "manifest.h"
#include "paths.h"
#include "s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BRUTE_MAX_FILES 64 /* the O(n^2) reference runs on manifests this small */

/* The reference for the path-conflict check: compares every pair. Two
 * entries of one dir conflict when their paths are equal or one is a
 * parent directory of the other. */
static bool brute_conflict(const struct snap_manifest *m)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        for (size_t j = 0; j < m->nfiles; j++) {
            const char *a = m->files[i].path, *b = m->files[j].path;
            size_t la = strlen(a);
            if (i == j || m->files[i].dir != m->files[j].dir)
                continue;
            if (strcmp(a, b) == 0 || (strncmp(a, b, la) == 0 && b[la] == '/'))
                return true;
        }
    }
    return false;
}

/* The parser's verdict on conflicts must be the reference's: a manifest
 * refused for a conflict has one, one that parsed has none. */
static bool conflict_error(const char *err)
{
    static const char head[] = "manifest: path ";
    static const char tail[] = " is listed twice or used as both file and directory";
    size_t len = strlen(err);
    return strncmp(err, head, sizeof(head) - 1) == 0 && len >= sizeof(tail) - 1 &&
           strcmp(err + len - (sizeof(tail) - 1), tail) == 0;
}

static void check_conflict_verdict(const struct snap_manifest *m, int rc, const char *err)
{
    bool refused = rc != 0 && conflict_error(err);
    if (m->nfiles > BRUTE_MAX_FILES || (rc != 0 && !refused))
        return;
    /* The check runs once every entry parsed: each has its path. */
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].path == NULL)
            abort();
    if (refused != brute_conflict(m))
        abort();
}

/* A manifest that parses is safe to restore: paths stay inside the data
 * dir, chunk sizes add up, and it serializes and parses back the same. */
static void check_manifest(const struct snap_manifest *m)
{
    struct nu_buf out;
    struct snap_manifest again;
    for (size_t i = 0; i < m->nfiles; i++) {
        const struct snap_file *f = &m->files[i];
        uint64_t sum = 0;
        if (!snap_relpath_valid(f->path) || f->path[0] == '/')
            abort();
        for (size_t k = 0; k < f->nchunks; k++) {
            if (f->chunks[k].size == 0 || f->chunks[k].size > SNAP_CHUNK_MAX)
                abort();
            sum += f->chunks[k].size;
        }
        if (sum != f->size)
            abort();
    }
    nu_buf_init(&out, SNAP_MANIFEST_MAX);
    if (snap_manifest_dump(m, &out, NULL) != 0 ||
        snap_manifest_parse(out.data, out.len, &again, NULL) != 0 || again.nfiles != m->nfiles ||
        again.total_size != m->total_size || again.total_chunks != m->total_chunks)
        abort();
    snap_manifest_release(&again);
    nu_buf_release(&out);
}

static int count_obj(void *ud, const char *key, uint64_t size, int64_t mtime, const char *etag)
{
    if (strlen(key) >= 2048 || strlen(etag) >= 128)
        abort();
    (*(size_t *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] % 3 == 0) {
        struct snap_manifest m;
        char err[NU_ERRMSG_MAX] = "";
        int rc = snap_manifest_parse(text, len, &m, err);
        check_conflict_verdict(&m, rc, err);
        if (rc == 0)
            check_manifest(&m);
        snap_manifest_release(&m);
    } else if (data[0] % 3 == 1) {
        /* The parser expects the NUL a response buffer always has. */
        char *copy = malloc(len + 1);
        struct snap_s3_page page;
        size_t n = 0;
        if (copy == NULL)
            return 0;
        memcpy(copy, text, len);
        copy[len] = '\0';
        if (snap_s3_parse_list(copy, len, count_obj, &n, &page, NULL) == 0 && n != page.count)
            abort();
        free(copy);
    } else {
        enum snap_compression comp;
        uint64_t plain;
        uint8_t sha[SNAP_SHA256_LEN] = {0}, out[64];
        if (snap_chunk_header(text, len, &comp, &plain, NULL) == 0 && plain <= sizeof(out))
            (void)!snap_chunk_decode(text, len, sha, (size_t)plain, out, "fuzz", NULL);
    }
    return 0;
}
