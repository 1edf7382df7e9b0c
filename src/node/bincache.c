/* Content-addressed cache of neard binaries (see bincache.h): lookup,
 * download with resume, verification and atomic install. Listing and
 * pruning are in binprune.c.
 *
 * A blob is hashed in full when it is installed and when its stamp
 * (verified/<sha256>) no longer matches the file: the stamp records the
 * size, mtime, ctime, inode and device the file had when it last hashed
 * to its name. Any write, truncation, chmod or replacement of the file
 * changes its ctime, which user space cannot set back, so a matching stamp
 * that is younger than that ctime (see stamp_matches) means the bytes are
 * the ones that were hashed. This keeps a cached ~100 MiB neard from being
 * read whole on every `nearup run` (about 0.3 s). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bincache-int.h"
#include "fs.h"
#include "httpc.h"
#include "progress.h"
#include "sha256.h"

#define ENTRY_MAX 512
#define STAMP_DIR "verified"
#define STAMP_MAX 256

int node_cache_dir(char *out, size_t outsz, char *errbuf)
{
    /* XDG: a relative XDG_CACHE_HOME is invalid and must be ignored */
    const char *xdg = getenv("XDG_CACHE_HOME");
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(out, outsz, "%s/nearup", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || home[0] != '/')
            return nu_err_set(errbuf, NU_EINVAL,
                              "cannot find the cache dir: neither XDG_CACHE_HOME nor HOME is set");
        n = snprintf(out, outsz, "%s/.cache/nearup", home);
    }
    if (n < 0 || (size_t)n >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "cache dir path too long");
    return 0;
}

int bc_path(char *out, size_t outsz, char *errbuf, const char *fmt, ...)
{
    char root[PATH_MAX];
    int err = node_cache_dir(root, sizeof(root), errbuf);
    if (err)
        return err;
    char rel[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(rel) || nu_fs_join(out, outsz, root, rel) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "cache path too long");
    return 0;
}

int node_cache_blob_path(const char *sha256, char *out, size_t outsz, char *errbuf)
{
    return bc_path(out, outsz, errbuf, "blobs/%s", sha256);
}

/* ---- verified stamps ---- */

/* What a stamp records of a blob's file. */
static int stamp_format(const char *sha, const struct stat *st, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s %lld %lld.%09ld %lld.%09ld %llu %llu\n", sha,
                     (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
                     (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec,
                     (unsigned long long)st->st_ino, (unsigned long long)st->st_dev);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : n;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The stamp names st exactly, and was written after st's ctime. A stamp
 * written in the same clock tick as the blob's last change is "racy" (as
 * git calls an index entry that is not older than the index): on a kernel
 * whose file times are coarse (one jiffy, several ms: Debian 12's 6.1), a
 * write in that tick leaves the ctime as it was, so the stamp would vouch
 * for bytes nobody hashed. Racy stamps are not trusted; the blob is hashed
 * again and stamped anew, later than its ctime. (stat before read: if the
 * stamp is replaced between them, the older mtime only makes this
 * stricter.) */
static bool stamp_matches(const char *sha, const struct stat *st)
{
    char path[PATH_MAX], want[STAMP_MAX], *text = NULL;
    size_t len = 0;
    struct stat sst;
    if (bc_path(path, sizeof(path), NULL, STAMP_DIR "/%s", sha) != 0 ||
        stamp_format(sha, st, want, sizeof(want)) < 0 || stat(path, &sst) != 0 ||
        !ts_before(&st->st_ctim, &sst.st_mtim) ||
        nu_fs_read_file(path, STAMP_MAX, &text, &len, NULL) != 0)
        return false;
    bool same = strcmp(text, want) == 0;
    free(text);
    return same;
}

/* Best effort: without a stamp the next lookup hashes the blob again. */
static void stamp_write(const char *sha, const struct stat *st)
{
    char dir[PATH_MAX], path[PATH_MAX], text[STAMP_MAX];
    int n = stamp_format(sha, st, text, sizeof(text));
    if (n < 0 || bc_path(dir, sizeof(dir), NULL, STAMP_DIR) != 0 ||
        nu_fs_mkdir_p(dir, 0755, NULL) != 0 || nu_fs_join(path, sizeof(path), dir, sha) != 0)
        return;
    int rc = nu_fs_write_atomic(path, text, (size_t)n, 0644, NULL);
    (void)rc;
}

void bc_stamp_remove(const char *sha)
{
    char path[PATH_MAX];
    if (bc_path(path, sizeof(path), NULL, STAMP_DIR "/%s", sha) == 0)
        unlink(path);
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int bc_entry_read(const char *os_arch, const char *version, struct bc_entry *e, char *errbuf)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    memset(e, 0, sizeof(*e));
    int err = bc_path(path, sizeof(path), errbuf, "versions/%s/%s", os_arch, version);
    if (err)
        return err;
    if ((err = nu_fs_read_file(path, ENTRY_MAX, &text, &len, errbuf)) != 0)
        return err;
    char commit[NODE_VERSION_MAX] = "";
    /* "<sha256> <commit>\n"; the commit is "-" for a pinned version */
    const char *rest = text + strspn(text, " \t\r\n");
    if (node_sha256_parse(rest, e->sha256) != 0 ||
        (sscanf(rest + NODE_SHA256_HEX - 1, " %127s", commit) == 1 &&
         !node_release_name_valid(commit) && strcmp(commit, "-") != 0)) {
        free(text);
        return nu_err_set(errbuf, NU_EPARSE, "%s: not '<sha256> <commit>'", path);
    }
    free(text);
    snprintf(e->commit, sizeof(e->commit), "%s", strcmp(commit, "-") == 0 ? "" : commit);
    snprintf(e->version, sizeof(e->version), "%s", version);
    return 0;
}

static int entry_write(const char *os_arch, const char *version, const char *sha,
                       const char *commit, char *errbuf)
{
    char dir[PATH_MAX], path[PATH_MAX], line[ENTRY_MAX];
    int err = bc_path(dir, sizeof(dir), errbuf, "versions/%s", os_arch);
    if (!err)
        err = nu_fs_mkdir_p(dir, 0755, errbuf);
    if (!err && nu_fs_join(path, sizeof(path), dir, version) != 0)
        err = nu_err_set(errbuf, NU_ETOOBIG, "cache path too long");
    if (err)
        return err;
    int n = snprintf(line, sizeof(line), "%s %s\n", sha, commit[0] ? commit : "-");
    return nu_fs_write_atomic(path, line, (size_t)n, 0644, errbuf);
}

/* The blob exists, is executable and holds the bytes it is named after:
 * its stamp still matches the file, or it hashes to its name (and gets a
 * stamp). A corrupted blob is deleted so that it is fetched again, never
 * run: NU_ENOENT then. */
static int blob_verify(const char *sha, char *path, size_t pathsz, char *errbuf)
{
    char got[NODE_SHA256_HEX];
    struct stat st, after;
    int err = node_cache_blob_path(sha, path, pathsz, errbuf);
    if (err)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    /* Someone may have changed its mode; a cached binary must run. First,
     * because a chmod changes the ctime the stamp records. */
    if (fstat(fd, &st) == 0 && (st.st_mode & 0777) != 0755 && fchmod(fd, 0755) != 0)
        err = nu_err_set(errbuf, NU_EIO, "chmod %s: %s", path, strerror(errno));
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        err = nu_err_set(errbuf, NU_EIO, "%s is not a regular file", path);
    if (err || stamp_matches(sha, &st))
        goto out;
    if ((err = nu_sha256_fd(fd, path, got, errbuf)) != 0)
        goto out;
    if (strcmp(got, sha) != 0) {
        unlink(path);
        bc_stamp_remove(sha);
        err = nu_err_set(errbuf, NU_ENOENT, "cached %s was corrupted (sha256 %s); removed", path,
                         got);
        goto out;
    }
    /* Changed while it was read: what hashed may not be what is there. */
    if (fstat(fd, &after) == 0 && same_file_state(&st, &after))
        stamp_write(sha, &st);
out:
    close(fd);
    return err;
}

static void binary_fill(struct node_binary *out, const char *path, const char *sha,
                        const char *version, const char *commit, bool downloaded)
{
    snprintf(out->path, sizeof(out->path), "%s", path);
    snprintf(out->sha256, sizeof(out->sha256), "%s", sha);
    snprintf(out->version, sizeof(out->version), "%s", version);
    snprintf(out->commit, sizeof(out->commit), "%s", commit);
    out->downloaded = downloaded;
}

/* The cached binary of version, if its entry matches commit (NULL: any)
 * and sha (NULL: any) and its blob verifies. */
static int lookup(const char *os_arch, const char *version, const char *commit, const char *sha,
                  struct node_binary *out, char *errbuf)
{
    struct bc_entry e;
    char path[PATH_MAX];
    int err = bc_entry_read(os_arch, version, &e, errbuf);
    if (err)
        return err;
    if ((commit && strcmp(commit, e.commit) != 0) || (sha && strcmp(sha, e.sha256) != 0))
        return nu_err_set(errbuf, NU_ENOENT, "neard %s: cached build differs", version);
    if ((err = blob_verify(e.sha256, path, sizeof(path), errbuf)) != 0)
        return err;
    binary_fill(out, path, e.sha256, version, e.commit, false);
    return 0;
}

int node_cache_blob(const char *sha256, struct node_binary *out, char *errbuf)
{
    char sha[NODE_SHA256_HEX], path[PATH_MAX];
    if (sha256 == NULL || strlen(sha256) != NODE_SHA256_HEX - 1 ||
        node_sha256_parse(sha256, sha) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "'%s' is not a sha256 (64 hex digits)",
                          sha256 ? sha256 : "");
    int err = blob_verify(sha, path, sizeof(path), errbuf);
    if (err)
        return err;
    binary_fill(out, path, sha, "", "", false);
    return 0;
}

int node_cache_lookup(const char *version, struct node_binary *out, char *errbuf)
{
    char os_arch[64];
    if (!node_release_name_valid(version))
        return nu_err_set(errbuf, NU_EINVAL, "invalid neard version '%s'", version);
    if (node_os_arch(os_arch, sizeof(os_arch)) != 0)
        return nu_err_set(errbuf, NU_EIO, "cannot tell this machine's os and architecture");
    return lookup(os_arch, version, NULL, NULL, out, errbuf);
}

int bc_lock(const char *path, bool wait, const volatile sig_atomic_t *cancel, int *fdp,
            char *errbuf)
{
    /* A lock file can be unlinked by its holder after use: re-open until the
     * locked file is still the one at path, so two processes never both
     * believe they hold it. */
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return nu_err_set(errbuf, NU_EIO, "open %s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
            int e = errno;
            close(fd);
            if (e == EINTR && !(cancel && *cancel))
                continue;
            if (e == EINTR)
                return nu_err_set(errbuf, NU_ESTATE, "interrupted while waiting for %s", path);
            return nu_err_set(errbuf, e == EWOULDBLOCK ? NU_EEXIST : NU_EIO, "lock %s: %s", path,
                              strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            *fdp = fd;
            return 0;
        }
        close(fd);
    }
}

int bc_cache_lock(int op, int *fdp, char *errbuf)
{
    char root[PATH_MAX], path[PATH_MAX];
    int err = node_cache_dir(root, sizeof(root), errbuf);
    if (!err)
        err = nu_fs_mkdir_p(root, 0755, errbuf);
    if (!err && nu_fs_join(path, sizeof(path), root, ".lock") != 0)
        err = nu_err_set(errbuf, NU_ETOOBIG, "cache path too long");
    if (err)
        return err;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", path, strerror(errno));
    while (flock(fd, op) != 0) {
        if (errno != EINTR) {
            err = nu_err_set(errbuf, NU_EIO, "lock %s: %s", path, strerror(errno));
            close(fd);
            return err;
        }
    }
    *fdp = fd;
    return 0;
}

static int download_error(const struct node_release *r, const struct node_fetch_opts *o,
                          const char *part, int err, const char *msg, char *errbuf)
{
    struct stat st;
    bool partial = stat(part, &st) == 0 && st.st_size > 0;
    if (o->cancel && *o->cancel)
        return nu_err_set(errbuf, NU_ESTATE,
                          "download of neard %s interrupted; run again to resume it", r->version);
    switch (err) {
    case NU_ENET:
        if (partial)
            return nu_err_set(errbuf, err,
                              "download of neard %s interrupted: %s; run again to resume it",
                              r->version, msg);
        return nu_err_set(errbuf, err, "cannot reach the release bucket: %s", msg);
    case NU_EHTTP:
        if (strstr(msg, "HTTP 404"))
            return nu_err_set(errbuf, err, "no neard %s for %s in the release bucket: %s",
                              r->version, r->os_arch, msg);
        return nu_err_set(errbuf, err, "cannot download neard %s: %s", r->version, msg);
    case NU_EIO:
        return nu_err_set(errbuf, err, "cannot write to the binary cache: %s", msg);
    default:
        return nu_err_set(errbuf, err, "cannot download neard %s: %s", r->version, msg);
    }
}

/* Verified, executable, then renamed into blobs/: nothing unverified is
 * ever executable, and a crash leaves either no blob or the whole one. */
static int install(const struct node_release *r, const char *dest, const char *part,
                   const char *sha, char *errbuf)
{
    char got[NODE_SHA256_HEX], blob[PATH_MAX], blobs[PATH_MAX];
    int err = nu_sha256_file(dest, got, errbuf);
    if (err)
        return err;
    if (strcmp(got, sha) != 0) {
        unlink(dest);
        unlink(part);
        return nu_err_set(errbuf, NU_EVERIFY, "checksum mismatch for neard %s: expected %s, got %s",
                          r->version, sha, got);
    }
    if (chmod(dest, 0755) != 0)
        return nu_err_set(errbuf, NU_EIO, "chmod %s: %s", dest, strerror(errno));
    if ((err = node_cache_blob_path(sha, blob, sizeof(blob), errbuf)) != 0 ||
        (err = bc_path(blobs, sizeof(blobs), errbuf, "blobs")) != 0)
        return err;
    if (rename(dest, blob) != 0)
        return nu_err_set(errbuf, NU_EIO, "rename %s: %s", dest, strerror(errno));
    if ((err = nu_fs_fsync_dir(blobs, errbuf)) != 0)
        return err;
    struct stat st; /* after the rename, which changes the ctime */
    if (stat(blob, &st) == 0)
        stamp_write(sha, &st);
    return 0;
}

/* GET r's binary into dest (through dest.part, resumed), with progress. */
static int transfer(const struct node_release *r, const struct node_fetch_opts *o, const char *dest,
                    char *errbuf)
{
    struct node_progress prog;
    struct nu_httpc_opts ho;
    char label[NODE_PROGRESS_LABEL_MAX];
    snprintf(label, sizeof(label), "neard %.50s", r->version);
    node_progress_init(&prog, label, STDERR_FILENO, o->progress && isatty(STDERR_FILENO),
                       o->cancel);
    nu_httpc_opts_init(&ho);
    ho.resume = true;
    ho.max_download_bytes = NODE_BIN_MAX_BYTES;
    ho.progress = node_progress_update; /* also how a signal cancels it */
    ho.progress_ud = &prog;
    int err = nu_httpc_global_init();
    if (err)
        return nu_err_set(errbuf, err, "cannot initialise the HTTP client");
    err = nu_http_download(r->binary_url, dest, &ho, errbuf);
    nu_httpc_global_cleanup();
    node_progress_finish(&prog);
    return err;
}

/* Downloads r's binary into blobs/<sha> under the lock of its partial, so
 * two processes fetching one build never write the same .part. *fetched
 * is false when another process installed it meanwhile. */
static int download_blob(const struct node_release *r, const char *sha,
                         const struct node_fetch_opts *o, bool *fetched, char *errbuf)
{
    char dir[PATH_MAX], dest[PATH_MAX], lock[PATH_MAX + 8], part[PATH_MAX + 8], blob[PATH_MAX];
    char msg[NU_ERRMSG_MAX];
    int fd = -1;
    int err = bc_path(dir, sizeof(dir), errbuf, "blobs/" NODE_CACHE_PARTIAL);
    if (!err)
        err = nu_fs_mkdir_p(dir, 0755, errbuf);
    if (err)
        return err;
    if (nu_fs_join(dest, sizeof(dest), dir, sha) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "cache path too long");
    snprintf(lock, sizeof(lock), "%s.lock", dest);
    snprintf(part, sizeof(part), "%s.part", dest);
    if ((err = bc_lock(lock, true, o->cancel, &fd, errbuf)) != 0)
        return err;
    *fetched = false;
    if (blob_verify(sha, blob, sizeof(blob), msg) == 0)
        goto out;
    if ((err = transfer(r, o, dest, msg)) != 0) {
        err = download_error(r, o, part, err, msg, errbuf);
        goto out;
    }
    if ((err = install(r, dest, part, sha, errbuf)) == 0)
        *fetched = true;
out:
    unlink(lock); /* still held: see bc_lock */
    close(fd);
    return err;
}

/* The expected hash: --neard-sha256 or the bucket's neard.sha256. */
static int expected_sha(const struct node_fetch_opts *o, const struct node_release *r,
                        char sha[NODE_SHA256_HEX], char *errbuf)
{
    if (o->sha256)
        return node_sha256_parse(o->sha256, sha) == 0 && strlen(o->sha256) == 64
                   ? 0
                   : nu_err_set(errbuf, NU_EINVAL, "--neard-sha256 must be 64 hex digits");
    return node_release_fetch_sha256(r, sha, errbuf);
}

int node_bin_fetch(const struct node_fetch_opts *o, struct node_binary *out, char *errbuf)
{
    struct node_release r;
    char want[NODE_SHA256_HEX] = "", sha[NODE_SHA256_HEX], path[PATH_MAX], msg[NU_ERRMSG_MAX];
    const char *version = o->version;
    if (version && (version[0] == '\0' || strcmp(version, "latest") == 0))
        version = NULL;
    if (o->sha256 && expected_sha(o, NULL, want, errbuf) != 0)
        return NU_EINVAL;
    const char *wantp = want[0] ? want : NULL;
    char os_arch[64];
    if (node_os_arch(os_arch, sizeof(os_arch)) != 0)
        return nu_err_set(errbuf, NU_EIO, "cannot tell this machine's os and architecture");
    const char *commit = version && o->commit && o->commit[0] ? o->commit : NULL;
    /* a pinned version in the cache needs no network at all */
    if (version && node_release_name_valid(version) &&
        lookup(os_arch, version, commit, wantp, out, msg) == 0)
        return 0;
    int err = commit ? node_release_build(o->release_url, version, commit, &r, errbuf)
                     : node_release_resolve(o->release_url, o->chain, version, &r, errbuf);
    if (err)
        return err;
    if (!version && lookup(os_arch, r.version, r.commit, wantp, out, msg) == 0)
        return 0;
    if ((err = expected_sha(o, &r, sha, errbuf)) != 0)
        return err;
    bool fetched = false;
    int lockfd = -1;
    if ((err = bc_cache_lock(LOCK_SH, &lockfd, errbuf)) != 0)
        return err;
    /* the same bytes may be cached under another name already */
    if (blob_verify(sha, path, sizeof(path), msg) != 0)
        err = download_blob(&r, sha, o, &fetched, errbuf);
    if (!err)
        err = entry_write(os_arch, r.version, sha, r.commit, errbuf);
    if (!err)
        err = node_cache_blob_path(sha, path, sizeof(path), errbuf);
    close(lockfd);
    if (!err)
        binary_fill(out, path, sha, r.version, r.commit, fetched);
    return err;
}
