/* The libssl (OpenSSL) functions the event-loop HTTP client's TLS layer
 * (hclient_tls.c) calls, each forwarding to libssl loaded on first use
 * (lazylib.h); the libcrypto ones it calls (BIO, ERR, X509) are in
 * lazy_crypto.c. A call of a function not listed here fails the link: add
 * it to SSL_FUNCS (or SSL_VFUNCS for one returning void). */
#include <openssl/ssl.h>

#include "lazylib.h"

#ifndef NU_LIBSSL_SONAME
#define NU_LIBSSL_SONAME "libssl.so.3"
#endif

/* name, return type, parameters, arguments */
#define SSL_FUNCS(X)                                                                               \
    X(TLS_client_method, const SSL_METHOD *, (void), ())                                           \
    X(SSL_CTX_new, SSL_CTX *, (const SSL_METHOD *m), (m))                                          \
    X(SSL_CTX_set_default_verify_paths, int, (SSL_CTX * c), (c))                                   \
    X(SSL_CTX_ctrl, long, (SSL_CTX * c, int cmd, long l, void *p), (c, cmd, l, p))                 \
    X(SSL_new, SSL *, (SSL_CTX * c), (c))                                                          \
    X(SSL_ctrl, long, (SSL * s, int cmd, long l, void *p), (s, cmd, l, p))                         \
    X(SSL_do_handshake, int, (SSL * s), (s))                                                       \
    X(SSL_get0_param, X509_VERIFY_PARAM *, (SSL * s), (s))                                         \
    X(SSL_get_error, int, (const SSL *s, int rc), (s, rc))                                         \
    X(SSL_get_verify_result, long, (const SSL *s), (s))                                            \
    X(SSL_read, int, (SSL * s, void *b, int n), (s, b, n))                                         \
    X(SSL_write, int, (SSL * s, const void *b, int n), (s, b, n))                                  \
    X(SSL_set1_host, int, (SSL * s, const char *h), (s, h))

#define SSL_VFUNCS(X)                                                                              \
    X(SSL_CTX_free, (SSL_CTX * c), (c))                                                            \
    X(SSL_CTX_set_verify, (SSL_CTX * c, int mode, SSL_verify_cb cb), (c, mode, cb))                \
    X(SSL_free, (SSL * s), (s))                                                                    \
    X(SSL_set_bio, (SSL * s, BIO * r, BIO * w), (s, r, w))                                         \
    X(SSL_set_connect_state, (SSL * s), (s))

enum { SSL_FUNCS(NU_LAZY_INDEX) SSL_VFUNCS(NU_LAZY_INDEX) NFUNCS };
static const char *const names[] = {SSL_FUNCS(NU_LAZY_NAME) SSL_VFUNCS(NU_LAZY_NAME)};
static void *syms[NFUNCS];

struct nu_lazylib nu_libssl = NU_LAZYLIB(NU_LIBSSL_SONAME, names, syms);

#define FORWARD(...) NU_LAZY_FORWARD(nu_libssl, __VA_ARGS__)
#define VFORWARD(...) NU_LAZY_VFORWARD(nu_libssl, __VA_ARGS__)

SSL_FUNCS(FORWARD)
SSL_VFUNCS(VFORWARD)
