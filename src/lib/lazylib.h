/* Libraries only some commands need, loaded when they are first used.
 *
 * libcurl (with the TLS, HTTP/2, LDAP, Kerberos, ... libraries it pulls
 * in) and OpenSSL's libcrypto cost nearup most of its start-up if the
 * dynamic loader maps and relocates them for every command (bench/
 * RESULTS.md, "nearup start-up"): `nearup stop` needs neither. So nearup
 * does not link them; lazy_curl.c and lazy_crypto.c define the functions
 * of theirs the code calls, and each forwards to the real one, which the
 * first call dlopen()s (all symbols at once, checked). Callers include
 * <curl/curl.h> and <openssl/...> and call the functions as usual.
 *
 * nu_lazylib_load loads explicitly and reports failure (nu_httpc_global_init
 * does, so a command that needs libcurl says so); a forwarding function
 * that finds its library missing does what the dynamic loader would have
 * done at start-up: one line on stderr, exit status 127. */
#ifndef NU_LAZYLIB_H
#define NU_LAZYLIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "error.h"

struct nu_lazylib {
    const char *soname;       /* what dlopen gets: "libcurl.so.4" */
    const char *const *names; /* the symbols, in the order of syms */
    void **syms;              /* filled by the load */
    size_t n;
    pthread_mutex_t lock;
    atomic_int state; /* 0 not tried, 1 loaded, -1 failed (error says why) */
    char error[NU_ERRMSG_MAX];
};

#define NU_LAZYLIB(soname_, names_, syms_)                                                         \
    {                                                                                              \
        .soname = soname_, .names = names_, .syms = syms_,                                         \
        .n = sizeof(names_) / sizeof((names_)[0]), .lock = PTHREAD_MUTEX_INITIALIZER               \
    }

/* The pieces a lazy_<lib>.c builds from its X-macro lists of functions
 * (name, return type, parameters, arguments): an index per function, the
 * names table, and the forwarding definitions. */
#define NU_LAZY_INDEX(name, ...) I_##name,
#define NU_LAZY_NAME(name, ...) #name,
#define NU_LAZY_FORWARD(lib, name, ret, params, args)                                              \
    ret name params                                                                                \
    {                                                                                              \
        return ((ret(*) params)nu_lazylib_sym(&(lib), I_##name))args;                              \
    }
#define NU_LAZY_VFORWARD(lib, name, params, args)                                                  \
    void name params                                                                               \
    {                                                                                              \
        ((void(*) params)nu_lazylib_sym(&(lib), I_##name)) args;                                   \
    }

extern struct nu_lazylib nu_libcurl, nu_libcrypto, nu_libssl, nu_libarchive;

/* Loads l once (thread-safe). 0, or NU_EIO with the loader's words in
 * errbuf (may be NULL): "libx.so.1: cannot open shared object file: No
 * such file or directory", "libx.so.1: no symbol f". */
NU_WUR int nu_lazylib_load(struct nu_lazylib *l, char *errbuf);
/* Symbol i of l, loading l first; exits the process (127) when l cannot
 * be loaded. */
void *nu_lazylib_sym(struct nu_lazylib *l, size_t i);

#endif
