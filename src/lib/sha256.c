/* sha256 of a file (see sha256.h). */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

int nu_sha256_fd(int fd, const char *path, char out[NU_SHA256_HEX], char *errbuf)
{
    unsigned char md[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    unsigned char *buf = malloc(NU_SHA256_CHUNK);
    if (buf == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int err = 0;
    crypto_hash_sha256_init(&st);
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
        crypto_hash_sha256_update(&st, buf, (unsigned long long)r);
    }
    crypto_hash_sha256_final(&st, md);
    sodium_bin2hex(out, NU_SHA256_HEX, md, sizeof(md));
out:
    free(buf);
    return err;
}

int nu_sha256_file(const char *path, char out[NU_SHA256_HEX], char *errbuf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_set(errbuf, errno == ENOENT ? NU_ENOENT : NU_EIO, "open %s: %s", path,
                          strerror(errno));
    int err = nu_sha256_fd(fd, path, out, errbuf);
    close(fd);
    return err;
}
