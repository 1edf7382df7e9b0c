/* The bundle's archive: a pax tar through libarchive's zstd filter into a
 * temp file that becomes the output only when every member is in (see
 * bundle-int.h). Each member is counted against the budget and recorded
 * for the manifest. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle-int.h"
#include "json.h"
#include "lazylib.h"

#define ZSTD_LEVEL "6"   /* text compresses well; level 6 is still fast */
#define MEMBER_MODE 0644 /* inside the archive; the archive itself is 0600 */
/* A member after scrubbing: a line it removes may be shorter than the
 * marker that replaces it. */
#define SCRUB_MAX (BUNDLE_METRICS_MAX * 2)

/* libarchive's words, and the system's when it has an errno ("Write
 * error (File too large)"). */
static int ar_error(struct bundle_ar *ar, const char *what, char *errbuf)
{
    int e = ar->a != NULL ? archive_errno(ar->a) : 0;
    const char *why = ar->a != NULL ? archive_error_string(ar->a) : NULL;
    if (why == NULL)
        why = "archive error";
    if (e > 0)
        return nu_err_set(errbuf, NU_EIO, "%s %s: %s (%s)", what, ar->out.path, why, strerror(e));
    return nu_err_set(errbuf, NU_EIO, "%s %s: %s", what, ar->out.path, why);
}

static int lists_init(struct bundle_ar *ar, char *errbuf)
{
    ar->members = json_array();
    ar->omitted = json_array();
    ar->failed = json_array();
    if (ar->members == NULL || ar->omitted == NULL || ar->failed == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return 0;
}

int bundle_ar_open(struct bundle_ar *ar, const char *path, uint64_t max, int64_t now,
                   const volatile sig_atomic_t *cancel, char *errbuf)
{
    memset(ar, 0, sizeof(*ar));
    ar->out.fd = -1;
    ar->max = max;
    ar->now = now;
    ar->cancel = cancel;
    nu_buf_init(&ar->tmp, SCRUB_MAX);
    char err[NU_ERRMSG_MAX];
    if (nu_lazylib_load(&nu_libarchive, err) != 0)
        return nu_err_set(errbuf, NU_EIO, "%s; install libarchive (Debian: libarchive13)", err);
    int rc = lists_init(ar, errbuf);
    if (rc == 0)
        rc = nu_fs_atomic_open(&ar->out, path, 0600, errbuf);
    if (rc < 0)
        return rc;
    ar->a = archive_write_new();
    if (ar->a == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (archive_write_set_format_pax_restricted(ar->a) != ARCHIVE_OK ||
        archive_write_add_filter_zstd(ar->a) != ARCHIVE_OK ||
        archive_write_set_filter_option(ar->a, "zstd", "compression-level", ZSTD_LEVEL) !=
            ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(ar->a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(ar->a, ar->out.fd) != ARCHIVE_OK)
        return ar_error(ar, "write", errbuf);
    return 0;
}

uint64_t bundle_ar_room(const struct bundle_ar *ar)
{
    return ar->used < ar->max ? ar->max - ar->used : 0;
}

bool bundle_ar_cancelled(const struct bundle_ar *ar)
{
    return ar->cancel != NULL && *ar->cancel != 0;
}

static void top_name(const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, BUNDLE_TOP "/%s", name);
}

/* Appends {"name", "source", k: v} to list; a failure to record is only
 * a shorter manifest. */
static void record(json_t *list, const char *name, const char *source, const char *k, const char *v)
{
    char full[PATH_MAX];
    top_name(name, full, sizeof(full));
    json_t *o = json_pack("{s:s, s:o, s:s}", "name", full, "source",
                          source != NULL ? json_string(source) : json_null(), k, v);
    if (o != NULL)
        json_array_append_new(list, o);
}

void bundle_ar_omit(struct bundle_ar *ar, const char *name, const char *source, const char *why)
{
    record(ar->omitted, name, source, "why", why);
}

void bundle_ar_fail(struct bundle_ar *ar, const char *name, const char *source, const char *error)
{
    record(ar->failed, name, source, "error", error);
}

static int header(struct bundle_ar *ar, const char *name, uint64_t size, char *errbuf)
{
    char full[PATH_MAX];
    top_name(name, full, sizeof(full));
    struct archive_entry *e = archive_entry_new();
    if (e == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    archive_entry_set_pathname_utf8(e, full);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, MEMBER_MODE);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, (time_t)ar->now, 0);
    int rc = archive_write_header(ar->a, e) == ARCHIVE_OK ? 0 : ar_error(ar, "write", errbuf);
    archive_entry_free(e);
    return rc;
}

int bundle_ar_write(struct bundle_ar *ar, const void *data, size_t len, char *errbuf)
{
    NU_BUG_ON(len > ar->left);
    const char *p = data;
    while (len > 0) {
        la_ssize_t w = archive_write_data(ar->a, p, len);
        if (w <= 0)
            return ar_error(ar, "write", errbuf);
        p += w;
        len -= (size_t)w;
        ar->left -= (uint64_t)w;
    }
    return 0;
}

int bundle_ar_begin(struct bundle_ar *ar, const char *name, uint64_t size, char *errbuf)
{
    NU_BUG_ON(size > bundle_ar_room(ar) || ar->left != 0);
    int rc = header(ar, name, size, errbuf);
    if (rc == 0) {
        ar->left = size;
        ar->used += size;
    }
    return rc;
}

/* The member's record: name, source, bytes, redacted, then note's fields. */
static int member_record(struct bundle_ar *ar, const char *name, const char *source, uint64_t size,
                         unsigned redacted, json_t *note, char *errbuf)
{
    char full[PATH_MAX];
    top_name(name, full, sizeof(full));
    json_t *o = json_pack("{s:s, s:o, s:I, s:i}", "name", full, "source",
                          source != NULL ? json_string(source) : json_null(), "bytes",
                          (json_int_t)size, "redacted", (int)redacted);
    if (o != NULL && note != NULL)
        json_object_update(o, note);
    json_decref(note);
    if (o == NULL || json_array_append_new(ar->members, o) != 0)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return 0;
}

int bundle_ar_end(struct bundle_ar *ar, const char *name, const char *source, uint64_t size,
                  unsigned redacted, json_t *note, char *errbuf)
{
    NU_BUG_ON(ar->left != 0);
    if (archive_write_finish_entry(ar->a) != ARCHIVE_OK) {
        json_decref(note);
        return ar_error(ar, "write", errbuf);
    }
    return member_record(ar, name, source, size, redacted, note, errbuf);
}

static void too_big(struct bundle_ar *ar, const char *name, const char *source, const char *as,
                    size_t max)
{
    char why[96];
    snprintf(why, sizeof(why), "larger than %zu bytes %s", max, as);
    bundle_ar_omit(ar, name, source, why);
}

/* Adds bytes that are scrubbed already, or records them as omitted when
 * the budget cannot take them. */
static int add_scrubbed(struct bundle_ar *ar, const char *name, const char *source,
                        const char *data, size_t len, unsigned redacted, json_t *note, char *errbuf)
{
    if (len > bundle_ar_room(ar)) {
        char why[160];
        snprintf(why, sizeof(why), "--max-size reached: %llu bytes left, %zu needed",
                 (unsigned long long)bundle_ar_room(ar), len);
        bundle_ar_omit(ar, name, source, why);
        json_decref(note);
        return 0;
    }
    int rc = bundle_ar_begin(ar, name, len, errbuf);
    if (rc == 0)
        rc = bundle_ar_write(ar, data, len, errbuf);
    if (rc < 0) {
        json_decref(note);
        return rc;
    }
    return bundle_ar_end(ar, name, source, len, redacted, note, errbuf);
}

int bundle_ar_add(struct bundle_ar *ar, const char *name, const char *source, const char *data,
                  size_t len, json_t *note, char *errbuf)
{
    unsigned redacted = 0;
    nu_buf_reset(&ar->tmp);
    int rc = bundle_scrub_text(data, len, &ar->tmp, &redacted);
    if (rc == NU_ETOOBIG)
        too_big(ar, name, source, "once scrubbed", SCRUB_MAX);
    if (rc < 0) {
        json_decref(note);
        return rc == NU_ETOOBIG ? 0 : nu_err_set(errbuf, rc, "%s: %s", name, nu_strerror(rc));
    }
    return add_scrubbed(ar, name, source, ar->tmp.data, ar->tmp.len, redacted, note, errbuf);
}

/* v scrubbed and dumped into ar->tmp; *redacted counts both passes. */
static int json_text(struct bundle_ar *ar, json_t *v, struct nu_buf *text, unsigned *redacted)
{
    int rc = bundle_scrub_json(v, redacted);
    if (rc == 0)
        rc = nu_json_dump_buf(v, text, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (rc == 0)
        rc = nu_buf_putc(text, '\n');
    if (rc == 0)
        rc = bundle_scrub_text(text->data, text->len, &ar->tmp, redacted);
    return rc;
}

int bundle_ar_add_json(struct bundle_ar *ar, const char *name, const char *source, json_t *v,
                       char *errbuf)
{
    unsigned redacted = 0;
    struct nu_buf text;
    if (v == NULL) { /* json_pack refuses text that is not UTF-8 */
        bundle_ar_fail(ar, name, source, "cannot be written as JSON (text that is not UTF-8?)");
        return 0;
    }
    nu_buf_init(&text, BUNDLE_JSON_MAX);
    nu_buf_reset(&ar->tmp);
    int rc = json_text(ar, v, &text, &redacted);
    json_decref(v);
    nu_buf_release(&text);
    if (rc == NU_ENOMEM)
        return nu_err_set(errbuf, rc, "out of memory");
    if (rc < 0) {
        too_big(ar, name, source, "as indented JSON", BUNDLE_JSON_MAX);
        return 0;
    }
    return add_scrubbed(ar, name, source, ar->tmp.data, ar->tmp.len, redacted, NULL, errbuf);
}

static json_t *manifest_with_lists(struct bundle_ar *ar, json_t *manifest)
{
    json_object_set_new(manifest, "bytes", json_integer((json_int_t)ar->used));
    json_object_set(manifest, "members", ar->members);
    json_object_set(manifest, "omitted", ar->omitted);
    json_object_set(manifest, "failed", ar->failed);
    return manifest;
}

int bundle_ar_commit(struct bundle_ar *ar, json_t *manifest, char *errbuf)
{
    unsigned redacted = 0;
    struct nu_buf text;
    nu_buf_init(&text, BUNDLE_MANIFEST_MAX);
    nu_buf_reset(&ar->tmp);
    int rc = manifest != NULL ? json_text(ar, manifest_with_lists(ar, manifest), &text, &redacted)
                              : NU_ENOMEM;
    json_decref(manifest);
    nu_buf_release(&text);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "MANIFEST.json: %s", nu_strerror(rc));
    rc = header(ar, "MANIFEST.json", ar->tmp.len, errbuf);
    ar->left = ar->tmp.len;
    if (rc == 0)
        rc = bundle_ar_write(ar, ar->tmp.data, ar->tmp.len, errbuf);
    if (rc == 0 && archive_write_close(ar->a) != ARCHIVE_OK)
        rc = ar_error(ar, "write", errbuf);
    if (rc < 0)
        return rc;
    archive_write_free(ar->a);
    ar->a = NULL;
    return nu_fs_atomic_commit(&ar->out, errbuf);
}

void bundle_ar_release(struct bundle_ar *ar)
{
    if (ar->a != NULL)
        archive_write_free(ar->a);
    ar->a = NULL;
    nu_fs_atomic_abort(&ar->out);
    json_decref(ar->members);
    json_decref(ar->omitted);
    json_decref(ar->failed);
    ar->members = ar->omitted = ar->failed = NULL;
    nu_buf_release(&ar->tmp);
}
