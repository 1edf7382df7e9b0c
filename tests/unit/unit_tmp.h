/* Temporary directories for the unit tests, in one place.
 *
 * A test's directory is made under $NU_TEST_TMP (tests/unit/meson.build
 * points it at the build dir, so a failed run leaves its files where the
 * build is) or /tmp, named after the test, and removed with all it holds
 * at teardown. Removal never follows a symlink: a link is removed, not
 * what it points to. */
#ifndef UNIT_TMP_H
#define UNIT_TMP_H

#include <stddef.h>

/* Where test directories go: $NU_TEST_TMP when set and not empty, else "/tmp". */
const char *unit_tmp_base(void);

/* Makes a fresh directory <base>/<name>.XXXXXX (mode 0700) and writes its
 * path into dir (dirsz bytes). 0, or -1 (errno set; ENAMETOOLONG when the
 * path does not fit) with dir[0] == '\0'. */
int unit_tmp_make(char *dir, size_t dirsz, const char *name);

/* Removes dir and everything under it. 0, or -1 when something could not
 * be removed. */
int unit_tmp_remove(const char *dir);

/* Like unit_tmp_remove, and checks what the test left at the top of dir:
 * only names on the NULL-terminated list allowed may be there. Removes
 * everything in any case; -1 (each stray name printed to stderr) when
 * something else was there or removal failed, else 0. For tests whose
 * code must leave no temporary files behind. */
int unit_tmp_remove_expecting(const char *dir, const char *const *allowed);

#endif
