/* The event-loop HTTP client's TLS layer over OpenSSL (see hclient.h): one
 * SSL object per connection between two memory BIOs, so the loop does the
 * socket I/O and OpenSSL only transforms bytes. Servers are verified
 * against the system's trust store; the certificate must name the
 * target's host (a DNS name, or an IP address given as such). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hclient.h"

#define TLS_READ_CHUNK 16384 /* one TLS record at most */

struct session {
    SSL *ssl;
    BIO *in, *out; /* ciphertext from / to the server; owned by ssl */
};

/* The certificate check's verdict, else OpenSSL's first queued error
 * (its reason only: "wrong version number"), after what failed. */
static int ssl_error(SSL *ssl, const char *what, char *errbuf)
{
    unsigned long e = ERR_get_error();
    long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    if (verify != X509_V_OK)
        return nu_err_set(errbuf, NU_ECRYPTO, "%scertificate not trusted: %s", what,
                          X509_verify_cert_error_string(verify));
    return nu_err_set(errbuf, NU_ECRYPTO, "%s%s", what, reason ? reason : "connection broken");
}

/* The certificate must be for name: an IP address is matched as one, a
 * name as a DNS name (and sent as SNI). */
static int set_name(SSL *ssl, const char *name, char *errbuf)
{
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                   : SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
    return ok == 1 ? 0 : ssl_error(NULL, "server name: ", errbuf);
}

static void *tls_open(void *ctx, const char *name, char *errbuf)
{
    struct session *s = calloc(1, sizeof(*s));
    if (!s) {
        nu_err_set(errbuf, NU_ENOMEM, "out of memory");
        return NULL;
    }
    ERR_clear_error();
    s->ssl = SSL_new(ctx);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    if (!s->ssl || !s->in || !s->out) {
        ssl_error(NULL, "session: ", errbuf);
        BIO_free(s->in);
        BIO_free(s->out);
        SSL_free(s->ssl);
        free(s);
        return NULL;
    }
    BIO_set_mem_eof_return(s->in, -1); /* empty means "wait for more", not EOF */
    SSL_set_bio(s->ssl, s->in, s->out);
    SSL_set_connect_state(s->ssl);
    if (set_name(s->ssl, name, errbuf) != 0) {
        SSL_free(s->ssl);
        free(s);
        return NULL;
    }
    return s;
}

static void tls_close(void *sess)
{
    struct session *s = sess;
    SSL_free(s->ssl);
    free(s);
}

static int tls_handshake(void *sess, char *errbuf)
{
    struct session *s = sess;
    ERR_clear_error();
    int rc = SSL_do_handshake(s->ssl);
    if (rc == 1)
        return 1;
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    return ssl_error(s->ssl, "", errbuf);
}

static int tls_feed(void *sess, const char *data, size_t len, char *errbuf)
{
    struct session *s = sess;
    if (len > 0 && BIO_write(s->in, data, (int)len) != (int)len)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    return 0;
}

static int tls_read(void *sess, struct nu_buf *out, char *errbuf)
{
    struct session *s = sess;
    char chunk[TLS_READ_CHUNK];
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(s->ssl, chunk, sizeof(chunk));
        if (n > 0) {
            if (nu_buf_append(out, chunk, (size_t)n) != 0)
                return nu_err_set(errbuf, NU_ETOOBIG, "more decrypted at once than %zu bytes",
                                  out->max);
            continue;
        }
        int e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN)
            return 1;
        return ssl_error(s->ssl, "read: ", errbuf);
    }
}

static int tls_write(void *sess, const void *data, size_t len, char *errbuf)
{
    struct session *s = sess;
    ERR_clear_error();
    if (len > 0 && SSL_write(s->ssl, data, (int)len) != (int)len)
        return ssl_error(s->ssl, "write: ", errbuf);
    return 0;
}

static size_t tls_pending(void *sess)
{
    struct session *s = sess;
    return BIO_ctrl_pending(s->out);
}

static size_t tls_take(void *sess, char *out, size_t outsz)
{
    struct session *s = sess;
    int n = BIO_read(s->out, out, (int)outsz);
    return n > 0 ? (size_t)n : 0;
}

static const struct nu_hc_tls_ops openssl_ops = {
    .open = tls_open,
    .close = tls_close,
    .handshake = tls_handshake,
    .feed = tls_feed,
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .take = tls_take,
};

int nu_hc_tls_client(struct nu_hc_tls **out, char *errbuf)
{
    *out = NULL;
    struct nu_hc_tls *t = calloc(1, sizeof(*t));
    SSL_CTX *ctx = t ? SSL_CTX_new(TLS_client_method()) : NULL;
    if (!ctx) {
        free(t);
        return ssl_error(NULL, "TLS: ", errbuf);
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        SSL_CTX_free(ctx);
        free(t);
        return ssl_error(NULL, "TLS trust store: ", errbuf);
    }
    t->ops = &openssl_ops;
    t->ctx = ctx;
    *out = t;
    return 0;
}

void nu_hc_tls_free(struct nu_hc_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}
