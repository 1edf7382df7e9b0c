/* File helpers. Every write that matters goes through nu_fs_write_atomic (or,
 * for a file written in pieces, nu_fs_atomic_open/commit):
 * temp file in the same directory, write, fsync, rename, fsync directory. */
#ifndef NU_FS_H
#define NU_FS_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* Writes all len bytes of buf to fd, again after EINTR and short writes.
 * 0, or NU_EIO with errno saying why (EIO when write(2) wrote nothing). */
NU_WUR int nu_write_all(int fd, const void *buf, size_t len);
/* nu_write_all at offset off (pwrite(2)): fd's file position stays. */
NU_WUR int nu_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

NU_WUR int nu_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                              char *errbuf);

/* The same replace for a file written piece by piece (an archive streamed
 * out): open gives a->fd, a temp file beside path; commit sets mode,
 * fsyncs, renames it over path and fsyncs the directory, or removes the
 * temp file when any step fails; abort closes and removes it (accepts a
 * closed or NULL a). Until commit, path is untouched. */
struct nu_fs_atomic {
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    int fd; /* -1 once committed or aborted */
    mode_t mode;
};
NU_WUR int nu_fs_atomic_open(struct nu_fs_atomic *a, const char *path, mode_t mode, char *errbuf);
NU_WUR int nu_fs_atomic_commit(struct nu_fs_atomic *a, char *errbuf);
void nu_fs_atomic_abort(struct nu_fs_atomic *a);
/* Reads a whole file into *out (NUL-terminated, caller frees). Fails with
 * NU_ETOOBIG when the file is larger than max bytes, NU_ENOENT if missing. */
NU_WUR int nu_fs_read_file(const char *path, size_t max, char **out, size_t *outlen, char *errbuf);
/* mkdir -p with mode for created directories. */
NU_WUR int nu_fs_mkdir_p(const char *path, mode_t mode, char *errbuf);
bool nu_fs_exists(const char *path);
bool nu_fs_is_dir(const char *path);
/* opendir(path) where a directory that does not exist yet is an empty
 * one: 0 with *d NULL. Else "open PATH: why" in errbuf. */
NU_WUR int nu_fs_opendir(const char *path, DIR **d, char *errbuf);
/* True when path is a directory with no entries, or does not exist. */
bool nu_fs_dir_empty(const char *path);
/* Joins a and b with one '/', into out. NU_ETOOBIG when it does not fit. */
NU_WUR int nu_fs_join(char *out, size_t outsz, const char *a, const char *b);
/* fsync of a directory (after creating or renaming entries in it). */
NU_WUR int nu_fs_fsync_dir(const char *dir, char *errbuf);
/* Removes name under dirfd (a file, or a directory with everything in it)
 * without ever following a symlink: a symlink is removed, not its target.
 * An absent name is not an error. NU_ETOOBIG past RM_DEPTH_MAX levels. */
NU_WUR int nu_fs_rm_tree_at(int dirfd, const char *name, char *errbuf);
/* nu_fs_rm_tree_at for a path (its last component may not be a symlink
 * to follow either: it is removed as the link it is). The one rm -rf of
 * nearup; errors read "remove PATH: unlink NAME: why". */
NU_WUR int nu_fs_rm_tree(const char *path, char *errbuf);

#endif
