/* The supervisor checks a neard binary right before it executes it (see
 * sup-int.h). `nearup run` and `nearup upgrade` verified the binary when
 * they chose it, but the supervisor executes it later: at once, after a
 * crash hours later, or at an upgrade height days later. So a binary it
 * has not run before (another path, another expected hash, or the same
 * path with another file id: written, chmod-ed or replaced since) is
 * hashed again on the threadpool, and the forked child checks that the
 * file at the path is still the one that was hashed just before execve. A
 * restart of the binary that already ran, unchanged, costs one stat. */
#include "sup-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void file_id(const struct stat *st, struct sup_file_id *id)
{
    memset(id, 0, sizeof(*id));
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtim = st->st_mtim;
    id->ctim = st->st_ctim;
}

static bool same_id(const struct sup_file_id *a, const struct sup_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
           a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

bool sup_verify_same_file(const char *path, const struct sup_file_id *id)
{
    struct stat st;
    struct sup_file_id now;
    if (stat(path, &st) != 0)
        return false;
    file_id(&st, &now);
    return same_id(&now, id);
}

bool sup_verify_needed(struct sup *s, const char *path, const char *sha256)
{
    const struct sup_verified *v = &s->verified;
    if (sha256 == NULL || sha256[0] == '\0')
        return false;
    return !v->valid || strcmp(v->path, path) != 0 || strcasecmp(v->sha256, sha256) != 0 ||
           !sup_verify_same_file(path, &v->id);
}

const struct sup_file_id *sup_verify_exec_id(const struct sup *s, const char *path)
{
    const struct sup_verified *v = &s->verified;
    if (s->cfg.neard_sha256[0] == '\0' || !v->valid || strcmp(v->path, path) != 0)
        return NULL;
    return &v->id;
}

/* On a threadpool thread: only the job is touched. */
static void verify_work(uv_work_t *req)
{
    struct sup_verify_job *j = req->data;
    struct stat before, after;
    char why[NU_ERRMSG_MAX] = "";
    j->rc = 0;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        j->rc = nu_err_from_errno(errno);
        snprintf(why, sizeof(why), "open: %s", strerror(errno));
    } else if (fstat(fd, &before) != 0 || !S_ISREG(before.st_mode)) {
        j->rc = NU_EIO;
        snprintf(why, sizeof(why), "not a regular file");
    } else if ((j->rc = nu_sha256_fd(fd, j->path, j->got, why)) == 0 &&
               (fstat(fd, &after) != 0 || before.st_ctim.tv_sec != after.st_ctim.tv_sec ||
                before.st_ctim.tv_nsec != after.st_ctim.tv_nsec)) {
        j->rc = NU_EVERIFY;
        snprintf(why, sizeof(why), "it changed while it was hashed");
    }
    if (fd >= 0)
        close(fd);
    if (j->rc == 0 && strcasecmp(j->got, j->want) != 0)
        nu_err_set(j->err, j->rc = NU_EVERIFY,
                   "neard binary %s does not match its sha256: expected %s, got %s; it was "
                   "not executed",
                   j->path, j->want, j->got);
    else if (j->rc != 0)
        nu_err_set(j->err, j->rc,
                   "cannot check the sha256 of neard binary %s: %s; it was not "
                   "executed",
                   j->path, why);
    else
        file_id(&before, &j->id);
}

static void verify_done(uv_work_t *req, int status)
{
    struct sup *s = req->loop->data;
    struct sup_verify_job *j = &s->verify;
    j->busy = false;
    if (s->closing)
        return; /* stopped meanwhile: nothing is started */
    if (status < 0) {
        j->rc = NU_EIO;
        nu_err_set(j->err, j->rc, "cannot check the sha256 of neard binary %s: %s", j->path,
                   uv_strerror(status));
    }
    if (j->rc == 0) {
        struct sup_verified *v = &s->verified;
        v->valid = true;
        snprintf(v->path, sizeof(v->path), "%s", j->path);
        snprintf(v->sha256, sizeof(v->sha256), "%s", j->want);
        v->id = j->id;
        sup_log(s, NU_LOG_INFO, "checked neard binary", "binary", j->path, "sha256", j->got, NULL);
    }
    j->cb(s, j->rc, j->rc == 0 ? NULL : j->err);
}

void sup_verify_start(struct sup *s, const char *path, const char *sha256, sup_verify_cb cb)
{
    struct sup_verify_job *j = &s->verify;
    NU_BUG_ON(j->busy);
    snprintf(j->path, sizeof(j->path), "%s", path);
    snprintf(j->want, sizeof(j->want), "%s", sha256);
    j->got[0] = j->err[0] = '\0';
    j->cb = cb;
    j->req.data = j;
    sup_log(s, NU_LOG_INFO, "checking the sha256 of neard binary", "binary", path, NULL);
    int rc = uv_queue_work(&s->loop, &j->req, verify_work, verify_done);
    if (rc < 0) {
        nu_err_set(j->err, NU_EIO, "cannot check the sha256 of neard binary %s: %s", path,
                   uv_strerror(rc));
        cb(s, NU_EIO, j->err);
        return;
    }
    j->busy = true;
}
