/* SHA-256 through OpenSSL's low-level functions (see sha256.h for why not
 * EVP or libsodium). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

_Static_assert(sizeof(struct nu_sha256) >= sizeof(SHA256_CTX), "nu_sha256 holds a SHA256_CTX");
_Static_assert(_Alignof(struct nu_sha256) >= _Alignof(SHA256_CTX), "nu_sha256 alignment");

void nu_sha256_init(struct nu_sha256 *h)
{
    SHA256_Init((SHA256_CTX *)h->opaque);
}

void nu_sha256_update(struct nu_sha256 *h, const void *data, size_t len)
{
    SHA256_Update((SHA256_CTX *)h->opaque, data, len);
}

void nu_sha256_final(struct nu_sha256 *h, uint8_t out[NU_SHA256_LEN])
{
    SHA256_Final(out, (SHA256_CTX *)h->opaque);
}

void nu_sha256(const void *data, size_t len, uint8_t out[NU_SHA256_LEN])
{
    SHA256(data, len, out);
}

void nu_sha256_hex(const uint8_t md[NU_SHA256_LEN], char out[NU_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < NU_SHA256_LEN; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[NU_SHA256_HEX - 1] = '\0';
}

int nu_sha256_fd(int fd, const char *path, char out[NU_SHA256_HEX], char *errbuf)
{
    uint8_t md[NU_SHA256_LEN];
    struct nu_sha256 h;
    unsigned char *buf = malloc(NU_SHA256_CHUNK);
    if (buf == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int err = 0;
    nu_sha256_init(&h);
    for (;;) {
        ssize_t r = read(fd, buf, NU_SHA256_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = nu_err_set(errbuf, NU_EIO, "read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        nu_sha256_update(&h, buf, (size_t)r);
    }
    nu_sha256_final(&h, md);
    nu_sha256_hex(md, out);
out:
    free(buf);
    return err;
}

int nu_sha256_file(const char *path, char out[NU_SHA256_HEX], char *errbuf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    int err = nu_sha256_fd(fd, path, out, errbuf);
    close(fd);
    return err;
}
