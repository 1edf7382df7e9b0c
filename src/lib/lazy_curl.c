/* The libcurl functions nearup calls, each forwarding to libcurl loaded on
 * first use (lazylib.h). A call of a function not listed here fails the
 * link: add it to CURL_FUNCS (or CURL_VFUNCS for one returning void).
 *
 * The two variadic ones take one more argument whose type the option
 * number encodes (CURLOPTTYPE_*), as libcurl itself reads it: it is read
 * and passed on with that type. */
#define CURL_DISABLE_TYPECHECK /* its macros would rename the definitions below */
#include <stdarg.h>
#include <curl/curl.h>

#include "lazylib.h"

#ifndef NU_LIBCURL_SONAME
#define NU_LIBCURL_SONAME "libcurl.so.4"
#endif

/* name, return type, parameters, arguments */
#define CURL_FUNCS(X)                                                                              \
    X(curl_global_init, CURLcode, (long flags), (flags))                                           \
    X(curl_easy_init, CURL *, (void), ())                                                          \
    X(curl_easy_perform, CURLcode, (CURL * h), (h))                                                \
    X(curl_easy_strerror, const char *, (CURLcode c), (c))                                         \
    X(curl_slist_append, struct curl_slist *, (struct curl_slist * l, const char *s), (l, s))

#define CURL_VFUNCS(X)                                                                             \
    X(curl_global_cleanup, (void), ())                                                             \
    X(curl_easy_cleanup, (CURL * h), (h))                                                          \
    X(curl_easy_reset, (CURL * h), (h))                                                            \
    X(curl_slist_free_all, (struct curl_slist * l), (l))

#define CURL_VARFUNCS(X) X(curl_easy_setopt) X(curl_easy_getinfo)

enum { CURL_FUNCS(NU_LAZY_INDEX) CURL_VFUNCS(NU_LAZY_INDEX) CURL_VARFUNCS(NU_LAZY_INDEX) NFUNCS };
static const char *const names[] = {CURL_FUNCS(NU_LAZY_NAME) CURL_VFUNCS(NU_LAZY_NAME)
                                        CURL_VARFUNCS(NU_LAZY_NAME)};
static void *syms[NFUNCS];

struct nu_lazylib nu_libcurl = NU_LAZYLIB(NU_LIBCURL_SONAME, names, syms);

#define FORWARD(...) NU_LAZY_FORWARD(nu_libcurl, __VA_ARGS__)
#define VFORWARD(...) NU_LAZY_VFORWARD(nu_libcurl, __VA_ARGS__)

CURL_FUNCS(FORWARD)
CURL_VFUNCS(VFORWARD)

/* The argument after an option, by the option's type (libcurl's rule). */
#define FORWARD_OPTION(fn, handle, opt, ap)                                                        \
    ((opt) < CURLOPTTYPE_OBJECTPOINT     ? (fn)(handle, opt, va_arg(ap, long))                     \
     : (opt) < CURLOPTTYPE_FUNCTIONPOINT ? (fn)(handle, opt, va_arg(ap, void *))                   \
     : (opt) < CURLOPTTYPE_OFF_T         ? (fn)(handle, opt, va_arg(ap, void (*)(void)))           \
     : (opt) < CURLOPTTYPE_BLOB          ? (fn)(handle, opt, va_arg(ap, curl_off_t))               \
                                         : (fn)(handle, opt, va_arg(ap, void *)))

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    CURLcode (*fn)(CURL *, CURLoption, ...) = nu_lazylib_sym(&nu_libcurl, I_curl_easy_setopt);
    va_list ap;
    va_start(ap, opt);
    CURLcode rc = FORWARD_OPTION(fn, h, opt, ap);
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    CURLcode (*fn)(CURL *, CURLINFO, ...) = nu_lazylib_sym(&nu_libcurl, I_curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    CURLcode rc = fn(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}
