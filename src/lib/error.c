/* Error codes and messages (see error.h). */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "redact.h"

int nu_err_from_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ESRCH:
        return NU_ENOENT;
    case EEXIST:
        return NU_EEXIST;
    case EACCES:
    case EPERM:
        return NU_EPERM;
    case ENOMEM:
        return NU_ENOMEM;
    case EINVAL:
        return NU_EINVAL;
    default:
        return NU_EIO;
    }
}

const char *nu_strerror(int err)
{
    switch (err) {
    case NU_OK:
        return "success";
    case NU_EINVAL:
        return "invalid argument";
    case NU_ENOMEM:
        return "out of memory";
    case NU_EIO:
        return "input/output error";
    case NU_ENOENT:
        return "not found";
    case NU_EEXIST:
        return "already exists";
    case NU_ETOOBIG:
        return "too big";
    case NU_ETIMEDOUT:
        return "timed out";
    case NU_EPARSE:
        return "parse error";
    case NU_ENET:
        return "network error";
    case NU_EHTTP:
        return "unexpected HTTP status";
    case NU_ECRYPTO:
        return "key or signature error";
    case NU_ESTATE:
        return "invalid state";
    case NU_ECHILD:
        return "child process failed";
    case NU_EPERM:
        return "permission denied";
    case NU_EVERIFY:
        return "verification failed";
    default:
        return "unknown error";
    }
}

/* Formats the whole message before it is cut to NU_ERRMSG_MAX: a URL cut
 * short before the '@' of its userinfo would show part of a password. */
int nu_err_set(char *errbuf, int err, const char *fmt, ...)
{
    if (errbuf == NULL)
        return err;
    char text[NU_ERRMSG_MAX * 4], *big = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(text) && (big = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        n = vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
    } else if (n >= (int)sizeof(text)) {
        n = -1; /* out of memory: no message beats a password */
    }
    if (n < 0)
        text[0] = '\0';
    /* Truncation is acceptable: a cut-off message beats a failed report.
     * Messages name URLs (GET <url>: ...); their credentials stay out. */
    nu_redact(big != NULL && n >= 0 ? big : text, errbuf, NU_ERRMSG_MAX);
    free(big);
    return err;
}

void nu_bug(const char *file, int line, const char *what)
{
    /* stdio may be in any state when an invariant breaks; keep it simple. */
    fprintf(stderr, "BUG: %s:%d: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

int nu_err_prefix(char *errbuf, int rc, const char *prefix)
{
    char tmp[NU_ERRMSG_MAX];
    if (errbuf == NULL)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s", errbuf);
    return nu_err_set(errbuf, rc, "%s: %s", prefix, tmp);
}
