/* Restores from the two public layouts NEAR node operators used before
 * nearup's own format, with the same staging, resume and swap as a nearup
 * restore, and the weaker checks those layouts allow, reported as such:
 *
 *   near      <url>/backups/<chain>/<kind>/latest names a folder of RocksDB
 *             files, listed with S3 ListObjectsV2 on the same URL. Checks:
 *             sizes from the listing, MD5 where the ETag is one.
 *   fastnear  <url>/<chain>/<kind>/latest.txt holds a block height;
 *             <url>/<chain>/<kind>/<height>/files.txt lists the files.
 *             Checks: the file count and HTTP lengths.
 *
 * The chain is the home's: neither layout says which chain its files are. */
#include "public.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "buf.h"
#include "home.h"
#include "settings.h"
#include "snap.h"
#include "httpc.h"
#include "s3xml.h"
#include "store.h"
#include "url.h"
#include "staging.h"
#include "testhooks.h"
#include "workers.h"

#define PART_SUFFIX ".nearup-part"
#define LATEST_MAX 1024
#define FILES_TXT_MAX (64u << 20)
#define ATTEMPTS 5

struct pfile {
    char *key;  /* as listed, relative to the snapshot's folder (URL part) */
    char *path; /* relative to its dir */
    enum snap_dir dir;
    uint64_t size; /* UINT64_MAX: unknown (fastnear) */
    char md5[33];  /* "" unless the ETag is a plain MD5 */
};

struct pub {
    const struct snap_restore_opts *o;
    enum snap_layout layout;
    char base[SNAP_URL_MAX];   /* bucket root, no trailing '/' */
    char folder[SNAP_URL_MAX]; /* encoded key prefix of the files, ends in '/' */
    char tag[SNAP_NAME_MAX];   /* staging dir suffix */
    char id[SNAP_NAME_MAX];    /* the folder or block, as published */
    struct nu_httpc *http;
    struct pfile *files;
    size_t n, cap;
    uint64_t total;
    struct snap_staging st;
    atomic_size_t present, downloaded, md5_checked;
    struct snap_progress progress;
};

static int add_file(struct pub *p, const char *rel, uint64_t size, const char *etag, char *errbuf)
{
    enum snap_dir dir = SNAP_DIR_HOT;
    const char *key = rel;
    if (strncmp(rel, "hot-data/", 9) == 0) {
        rel += 9;
    } else if (strncmp(rel, "cold-data/", 10) == 0) {
        rel += 10;
        dir = SNAP_DIR_COLD;
    }
    if (!snap_relpath_valid(rel))
        return nu_err_set(errbuf, NU_EINVAL,
                          "the %s listing names '%.200s', which escapes the "
                          "data dir or is malformed",
                          p->layout == SNAP_LAYOUT_NEAR ? "bucket" : "files.txt", rel);
    if (p->n >= SNAP_FILES_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG, "more than %u files listed", SNAP_FILES_MAX);
    struct pfile *grown = nu_grow(p->files, p->n, &p->cap, sizeof(*grown), 256);
    if (grown == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    p->files = grown;
    struct pfile *f = &p->files[p->n];
    memset(f, 0, sizeof(*f));
    f->key = strdup(key);
    f->path = strdup(rel);
    if (f->key == NULL || f->path == NULL) {
        free(f->key);
        free(f->path);
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    }
    f->dir = dir;
    f->size = size;
    if (etag != NULL && strlen(etag) == 32 && strspn(etag, "0123456789abcdef") == 32)
        memcpy(f->md5, etag, 33);
    p->n++;
    if (size != UINT64_MAX)
        p->total += size;
    return 0;
}

/* GET base/<key> into out (bounded). */
static int get_text(struct pub *p, const char *key, size_t max, struct nu_buf *out, char *errbuf)
{
    char url[2 * SNAP_URL_MAX];
    struct nu_httpc_req rq = {.method = "GET", .url = url, .out = out, .max = max, .fd = -1};
    struct nu_httpc_resp rs;
    snprintf(url, sizeof(url), "%s/%s", p->base, key);
    int rc = nu_httpc_do(p->http, &rq, &rs, errbuf);
    return rc < 0 ? rc : snap_http_status_err(&rs, url, errbuf);
}

/* The one line of a `latest` object, checked to be one safe path segment. */
static int read_pointer(struct pub *p, const char *key, char *out, size_t outsz, char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, LATEST_MAX);
    int rc = get_text(p, key, LATEST_MAX, &b, errbuf);
    while (rc == 0 && b.len > 0 && strchr("\r\n \t", b.data[b.len - 1]) != NULL)
        b.data[--b.len] = '\0';
    if (rc == 0 && (b.len == 0 || b.len >= outsz || strlen(b.data) != b.len ||
                    strchr(b.data, '/') != NULL || !snap_relpath_valid(b.data)))
        rc = nu_err_set(errbuf, NU_EPARSE, "%s/%s does not name a snapshot", p->base, key);
    if (rc == 0)
        snprintf(out, outsz, "%s", b.data);
    nu_buf_release(&b);
    return rc;
}

static void make_tag(struct pub *p, const char *kind, const char *id)
{
    /* ids are checked against SNAP_NAME_MAX by the callers; cut defensively */
    snprintf(p->id, sizeof(p->id), "%.*s", (int)sizeof(p->id) - 1, id);
    snprintf(p->tag, sizeof(p->tag), "%s-%.60s", kind, id);
    for (char *c = p->tag; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-'))
            *c = '_';
    }
}

/* ---- NEAR ---- */

struct near_list {
    struct pub *p;
    size_t plen;
    const char *prefix;
    char *errbuf;
};

static int near_obj(void *ud, const char *key, uint64_t size, int64_t mtime, const char *etag)
{
    struct near_list *l = ud;
    if (strncmp(key, l->prefix, l->plen) != 0)
        return 0;
    const char *rel = key + l->plen;
    size_t len = strlen(rel);
    if (len == 0 || rel[len - 1] == '/')
        return 0; /* folder placeholders */
    return add_file(l->p, rel, size, etag, l->errbuf);
}

static int near_list(struct pub *p, const char *prefix, char *errbuf)
{
    char enc[3 * SNAP_URL_MAX], tok[3 * 1024 + 1] = "", url[SNAP_URL_MAX * 8];
    struct near_list l = {p, strlen(prefix), prefix, errbuf};
    struct snap_s3_page page = {.truncated = true};
    struct nu_buf body;
    int rc = nu_url_encode(prefix, false, enc, sizeof(enc));
    nu_buf_init(&body, SNAP_S3_LIST_MAX);
    while (rc == 0 && page.truncated) {
        snprintf(url, sizeof(url), "%s/?%s%s%slist-type=2&prefix=%s", p->base,
                 tok[0] ? "continuation-token=" : "", tok, tok[0] ? "&" : "", enc);
        struct nu_httpc_req rq = {
            .method = "GET", .url = url, .out = &body, .max = SNAP_S3_LIST_MAX, .fd = -1};
        struct nu_httpc_resp rs;
        nu_buf_reset(&body);
        rc = nu_httpc_do(p->http, &rq, &rs, errbuf);
        if (rc == 0)
            rc = snap_http_status_err(&rs, "bucket listing", errbuf);
        if (rc == 0)
            rc = snap_s3_parse_list(body.data, body.len, near_obj, &l, &page, errbuf);
        if (rc == 0 && page.truncated &&
            nu_url_encode(page.next_token, false, tok, sizeof(tok)) < 0)
            rc = nu_err_set(errbuf, NU_EPARSE, "continuation token too long");
    }
    nu_buf_release(&body);
    return rc;
}

static int near_load(struct pub *p, const char *chain, char *errbuf)
{
    const char *kind = p->o->kind != NULL ? p->o->kind : "rpc";
    char folder[LATEST_MAX], key[SNAP_URL_MAX], prefix[SNAP_URL_MAX];
    int rc = 0;
    if (!snap_name_valid(kind))
        return nu_err_set(errbuf, NU_EINVAL, "--kind '%.100s' is not valid", kind);
    if (p->o->name != NULL && strcmp(p->o->name, "latest") != 0) {
        snprintf(folder, sizeof(folder), "%s", p->o->name);
        if (strchr(folder, '/') != NULL || !snap_relpath_valid(folder))
            return nu_err_set(errbuf, NU_EINVAL, "--name '%.200s' is not a folder name", folder);
    } else {
        snprintf(key, sizeof(key), "backups/%s/%s/latest", chain, kind);
        rc = read_pointer(p, key, folder, sizeof(folder), errbuf);
    }
    if (rc < 0)
        return rc;
    snprintf(prefix, sizeof(prefix), "backups/%s/%s/%s/", chain, kind, folder);
    if ((rc = nu_url_encode(prefix, true, p->folder, sizeof(p->folder))) < 0)
        return nu_err_set(errbuf, rc, "folder name too long");
    make_tag(p, "near", folder);
    rc = near_list(p, prefix, errbuf);
    if (rc == 0 && p->n == 0)
        rc = nu_err_set(errbuf, NU_ENOENT, "%s/%s holds no files", p->base, prefix);
    return rc;
}

/* ---- FASTNEAR ---- */

static int fastnear_parse(struct pub *p, char *text, char *errbuf)
{
    int rc = 0;
    for (char *line = text, *next; rc == 0 && line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len > 0)
            rc = add_file(p, line[0] == '.' && line[1] == '/' ? line + 2 : line, UINT64_MAX, NULL,
                          errbuf);
    }
    return rc;
}

static int fastnear_load(struct pub *p, const char *chain, char *errbuf)
{
    const char *kind = p->o->kind != NULL ? p->o->kind : "rpc";
    char block[LATEST_MAX], key[SNAP_URL_MAX];
    struct nu_buf b;
    int rc = 0;
    if (!snap_name_valid(kind))
        return nu_err_set(errbuf, NU_EINVAL, "--kind '%.100s' is not valid", kind);
    if (p->o->name != NULL && strcmp(p->o->name, "latest") != 0) {
        snprintf(block, sizeof(block), "%s", p->o->name);
    } else {
        snprintf(key, sizeof(key), "%s/%s/latest.txt", chain, kind);
        rc = read_pointer(p, key, block, sizeof(block), errbuf);
    }
    if (rc == 0 && (block[0] == '\0' || strspn(block, "0123456789") != strlen(block)))
        rc = nu_err_set(errbuf, NU_EPARSE, "'%.100s' is not a block height", block);
    if (rc < 0)
        return rc;
    snprintf(p->folder, sizeof(p->folder), "%s/%s/%s/", chain, kind, block);
    make_tag(p, "fastnear", block);
    if ((size_t)snprintf(key, sizeof(key), "%sfiles.txt", p->folder) >= sizeof(key))
        return nu_err_set(errbuf, NU_ETOOBIG, "URL too long");
    nu_buf_init(&b, FILES_TXT_MAX);
    if ((rc = get_text(p, key, FILES_TXT_MAX, &b, errbuf)) == 0)
        rc = fastnear_parse(p, b.data, errbuf);
    nu_buf_release(&b);
    if (rc == 0 && p->n == 0)
        rc = nu_err_set(errbuf, NU_EPARSE, "%s/%s lists no files", p->base, key);
    return rc;
}

/* ---- downloading ---- */

struct worker {
    struct nu_httpc *http;
};

static int w_init(void *ctx, size_t index, void **state, char *errbuf)
{
    struct nu_httpc *h;
    int rc = nu_httpc_new(&h, errbuf);
    *state = rc == 0 ? h : NULL;
    return rc;
}

static int w_fini(void *ctx, void *state, bool ok, char *errbuf)
{
    nu_httpc_free(state);
    return 0;
}

static int md5_check(int fd, const struct pfile *f, char *errbuf)
{
    unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
    unsigned int mdlen = 0;
    char hex[33];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 ? 0 : NU_ECRYPTO;
    for (off_t off = 0; rc == 0;) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = NU_EIO;
        if (n <= 0)
            break;
        off += n;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
            rc = NU_ECRYPTO;
    }
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        rc = NU_ECRYPTO;
    EVP_MD_CTX_free(ctx);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "%s: cannot compute its MD5", f->path);
    snap_hex(md, 16, hex);
    if (strcmp(hex, f->md5) != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "%s: MD5 %s does not match the bucket's ETag %s",
                          f->path, hex, f->md5);
    return 0;
}

/* A complete file is already in place (earlier run). */
static bool done_before(struct pub *p, const struct pfile *f, char *errbuf)
{
    struct stat st;
    int fd = snap_openat_safe(p->st.fd[f->dir], f->path, O_RDONLY, 0, NULL);
    if (fd < 0)
        return false;
    bool ok = fstat(fd, &st) == 0 && (f->size == UINT64_MAX || (uint64_t)st.st_size == f->size);
    close(fd);
    if (ok)
        atomic_fetch_add(&p->progress.done, (uint64_t)st.st_size);
    return ok;
}

/* One GET of the file (resuming a part when its size is known). */
static int fetch(struct pub *p, struct nu_httpc *h, const struct pfile *f, int fd, char *errbuf)
{
    char enc[3 * SNAP_RELPATH_MAX + 1], url[3 * SNAP_URL_MAX];
    struct stat st;
    struct nu_httpc_resp rs;
    if (fstat(fd, &st) < 0)
        return nu_err_set(errbuf, NU_EIO, "%s: %s", f->path, strerror(errno));
    uint64_t have = (uint64_t)st.st_size;
    if (f->size == UINT64_MAX || have >= f->size) {
        if (have > 0 && ftruncate(fd, 0) < 0)
            return nu_err_set(errbuf, NU_EIO, "%s: %s", f->path, strerror(errno));
        have = 0;
    }
    if (nu_url_encode(f->key, true, enc, sizeof(enc)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "path too long: %s", f->path);
    if ((size_t)snprintf(url, sizeof(url), "%s/%s%s", p->base, p->folder, enc) >= sizeof(url))
        return nu_err_set(errbuf, NU_ETOOBIG, "URL too long for %s", f->path);
    struct nu_httpc_req rq = {.method = "GET",
                              .url = url,
                              .fd = fd,
                              .fd_off = have,
                              .has_range = have > 0,
                              .range_from = have,
                              .range_to = f->size - 1,
                              .progress = &p->progress.done};
    int rc = nu_httpc_do(h, &rq, &rs, errbuf);
    if (rc == 0)
        rc = snap_http_status_err(&rs, url, errbuf);
    if (rc == 0 && fstat(fd, &st) == 0 && f->size != UINT64_MAX && (uint64_t)st.st_size != f->size)
        rc = nu_err_set(errbuf, NU_EVERIFY, "%s: got %lld bytes, the listing says %llu", f->path,
                        (long long)st.st_size, (unsigned long long)f->size);
    if (rc == 0 && rs.content_length != UINT64_MAX && rs.received != rs.content_length)
        rc = nu_err_set(errbuf, NU_EVERIFY, "%s: got %llu of %llu bytes", f->path,
                        (unsigned long long)rs.received, (unsigned long long)rs.content_length);
    return rc;
}

static int w_job(void *ctx, void *state, size_t job, char *errbuf)
{
    struct pub *p = ctx;
    const struct pfile *f = &p->files[job];
    char part[SNAP_RELPATH_MAX + sizeof(PART_SUFFIX)];
    int dfd = p->st.fd[f->dir], rc = 0;
    if (done_before(p, f, errbuf)) {
        atomic_fetch_add(&p->present, 1);
        return 0;
    }
    snap_test_delay();
    snprintf(part, sizeof(part), "%s" PART_SUFFIX, f->path);
    int fd = snap_openat_safe(dfd, part, O_RDWR | O_CREAT, 0644, errbuf);
    if (fd < 0)
        return fd;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        rc = fetch(p, state, f, fd, errbuf);
        if ((rc != NU_ENET && rc != NU_EHTTP) || attempt + 1 == ATTEMPTS)
            break;
        sleep(1u << attempt);
    }
    if (rc == 0 && f->md5[0] != '\0' && (rc = md5_check(fd, f, errbuf)) == 0)
        atomic_fetch_add(&p->md5_checked, 1);
    if (rc == 0 && fsync(fd) < 0)
        rc = nu_err_set(errbuf, NU_EIO, "fsync %s: %s", f->path, strerror(errno));
    close(fd);
    if (rc == NU_EVERIFY)
        (void)unlinkat(dfd, part, 0); /* a bad copy is not resumed */
    if (rc == 0 && renameat(dfd, part, dfd, f->path) < 0)
        rc = nu_err_set(errbuf, NU_EIO, "rename %s: %s", f->path, strerror(errno));
    if (rc == 0)
        atomic_fetch_add(&p->downloaded, 1);
    return rc;
}

/* ---- the whole restore ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Staging keeps the files and their partial downloads, nothing else. */
static int clean(struct pub *p, char *errbuf)
{
    char **keep = calloc(2 * p->n + 1, sizeof(*keep));
    int rc = keep == NULL ? nu_err_set(errbuf, NU_ENOMEM, "out of memory") : 0;
    size_t k = 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        for (size_t i = 0; i < k; i++)
            free(keep[i]);
        k = 0;
        for (size_t i = 0; i < p->n && rc == 0; i++) {
            if (p->files[i].dir != (enum snap_dir)d)
                continue;
            size_t len = strlen(p->files[i].path) + sizeof(PART_SUFFIX);
            keep[k] = strdup(p->files[i].path);
            keep[k + 1] = malloc(len);
            if (keep[k] == NULL || keep[k + 1] == NULL) {
                k += 2;
                rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
                break;
            }
            snprintf(keep[k + 1], len, "%s" PART_SUFFIX, p->files[i].path);
            k += 2;
        }
        if (rc == 0) {
            qsort(keep, k, sizeof(*keep), cmp_str);
            rc = snap_staging_clean(&p->st, (enum snap_dir)d, keep, k, errbuf);
        }
    }
    for (size_t i = 0; keep != NULL && i < k; i++)
        free(keep[i]);
    free(keep);
    return rc;
}

static int download(struct pub *p, char *errbuf)
{
    const struct snap_restore_opts *o = p->o;
    snap_progress_init(&p->progress, "restoring", o->c.progress_fd, o->c.progress_tty, p->total);
    struct snap_pool_def pool = {
        .nworkers = o->c.parallel ? o->c.parallel : SNAP_PARALLEL_DEFAULT,
        .njobs = p->n,
        .ctx = p,
        .init = w_init,
        .job = w_job,
        .fini = w_fini,
        .progress = &p->progress,
        .cancel = o->c.cancel,
    };
    int rc = snap_pool_run(&pool, errbuf);
    snap_progress_finish(&p->progress);
    /* FASTNEAR's own check, kept: as many files as files.txt lists. */
    size_t have = atomic_load(&p->present) + atomic_load(&p->downloaded);
    if (rc == 0 && have != p->n)
        rc =
            nu_err_set(errbuf, NU_EVERIFY, "downloaded %zu files, the listing has %zu", have, p->n);
    if (rc == 0)
        rc = snap_staging_sync(&p->st, errbuf);
    return rc;
}

static void summarize(struct pub *p, const char *chain, struct snap_restore_result *r)
{
    snprintf(r->name, sizeof(r->name), "%s", p->id);
    snprintf(r->chain_id, sizeof(r->chain_id), "%s", chain);
    r->layout = p->layout;
    r->files = r->chunks = p->n;
    r->bytes = atomic_load(&p->progress.done);
    r->chunks_present = atomic_load(&p->present);
    r->chunks_downloaded = atomic_load(&p->downloaded);
    r->bytes_downloaded = r->bytes;
    if (p->layout == SNAP_LAYOUT_FASTNEAR) {
        uint64_t h;
        r->height = nu_parse_uint(r->name, INT64_MAX, &h) == 0 ? (int64_t)h : -1;
        snprintf(r->checks, sizeof(r->checks),
                 "weaker: file count against files.txt and HTTP lengths only (the layout "
                 "publishes no sizes, hashes or signature; chain taken from the home)");
    } else {
        snprintf(r->checks, sizeof(r->checks),
                 "weaker: sizes from the bucket listing, MD5 (ETag) of %zu of %zu files (the "
                 "layout publishes no content hashes or signature; chain taken from the home)",
                 atomic_load(&p->md5_checked), p->n);
    }
}

/* Under the restore's locks: staging, download, swap (or nothing, when
 * an interrupted swap of this very snapshot was just finished). */
static int fill_and_swap(struct pub *p, const struct snap_home_dirs *dirs, const bool use[2],
                         struct snap_restore_result *r, char *errbuf)
{
    const struct snap_restore_opts *o = p->o;
    struct snap_restore_locks locks;
    struct node_swap_result sw;
    bool done = false;
    int rc = snap_restore_begin(o, p->tag, &locks, &done, &sw, errbuf);
    if (rc == 0 && done) {
        atomic_store(&p->present, p->n);
        atomic_store(&p->progress.done, p->total);
    }
    if (rc == 0 && !done)
        rc = snap_staging_open(&p->st, o->home, dirs, use, p->tag, o->replace, errbuf);
    if (rc == 0 && !done)
        rc = clean(p, errbuf);
    if (rc == 0 && !done)
        rc = download(p, errbuf);
    if (rc == 0 && !done)
        rc = snap_staging_swap(&p->st, o->keep_old, &sw, errbuf);
    if (rc == 0)
        snap_restore_take_swap(r, &sw);
    snap_staging_close(&p->st);
    snap_restore_end(&locks);
    return rc;
}

static int run(struct pub *p, const char *chain, struct snap_restore_result *r, char *errbuf)
{
    const struct snap_restore_opts *o = p->o;
    struct snap_home_dirs dirs;
    bool use[2] = {true, false};
    size_t len = strlen(o->c.store);
    if (strncmp(o->c.store, "http://", 7) != 0 && strncmp(o->c.store, "https://", 8) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "--layout %s needs an http(s):// URL of the bucket",
                          p->layout == SNAP_LAYOUT_NEAR ? "near" : "fastnear");
    while (len > 0 && o->c.store[len - 1] == '/')
        len--;
    if (len >= sizeof(p->base))
        return nu_err_set(errbuf, NU_ETOOBIG, "URL too long");
    memcpy(p->base, o->c.store, len);
    p->base[len] = '\0';
    int rc = nu_httpc_new(&p->http, errbuf);
    if (rc == 0)
        rc = p->layout == SNAP_LAYOUT_NEAR ? near_load(p, chain, errbuf)
                                           : fastnear_load(p, chain, errbuf);
    for (size_t i = 0; rc == 0 && i < p->n; i++)
        use[p->files[i].dir] = true;
    if (rc == 0)
        rc = snap_home_dirs(o->home, &dirs, errbuf);
    if (rc == 0)
        rc = fill_and_swap(p, &dirs, use, r, errbuf);
    if (rc == 0)
        snprintf(r->data_dir, sizeof(r->data_dir), "%s", dirs.hot);
    summarize(p, chain, r);
    return rc;
}

int snap_restore_public(const struct snap_restore_opts *o, struct snap_restore_result *r,
                        char *errbuf)
{
    char chain[SNAP_CHAIN_MAX];
    struct pub *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    p->o = o;
    p->layout = o->layout;
    p->st.fd[0] = p->st.fd[1] = -1;
    int rc = node_home_chain_id(o->home, chain, sizeof(chain), errbuf);
    if (rc == 0)
        rc = run(p, chain, r, errbuf);
    for (size_t i = 0; i < p->n; i++) {
        free(p->files[i].key);
        free(p->files[i].path);
    }
    free(p->files);
    nu_httpc_free(p->http);
    free(p);
    return rc;
}
