/* Temporary directories for the unit tests (see unit_tmp.h). */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit_tmp.h"

#define UNIT_TMP_FDS 16 /* descriptors nftw may hold open while walking */

const char *unit_tmp_base(void)
{
    const char *base = getenv("NU_TEST_TMP");
    return base && base[0] ? base : "/tmp";
}

int unit_tmp_make(char *dir, size_t dirsz, const char *name)
{
    int n = snprintf(dir, dirsz, "%s/%s.XXXXXX", unit_tmp_base(), name);
    if (n < 0 || (size_t)n >= dirsz) {
        if (dirsz > 0)
            dir[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int unit_tmp_remove(const char *dir)
{
    /* FTW_PHYS: symlinks are entries, never followed; FTW_DEPTH: children first */
    return nftw(dir, remove_entry, UNIT_TMP_FDS, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static bool listed(const char *name, const char *const *allowed)
{
    for (size_t i = 0; allowed && allowed[i]; i++)
        if (strcmp(name, allowed[i]) == 0)
            return true;
    return false;
}

int unit_tmp_remove_expecting(const char *dir, const char *const *allowed)
{
    int rc = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!listed(e->d_name, allowed)) {
            fprintf(stderr, "unit_tmp: %s/%s was left behind\n", dir, e->d_name);
            rc = -1;
        }
    }
    closedir(d);
    return unit_tmp_remove(dir) == 0 ? rc : -1;
}
