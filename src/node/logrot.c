/* neard's log with size rotation and zstd generations (see logrot.h).
 *
 * Rotation renames neard.log to neard.log.1 (plain), opens a fresh
 * neard.log and lets a background thread compress neard.log.1 into
 * neard.log.1.zst, so the writer (the supervisor's loop) never waits for
 * zstd. Older generations shift up first (.1.zst -> .2.zst ...), the
 * oldest beyond keep is deleted. A plain neard.log.1 left by a crash is
 * compressed on the next open. */
#include "logrot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "fs.h"

#define ZSTD_LEVEL 3
#define COMPRESS_CHUNK (128u << 10)

struct node_log {
    char path[PATH_MAX];
    int fd;
    uint64_t size;
    uint64_t max_size;
    unsigned keep;
    pthread_t thread;
    bool thread_running;
};

static int gen_path(const struct node_log *l, unsigned gen, bool zst, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s.%u%s", l->path, gen, zst ? ".zst" : "");
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

/* Streams src into dst with zstd; 0 or -1. */
static int compress_fd(int in, int out)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    void *ibuf = malloc(COMPRESS_CHUNK);
    size_t osz = ZSTD_CStreamOutSize();
    void *obuf = malloc(osz);
    int rc = cctx != NULL && ibuf != NULL && obuf != NULL ? 0 : -1;
    if (rc == 0)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    for (bool last = false; rc == 0 && !last;) {
        ssize_t r = read(in, ibuf, COMPRESS_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -1;
            break;
        }
        last = r == 0;
        ZSTD_inBuffer ib = {ibuf, (size_t)r, 0};
        for (bool done = false; rc == 0 && !done;) {
            ZSTD_outBuffer ob = {obuf, osz, 0};
            size_t left = ZSTD_compressStream2(cctx, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left) || nu_write_all(out, obuf, ob.pos) < 0)
                rc = -1;
            done = last ? left == 0 : ib.pos == ib.size;
        }
    }
    free(obuf);
    free(ibuf);
    ZSTD_freeCCtx(cctx);
    return rc;
}

/* neard.log.1 -> neard.log.1.zst through a temp file, then removes the
 * plain file. A failure keeps neard.log.1 (nothing is lost). */
static void compress_generation(const char *plain)
{
    char zst[PATH_MAX], tmp[PATH_MAX];
    snprintf(zst, sizeof(zst), "%s.zst", plain);
    if (snprintf(tmp, sizeof(tmp), "%s.zst.tmp", plain) >= (int)sizeof(tmp))
        return;
    int in = open(plain, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = out < 0 ? -1 : compress_fd(in, out);
    if (rc == 0)
        rc = fsync(out);
    if (out >= 0)
        close(out);
    close(in);
    if (rc == 0 && rename(tmp, zst) == 0)
        unlink(plain);
    else
        unlink(tmp);
}

static void *compress_main(void *arg)
{
    char *plain = arg;
    compress_generation(plain);
    free(plain);
    return NULL;
}

static void wait_compression(struct node_log *l)
{
    if (l->thread_running) {
        pthread_join(l->thread, NULL);
        l->thread_running = false;
    }
}

/* Starts compressing neard.log.1 in the background; compresses inline if
 * no thread can be made. */
static void start_compression(struct node_log *l)
{
    char plain[PATH_MAX];
    if (gen_path(l, 1, false, plain, sizeof(plain)) < 0)
        return;
    char *arg = strdup(plain);
    if (arg != NULL && pthread_create(&l->thread, NULL, compress_main, arg) == 0) {
        l->thread_running = true;
        return;
    }
    free(arg);
    compress_generation(plain);
}

/* Shifts .k.zst to .(k+1).zst from the oldest down, dropping what passes keep. */
static void shift_generations(struct node_log *l)
{
    char from[PATH_MAX], to[PATH_MAX];
    if (l->keep == 0 || gen_path(l, l->keep, true, from, sizeof(from)) < 0)
        return;
    unlink(from);
    for (unsigned g = l->keep; g > 1; g--) {
        if (gen_path(l, g - 1, true, from, sizeof(from)) < 0 ||
            gen_path(l, g, true, to, sizeof(to)) < 0)
            return;
        rename(from, to);
    }
}

static int open_current(struct node_log *l, char *errbuf)
{
    struct stat st;
    l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        /* With O_CREAT, ENOENT is a missing directory, not an absent log. */
        int code = errno == ENOENT ? NU_EIO : nu_err_from_errno(errno);
        return nu_err_set(errbuf, code, "open %s: %s", l->path, strerror(errno));
    }
    l->size = fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

static int rotate(struct node_log *l, char *errbuf)
{
    char plain[PATH_MAX];
    wait_compression(l);
    close(l->fd);
    l->fd = -1;
    if (gen_path(l, 1, false, plain, sizeof(plain)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", l->path);
    if (l->keep == 0) {
        unlink(l->path);
    } else {
        shift_generations(l);
        if (rename(l->path, plain) < 0)
            return nu_err_set(errbuf, NU_EIO, "rename %s: %s", l->path, strerror(errno));
    }
    int rc = open_current(l, errbuf);
    if (rc == 0 && l->keep > 0)
        start_compression(l);
    return rc;
}

int node_log_open(const char *path, uint64_t max_size, unsigned keep, struct node_log **out,
                  char *errbuf)
{
    char plain[PATH_MAX], zst[PATH_MAX];
    *out = NULL;
    struct node_log *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (snprintf(l->path, sizeof(l->path), "%s", path) >= (int)sizeof(l->path)) {
        free(l);
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", path);
    }
    l->max_size = max_size > 0 ? max_size : NODE_LOG_DEFAULT_MAX_SIZE;
    l->keep = keep;
    int rc = open_current(l, errbuf);
    if (rc < 0) {
        free(l);
        return rc;
    }
    /* A crash between rotation and compression left a plain generation. */
    if (gen_path(l, 1, false, plain, sizeof(plain)) == 0 && nu_fs_exists(plain) &&
        gen_path(l, 1, true, zst, sizeof(zst)) == 0) {
        if (nu_fs_exists(zst))
            unlink(plain); /* the .zst was complete: it is renamed into place last */
        else
            start_compression(l);
    }
    *out = l;
    return 0;
}

/* How much of data to write before rotating: whole lines when they fit,
 * else as much as fits (a line longer than the limit is split). */
static size_t fitting_part(const struct node_log *l, const char *data, size_t len)
{
    uint64_t room = l->size < l->max_size ? l->max_size - l->size : 0;
    if (len <= room)
        return len;
    for (size_t i = (size_t)room; i > 0; i--) {
        if (data[i - 1] == '\n')
            return i;
    }
    return l->size == 0 ? (size_t)room : 0;
}

int node_log_write(struct node_log *l, const void *data, size_t len, char *errbuf)
{
    const char *p = data;
    while (len > 0) {
        if (l->fd < 0) {
            int rc = open_current(l, errbuf);
            if (rc < 0)
                return rc;
        }
        size_t part = fitting_part(l, p, len);
        if (part > 0) {
            if (nu_write_all(l->fd, p, part) < 0)
                return nu_err_set(errbuf, NU_EIO, "write %s: %s", l->path, strerror(errno));
            l->size += part;
            p += part;
            len -= part;
        }
        if (len > 0) {
            int rc = rotate(l, errbuf);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

void node_log_close(struct node_log *l)
{
    if (l == NULL)
        return;
    wait_compression(l);
    if (l->fd >= 0)
        close(l->fd);
    free(l);
}
