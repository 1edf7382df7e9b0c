/* The libarchive functions nearup calls (the incident bundle's tar.zst
 * writer, src/bundle), each forwarding to libarchive loaded on first use
 * (lazylib.h): Debian's libarchive maps libxml2, ICU and libstdc++ with it,
 * which no other command should pay for at start-up. A call of a function
 * not listed here fails the link: add it to ARCHIVE_FUNCS (or
 * ARCHIVE_VFUNCS for one returning void). */
#include <archive.h>
#include <archive_entry.h>

#include "lazylib.h"

#ifndef NU_LIBARCHIVE_SONAME
#define NU_LIBARCHIVE_SONAME "libarchive.so.13"
#endif

/* name, return type, parameters, arguments */
#define ARCHIVE_FUNCS(X)                                                                           \
    X(archive_write_new, struct archive *, (void), ())                                             \
    X(archive_write_set_format_pax_restricted, int, (struct archive * a), (a))                     \
    X(archive_write_add_filter_zstd, int, (struct archive * a), (a))                               \
    X(archive_write_set_filter_option, int,                                                        \
      (struct archive * a, const char *m, const char *o, const char *v), (a, m, o, v))             \
    X(archive_write_set_bytes_in_last_block, int, (struct archive * a, int n), (a, n))             \
    X(archive_write_open_fd, int, (struct archive * a, int fd), (a, fd))                           \
    X(archive_write_header, int, (struct archive * a, struct archive_entry * e), (a, e))           \
    X(archive_write_data, la_ssize_t, (struct archive * a, const void *d, size_t n), (a, d, n))    \
    X(archive_write_finish_entry, int, (struct archive * a), (a))                                  \
    X(archive_write_close, int, (struct archive * a), (a))                                         \
    X(archive_write_free, int, (struct archive * a), (a))                                          \
    X(archive_error_string, const char *, (struct archive * a), (a))                               \
    X(archive_errno, int, (struct archive * a), (a))                                               \
    X(archive_entry_new, struct archive_entry *, (void), ())

#define ARCHIVE_VFUNCS(X)                                                                          \
    X(archive_entry_free, (struct archive_entry * e), (e))                                         \
    X(archive_entry_set_pathname_utf8, (struct archive_entry * e, const char *p), (e, p))          \
    X(archive_entry_set_size, (struct archive_entry * e, la_int64_t n), (e, n))                    \
    X(archive_entry_set_filetype, (struct archive_entry * e, unsigned int t), (e, t))              \
    X(archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T m), (e, m))                   \
    X(archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))

enum { ARCHIVE_FUNCS(NU_LAZY_INDEX) ARCHIVE_VFUNCS(NU_LAZY_INDEX) NFUNCS };
static const char *const names[] = {ARCHIVE_FUNCS(NU_LAZY_NAME) ARCHIVE_VFUNCS(NU_LAZY_NAME)};
static void *syms[NFUNCS];

struct nu_lazylib nu_libarchive = NU_LAZYLIB(NU_LIBARCHIVE_SONAME, names, syms);

#define FORWARD(...) NU_LAZY_FORWARD(nu_libarchive, __VA_ARGS__)
#define VFORWARD(...) NU_LAZY_VFORWARD(nu_libarchive, __VA_ARGS__)

ARCHIVE_FUNCS(FORWARD)
ARCHIVE_VFUNCS(VFORWARD)
