/* The swap of restored data dirs, its journal, recovery after kill -9 and
 * the deferred removal of old data (see dataswap.h). */
#include "dataswap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "chaincheck.h"
#include "fs.h"
#include "json.h"
#include "state.h"

#define JOURNAL_FORMAT "nearup-restore-swap"
#define JOURNAL_VERSION 1
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

struct journal {
    bool swapping; /* a swap is under way; else only removals are left */
    struct node_swap sw;
    size_t nremove;
    char remove[NODE_SWAP_REMOVE_MAX][PATH_MAX];
};

static void kill_at(const char *step)
{
    const char *at = getenv(NODE_SWAP_KILL_ENV);
    if (at != NULL && strcmp(at, step) == 0)
        raise(SIGKILL);
}

static bool name_valid(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len < NODE_SWAP_NAME_MAX && name[0] != '.' && strspn(name, NAME_CHARS) == len;
}

int node_swap_dir_init(struct node_swap_dir *d, const char *target, const char *name, char *errbuf)
{
    memset(d, 0, sizeof(*d));
    if (target[0] != '/' || !name_valid(name))
        return nu_err_set(errbuf, NU_EINVAL, "bad data dir %.200s or snapshot name %.130s", target,
                          name);
    if ((size_t)snprintf(d->target, PATH_MAX, "%s", target) >= PATH_MAX ||
        (size_t)snprintf(d->staging, PATH_MAX, "%s" NODE_SWAP_STAGING_INFIX "%s", target, name) >=
            PATH_MAX ||
        (size_t)snprintf(d->old, PATH_MAX, "%s" NODE_SWAP_OLD_INFIX "%s", target, name) >= PATH_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG, "data path %.200s is too long", target);
    return 0;
}

/* An old data dir the journal may have removed: /.../<dir>.replaced-<name>. */
static bool old_path_valid(const char *p)
{
    const char *base = strrchr(p, '/');
    const char *infix = base != NULL ? strstr(base, NODE_SWAP_OLD_INFIX) : NULL;
    return p[0] == '/' && infix != NULL && infix > base + 1 &&
           name_valid(infix + strlen(NODE_SWAP_OLD_INFIX)) && strstr(p, "/../") == NULL;
}

/* ---- the journal ---- */

static int journal_path(const char *home, char *out, size_t outsz, char *errbuf)
{
    if (node_state_path(home, NODE_SWAP_FILE, out, outsz) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    return 0;
}

static json_t *journal_json(const struct journal *j)
{
    json_t *dirs = json_array(), *rm = json_array();
    for (size_t i = 0; dirs != NULL && j->swapping && i < j->sw.ndirs; i++) {
        const struct node_swap_dir *d = &j->sw.dir[i];
        json_array_append_new(dirs,
                              json_pack("{s:s, s:s, s:s, s:b}", "target", d->target, "staging",
                                        d->staging, "old", d->old, "had_data", d->had_data));
    }
    for (size_t i = 0; rm != NULL && i < j->nremove; i++)
        json_array_append_new(rm, json_string(j->remove[i]));
    return json_pack("{s:s, s:i, s:s, s:s, s:b, s:b, s:o, s:o}", "format", JOURNAL_FORMAT,
                     "version", JOURNAL_VERSION, "state", j->swapping ? "swapping" : "swapped",
                     "snapshot", j->sw.name, "replace", j->sw.replace, "keep_old", j->sw.keep_old,
                     "dirs", dirs, "remove", rm);
}

/* Writes the journal (fsynced), or removes it when nothing is left. */
static int journal_save(const char *home, const struct journal *j, char *errbuf)
{
    char path[PATH_MAX], dir[PATH_MAX];
    int rc = journal_path(home, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    if (!j->swapping && j->nremove == 0) {
        if (unlink(path) < 0 && errno != ENOENT)
            return nu_err_set(errbuf, NU_EIO, "remove %s: %s", path, strerror(errno));
        if (node_state_path(home, ".", dir, sizeof(dir)) < 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
        return nu_fs_fsync_dir(dir, errbuf);
    }
    json_t *o = journal_json(j);
    if (o == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    rc = nu_json_write_file(path, o, 0600, true, errbuf);
    json_decref(o);
    return rc;
}

static int parse_dir(const json_t *o, const char *name, struct node_swap_dir *d, char *why)
{
    const char *target, *staging, *old;
    bool had;
    if (nu_json_get_str(o, "target", &target) < 0 || nu_json_get_str(o, "staging", &staging) < 0 ||
        nu_json_get_str(o, "old", &old) < 0 || nu_json_get_bool(o, "had_data", &had) < 0)
        return nu_err_set(why, NU_EPARSE, "a dir lacks target, staging, old or had_data");
    if (node_swap_dir_init(d, target, name, NULL) < 0 || strcmp(d->staging, staging) != 0 ||
        strcmp(d->old, old) != 0)
        return nu_err_set(why, NU_EPARSE, "the paths of dir %.200s do not belong together", target);
    d->had_data = had;
    return 0;
}

static int parse_lists(const json_t *root, struct journal *j, char *why)
{
    const json_t *dirs = json_object_get(root, "dirs"), *rm = json_object_get(root, "remove");
    if (!json_is_array(dirs) || json_array_size(dirs) > NODE_SWAP_DIRS_MAX ||
        (j->swapping && json_array_size(dirs) == 0))
        return nu_err_set(why, NU_EPARSE, "dirs is not a list of 1 to %d dirs", NODE_SWAP_DIRS_MAX);
    if (!json_is_array(rm) || json_array_size(rm) > NODE_SWAP_REMOVE_MAX)
        return nu_err_set(why, NU_EPARSE, "remove is not a list of at most %d paths",
                          NODE_SWAP_REMOVE_MAX);
    int rc = 0;
    for (size_t i = 0; rc == 0 && j->swapping && i < json_array_size(dirs); i++, j->sw.ndirs++)
        rc = parse_dir(json_array_get(dirs, i), j->sw.name, &j->sw.dir[i], why);
    for (size_t i = 0; rc == 0 && i < json_array_size(rm); i++) {
        const char *p = json_string_value(json_array_get(rm, i));
        if (p == NULL || strlen(p) >= PATH_MAX || !old_path_valid(p))
            return nu_err_set(why, NU_EPARSE, "remove lists %.200s, not an old data dir",
                              p != NULL ? p : "a non-string");
        snprintf(j->remove[j->nremove++], PATH_MAX, "%s", p);
    }
    return rc;
}

static int parse_journal(const json_t *root, struct journal *j, char *why)
{
    const char *format = "", *state = "", *name = "";
    int64_t version = 0;
    if (nu_json_get_str(root, "format", &format) < 0 || strcmp(format, JOURNAL_FORMAT) != 0 ||
        nu_json_get_int(root, "version", &version) < 0 || version != JOURNAL_VERSION)
        return nu_err_set(why, NU_EPARSE, "not format " JOURNAL_FORMAT " version %d",
                          JOURNAL_VERSION);
    if (nu_json_get_str(root, "state", &state) < 0 ||
        (strcmp(state, "swapping") != 0 && strcmp(state, "swapped") != 0))
        return nu_err_set(why, NU_EPARSE, "state is neither swapping nor swapped");
    if (nu_json_get_str(root, "snapshot", &name) < 0 || !name_valid(name))
        return nu_err_set(why, NU_EPARSE, "no valid snapshot name");
    if (nu_json_get_bool(root, "replace", &j->sw.replace) < 0 ||
        nu_json_get_bool(root, "keep_old", &j->sw.keep_old) < 0)
        return nu_err_set(why, NU_EPARSE, "replace or keep_old is not a boolean");
    j->swapping = strcmp(state, "swapping") == 0;
    snprintf(j->sw.name, sizeof(j->sw.name), "%s", name);
    return parse_lists(root, j, why);
}

/* NU_ENOENT (quietly) when there is no journal. */
static int journal_load(const char *home, struct journal *j, char *errbuf)
{
    char path[PATH_MAX], why[NU_ERRMSG_MAX];
    json_t *root = NULL;
    memset(j, 0, sizeof(*j));
    int rc = journal_path(home, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    if (!nu_fs_exists(path))
        return NU_ENOENT;
    rc = nu_json_load_file(path, false, &root, why);
    if (rc == 0)
        rc = parse_journal(root, j, why);
    json_decref(root);
    if (rc < 0)
        return nu_err_set(errbuf, NU_EPARSE,
                          "%s cannot be read (%.160s); nearup starts neither neard nor a restore "
                          "for this home until it can: check the data dirs by hand, then remove "
                          "it",
                          path, why);
    return 0;
}

/* ---- where each dir stands ---- */

struct dstate {
    bool t, t_empty, s, o; /* target exists, target empty (or absent), staging, old */
};

enum dphase {
    D_PENDING,   /* staging there, not (all) renamed yet */
    D_DONE,      /* the new data is in place */
    D_UNTOUCHED, /* staging gone, the old data (or no data) still in place */
    D_PUT_BACK,  /* staging gone, old data aside: it must go back */
    D_LOST,      /* old data neither in place nor aside */
    D_CONFLICT,  /* staging there, and so is data the swap did not expect */
};

static int probe_one(const char *path, bool *exists, char *errbuf)
{
    struct stat st;
    *exists = lstat(path, &st) == 0;
    if (!*exists && errno != ENOENT)
        return nu_err_set(errbuf, NU_EIO, "%s: %s", path, strerror(errno));
    if (*exists && !S_ISDIR(st.st_mode))
        return nu_err_set(errbuf, NU_ESTATE, "%s is not a directory (a symlink?); leaving it alone",
                          path);
    return 0;
}

static int probe(const struct node_swap_dir *d, struct dstate *x, char *errbuf)
{
    int rc = probe_one(d->target, &x->t, errbuf);
    if (rc == 0)
        rc = probe_one(d->staging, &x->s, errbuf);
    if (rc == 0)
        rc = probe_one(d->old, &x->o, errbuf);
    x->t_empty = !x->t || nu_fs_dir_empty(d->target);
    return rc;
}

static enum dphase classify(const struct node_swap_dir *d, const struct dstate *x)
{
    if (x->s && x->t_empty)
        return d->had_data && !x->o ? D_LOST : D_PENDING;
    if (x->s)
        return d->had_data && !x->o ? D_PENDING : D_CONFLICT;
    if (!d->had_data)
        return x->t_empty ? D_UNTOUCHED : D_DONE;
    if (x->t)
        return x->o ? D_DONE : D_UNTOUCHED;
    return x->o ? D_PUT_BACK : D_LOST;
}

static int phase_error(const struct node_swap_dir *d, enum dphase ph, const struct dstate *x,
                       char *errbuf)
{
    if (ph == D_LOST)
        return nu_err_set(errbuf, NU_ESTATE,
                          "the old data of %.150s is gone (neither it nor %.150s is there); not "
                          "starting neard on it: put the data back by hand",
                          d->target, d->old);
    if (x != NULL && x->o)
        return nu_err_set(errbuf, NU_ESTATE,
                          "%.150s got new data while its old data was aside in %.150s; not "
                          "starting neard: sort the two out by hand",
                          d->target, d->old);
    return nu_err_set(errbuf, NU_EEXIST,
                      "%.150s got data while the restore ran (was a node started?); it was left "
                      "as it is, and the restored data waits in %.150s: rerun the restore with "
                      "--replace to replace it",
                      d->target, d->staging);
}

/* ---- renames ---- */

static int fsync_parent(const char *path, char *errbuf)
{
    char parent[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(parent, sizeof(parent), "%.*s", slash > path ? (int)(slash - path) : 1, path);
    return nu_fs_fsync_dir(parent, errbuf);
}

static int move(const char *from, const char *to, char *errbuf)
{
    if (rename(from, to) == 0)
        return 0;
    if (errno == ENOTEMPTY || errno == EEXIST)
        return nu_err_set(errbuf, NU_EEXIST, "rename %.200s to %.200s: %s", from, to,
                          "the target got data meanwhile");
    return nu_err_set(errbuf, NU_EIO, "rename %.200s to %.200s: %s", from, to, strerror(errno));
}

/* PENDING -> DONE. A target that is empty is replaced by the rename
 * itself, which fails (touching nothing) if it has got data meanwhile. */
static int finish_dir(const struct node_swap_dir *d, const struct dstate *x, char *errbuf)
{
    int rc = 0;
    if (!x->t_empty) {
        if ((rc = move(d->target, d->old, errbuf)) < 0)
            return rc;
        kill_at("aside");
    }
    if ((rc = move(d->staging, d->target, errbuf)) < 0)
        return rc;
    kill_at("in");
    return fsync_parent(d->target, errbuf);
}

/* Any state but LOST/CONFLICT -> the state before the swap. */
static int roll_back_dir(const struct node_swap_dir *d, char *errbuf)
{
    struct dstate x;
    int rc = probe(d, &x, errbuf);
    if (rc < 0)
        return rc;
    enum dphase ph = classify(d, &x);
    if (ph == D_DONE && (rc = move(d->target, d->staging, errbuf)) < 0)
        return rc;
    if (d->had_data && x.o && (ph == D_DONE || !x.t) && (rc = move(d->old, d->target, errbuf)) < 0)
        return rc;
    return fsync_parent(d->target, errbuf);
}

static int roll_back(const struct node_swap *sw, char *errbuf)
{
    int rc = 0;
    for (size_t i = sw->ndirs; i-- > 0 && rc == 0;)
        rc = roll_back_dir(&sw->dir[i], errbuf);
    return rc;
}

struct survey {
    struct dstate x[NODE_SWAP_DIRS_MAX];
    enum dphase ph[NODE_SWAP_DIRS_MAX];
    bool back;    /* the swap cannot be finished: put every dir back */
    int conflict; /* the dir that got unexpected data, or -1 */
};

/* Where every dir stands. *stuck: the dirs are in a state no swap leaves,
 * so the journal must stay and nothing may start neard. */
static int survey(const struct node_swap *sw, struct survey *v, bool *stuck, char *errbuf)
{
    v->back = false;
    v->conflict = -1;
    for (size_t i = 0; i < sw->ndirs; i++) {
        const struct node_swap_dir *d = &sw->dir[i];
        int rc = probe(d, &v->x[i], errbuf);
        enum dphase ph = v->ph[i] = rc == 0 ? classify(d, &v->x[i]) : D_LOST;
        if (rc == 0 && (ph == D_LOST || (ph == D_CONFLICT && v->x[i].o)))
            rc = phase_error(d, ph, &v->x[i], errbuf);
        if (rc < 0) {
            *stuck = true;
            return rc;
        }
        if (ph == D_CONFLICT)
            v->conflict = (int)i;
        v->back = v->back || ph == D_UNTOUCHED || ph == D_PUT_BACK || ph == D_CONFLICT;
    }
    return 0;
}

/* Brings every dir to DONE (*out FINISHED); or, when a staging dir is gone
 * or a data dir got data meanwhile, or a rename fails, every dir back to
 * where it was before the swap (*out ROLLED_BACK, the reason in errbuf
 * and, for the last two, a negative return). */
static int settle(const struct node_swap *sw, enum node_swap_outcome *out, bool *stuck,
                  char *errbuf)
{
    struct survey v;
    *stuck = false;
    *out = NODE_SWAP_NOTHING;
    int rc = survey(sw, &v, stuck, errbuf);
    if (rc < 0)
        return rc;
    for (size_t i = 0; !v.back && rc == 0 && i < sw->ndirs; i++) {
        if (v.ph[i] == D_PENDING)
            rc = finish_dir(&sw->dir[i], &v.x[i], errbuf);
    }
    if (!v.back && rc == 0) {
        *out = NODE_SWAP_FINISHED;
        return 0;
    }
    char why[NU_ERRMSG_MAX];
    if (roll_back(sw, why) < 0) {
        *stuck = true;
        return rc < 0 ? rc : nu_err_set(errbuf, NU_EIO, "%s", why);
    }
    *out = NODE_SWAP_ROLLED_BACK;
    if (rc == 0 && v.conflict >= 0)
        return phase_error(&sw->dir[v.conflict], D_CONFLICT, NULL, errbuf);
    if (rc == 0)
        nu_err_set(errbuf, NU_ESTATE, "its restored data was gone");
    return rc;
}

/* The swap is done: old data kept or listed for removal; journal updated. */
static int conclude(const char *home, struct journal *j, struct node_swap_result *res, char *errbuf)
{
    memset(res, 0, sizeof(*res));
    res->kept = j->sw.keep_old;
    for (size_t i = 0; i < j->sw.ndirs; i++) {
        const struct node_swap_dir *d = &j->sw.dir[i];
        if (!d->had_data)
            continue;
        res->replaced = true;
        snprintf(res->old[res->nold++], PATH_MAX, "%s", d->old);
        if (!j->sw.keep_old && j->nremove < NODE_SWAP_REMOVE_MAX)
            snprintf(j->remove[j->nremove++], PATH_MAX, "%s", d->old);
    }
    j->swapping = false;
    int rc = journal_save(home, j, errbuf);
    if (rc == 0)
        kill_at("done");
    return rc;
}

/* ---- the swap ---- */

/* Takes RocksDB's lock of a data dir that has data (creating the empty
 * LOCK file RocksDB would create), so no neard opens it until we close
 * *fd. NU_ESTATE when a neard holds it. */
static int hold_db(const struct node_swap_dir *d, int *fd, char *errbuf)
{
    char path[PATH_MAX];
    *fd = -1;
    if (nu_fs_join(path, sizeof(path), d->target, "LOCK") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", d->target);
    int f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0)
        return nu_err_set(errbuf, NU_EIO, "open %s: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(f, F_SETLK, &fl) < 0) {
        close(f);
        return nu_err_set(errbuf, NU_ESTATE,
                          "a neard opened the database in %.150s while the restore ran; nothing "
                          "was changed and the restored data waits in %.150s: stop that neard, "
                          "then rerun the restore",
                          d->target, d->staging);
    }
    *fd = f;
    return 0;
}

/* The checks at the moment of the swap; sets had_data. */
static int recheck(const char *home, struct node_swap *sw, const struct journal *j, int *dbfd,
                   char *errbuf)
{
    if (node_running(home))
        return nu_err_set(errbuf, NU_ESTATE,
                          "the node of %.150s started while the restore ran; nothing was "
                          "changed: stop it with 'nearup stop --home %.150s', then rerun the "
                          "restore",
                          home, home);
    size_t moving = 0;
    for (size_t i = 0; i < sw->ndirs; i++) {
        struct node_swap_dir *d = &sw->dir[i];
        d->had_data = !nu_fs_dir_empty(d->target);
        moving += d->had_data;
        if (d->had_data && !sw->replace)
            return phase_error(d, D_CONFLICT, NULL, errbuf);
        int rc = d->had_data ? hold_db(d, &dbfd[i], errbuf) : 0;
        if (rc < 0)
            return rc;
    }
    if (!sw->keep_old && j->nremove + moving > NODE_SWAP_REMOVE_MAX)
        return nu_err_set(errbuf, NU_ETOOBIG,
                          "%zu old data dirs of %.150s await removal; start the node once (or "
                          "remove them) before replacing its data again",
                          j->nremove, home);
    return 0;
}

/* The journal, then the renames; a swap that does not finish leaves the
 * dirs as they were and the journal without it. */
static int swap(const char *home, struct journal *j, struct node_swap_result *res, char *errbuf)
{
    enum node_swap_outcome out;
    bool stuck = false;
    j->swapping = true;
    int rc = journal_save(home, j, errbuf);
    if (rc == 0)
        kill_at("journal");
    if (rc == 0 && (rc = settle(&j->sw, &out, &stuck, errbuf)) == 0 && out != NODE_SWAP_FINISHED)
        rc = nu_err_set(errbuf, NU_ESTATE, "a staging dir of %s vanished during the swap", home);
    if (rc == 0)
        return conclude(home, j, res, errbuf);
    if (!stuck) {
        j->swapping = false;
        (void)!journal_save(home, j, NULL); /* else recovery finds the dirs as they were */
    }
    return rc;
}

/* home's journal for a new step into *out (caller frees; NULL on
 * NU_ENOMEM): none yet is an empty one; an interrupted swap that is not
 * settled refuses the step (NU_ESTATE). */
static int journal_settled(const char *home, struct journal **out, char *errbuf)
{
    struct journal *j = *out = calloc(1, sizeof(*j));
    if (j == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int rc = journal_load(home, j, errbuf);
    if (rc == NU_ENOENT)
        rc = 0;
    if (rc == 0 && j->swapping)
        rc = nu_err_set(errbuf, NU_ESTATE, "an interrupted swap of %s is not settled", home);
    return rc;
}

int node_swap_run(const char *home, struct node_swap *sw, struct node_swap_result *res,
                  char *errbuf)
{
    int dbfd[NODE_SWAP_DIRS_MAX] = {-1, -1};
    struct journal *j;
    memset(res, 0, sizeof(*res));
    int rc = journal_settled(home, &j, errbuf);
    if (rc == 0)
        rc = recheck(home, sw, j, dbfd, errbuf);
    if (rc == 0) {
        j->sw = *sw;
        rc = swap(home, j, res, errbuf);
    }
    for (size_t i = 0; i < NODE_SWAP_DIRS_MAX; i++) {
        if (dbfd[i] >= 0)
            close(dbfd[i]);
    }
    free(j);
    return rc;
}

/* ---- after a kill -9 ---- */

static void recovery_note(const struct journal *j, struct node_swap_recovery *rec, const char *why)
{
    const char *target = j->sw.dir[0].target;
    if (rec->outcome == NODE_SWAP_ROLLED_BACK) {
        snprintf(rec->note, sizeof(rec->note),
                 "rolled back the swap of snapshot %s that was interrupted: %.300s", j->sw.name,
                 why);
        return;
    }
    snprintf(rec->note, sizeof(rec->note),
             "finished the swap of snapshot %s that was interrupted: %.120s holds the snapshot "
             "now%s%.120s",
             j->sw.name, target, rec->res.nold > 0 ? "; its old data is in " : "",
             rec->res.nold > 0 ? rec->res.old[0] : "");
}

/* A swap put back leaves the old data in place: a chain check the
 * restore recorded for its data (before the swap) is about nothing now. */
static int discard_check(const char *home, const char *name, char *errbuf)
{
    struct node_chain_check *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int rc = node_chain_load(home, c, NULL);
    rc = rc == 0 && strcmp(c->snapshot, name) == 0 ? node_chain_remove(home, errbuf) : 0;
    free(c);
    return rc;
}

/* Settles j's swap; a rollback is a success with its reason in why. */
static int recover(const char *home, struct journal *j, struct node_swap_recovery *rec, char *why,
                   char *errbuf)
{
    bool stuck = false;
    int rc = settle(&j->sw, &rec->outcome, &stuck, why);
    if (stuck)
        return nu_err_set(errbuf, rc, "%s", why);
    if (rec->outcome == NODE_SWAP_FINISHED)
        return conclude(home, j, &rec->res, errbuf);
    j->swapping = false;
    rc = journal_save(home, j, errbuf);
    return rc == 0 ? discard_check(home, j->sw.name, errbuf) : rc;
}

int node_swap_recover(const char *home, struct node_swap_recovery *rec, char *errbuf)
{
    char why[NU_ERRMSG_MAX] = "";
    memset(rec, 0, sizeof(*rec));
    struct journal *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int rc = journal_load(home, j, errbuf);
    if (rc == 0 && j->swapping)
        rc = recover(home, j, rec, why, errbuf);
    else if (rc == NU_ENOENT || rc == 0)
        rc = 0;
    if (rc == 0 && rec->outcome != NODE_SWAP_NOTHING) {
        snprintf(rec->name, sizeof(rec->name), "%s", j->sw.name);
        recovery_note(j, rec, why);
    } else if (rc < 0) {
        rec->outcome = NODE_SWAP_NOTHING;
    }
    free(j);
    return rc;
}

/* ---- removal of old data ---- */

bool node_swap_removal_pending(const char *home, char *name, size_t namesz)
{
    struct journal *j = calloc(1, sizeof(*j));
    bool pending = j != NULL && journal_load(home, j, NULL) == 0 && !j->swapping &&
                   j->nremove > 0 && !node_chain_blocking(home);
    if (pending && name != NULL)
        snprintf(name, namesz, "%s", j->sw.name);
    free(j);
    return pending;
}

int node_swap_remove_old(const char *home, size_t *removed, char *errbuf)
{
    struct journal *j;
    *removed = 0;
    if (node_chain_blocking(home))
        return nu_err_set(errbuf, NU_ESTATE,
                          "the chain check of %s has not passed; the old data a restore kept "
                          "stays until it does",
                          home);
    int rc = journal_settled(home, &j, errbuf);
    while (rc == 0 && j->nremove > 0) {
        /* Listed first, removed second: a kill here leaves it listed. */
        if ((rc = nu_fs_rm_tree(j->remove[0], errbuf)) < 0)
            break;
        j->nremove--;
        memmove(j->remove[0], j->remove[1], j->nremove * sizeof(j->remove[0]));
        (*removed)++;
        rc = journal_save(home, j, errbuf);
    }
    free(j);
    return rc;
}

bool node_swap_in_progress(const char *home)
{
    struct journal *j = calloc(1, sizeof(*j));
    bool swapping = j == NULL || (journal_load(home, j, NULL) == 0 && j->swapping);
    free(j);
    return swapping;
}

/* ---- rejected data ---- */

int node_swap_reject_plan(const char (*targets)[PATH_MAX], size_t n, const char *name,
                          struct node_swap_rejection *r, char *errbuf)
{
    struct node_swap_dir d;
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < n && i < NODE_SWAP_DIRS_MAX; i++, r->ndirs++) {
        int rc = node_swap_dir_init(&d, targets[i], name, errbuf);
        if (rc < 0)
            return rc;
        snprintf(r->target[i], PATH_MAX, "%s", d.target);
        snprintf(r->old[i], PATH_MAX, "%s", d.old);
        struct stat st;
        if (lstat(d.target, &st) < 0)
            continue; /* nothing there to reject */
        for (int k = 1; r->rejected[i][0] == '\0'; k++) {
            char path[PATH_MAX];
            if (k > NODE_SWAP_REJECTED_MAX)
                return nu_err_set(errbuf, NU_EEXIST,
                                  "%.200s" NODE_SWAP_REJECTED_INFIX "%s and %d more rejected "
                                  "data dirs are in the way; move them away",
                                  d.target, name, NODE_SWAP_REJECTED_MAX - 1);
            int len = k == 1 ? snprintf(path, sizeof(path), "%s" NODE_SWAP_REJECTED_INFIX "%s",
                                        d.target, name)
                             : snprintf(path, sizeof(path), "%s" NODE_SWAP_REJECTED_INFIX "%s.%d",
                                        d.target, name, k);
            if (len < 0 || (size_t)len >= sizeof(path))
                return nu_err_set(errbuf, NU_ETOOBIG, "data path %.200s is too long", d.target);
            if (lstat(path, &st) < 0 && errno == ENOENT)
                snprintf(r->rejected[i], PATH_MAX, "%s", path);
        }
    }
    return 0;
}

/* Drops the old dirs r put back from the journal's removals. */
static int forget_old(const char *home, const struct node_swap_rejection *r, char *errbuf)
{
    struct journal *j;
    int rc = journal_settled(home, &j, errbuf);
    size_t kept = 0;
    for (size_t i = 0; rc == 0 && i < j->nremove; i++) {
        bool back = false;
        for (size_t d = 0; d < r->ndirs; d++)
            back = back || (r->old_back[d] && strcmp(j->remove[i], r->old[d]) == 0);
        if (!back)
            memmove(j->remove[kept++], j->remove[i], PATH_MAX);
    }
    if (rc == 0 && kept != j->nremove) {
        j->nremove = kept;
        rc = journal_save(home, j, errbuf);
    }
    free(j);
    return rc;
}

int node_swap_reject(const char *home, struct node_swap_rejection *r, char *errbuf)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->ndirs; i++) {
        bool old = false;
        if (r->rejected[i][0] != '\0')
            rc = move(r->target[i], r->rejected[i], errbuf);
        if (rc == 0)
            rc = probe_one(r->old[i], &old, errbuf);
        if (rc == 0 && old && (rc = move(r->old[i], r->target[i], errbuf)) == 0)
            r->old_back[i] = true;
        if (rc == 0)
            rc = fsync_parent(r->target[i], errbuf);
    }
    return rc == 0 ? forget_old(home, r, errbuf) : rc;
}

bool node_data_locked(const char *dir)
{
    char path[PATH_MAX];
    if (nu_fs_join(path, sizeof(path), dir, "LOCK") < 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool locked = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return locked;
}
