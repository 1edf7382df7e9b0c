/* Manifest parsing (hostile input: every bound is checked before use) and
 * serialization (see manifest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "json.h"
#include "manifest.h"
#include "paths.h"

void snap_manifest_init(struct snap_manifest *m)
{
    memset(m, 0, sizeof(*m));
    m->version = SNAP_FORMAT_VERSION;
    m->height = -1;
    m->chunk_size = SNAP_CHUNK_SIZE;
}

void snap_manifest_release(struct snap_manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].path);
        free(m->files[i].chunks);
    }
    free(m->files);
    m->files = NULL;
    m->nfiles = 0;
}

bool snap_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= SNAP_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

void snap_manifest_key(const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "manifests/%s.json", name);
}

void snap_signature_key(const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "manifests/%s.sig", name);
}

void snap_format_time(int64_t t, char *out, size_t outsz)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *snap_dir_name(enum snap_dir d)
{
    return d == SNAP_DIR_COLD ? "cold" : "hot";
}

/* ---- parsing ---- */

/* Copies an optional string member (absent or null leaves out empty). */
static int get_text(const json_t *o, const char *key, char *out, size_t outsz, bool required,
                    char *errbuf)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return nu_err_set(errbuf, NU_EINVAL, "manifest: \"%s\" is missing", key);
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= outsz ||
        strlen(json_string_value(v)) != json_string_length(v))
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest: \"%s\" must be a string of at most %zu "
                          "bytes",
                          key, outsz - 1);
    snprintf(out, outsz, "%s", json_string_value(v));
    return 0;
}

static int get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out,
                    const char *where, char *errbuf)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest: %s: \"%s\" must be an integer from 0 to "
                          "%llu",
                          where, key, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_chunk(const json_t *c, struct snap_chunk *out, const char *where, char *errbuf)
{
    uint64_t size = 0, stored = 0;
    const char *hex = json_string_value(json_object_get(c, "sha256"));
    const char *comp = json_string_value(json_object_get(c, "compression"));
    if (!json_is_object(c))
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s: a chunk must be an object", where);
    if (hex == NULL || strlen(hex) != 2 * SNAP_SHA256_LEN ||
        snap_unhex(hex, out->sha, SNAP_SHA256_LEN) < 0)
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest: %s: chunk sha256 must be 64 lowercase "
                          "hex digits",
                          where);
    int rc = get_uint(c, "size", SNAP_CHUNK_MAX, &size, where, errbuf);
    if (rc == 0)
        rc = get_uint(c, "stored_size", snap_chunk_stored_max(size), &stored, where, errbuf);
    if (rc < 0)
        return rc;
    if (size == 0)
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s: empty chunk", where);
    if (comp == NULL || (strcmp(comp, "none") != 0 && strcmp(comp, "zstd") != 0))
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest: %s: compression must be \"none\" or "
                          "\"zstd\"",
                          where);
    out->size = (uint32_t)size;
    out->stored_size = (uint32_t)stored;
    out->comp = strcmp(comp, "zstd") == 0 ? SNAP_COMP_ZSTD : SNAP_COMP_NONE;
    return 0;
}

static int parse_chunks(const json_t *arr, struct snap_file *f, char *errbuf)
{
    uint64_t sum = 0;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr))
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s: \"chunks\" must be an array", f->path);
    if (n > f->size) /* every chunk holds at least one byte */
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s: %zu chunks for %llu bytes", f->path, n,
                          (unsigned long long)f->size);
    if (n > 0 && (f->chunks = calloc(n, sizeof(*f->chunks))) == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    f->nchunks = n;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_chunk(json_array_get(arr, i), &f->chunks[i], f->path, errbuf);
        if (rc < 0)
            return rc;
        sum += f->chunks[i].size;
    }
    if (sum != f->size)
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest: %s: chunks add up to %llu bytes, the file "
                          "size is %llu",
                          f->path, (unsigned long long)sum, (unsigned long long)f->size);
    return 0;
}

/* A path for an error message: one line, printable, bounded. */
static void shown(const char *path, char *out, size_t outsz)
{
    size_t n = 0;
    for (; path != NULL && *path != '\0' && n + 1 < outsz; path++)
        out[n++] = (unsigned char)*path < 0x20 || (unsigned char)*path >= 0x7f ? '?' : *path;
    out[n] = '\0';
}

static int parse_file(const json_t *o, struct snap_file *f, size_t idx, char *errbuf)
{
    char where[32], show[201];
    uint64_t mode = 0;
    const char *path = json_string_value(json_object_get(o, "path"));
    const char *dir = json_string_value(json_object_get(o, "dir"));
    snprintf(where, sizeof(where), "files[%zu]", idx);
    if (!json_is_object(o))
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s must be an object", where);
    if (path == NULL)
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s: \"path\" is missing", where);
    if (!snap_relpath_valid(path) ||
        strlen(path) != json_string_length(json_object_get(o, "path"))) {
        shown(path, show, sizeof(show));
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest: %s: path '%s' escapes the data dir or is malformed", where,
                          show);
    }
    if (dir != NULL && strcmp(dir, "hot") != 0 && strcmp(dir, "cold") != 0)
        return nu_err_set(errbuf, NU_EINVAL, "manifest: %s: dir must be \"hot\" or \"cold\"", path);
    f->dir = dir != NULL && strcmp(dir, "cold") == 0 ? SNAP_DIR_COLD : SNAP_DIR_HOT;
    int rc = get_uint(o, "size", SNAP_FILE_SIZE_MAX, &f->size, path, errbuf);
    if (rc == 0)
        rc = get_uint(o, "mode", 07777, &mode, path, errbuf);
    if (rc < 0)
        return rc;
    f->mode = (uint32_t)mode;
    if ((f->path = strdup(path)) == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return parse_chunks(json_object_get(o, "chunks"), f, errbuf);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when the first len bytes of key are, in full, one of the n sorted
 * keys (the order strcmp gives). */
static bool key_listed(char *const *keys, size_t n, const char *key, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(keys[mid], key, len);
        if (c == 0 && keys[mid][len] != '\0')
            c = 1; /* keys[mid] goes on past the prefix: it sorts after it */
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The error for the first len bytes of key (a path, after its dir). */
static int conflict(const char *key, size_t len, char *errbuf)
{
    const char *path = strchr(key, '/') + 1; /* past "hot/" or "cold/" */
    size_t plen = len - (size_t)(path - key);
    return nu_err_set(errbuf, NU_EINVAL,
                      "manifest: path %.*s is listed twice or used as both file and directory",
                      (int)(plen > 200 ? 200 : plen), path);
}

/* keys[0..n) sorted, each "<dir>/<path>": refuses a key listed twice, and
 * a key one of whose parent directories is itself a listed key. Neighbours
 * alone do not show the second case: "a", "a.x", "a/b" sort in that order
 * ('.' < '/'), so every parent is looked up. O(n log n · depth). */
static int check_sorted_keys(char *const *keys, size_t n, char *errbuf)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i];
        if (i > 0 && strcmp(keys[i - 1], k) == 0)
            return conflict(k, strlen(k), errbuf);
        for (const char *s = strchr(strchr(k, '/') + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
            if (key_listed(keys, n, k, (size_t)(s - k)))
                return conflict(k, (size_t)(s - k), errbuf);
        }
    }
    return 0;
}

/* Two entries with the same path, or a file that another path uses as a
 * directory ("a" and "a/b"), could not both be written: refuse them. */
static int check_conflicts(const struct snap_manifest *m, char *errbuf)
{
    int rc = 0;
    char **keys = calloc(m->nfiles ? m->nfiles : 1, sizeof(*keys));
    if (keys == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->nfiles && rc == 0; i++) {
        size_t len = strlen(m->files[i].path) + 6;
        if ((keys[i] = malloc(len)) == NULL)
            rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        else
            snprintf(keys[i], len, "%s/%s", snap_dir_name(m->files[i].dir), m->files[i].path);
    }
    if (rc == 0) {
        qsort(keys, m->nfiles, sizeof(*keys), cmp_str);
        rc = check_sorted_keys(keys, m->nfiles, errbuf);
    }
    for (size_t i = 0; i < m->nfiles; i++)
        free(keys[i]);
    free(keys);
    return rc;
}

static int parse_header(const json_t *root, struct snap_manifest *m, char *errbuf)
{
    const char *format = json_string_value(json_object_get(root, "format"));
    json_t *ver = json_object_get(root, "version"), *h = json_object_get(root, "block_height");
    uint64_t cs = 0;
    if (!json_is_object(root) || format == NULL || strcmp(format, SNAP_FORMAT_NAME) != 0)
        return nu_err_set(errbuf, NU_EPARSE, "not a nearup snapshot manifest");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1)
        return nu_err_set(errbuf, NU_EINVAL, "manifest: bad \"version\"");
    if (json_integer_value(ver) > SNAP_FORMAT_VERSION)
        return nu_err_set(errbuf, NU_EINVAL,
                          "manifest format version %lld is newer than this "
                          "nearup understands (%d); upgrade nearup",
                          (long long)json_integer_value(ver), SNAP_FORMAT_VERSION);
    int rc = get_text(root, "name", m->name, sizeof(m->name), true, errbuf);
    if (rc == 0 && !snap_name_valid(m->name))
        rc = nu_err_set(errbuf, NU_EINVAL, "manifest: bad snapshot name");
    if (rc == 0)
        rc = get_text(root, "chain_id", m->chain_id, sizeof(m->chain_id), true, errbuf);
    if (rc == 0)
        rc = get_text(root, "block_hash", m->block_hash, sizeof(m->block_hash), false, errbuf);
    if (rc == 0)
        rc = get_text(root, "neard_version", m->neard_version, sizeof(m->neard_version), false,
                      errbuf);
    if (rc == 0)
        rc = get_text(root, "created_at", m->created_at, sizeof(m->created_at), true, errbuf);
    if (rc == 0)
        rc = get_uint(root, "chunk_size", SNAP_CHUNK_MAX, &cs, "header", errbuf);
    if (rc < 0)
        return rc;
    m->chunk_size = (uint32_t)cs;
    if (h != NULL && !json_is_null(h) && (!json_is_integer(h) || json_integer_value(h) < 0))
        return nu_err_set(errbuf, NU_EINVAL, "manifest: bad \"block_height\"");
    m->height = json_is_integer(h) ? (int64_t)json_integer_value(h) : -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(m->created_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return nu_err_set(errbuf, NU_EINVAL, "manifest: created_at must be YYYY-MM-DDTHH:MM:SSZ");
    m->created_unix = (int64_t)timegm(&tm);
    return 0;
}

int snap_manifest_parse(const char *data, size_t len, struct snap_manifest *m, char *errbuf)
{
    json_t *root = NULL;
    snap_manifest_init(m);
    if (len > SNAP_MANIFEST_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG,
                          "manifest is %zu bytes, more than the limit of %u "
                          "(SNAP_MANIFEST_MAX)",
                          len, SNAP_MANIFEST_MAX);
    int rc = nu_json_parse("manifest", data, len, false, &root, errbuf);
    if (rc < 0)
        return rc;
    if ((rc = parse_header(root, m, errbuf)) < 0)
        goto out;
    json_t *files = json_object_get(root, "files");
    size_t n = json_array_size(files);
    if (!json_is_array(files)) {
        rc = nu_err_set(errbuf, NU_EINVAL, "manifest: \"files\" must be an array");
        goto out;
    }
    if (n > SNAP_FILES_MAX) {
        rc = nu_err_set(errbuf, NU_ETOOBIG, "manifest lists %zu files, more than the limit of %u",
                        n, SNAP_FILES_MAX);
        goto out;
    }
    if (n > 0 && (m->files = calloc(n, sizeof(*m->files))) == NULL) {
        rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        m->nfiles = i + 1;
        rc = parse_file(json_array_get(files, i), &m->files[i], i, errbuf);
        m->total_size += m->files[i].size;
        m->total_chunks += m->files[i].nchunks;
    }
    if (rc == 0)
        rc = check_conflicts(m, errbuf);
out:
    json_decref(root);
    return rc;
}

/* ---- serialization ---- */

static json_t *chunk_json(const struct snap_chunk *c)
{
    char hex[SNAP_SHA256_HEX];
    snap_hex(c->sha, SNAP_SHA256_LEN, hex);
    return json_pack("{s:s, s:I, s:I, s:s}", "sha256", hex, "size", (json_int_t)c->size,
                     "stored_size", (json_int_t)c->stored_size, "compression",
                     c->comp == SNAP_COMP_ZSTD ? "zstd" : "none");
}

static json_t *file_json(const struct snap_file *f)
{
    json_t *chunks = json_array();
    for (size_t i = 0; chunks != NULL && i < f->nchunks; i++) {
        if (json_array_append_new(chunks, chunk_json(&f->chunks[i])) < 0) {
            json_decref(chunks);
            chunks = NULL;
        }
    }
    if (chunks == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:I, s:I, s:o}", "path", f->path, "dir", snap_dir_name(f->dir),
                     "size", (json_int_t)f->size, "mode", (json_int_t)f->mode, "chunks", chunks);
}

int snap_manifest_dump(const struct snap_manifest *m, struct nu_buf *out, char *errbuf)
{
    json_t *files = json_array();
    json_t *root =
        json_pack("{s:s, s:i, s:s, s:s, s:o, s:s, s:s, s:s, s:I}", "format", SNAP_FORMAT_NAME,
                  "version", m->version, "name", m->name, "chain_id", m->chain_id, "block_height",
                  m->height >= 0 ? json_integer(m->height) : json_null(), "block_hash",
                  m->block_hash, "neard_version", m->neard_version, "created_at", m->created_at,
                  "chunk_size", (json_int_t)m->chunk_size);
    int rc = root != NULL && files != NULL ? 0 : NU_ENOMEM;
    for (size_t i = 0; rc == 0 && i < m->nfiles; i++) {
        if (json_array_append_new(files, file_json(&m->files[i])) < 0)
            rc = NU_ENOMEM;
    }
    if (rc == 0 && json_object_set(root, "files", files) < 0)
        rc = NU_ENOMEM;
    if (rc == 0)
        rc = nu_json_dump_buf(root, out, 0);
    if (rc == 0)
        rc = nu_buf_putc(out, '\n');
    json_decref(files);
    json_decref(root);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "manifest: %s", nu_strerror(rc));
    return 0;
}
