/* The libcurl functions nearup calls, each forwarding to libcurl loaded on
 * first use (lazylib.h). A call of a function not listed here fails the
 * link: add it to CURL_FUNCS (or CURL_VFUNCS for one returning void).
 *
 * The three variadic ones take one more argument whose type the option
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
    X(curl_multi_init, CURLM *, (void), ())                                                        \
    X(curl_multi_add_handle, CURLMcode, (CURLM * m, CURL * h), (m, h))                             \
    X(curl_multi_remove_handle, CURLMcode, (CURLM * m, CURL * h), (m, h))                          \
    X(curl_multi_assign, CURLMcode, (CURLM * m, curl_socket_t s, void *p), (m, s, p))              \
    X(curl_multi_cleanup, CURLMcode, (CURLM * m), (m))                                             \
    X(curl_multi_info_read, CURLMsg *, (CURLM * m, int *left), (m, left))                          \
    X(curl_multi_socket_action, CURLMcode, (CURLM * m, curl_socket_t s, int ev, int *running),     \
      (m, s, ev, running))                                                                         \
    X(curl_multi_strerror, const char *, (CURLMcode c), (c))                                       \
    X(curl_slist_append, struct curl_slist *, (struct curl_slist * l, const char *s), (l, s))

#define CURL_VFUNCS(X)                                                                             \
    X(curl_global_cleanup, (void), ())                                                             \
    X(curl_easy_cleanup, (CURL * h), (h))                                                          \
    X(curl_easy_reset, (CURL * h), (h))                                                            \
    X(curl_slist_free_all, (struct curl_slist * l), (l))

#define CURL_VARFUNCS(X) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_multi_setopt)

#define INDEX(name, ...) I_##name,
#define NAME(name, ...) #name,
enum { CURL_FUNCS(INDEX) CURL_VFUNCS(INDEX) CURL_VARFUNCS(INDEX) NFUNCS };
static const char *const names[] = {CURL_FUNCS(NAME) CURL_VFUNCS(NAME) CURL_VARFUNCS(NAME)};
static void *syms[NFUNCS];

struct nu_lazylib nu_libcurl = NU_LAZYLIB(NU_LIBCURL_SONAME, names, syms);

#define FORWARD(name, ret, params, args)                                                           \
    ret name params                                                                                \
    {                                                                                              \
        return ((ret(*) params)nu_lazylib_sym(&nu_libcurl, I_##name))args;                         \
    }
#define VFORWARD(name, params, args)                                                               \
    void name params                                                                               \
    {                                                                                              \
        ((void(*) params)nu_lazylib_sym(&nu_libcurl, I_##name)) args;                              \
    }

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

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
    CURLMcode (*fn)(CURLM *, CURLMoption, ...) = nu_lazylib_sym(&nu_libcurl, I_curl_multi_setopt);
    va_list ap;
    va_start(ap, opt);
    CURLMcode rc = FORWARD_OPTION(fn, m, opt, ap);
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
