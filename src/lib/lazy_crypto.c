/* The libcrypto (OpenSSL) functions nearup calls, each forwarding to
 * libcrypto loaded on first use (lazylib.h): the project's one SHA-256
 * (sha256.h) and the MD5 of public snapshots' ETags. nearup-supervisor
 * links libcrypto itself instead. A call of a function not listed here
 * fails the link: add it to CRYPTO_FUNCS (or CRYPTO_VFUNCS for one
 * returning void). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co., see sha256.h */
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "lazylib.h"

#ifndef NU_LIBCRYPTO_SONAME
#define NU_LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

/* name, return type, parameters, arguments */
#define CRYPTO_FUNCS(X)                                                                            \
    X(SHA256, unsigned char *, (const unsigned char *d, size_t n, unsigned char *md), (d, n, md))  \
    X(SHA256_Init, int, (SHA256_CTX * c), (c))                                                     \
    X(SHA256_Update, int, (SHA256_CTX * c, const void *d, size_t n), (c, d, n))                    \
    X(SHA256_Final, int, (unsigned char *md, SHA256_CTX *c), (md, c))                              \
    X(EVP_md5, const EVP_MD *, (void), ())                                                         \
    X(EVP_MD_CTX_new, EVP_MD_CTX *, (void), ())                                                    \
    X(EVP_DigestInit_ex, int, (EVP_MD_CTX * c, const EVP_MD *t, ENGINE *e), (c, t, e))             \
    X(EVP_DigestUpdate, int, (EVP_MD_CTX * c, const void *d, size_t n), (c, d, n))                 \
    X(EVP_DigestFinal_ex, int, (EVP_MD_CTX * c, unsigned char *md, unsigned int *n), (c, md, n))

#define CRYPTO_VFUNCS(X) X(EVP_MD_CTX_free, (EVP_MD_CTX * c), (c))

#define INDEX(name, ...) I_##name,
#define NAME(name, ...) #name,
enum { CRYPTO_FUNCS(INDEX) CRYPTO_VFUNCS(INDEX) NFUNCS };
static const char *const names[] = {CRYPTO_FUNCS(NAME) CRYPTO_VFUNCS(NAME)};
static void *syms[NFUNCS];

struct nu_lazylib nu_libcrypto = NU_LAZYLIB(NU_LIBCRYPTO_SONAME, names, syms);

#define FORWARD(name, ret, params, args)                                                           \
    ret name params                                                                                \
    {                                                                                              \
        return ((ret(*) params)nu_lazylib_sym(&nu_libcrypto, I_##name))args;                       \
    }
#define VFORWARD(name, params, args)                                                               \
    void name params                                                                               \
    {                                                                                              \
        ((void(*) params)nu_lazylib_sym(&nu_libcrypto, I_##name)) args;                            \
    }

CRYPTO_FUNCS(FORWARD)
CRYPTO_VFUNCS(VFORWARD)
