/* The registry of homes (for --all) and the node homes behind a --home
 * argument (see state.h). The registry names its entries by the sha256 of
 * the path (nu_sha256). */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "sha256.h"

#define REGISTRY_ENTRY_MAX (PATH_MAX + 16)

/* ---- registry ---- */

static int registry_dir(char *out, size_t outsz, char *errbuf)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, outsz, "%s/nearup/homes", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, outsz, "%s/.local/state/nearup/homes", home);
    else
        return nu_err_set(errbuf, NU_ENOENT, "neither XDG_STATE_HOME nor HOME is set");
    if (n < 0 || (size_t)n >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "registry path too long");
    return 0;
}

/* Entry file name: sha256 of the home's path, so any path fits in a name. */
static int registry_entry(const char *home, char *out, size_t outsz, char *errbuf)
{
    char dir[PATH_MAX];
    uint8_t md[NU_SHA256_LEN];
    int rc = registry_dir(dir, sizeof(dir), errbuf);
    if (rc < 0)
        return rc;
    nu_sha256(home, strlen(home), md);
    size_t n = (size_t)snprintf(out, outsz, "%s/", dir);
    for (unsigned i = 0; i < 16 && n + 2 < outsz; i++, n += 2)
        snprintf(out + n, outsz - n, "%02x", md[i]);
    if (n + 1 >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "registry path too long");
    return 0;
}

int node_registry_add(const char *home, char *errbuf)
{
    char dir[PATH_MAX], entry[PATH_MAX], text[REGISTRY_ENTRY_MAX];
    int rc = registry_dir(dir, sizeof(dir), errbuf);
    if (rc == 0)
        rc = nu_fs_mkdir_p(dir, 0700, errbuf);
    if (rc == 0)
        rc = registry_entry(home, entry, sizeof(entry), errbuf);
    if (rc < 0)
        return rc;
    int n = snprintf(text, sizeof(text), "%s\n", home);
    return nu_fs_write_atomic(entry, text, (size_t)n, 0600, errbuf);
}

int node_registry_remove(const char *home, char *errbuf)
{
    char entry[PATH_MAX];
    int rc = registry_entry(home, entry, sizeof(entry), errbuf);
    if (rc < 0)
        return rc;
    if (unlink(entry) < 0 && errno != ENOENT)
        return nu_err_set(errbuf, NU_EIO, "remove %s: %s", entry, strerror(errno));
    return 0;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Reads one registry entry into out; false when unusable. */
static bool read_entry(const char *dir, const char *name, char *out, size_t outsz)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    if (nu_fs_join(path, sizeof(path), dir, name) < 0 ||
        nu_fs_read_file(path, REGISTRY_ENTRY_MAX, &text, &len, NULL) < 0)
        return false;
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    bool ok = len > 0 && len < outsz && text[0] == '/';
    if (ok)
        memcpy(out, text, len + 1);
    free(text);
    return ok;
}

int node_registry_list(char (*homes)[PATH_MAX], size_t max, size_t *n, char *errbuf)
{
    char dir[PATH_MAX];
    *n = 0;
    int rc = registry_dir(dir, sizeof(dir), errbuf);
    if (rc < 0)
        return rc;
    DIR *d;
    if ((rc = nu_fs_opendir(dir, &d, errbuf)) != 0 || d == NULL)
        return rc;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < max) {
        if (de->d_name[0] == '.')
            continue;
        if (read_entry(dir, de->d_name, homes[*n], PATH_MAX) && nu_fs_is_dir(homes[*n]))
            (*n)++;
    }
    closedir(d);
    qsort(homes, *n, PATH_MAX, cmp_paths);
    return 0;
}

/* ---- homes behind a --home argument ---- */

/* Natural order: digit runs compare as numbers (node2 < node10). */
static int cmp_natural(const void *pa, const void *pb)
{
    const char *a = pa, *b = pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            unsigned long long x = strtoull(a, (char **)&a, 10);
            unsigned long long y = strtoull(b, (char **)&b, 10);
            if (x != y)
                return x < y ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static bool child_has_runcfg(const char *root, const char *name, char *out, size_t outsz)
{
    char path[PATH_MAX];
    if (nu_fs_join(out, outsz, root, name) < 0 ||
        node_state_path(out, "run.json", path, sizeof(path)) < 0)
        return false;
    return nu_fs_exists(path);
}

int node_homes_expand(const char *home, char (*out)[PATH_MAX], size_t max, size_t *n, char *errbuf)
{
    char cfg[PATH_MAX];
    *n = 0;
    if (nu_fs_join(cfg, sizeof(cfg), home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    if (nu_fs_exists(cfg) && max > 0) {
        snprintf(out[0], PATH_MAX, "%s", home);
        *n = 1;
        return 0;
    }
    DIR *d = opendir(home);
    if (d == NULL)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "%s: %s", home, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < max) {
        if (de->d_name[0] != '.' && child_has_runcfg(home, de->d_name, out[*n], PATH_MAX))
            (*n)++;
    }
    closedir(d);
    if (*n == 0)
        return nu_err_set(errbuf, NU_ENOENT, "%s is not a node home (no config.json)", home);
    qsort(out, *n, PATH_MAX, cmp_natural);
    return 0;
}
