/* Error codes shared by every nearup module.
 *
 * Functions return 0 on success and a negative NU_E* code on failure
 * (libuv's convention). Details go to a caller-provided buffer of
 * NU_ERRMSG_MAX bytes; library code never prints. */
#ifndef NU_ERROR_H
#define NU_ERROR_H

#include <stddef.h>

#define NU_ERRMSG_MAX 512
#define NU_WUR __attribute__((warn_unused_result))

enum nu_err {
    NU_OK = 0,
    NU_EINVAL = -1,    /* bad argument or malformed input */
    NU_ENOMEM = -2,    /* allocation failed */
    NU_EIO = -3,       /* read/write/fsync failed */
    NU_ENOENT = -4,    /* file, key or entry does not exist */
    NU_EEXIST = -5,    /* already exists */
    NU_ETOOBIG = -6,   /* a named limit was exceeded */
    NU_ETIMEDOUT = -7, /* deadline passed */
    NU_EPARSE = -8,    /* syntax error in JSON, HTTP, config ... */
    NU_ENET = -9,      /* connection or transfer failed */
    NU_EHTTP = -10,    /* HTTP reply with an unexpected status */
    NU_ECRYPTO = -11,  /* key or signature problem */
    NU_ESTATE = -12,   /* operation not valid in the current state */
    NU_ECHILD = -13,   /* child process failed to start or died */
    NU_EPERM = -14,    /* permission denied */
    NU_EVERIFY = -15,  /* checksum or signature mismatch */
};

/* Short static description of an NU_E* code ("invalid argument"). */
const char *nu_strerror(int err);

/* The NU_E* code for an errno value, the one mapping for every caller:
 * ENOENT and ESRCH (no such process) NU_ENOENT, EEXIST NU_EEXIST, EACCES
 * and EPERM NU_EPERM, ENOMEM NU_ENOMEM, EINVAL NU_EINVAL, anything else
 * NU_EIO. */
int nu_err_from_errno(int e);

/* Formats into errbuf (may be NULL, then nothing is written) and returns err,
 * so callers can write `return nu_err_set(errbuf, NU_EIO, "write %s: %s", p, strerror(errno));`.
 * errbuf must hold NU_ERRMSG_MAX bytes. The userinfo of every URL in the
 * message is replaced by "***" (redact.h), so no error shows a password. */
int nu_err_set(char *errbuf, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes errbuf's message with "prefix: " and returns rc (errbuf may be NULL). */
int nu_err_prefix(char *errbuf, int rc, const char *prefix);

/* Invariant check: aborts with file:line when cond is true. Never for bad input. */
#define NU_BUG_ON(cond)                                                                            \
    do {                                                                                           \
        if (cond)                                                                                  \
            nu_bug(__FILE__, __LINE__, #cond);                                                     \
    } while (0)
void nu_bug(const char *file, int line, const char *what) __attribute__((noreturn));

#endif
