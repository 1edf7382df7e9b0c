/* The libcrypto (OpenSSL) functions nearup calls, each forwarding to
 * libcrypto loaded on first use (lazylib.h): the project's one SHA-256
 * (sha256.h), the MD5 of public snapshots' ETags, base64 for basic auth
 * (url.c) and the BIO, ERR and X509 parts of the TLS layer (hclient_tls.c,
 * whose libssl functions are in lazy_ssl.c). nearup-supervisor
 * links libcrypto itself instead. A call of a function not listed here
 * fails the link: add it to CRYPTO_FUNCS (or CRYPTO_VFUNCS for one
 * returning void). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co., see sha256.h */
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>

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
    X(EVP_EncodeBlock, int, (unsigned char *t, const unsigned char *f, int n), (t, f, n))          \
    X(BIO_s_mem, const BIO_METHOD *, (void), ())                                                   \
    X(BIO_new, BIO *, (const BIO_METHOD *m), (m))                                                  \
    X(BIO_free, int, (BIO * b), (b))                                                               \
    X(BIO_read, int, (BIO * b, void *d, int n), (b, d, n))                                         \
    X(BIO_write, int, (BIO * b, const void *d, int n), (b, d, n))                                  \
    X(BIO_ctrl, long, (BIO * b, int cmd, long l, void *p), (b, cmd, l, p))                         \
    X(BIO_ctrl_pending, size_t, (BIO * b), (b))                                                    \
    X(ERR_get_error, unsigned long, (void), ())                                                    \
    X(ERR_reason_error_string, const char *, (unsigned long e), (e))                               \
    X(X509_VERIFY_PARAM_set1_ip_asc, int, (X509_VERIFY_PARAM * p, const char *ip), (p, ip))        \
    X(X509_verify_cert_error_string, const char *, (long n), (n))                                  \
    X(EVP_md5, const EVP_MD *, (void), ())                                                         \
    X(EVP_MD_CTX_new, EVP_MD_CTX *, (void), ())                                                    \
    X(EVP_DigestInit_ex, int, (EVP_MD_CTX * c, const EVP_MD *t, ENGINE *e), (c, t, e))             \
    X(EVP_DigestUpdate, int, (EVP_MD_CTX * c, const void *d, size_t n), (c, d, n))                 \
    X(EVP_DigestFinal_ex, int, (EVP_MD_CTX * c, unsigned char *md, unsigned int *n), (c, md, n))

#define CRYPTO_VFUNCS(X)                                                                           \
    X(EVP_MD_CTX_free, (EVP_MD_CTX * c), (c))                                                      \
    X(ERR_clear_error, (void), ())                                                                 \
    X(OPENSSL_cleanse, (void *p, size_t n), (p, n))

enum { CRYPTO_FUNCS(NU_LAZY_INDEX) CRYPTO_VFUNCS(NU_LAZY_INDEX) NFUNCS };
static const char *const names[] = {CRYPTO_FUNCS(NU_LAZY_NAME) CRYPTO_VFUNCS(NU_LAZY_NAME)};
static void *syms[NFUNCS];

struct nu_lazylib nu_libcrypto = NU_LAZYLIB(NU_LIBCRYPTO_SONAME, names, syms);

#define FORWARD(...) NU_LAZY_FORWARD(nu_libcrypto, __VA_ARGS__)
#define VFORWARD(...) NU_LAZY_VFORWARD(nu_libcrypto, __VA_ARGS__)

CRYPTO_FUNCS(FORWARD)
CRYPTO_VFUNCS(VFORWARD)
