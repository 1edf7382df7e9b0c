/* xz decompression via liblzma (see fs.h): NEAR ships genesis.json.xz. */
#include <lzma.h>
#include <string.h>

#include "buf.h"
#include "xz.h"

#define XZ_CHUNK 65536

static const uint8_t xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};

bool nu_xz_is_xz(const void *data, size_t len)
{
    return len >= sizeof(xz_magic) && memcmp(data, xz_magic, sizeof(xz_magic)) == 0;
}

static int lzma_error(lzma_ret ret, char *errbuf)
{
    switch (ret) {
    case LZMA_MEM_ERROR:
        return nu_err_set(errbuf, NU_ENOMEM, "xz: out of memory");
    case LZMA_FORMAT_ERROR:
        return nu_err_set(errbuf, NU_EPARSE, "xz: not an xz stream");
    case LZMA_OPTIONS_ERROR:
        return nu_err_set(errbuf, NU_EPARSE, "xz: unsupported compression options");
    case LZMA_BUF_ERROR:
        return nu_err_set(errbuf, NU_EPARSE, "xz: truncated input");
    default:
        return nu_err_set(errbuf, NU_EPARSE, "xz: corrupt input (liblzma error %d)", (int)ret);
    }
}

/* Runs the decoder over all input, appending output to b. */
static int run_decoder(lzma_stream *s, struct nu_buf *b, size_t max, char *errbuf)
{
    uint8_t chunk[XZ_CHUNK];
    for (;;) {
        s->next_out = chunk;
        s->avail_out = sizeof(chunk);
        lzma_ret ret = lzma_code(s, LZMA_FINISH);
        size_t got = sizeof(chunk) - s->avail_out;
        int rc = nu_buf_append(b, chunk, got);
        if (rc == NU_ETOOBIG)
            return nu_err_set(errbuf, rc, "xz: output larger than %zu bytes", max);
        if (rc < 0)
            return nu_err_set(errbuf, rc, "xz: out of memory");
        if (ret == LZMA_STREAM_END)
            return 0;
        if (ret != LZMA_OK)
            return lzma_error(ret, errbuf);
    }
}

int nu_xz_decompress(const void *in, size_t inlen, size_t max, char **out, size_t *outlen,
                     char *errbuf)
{
    *out = NULL;
    if (!nu_xz_is_xz(in, inlen))
        return lzma_error(LZMA_FORMAT_ERROR, errbuf); /* before liblzma calls it truncated */
    lzma_stream s = LZMA_STREAM_INIT;
    /* No memory limit beyond liblzma's own; LZMA_CONCATENATED accepts
     * multi-stream files as xz(1) does. */
    lzma_ret ret = lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED);
    if (ret != LZMA_OK)
        return lzma_error(ret, errbuf);
    s.next_in = in;
    s.avail_in = inlen;
    struct nu_buf b;
    nu_buf_init(&b, max);
    int rc = run_decoder(&s, &b, max, errbuf);
    lzma_end(&s);
    if (rc < 0) {
        nu_buf_release(&b);
        return rc;
    }
    size_t len = b.len;
    *out = nu_buf_take(&b);
    if (*out == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "xz: out of memory");
    if (outlen != NULL)
        *outlen = len;
    return 0;
}
