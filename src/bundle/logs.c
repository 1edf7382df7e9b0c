/* A node's rotated logs in the bundle (bundle-int.h): neard.log and its
 * generations (logrot.h: neard.log.1 while it is being compressed,
 * neard.log.N.zst after), newest first, each decompressed, cut to the
 * lines since the cutoff and to the budget (the newest lines are kept),
 * every line scrubbed.
 *
 * A tar member's size comes before its bytes, so each file is read twice
 * through the same descriptor: once to learn where the --since window
 * starts and how many scrubbed bytes it holds, once to write them. A file
 * is read up to the size it had when it was opened, so the lines the node
 * appends meanwhile (or a rotation, which renames the file we hold) change
 * nothing. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "bundle-int.h"
#include "rfc3339.h"

#define LOG_NAME "neard.log"
#define GENS_MAX 1000           /* generations looked at; logrot keeps --log-keep of them */
#define READ_CHUNK (128u << 10) /* bytes read from a file at a time */
#define CANCEL_EVERY 4096       /* lines between looks at the cancel flag */

/* ---- line times ---- */

bool bundle_line_time(const char *line, size_t len, int64_t *ms)
{
    char ts[48];
    if (len >= 3 && memcmp(line, "ts=", 3) == 0) {
        line += 3;
        len -= 3;
    }
    size_t n = 0;
    while (n < len && n < sizeof(ts) - 1 && !isspace((unsigned char)line[n]))
        n++;
    if (n < 20 || !isdigit((unsigned char)line[0]))
        return false;
    memcpy(ts, line, n);
    ts[n] = '\0';
    return nu_parse_rfc3339_ms(ts, ms) == 0;
}

/* ---- a log file's bytes, decompressed when it is a .zst ---- */

struct src {
    int fd;
    bool zst;
    uint64_t size;     /* bytes of the file read: its size when opened */
    uint64_t raw, out; /* bytes read from it, bytes produced */
    bool capped;       /* stopped at BUNDLE_LOG_READ_MAX */
    ZSTD_DCtx *dctx;
    char *in;
    size_t in_len, in_pos;
    size_t last; /* ZSTD_decompressStream's last hint: 0 at a frame's end */
};

static int src_rewind(struct src *s, char *errbuf)
{
    if (lseek(s->fd, 0, SEEK_SET) != 0)
        return nu_err_set(errbuf, NU_EIO, "seek: %s", strerror(errno));
    s->raw = s->out = 0;
    s->in_len = s->in_pos = 0;
    s->last = 0;
    s->capped = false;
    if (s->zst)
        ZSTD_DCtx_reset(s->dctx, ZSTD_reset_session_only);
    return 0;
}

static int read_raw(struct src *s, char *buf, size_t cap, size_t *got, char *errbuf)
{
    uint64_t left = s->size - s->raw;
    size_t want = left < cap ? (size_t)left : cap;
    ssize_t r;
    do {
        r = want > 0 ? read(s->fd, buf, want) : 0;
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return nu_err_set(errbuf, NU_EIO, "read: %s", strerror(errno));
    s->raw += (uint64_t)r;
    *got = (size_t)r;
    return 0;
}

static int read_zst(struct src *s, char *buf, size_t cap, size_t *got, char *errbuf)
{
    ZSTD_outBuffer ob = {buf, cap, 0};
    while (ob.pos == 0) {
        if (s->in_pos == s->in_len) {
            int rc = read_raw(s, s->in, READ_CHUNK, &s->in_len, errbuf);
            s->in_pos = 0;
            if (rc < 0)
                return rc;
            if (s->in_len == 0 && s->last != 0)
                return nu_err_set(errbuf, NU_EPARSE, "truncated zstd data");
            if (s->in_len == 0)
                break;
        }
        ZSTD_inBuffer ib = {s->in, s->in_len, s->in_pos};
        s->last = ZSTD_decompressStream(s->dctx, &ob, &ib);
        s->in_pos = ib.pos;
        if (ZSTD_isError(s->last))
            return nu_err_set(errbuf, NU_EPARSE, "zstd: %s", ZSTD_getErrorName(s->last));
    }
    *got = ob.pos;
    return 0;
}

/* Up to cap bytes into buf; *got 0 at the end. */
static int src_read(struct src *s, char *buf, size_t cap, size_t *got, char *errbuf)
{
    *got = 0;
    if (s->out >= BUNDLE_LOG_READ_MAX) {
        s->capped = true;
        return 0;
    }
    if (cap > BUNDLE_LOG_READ_MAX - s->out)
        cap = (size_t)(BUNDLE_LOG_READ_MAX - s->out);
    int rc = s->zst ? read_zst(s, buf, cap, got, errbuf) : read_raw(s, buf, cap, got, errbuf);
    s->out += *got;
    return rc;
}

/* ---- lines ---- */

struct lines {
    struct src *src;
    char *buf; /* BUNDLE_LINE_MAX + READ_CHUNK bytes */
    size_t beg, end;
    bool eof, skipping; /* skipping: the rest of a line cut at BUNDLE_LINE_MAX */
};

#define LINES_BUF (BUNDLE_LINE_MAX + READ_CHUNK)

static void lines_reset(struct lines *l)
{
    l->beg = l->end = 0;
    l->eof = l->skipping = false;
}

/* Returns a line in the buffer, or its first BUNDLE_LINE_MAX bytes with
 * *cut set, the rest of it being skipped). */
static bool line_in_buffer(struct lines *l, const char **line, size_t *len, bool *cut)
{
    for (;;) {
        char *p = l->buf + l->beg;
        size_t have = l->end - l->beg;
        char *nl = memchr(p, '\n', have);
        if (nl != NULL && l->skipping) {
            l->beg += (size_t)(nl - p) + 1;
            l->skipping = false;
            continue;
        }
        if (l->skipping) {
            l->beg = l->end;
            return false;
        }
        size_t n = nl != NULL ? (size_t)(nl - p) + 1 : 0;
        *cut = n == 0 && have >= BUNDLE_LINE_MAX;
        if (*cut || (n == 0 && l->eof && have > 0))
            n = have < BUNDLE_LINE_MAX ? have : BUNDLE_LINE_MAX;
        if (n == 0)
            return false;
        l->skipping = *cut;
        *line = p;
        *len = n;
        l->beg += n;
        return true;
    }
}

/* 1 with the next line (with its '\n' if it has one), 0 at the end. */
static int lines_next(struct lines *l, const char **line, size_t *len, bool *cut, char *errbuf)
{
    for (;;) {
        if (line_in_buffer(l, line, len, cut))
            return 1;
        if (l->eof)
            return 0;
        memmove(l->buf, l->buf + l->beg, l->end - l->beg);
        l->end -= l->beg;
        l->beg = 0;
        size_t got;
        int rc = src_read(l->src, l->buf + l->end, LINES_BUF - l->end, &got, errbuf);
        if (rc < 0)
            return rc;
        l->eof = got == 0;
        l->end += got;
    }
}

/* ---- one generation ---- */

struct gen {
    unsigned n; /* 0: neard.log */
    bool zst;
    char file[64]; /* its name in the log dir */
};

/* What the first read found. */
struct window {
    uint64_t lines; /* in the file */
    uint64_t first; /* index of the first line in the window */
    uint64_t bytes; /* scrubbed bytes of the window */
    bool any_time;
    bool empty; /* no line is recent enough */
};

struct log_job {
    struct bundle_ar *ar;
    struct src src;
    struct lines lines;
    struct nu_buf line; /* one scrubbed line */
    int64_t cutoff_ms;  /* -1: every line */
    unsigned redacted;
    uint64_t long_lines;
};

/* The scrubbed form of a line into j->line: a cut line ends in '\n'. */
static int emit(struct log_job *j, const char *line, size_t len, bool cut)
{
    nu_buf_reset(&j->line);
    int rc = bundle_scrub_line(line, len, &j->line, &j->redacted);
    return rc == 0 && cut ? nu_buf_putc(&j->line, '\n') : rc;
}

static int check_cancel(struct log_job *j, uint64_t i, char *errbuf)
{
    if (i % CANCEL_EVERY == 0 && bundle_ar_cancelled(j->ar))
        return nu_err_set(errbuf, NU_ESTATE, "interrupted");
    return 0;
}

/* The size of a line's scrubbed form; its redactions count when it is
 * written, not here. */
static int scrubbed_size(struct log_job *j, const char *line, size_t len, bool cut, size_t *n)
{
    unsigned r = j->redacted;
    int rc = emit(j, line, len, cut);
    j->redacted = r;
    *n = j->line.len;
    return rc;
}

/* One line of the first read. The window starts at the first line whose
 * own time is at or after the cutoff; a line without a time belongs to
 * the one before it. untimed: bytes of the lines before any time, which
 * are the window when no line has one. */
static int scan_line(struct log_job *j, struct window *w, const char *line, size_t len, bool cut,
                     uint64_t *untimed)
{
    int64_t ms;
    bool timed = bundle_line_time(line, len, &ms);
    w->any_time = w->any_time || timed;
    if (w->first == UINT64_MAX && (j->cutoff_ms < 0 || (timed && ms >= j->cutoff_ms)))
        w->first = w->lines;
    w->lines++;
    bool in = w->first != UINT64_MAX;
    if (!in && w->any_time)
        return 0;
    size_t n;
    int rc = scrubbed_size(j, line, len, cut, &n);
    if (in)
        w->bytes += n;
    else
        *untimed += n;
    return rc;
}

static int scan(struct log_job *j, struct window *w, char *errbuf)
{
    memset(w, 0, sizeof(*w));
    w->first = UINT64_MAX;
    uint64_t untimed = 0;
    const char *line;
    size_t len;
    bool cut;
    int rc;
    while ((rc = lines_next(&j->lines, &line, &len, &cut, errbuf)) == 1) {
        if ((rc = check_cancel(j, w->lines, errbuf)) < 0 ||
            (rc = scan_line(j, w, line, len, cut, &untimed)) < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (w->first == UINT64_MAX && !w->any_time) { /* nothing to judge by: all of it */
        w->first = 0;
        w->bytes = untimed;
    }
    w->empty = w->first == UINT64_MAX || w->bytes == 0;
    return 0;
}

/* What the second read did. */
struct cut {
    uint64_t drop; /* window bytes to drop, oldest first, for the budget */
    uint64_t dropped, dropped_lines;
    uint64_t kept, kept_lines, written;
    bool begun;
};

/* One line of the second read: dropped for the budget, or written (the
 * member begins at the first line kept). */
static int put_line(struct log_job *j, const struct window *w, struct cut *c, const char *name,
                    const char *line, size_t len, bool cut, char *errbuf)
{
    unsigned r = j->redacted;
    int rc = emit(j, line, len, cut);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "%s: a line does not fit the scrubber", name);
    if (!c->begun && c->dropped < c->drop) {
        j->redacted = r;
        c->dropped += j->line.len;
        c->dropped_lines++;
        return 0;
    }
    if (!c->begun) {
        c->kept = w->bytes - c->dropped;
        if ((rc = bundle_ar_begin(j->ar, name, c->kept, errbuf)) < 0)
            return rc;
        c->begun = true;
    }
    if (c->written + j->line.len > c->kept)
        return nu_err_set(errbuf, NU_ESTATE, "%s changed while it was read", name);
    j->long_lines += cut;
    c->kept_lines++;
    c->written += j->line.len;
    return bundle_ar_write(j->ar, j->line.data, j->line.len, errbuf);
}

static int write_window(struct log_job *j, const struct window *w, struct cut *c, const char *name,
                        char *errbuf)
{
    const char *line;
    size_t len;
    bool cut;
    int rc;
    char err[NU_ERRMSG_MAX];
    for (uint64_t i = 0; (rc = lines_next(&j->lines, &line, &len, &cut, err)) == 1; i++) {
        if ((rc = check_cancel(j, i, errbuf)) < 0)
            return rc;
        if (i >= w->first && (rc = put_line(j, w, c, name, line, len, cut, errbuf)) < 0)
            return rc;
    }
    if (rc < 0)
        return nu_err_set(errbuf, NU_EIO, "%s: %s", name, err);
    if (c->begun && c->written != c->kept)
        return nu_err_set(errbuf, NU_ESTATE, "%s changed while it was read", name);
    return 0;
}

/* What the member's record says besides name, source, bytes, redacted. */
static json_t *log_note(const struct log_job *j, const struct window *w, const struct cut *c)
{
    json_t *o =
        json_pack("{s:I, s:b}", "lines", (json_int_t)c->kept_lines, "decompressed", j->src.zst);
    if (o == NULL)
        return NULL;
    if (j->cutoff_ms >= 0)
        json_object_set_new(o, "since_dropped_lines", json_integer((json_int_t)w->first));
    if (j->cutoff_ms >= 0 && !w->any_time)
        json_object_set_new(o, "no_times", json_true());
    if (c->drop > 0) {
        json_object_set_new(o, "size_dropped_lines", json_integer((json_int_t)c->dropped_lines));
        json_object_set_new(o, "size_dropped_bytes", json_integer((json_int_t)c->dropped));
    }
    if (j->long_lines > 0)
        json_object_set_new(o, "long_lines_cut", json_integer((json_int_t)j->long_lines));
    if (j->src.capped)
        json_object_set_new(o, "read_only_first_bytes",
                            json_integer((json_int_t)BUNDLE_LOG_READ_MAX));
    return o;
}

static int open_gen(struct log_job *j, const char *path, bool zst, char *errbuf)
{
    struct stat st;
    j->src.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (j->src.fd < 0)
        return nu_err_set(errbuf, NU_EIO, "open: %s", strerror(errno));
    if (fstat(j->src.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return nu_err_set(errbuf, NU_EINVAL, "not a regular file");
    j->src.zst = zst;
    j->src.size = (uint64_t)st.st_size;
    j->redacted = 0;
    j->long_lines = 0;
    lines_reset(&j->lines);
    return src_rewind(&j->src, errbuf);
}

/* Both reads of one generation. Returns < 0 only when the bundle cannot
 * go on (a write failed, cancelled); a file that cannot be read is
 * recorded. *older: the whole file is before the cutoff. */
static int one_gen(struct log_job *j, const char *path, bool zst, const char *name, uint64_t budget,
                   uint64_t *took, bool *older, char *errbuf)
{
    struct window w = {0};
    struct cut c = {0};
    char err[NU_ERRMSG_MAX];
    *took = 0;
    int rc = open_gen(j, path, zst, err);
    if (rc == 0)
        rc = scan(j, &w, err);
    if (rc == NU_ESTATE)
        return nu_err_set(errbuf, rc, "%s", err);
    if (rc < 0) {
        bundle_ar_fail(j->ar, name, path, err);
        return 0;
    }
    *older = w.empty && w.any_time;
    if (w.empty) {
        bundle_ar_omit(j->ar, name, path, *older ? "older than --since" : "empty");
        return 0;
    }
    c.drop = w.bytes > budget ? w.bytes - budget : 0;
    lines_reset(&j->lines);
    if ((rc = src_rewind(&j->src, errbuf)) < 0 || (rc = write_window(j, &w, &c, name, errbuf)) < 0)
        return rc;
    if (!c.begun) {
        bundle_ar_omit(j->ar, name, path, "--max-size reached");
        return 0;
    }
    *took = c.kept;
    return bundle_ar_end(j->ar, name, path, c.kept, j->redacted, log_note(j, &w, &c), errbuf);
}

/* ---- the log dir ---- */

/* neard.log (0), neard.log.N (plain while logrot compresses it),
 * neard.log.N.zst. */
static bool gen_of(const char *file, struct gen *g)
{
    size_t base = strlen(LOG_NAME);
    if (strncmp(file, LOG_NAME, base) != 0 || strlen(file) >= sizeof(g->file))
        return false;
    snprintf(g->file, sizeof(g->file), "%s", file);
    g->n = 0;
    g->zst = false;
    if (file[base] == '\0')
        return true;
    const char *p = file + base + 1;
    if (file[base] != '.' || !isdigit((unsigned char)*p))
        return false;
    char *end;
    errno = 0;
    unsigned long n = strtoul(p, &end, 10);
    if (errno != 0 || n == 0 || n > GENS_MAX || (*end != '\0' && strcmp(end, ".zst") != 0))
        return false;
    g->n = (unsigned)n;
    g->zst = *end != '\0';
    return true;
}

/* Newest first; a plain generation before its .zst (the same lines: the
 * compression has not removed it yet). */
static int gen_cmp(const void *a, const void *b)
{
    const struct gen *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return (int)x->zst - (int)y->zst;
}

static int list_gens(const char *dir, struct gen *gens, size_t *n, char *errbuf)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return nu_err_set(errbuf, errno == ENOENT ? NU_ENOENT : NU_EIO, "%s: %s", dir,
                          strerror(errno));
    struct dirent *de;
    *n = 0;
    while ((de = readdir(d)) != NULL && *n < GENS_MAX) {
        if (gen_of(de->d_name, &gens[*n]))
            (*n)++;
    }
    closedir(d);
    qsort(gens, *n, sizeof(*gens), gen_cmp);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (k == 0 || gens[k - 1].n != gens[i].n)
            gens[k++] = gens[i];
    }
    *n = k;
    return 0;
}

static int job_init(struct log_job *j, struct bundle_ar *ar, int64_t cutoff_ms, char *errbuf)
{
    memset(j, 0, sizeof(*j));
    j->ar = ar;
    j->cutoff_ms = cutoff_ms;
    j->src.fd = -1;
    j->lines.src = &j->src;
    j->lines.buf = malloc(LINES_BUF);
    j->src.in = malloc(READ_CHUNK);
    j->src.dctx = ZSTD_createDCtx();
    nu_buf_init(&j->line, 2 * BUNDLE_LINE_MAX + 256);
    if (j->lines.buf == NULL || j->src.in == NULL || j->src.dctx == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return 0;
}

static void job_close_file(struct log_job *j)
{
    if (j->src.fd >= 0)
        close(j->src.fd);
    j->src.fd = -1;
}

static void job_release(struct log_job *j)
{
    job_close_file(j);
    free(j->lines.buf);
    free(j->src.in);
    ZSTD_freeDCtx(j->src.dctx);
    nu_buf_release(&j->line);
}

static int each_gen(struct log_job *j, const char *dir, const struct gen *gens, size_t n,
                    const char *prefix, uint64_t budget, uint64_t *used, char *errbuf)
{
    bool older = false;
    for (size_t i = 0; i < n; i++) {
        char name[PATH_MAX], path[PATH_MAX];
        int w = snprintf(name, sizeof(name), "%s/logs/" LOG_NAME, prefix);
        if (gens[i].n > 0)
            snprintf(name + w, sizeof(name) - (size_t)w, ".%u", gens[i].n);
        if (nu_fs_join(path, sizeof(path), dir, gens[i].file) < 0)
            continue;
        uint64_t left = budget - *used, took = 0;
        if (left > bundle_ar_room(j->ar))
            left = bundle_ar_room(j->ar);
        if (left > BUNDLE_LOG_MAX)
            left = BUNDLE_LOG_MAX;
        if (older || left == 0) {
            bundle_ar_omit(j->ar, name, path, older ? "older than --since" : "--max-size reached");
            continue;
        }
        int rc = one_gen(j, path, gens[i].zst, name, left, &took, &older, errbuf);
        job_close_file(j);
        if (rc < 0)
            return rc;
        *used += took;
    }
    return 0;
}

int bundle_add_logs(struct bundle_ar *ar, const char *logdir, const char *prefix, int64_t cutoff_ms,
                    uint64_t budget, uint64_t *used, char *errbuf)
{
    char err[NU_ERRMSG_MAX], name[PATH_MAX];
    struct log_job j;
    size_t n = 0;
    *used = 0;
    struct gen *gens = calloc(GENS_MAX, sizeof(*gens));
    int rc = gens != NULL ? job_init(&j, ar, cutoff_ms, errbuf)
                          : nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (rc == 0 && list_gens(logdir, gens, &n, err) < 0) {
        snprintf(name, sizeof(name), "%s/logs/", prefix);
        bundle_ar_omit(ar, name, logdir, err);
    } else if (rc == 0) {
        rc = each_gen(&j, logdir, gens, n, prefix, budget, used, errbuf);
    }
    if (gens != NULL)
        job_release(&j);
    free(gens);
    return rc;
}
