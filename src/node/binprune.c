/* Listing and pruning of the binary cache (see bincache.h). A binary is in
 * use when a registered home's run.json (or pending upgrade.json) names
 * its path or its sha256; those are never removed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bincache-int.h"
#include "buf.h"
#include "fs.h"
#include "json.h"
#include "state.h"

#define CACHE_MAX_ENTRIES 4096 /* versions per os-arch we look at */
#define STATE_JSON_MAX (1u << 20)

/* Binaries referenced by registered homes. */
struct inuse {
    struct inuse_ref {
        char sha256[NODE_SHA256_HEX];
        char binary[PATH_MAX];
    } * refs;
    size_t n, cap;
};

static int inuse_add(struct inuse *u, const char *sha, const char *binary)
{
    struct inuse_ref *r = nu_grow(u->refs, u->n, &u->cap, sizeof(*r), 16);
    if (!r)
        return NU_ENOMEM;
    u->refs = r;
    snprintf(u->refs[u->n].sha256, NODE_SHA256_HEX, "%s", sha ? sha : "");
    snprintf(u->refs[u->n].binary, PATH_MAX, "%s", binary ? binary : "");
    u->n++;
    return 0;
}

/* One state file's binary and sha256 (field names differ per file). */
static int inuse_read(struct inuse *u, const char *home, const char *name, const char *sha_key)
{
    char path[PATH_MAX], msg[NU_ERRMSG_MAX];
    json_t *j = NULL;
    const char *sha = NULL, *bin = NULL;
    if (node_state_path(home, name, path, sizeof(path)) != 0 || !nu_fs_exists(path))
        return 0;
    /* an unreadable file names nothing we can protect; run itself reports it */
    if (nu_json_load_file(path, false, &j, msg) != 0)
        return 0;
    if (nu_json_get_str(j, sha_key, &sha) != 0)
        sha = NULL;
    if (nu_json_get_str(j, "binary", &bin) != 0)
        bin = NULL;
    int err = sha || bin ? inuse_add(u, sha, bin) : 0;
    json_decref(j);
    return err;
}

static int inuse_home(struct inuse *u, const char *home, char (*nodes)[PATH_MAX], char *errbuf)
{
    size_t nn = 0;
    char msg[NU_ERRMSG_MAX];
    /* a localnet root stands for its nodes */
    if (node_homes_expand(home, nodes, NODE_MAX_HOMES, &nn, msg) != 0 || nn == 0) {
        snprintf(nodes[0], PATH_MAX, "%s", home);
        nn = 1;
    }
    for (size_t i = 0; i < nn; i++) {
        int err = inuse_read(u, nodes[i], "run.json", "neard_sha256");
        if (!err)
            err = inuse_read(u, nodes[i], "upgrade.json", "sha256");
        if (err)
            return nu_err_set(errbuf, err, "out of memory");
    }
    return 0;
}

static int inuse_collect(struct inuse *u, char *errbuf)
{
    char(*homes)[PATH_MAX] = calloc(NODE_MAX_HOMES, PATH_MAX);
    char(*nodes)[PATH_MAX] = calloc(NODE_MAX_HOMES, PATH_MAX);
    size_t nh = 0;
    int err = 0;
    if (!homes || !nodes) {
        err = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        goto out;
    }
    char msg[NU_ERRMSG_MAX];
    if ((err = node_registry_list(homes, NODE_MAX_HOMES, &nh, msg)) != 0) {
        err = nu_err_set(errbuf, err, "cannot tell which binaries are in use: %s", msg);
        goto out;
    }
    for (size_t i = 0; i < nh && !err; i++)
        err = inuse_home(u, homes[i], nodes, errbuf);
out:
    free(homes);
    free(nodes);
    return err;
}

static bool inuse_has(const struct inuse *u, const char *sha, const char *path)
{
    for (size_t i = 0; i < u->n; i++) {
        const struct inuse_ref *r = &u->refs[i];
        if ((r->sha256[0] && strcmp(r->sha256, sha) == 0) ||
            (r->binary[0] && strcmp(r->binary, path) == 0))
            return true;
    }
    return false;
}

/* Release names, newest last: digit runs compare as numbers, and a name
 * that ends where the other goes on with '-' (a pre-release) is newer. */
int node_version_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0' && a[1] >= '0' && a[1] <= '9')
                a++;
            while (*b == '0' && b[1] >= '0' && b[1] <= '9')
                b++;
            size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c != 0)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    if (*a == *b)
        return 0;
    if (*a == '\0')
        return *b == '-' ? 1 : -1;
    return *a == '-' ? -1 : 1;
}

static int cmp_newest_first(const void *pa, const void *pb)
{
    const struct node_cached *a = pa, *b = pb;
    int c = node_version_cmp(b->version, a->version);
    if (c != 0)
        return c;
    return a->mtime < b->mtime ? 1 : a->mtime > b->mtime ? -1 : 0;
}

/* nu_fs_write_atomic's temp files: "<name>.tmp.XXXXXX". */
static bool is_temp_name(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    return t && strlen(t) == 11;
}

/* Fills c from the entry named name; false when it is not a usable entry. */
static bool cached_fill(const char *os_arch, const char *dir, const char *name,
                        struct node_cached *c)
{
    struct bc_entry e;
    char path[PATH_MAX], blob[PATH_MAX], msg[NU_ERRMSG_MAX];
    struct stat est, bst;
    if (!node_release_name_valid(name) || is_temp_name(name) ||
        bc_entry_read(os_arch, name, &e, msg) != 0 ||
        nu_fs_join(path, sizeof(path), dir, name) != 0 || stat(path, &est) != 0 ||
        node_cache_blob_path(e.sha256, blob, sizeof(blob), msg) != 0 || stat(blob, &bst) != 0)
        return false;
    memset(c, 0, sizeof(*c));
    snprintf(c->version, sizeof(c->version), "%s", e.version);
    snprintf(c->commit, sizeof(c->commit), "%s", e.commit);
    snprintf(c->sha256, sizeof(c->sha256), "%s", e.sha256);
    c->size = (uint64_t)bst.st_size;
    c->mtime = (int64_t)est.st_mtime;
    return true;
}

/* Entries of versions/<os_arch>/, unsorted, in_use not set. */
static int read_entries(const char *os_arch, struct node_cached **out, size_t *n, char *errbuf)
{
    char dir[PATH_MAX];
    *out = NULL;
    *n = 0;
    int err = bc_path(dir, sizeof(dir), errbuf, "versions/%s", os_arch);
    if (err)
        return err;
    DIR *d;
    if ((err = nu_fs_opendir(dir, &d, errbuf)) != 0 || d == NULL)
        return err;
    struct node_cached *v = calloc(CACHE_MAX_ENTRIES, sizeof(*v));
    if (!v) {
        closedir(d);
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < CACHE_MAX_ENTRIES) {
        if (cached_fill(os_arch, dir, de->d_name, &v[*n]))
            (*n)++;
    }
    closedir(d);
    if (*n == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    return 0;
}

static int list_with(const struct inuse *u, const char *os_arch, struct node_cached **out,
                     size_t *n, char *errbuf)
{
    char blob[PATH_MAX];
    int err = read_entries(os_arch, out, n, errbuf);
    if (err)
        return err;
    for (size_t i = 0; i < *n; i++) {
        if ((err = node_cache_blob_path((*out)[i].sha256, blob, sizeof(blob), errbuf)) != 0)
            break;
        (*out)[i].in_use = inuse_has(u, (*out)[i].sha256, blob);
    }
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), cmp_newest_first);
    return err;
}

int node_cache_list(struct node_cached **out, size_t *n, char *errbuf)
{
    struct inuse u = {0};
    char os_arch[64];
    *out = NULL;
    *n = 0;
    if (node_os_arch(os_arch, sizeof(os_arch)) != 0)
        return nu_err_set(errbuf, NU_EIO, "cannot tell this machine's os and architecture");
    int err = inuse_collect(&u, errbuf);
    if (!err)
        err = list_with(&u, os_arch, out, n, errbuf);
    if (err) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    free(u.refs);
    return err;
}

/* Every sha256 a version entry names, for any os-arch. */
static int referenced(struct inuse *refs, char *errbuf)
{
    char root[PATH_MAX], msg[NU_ERRMSG_MAX];
    int err = bc_path(root, sizeof(root), errbuf, "versions");
    if (err)
        return err;
    DIR *d;
    if ((err = nu_fs_opendir(root, &d, errbuf)) != 0 || d == NULL)
        return err;
    struct dirent *de;
    while (!err && (de = readdir(d)) != NULL) {
        char dir[PATH_MAX];
        if (de->d_name[0] == '.' || nu_fs_join(dir, sizeof(dir), root, de->d_name) != 0)
            continue;
        DIR *sub = opendir(dir);
        struct dirent *ve;
        while (!err && sub && (ve = readdir(sub)) != NULL) {
            struct bc_entry e;
            if (ve->d_name[0] != '.' && bc_entry_read(de->d_name, ve->d_name, &e, msg) == 0)
                err = inuse_add(refs, e.sha256, NULL);
        }
        if (sub)
            closedir(sub);
    }
    closedir(d);
    return err ? nu_err_set(errbuf, err, "out of memory") : 0;
}

static bool is_sha_name(const char *s)
{
    return strlen(s) == NODE_SHA256_HEX - 1 && strspn(s, "0123456789abcdef") == strlen(s);
}

/* Removes blobs that no entry names and no home uses. */
static int gc_blobs(const struct inuse *u, const struct inuse *refs, char *errbuf)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int err = bc_path(dir, sizeof(dir), errbuf, "blobs");
    if (err)
        return err;
    DIR *d;
    if ((err = nu_fs_opendir(dir, &d, errbuf)) != 0 || d == NULL)
        return err;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_sha_name(de->d_name) || nu_fs_join(path, sizeof(path), dir, de->d_name) != 0)
            continue;
        if (inuse_has(u, de->d_name, path) || inuse_has(refs, de->d_name, path))
            continue;
        if (unlink(path) != 0 && errno != ENOENT) {
            err = nu_err_set(errbuf, NU_EIO, "remove %s: %s", path, strerror(errno));
            break;
        }
        bc_stamp_remove(de->d_name);
    }
    closedir(d);
    return err;
}

/* Removes verified stamps whose blob is gone, and temp files of stamp
 * writes that were cut short. */
static void gc_stamps(void)
{
    char dir[PATH_MAX], blob[PATH_MAX], path[PATH_MAX];
    if (bc_path(dir, sizeof(dir), NULL, "verified") != 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || nu_fs_join(path, sizeof(path), dir, de->d_name) != 0)
            continue;
        bool orphan = !is_sha_name(de->d_name) ||
                      node_cache_blob_path(de->d_name, blob, sizeof(blob), NULL) != 0 ||
                      !nu_fs_exists(blob);
        if (orphan)
            unlink(path);
    }
    closedir(d);
}

/* Removes partial downloads nobody is working on (their lock is free). */
static void gc_partials(void)
{
    char dir[PATH_MAX], base[PATH_MAX], lock[PATH_MAX + 8], part[PATH_MAX + 8], msg[NU_ERRMSG_MAX];
    if (bc_path(dir, sizeof(dir), msg, "blobs/" NODE_CACHE_PARTIAL) != 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char sha[NODE_SHA256_HEX];
        int fd;
        /* "<sha>", "<sha>.part" or "<sha>.lock" */
        if (strlen(de->d_name) < sizeof(sha) - 1)
            continue;
        memcpy(sha, de->d_name, sizeof(sha) - 1);
        sha[sizeof(sha) - 1] = '\0';
        if (!is_sha_name(sha) || nu_fs_join(base, sizeof(base), dir, sha) != 0)
            continue;
        snprintf(lock, sizeof(lock), "%s.lock", base);
        snprintf(part, sizeof(part), "%s.part", base);
        if (bc_lock(lock, false, NULL, &fd, msg) != 0)
            continue;
        unlink(part);
        unlink(base);
        unlink(lock);
        close(fd);
    }
    closedir(d);
}

int node_cache_prune(unsigned keep, unsigned *removed, char *errbuf)
{
    struct inuse u = {0}, refs = {0};
    struct node_cached *v = NULL;
    char os_arch[64], path[PATH_MAX];
    size_t n = 0;
    int lockfd = -1;
    *removed = 0;
    if (node_os_arch(os_arch, sizeof(os_arch)) != 0)
        return nu_err_set(errbuf, NU_EIO, "cannot tell this machine's os and architecture");
    int err = bc_cache_lock(LOCK_EX, &lockfd, errbuf);
    if (!err)
        err = inuse_collect(&u, errbuf);
    if (!err)
        err = list_with(&u, os_arch, &v, &n, errbuf);
    for (size_t i = 0; !err && i < n; i++) {
        if (i < keep || v[i].in_use)
            continue;
        if ((err = bc_path(path, sizeof(path), errbuf, "versions/%s/%s", os_arch, v[i].version)))
            break;
        if (unlink(path) != 0 && errno != ENOENT)
            err = nu_err_set(errbuf, NU_EIO, "remove %s: %s", path, strerror(errno));
        else
            (*removed)++;
    }
    if (!err)
        err = referenced(&refs, errbuf);
    if (!err)
        err = gc_blobs(&u, &refs, errbuf);
    if (!err)
        gc_partials();
    if (!err)
        gc_stamps();
    if (lockfd >= 0)
        close(lockfd);
    free(v);
    free(u.refs);
    free(refs.refs);
    return err;
}
