/* JSON helpers over jansson (see json.h). */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define PATH_SEGMENT_MAX 256

/* Blanks one comment starting at data[i] in place (newlines kept so line
 * and column numbers in later errors still point at the original text).
 * Returns the index after the comment, or 0 for an unterminated block. */
static size_t blank_comment(char *data, size_t len, size_t i)
{
    bool block = data[i] == '/' && i + 1 < len && data[i + 1] == '*';
    size_t j = i;
    if (block) {
        for (j = i + 2; j + 1 < len && !(data[j] == '*' && data[j + 1] == '/'); j++)
            ;
        if (j + 1 >= len)
            return 0;
        j += 2;
    } else {
        while (j < len && data[j] != '\n')
            j++;
    }
    for (size_t k = i; k < j; k++)
        if (data[k] != '\n')
            data[k] = ' ';
    return j;
}

static bool comment_starts(const char *data, size_t len, size_t i)
{
    if (data[i] == '#')
        return true;
    return data[i] == '/' && i + 1 < len && (data[i + 1] == '/' || data[i + 1] == '*');
}

static void line_col(const char *data, size_t pos, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Removes //, / * * / and # comments outside strings, in place. */
static int strip_comments(const char *name, char *data, size_t len, char *errbuf)
{
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (data[i] == '\\')
                i++; /* skip the escaped character, it cannot end the string */
            else if (data[i] == '"')
                in_str = false;
            continue;
        }
        if (data[i] == '"') {
            in_str = true;
        } else if (comment_starts(data, len, i)) {
            size_t end = blank_comment(data, len, i);
            if (end == 0) {
                int line, col;
                line_col(data, i, &line, &col);
                return nu_err_set(errbuf, NU_EPARSE, "%s:%d:%d: unterminated /* comment", name,
                                  line, col);
            }
            i = end - 1;
        }
    }
    return 0;
}

static int parse_plain(const char *name, const char *data, size_t len, json_t **out, char *errbuf)
{
    json_error_t e;
    *out = json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (*out != NULL)
        return 0;
    if (e.line > 0)
        return nu_err_set(errbuf, NU_EPARSE, "%s:%d:%d: %s", name, e.line, e.column, e.text);
    return nu_err_set(errbuf, NU_EPARSE, "%s: %s", name, e.text);
}

int nu_json_parse(const char *name, const char *data, size_t len, bool allow_comments, json_t **out,
                  char *errbuf)
{
    *out = NULL;
    if (!allow_comments)
        return parse_plain(name, data, len, out, errbuf);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "%s: out of memory", name);
    memcpy(copy, data, len);
    copy[len] = '\0';
    int rc = strip_comments(name, copy, len, errbuf);
    if (rc == 0)
        rc = parse_plain(name, copy, len, out, errbuf);
    free(copy);
    return rc;
}

int nu_json_load_file(const char *path, bool allow_comments, json_t **out, char *errbuf)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = nu_fs_read_file(path, NU_JSON_FILE_MAX, &data, &len, errbuf);
    if (rc < 0)
        return rc;
    rc = nu_json_parse(path, data, len, allow_comments, out, errbuf);
    free(data);
    return rc;
}

static int dump_cb(const char *chunk, size_t size, void *data)
{
    return nu_buf_append(data, chunk, size) == 0 ? 0 : -1;
}

int nu_json_dump_buf(const json_t *v, struct nu_buf *b, size_t flags)
{
    if ((flags & JSON_MAX_INDENT) == 0)
        flags |= JSON_COMPACT;
    size_t before = b->len;
    if (json_dump_callback(v, dump_cb, b, flags | JSON_ENCODE_ANY) == 0)
        return 0;
    /* Do not leave half a document behind. */
    b->len = before;
    if (b->cap > 0)
        b->data[before] = '\0';
    return NU_ETOOBIG;
}

int nu_json_write_file(const char *path, const json_t *v, mode_t mode, bool trailing_newline,
                       char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, NU_JSON_FILE_MAX);
    int rc = nu_json_dump_buf(v, &b, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (rc == 0 && trailing_newline)
        rc = nu_buf_putc(&b, '\n');
    if (rc < 0)
        rc = nu_err_set(errbuf, rc, "%s: cannot serialize JSON (%s)", path, nu_strerror(rc));
    else
        rc = nu_fs_write_atomic(path, b.data, b.len, mode, errbuf);
    nu_buf_release(&b);
    return rc;
}

json_t *nu_json_get(const json_t *obj, const char *path)
{
    char seg[PATH_SEGMENT_MAX];
    const json_t *cur = obj;
    while (cur != NULL) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(seg) || !json_is_object(cur))
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        cur = json_object_get(cur, seg);
        if (dot == NULL)
            break;
        path = dot + 1;
    }
    return (json_t *)cur;
}

/* Value at path that is present and not null, else NULL. */
static json_t *get_present(const json_t *obj, const char *path)
{
    json_t *v = nu_json_get(obj, path);
    return json_is_null(v) ? NULL : v;
}

int nu_json_get_str(const json_t *obj, const char *path, const char **out)
{
    json_t *v = get_present(obj, path);
    if (v == NULL)
        return NU_ENOENT;
    if (!json_is_string(v))
        return NU_EINVAL;
    *out = json_string_value(v);
    return 0;
}

int nu_json_get_int(const json_t *obj, const char *path, int64_t *out)
{
    json_t *v = get_present(obj, path);
    if (v == NULL)
        return NU_ENOENT;
    if (!json_is_integer(v))
        return NU_EINVAL;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int nu_json_get_bool(const json_t *obj, const char *path, bool *out)
{
    json_t *v = get_present(obj, path);
    if (v == NULL)
        return NU_ENOENT;
    if (!json_is_boolean(v))
        return NU_EINVAL;
    *out = json_is_true(v);
    return 0;
}

/* The object named by the first n bytes of key inside parent, created when
 * missing. NULL when it exists but is not an object. */
static json_t *child_object(json_t *parent, const char *key, size_t n)
{
    char seg[PATH_SEGMENT_MAX];
    if (n == 0 || n >= sizeof(seg))
        return NULL;
    memcpy(seg, key, n);
    seg[n] = '\0';
    json_t *child = json_object_get(parent, seg);
    if (child != NULL)
        return json_is_object(child) ? child : NULL;
    child = json_object();
    if (child == NULL || json_object_set_new(parent, seg, child) < 0)
        return NULL;
    return child;
}

int nu_json_set(json_t *obj, const char *path, json_t *value)
{
    json_t *cur = obj;
    const char *dot;
    if (value == NULL)
        return NU_EINVAL;
    while (cur != NULL && (dot = strchr(path, '.')) != NULL) {
        cur = child_object(cur, path, (size_t)(dot - path));
        path = dot + 1;
    }
    if (!json_is_object(cur) || *path == '\0' || strlen(path) >= PATH_SEGMENT_MAX) {
        json_decref(value);
        return NU_EINVAL;
    }
    return json_object_set_new(cur, path, value) == 0 ? 0 : NU_ENOMEM;
}

json_t *nu_json_duration(uint64_t ms)
{
    return json_pack("{s:I,s:I}", "secs", (json_int_t)(ms / 1000), "nanos",
                     (json_int_t)(ms % 1000 * 1000000));
}

int nu_json_get_duration_ms(const json_t *obj, const char *path, uint64_t *ms)
{
    json_t *v = get_present(obj, path);
    if (v == NULL)
        return NU_ENOENT;
    int64_t secs, nanos;
    if (!json_is_object(v) || nu_json_get_int(v, "secs", &secs) != 0 ||
        nu_json_get_int(v, "nanos", &nanos) != 0)
        return NU_EINVAL;
    if (secs < 0 || nanos < 0 || nanos >= 1000000000 || (uint64_t)secs > UINT64_MAX / 1000)
        return NU_EINVAL;
    *ms = (uint64_t)secs * 1000 + (uint64_t)nanos / 1000000;
    return 0;
}
