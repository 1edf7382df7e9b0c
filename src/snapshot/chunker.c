/* Chunk objects: hashing, encoding and verified decoding (see chunker.h). */
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "chunker.h"

static const char MAGIC[4] = {'N', 'U', 'S', 'C'};
#define OBJ_VERSION 1

size_t snap_chunk_stored_max(size_t n)
{
    return SNAP_CHUNK_HDR + ZSTD_compressBound(n);
}

void snap_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int snap_unhex(const char *in, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int hi = nibble(in[2 * i]);
        int lo = hi < 0 ? -1 : nibble(in[2 * i + 1]);
        if (lo < 0)
            return NU_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return in[2 * len] == '\0' ? 0 : NU_EINVAL;
}

void snap_chunk_key(const uint8_t sha[SNAP_SHA256_LEN], char out[SNAP_CHUNK_KEY_MAX])
{
    char hex[SNAP_SHA256_HEX];
    snap_hex(sha, SNAP_SHA256_LEN, hex);
    snprintf(out, SNAP_CHUNK_KEY_MAX, "chunks/%.2s/%s", hex, hex);
}

int snap_chunk_key_parse(const char *rel, uint8_t sha[SNAP_SHA256_LEN])
{
    if (strlen(rel) != 3 + 2 * SNAP_SHA256_LEN || rel[2] != '/' || strncmp(rel, rel + 3, 2) != 0)
        return NU_EINVAL;
    return snap_unhex(rel + 3, sha, SNAP_SHA256_LEN);
}

static void put_header(uint8_t *h, enum snap_compression comp, uint64_t size)
{
    memcpy(h, MAGIC, 4);
    h[4] = OBJ_VERSION;
    h[5] = (uint8_t)comp;
    h[6] = h[7] = 0;
    for (int i = 0; i < 8; i++)
        h[8 + i] = (uint8_t)(size >> (8 * i));
}

int snap_chunk_encode(const void *plain, size_t len, bool want_zstd, uint8_t *out, size_t outcap,
                      size_t *outlen, enum snap_compression *comp, char *errbuf)
{
    if (outcap < snap_chunk_stored_max(len))
        return nu_err_set(errbuf, NU_ETOOBIG, "chunk buffer too small");
    *comp = SNAP_COMP_NONE;
    size_t n = 0;
    if (want_zstd && len > 0) {
        n = ZSTD_compress(out + SNAP_CHUNK_HDR, outcap - SNAP_CHUNK_HDR, plain, len,
                          SNAP_ZSTD_LEVEL);
        if (ZSTD_isError(n))
            return nu_err_set(errbuf, NU_EIO, "zstd: %s", ZSTD_getErrorName(n));
        if (n < len - len / 32)
            *comp = SNAP_COMP_ZSTD;
    }
    if (*comp == SNAP_COMP_NONE) {
        memcpy(out + SNAP_CHUNK_HDR, plain, len);
        n = len;
    }
    put_header(out, *comp, len);
    *outlen = SNAP_CHUNK_HDR + n;
    return 0;
}

int snap_chunk_header(const void *obj, size_t len, enum snap_compression *comp,
                      uint64_t *plain_size, char *errbuf)
{
    const uint8_t *h = obj;
    if (len < SNAP_CHUNK_HDR || memcmp(h, MAGIC, 4) != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "not a nearup chunk object (bad header)");
    if (h[4] != OBJ_VERSION || h[6] != 0 || h[7] != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "chunk object version %u is not supported", h[4]);
    if (h[5] != SNAP_COMP_NONE && h[5] != SNAP_COMP_ZSTD)
        return nu_err_set(errbuf, NU_EVERIFY, "unknown chunk compression %u", h[5]);
    uint64_t size = 0;
    for (int i = 7; i >= 0; i--)
        size = size << 8 | h[8 + i];
    *comp = (enum snap_compression)h[5];
    *plain_size = size;
    return 0;
}

int snap_chunk_decode(const void *obj, size_t len, const uint8_t sha[SNAP_SHA256_LEN],
                      size_t expect_size, uint8_t *plain, const char *key, char *errbuf)
{
    enum snap_compression comp;
    uint64_t size;
    uint8_t got[SNAP_SHA256_LEN];
    if (snap_chunk_header(obj, len, &comp, &size, errbuf) < 0)
        return nu_err_set(errbuf, NU_EVERIFY, "chunk %s: not a nearup chunk object", key);
    if (size != expect_size)
        return nu_err_set(errbuf, NU_EVERIFY, "chunk %s: holds %llu bytes, the manifest says %zu",
                          key, (unsigned long long)size, expect_size);
    const uint8_t *payload = (const uint8_t *)obj + SNAP_CHUNK_HDR;
    size_t plen = len - SNAP_CHUNK_HDR;
    if (comp == SNAP_COMP_NONE) {
        if (plen != expect_size)
            return nu_err_set(errbuf, NU_EVERIFY, "chunk %s: %zu bytes stored, %zu expected", key,
                              plen, expect_size);
        memcpy(plain, payload, plen);
    } else {
        unsigned long long fs = ZSTD_getFrameContentSize(payload, plen);
        if (fs != expect_size)
            return nu_err_set(errbuf, NU_EVERIFY, "chunk %s: zstd frame size does not match", key);
        size_t n = ZSTD_decompress(plain, expect_size, payload, plen);
        if (ZSTD_isError(n) || n != expect_size)
            return nu_err_set(errbuf, NU_EVERIFY, "chunk %s: zstd: %s", key,
                              ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame");
    }
    nu_sha256(plain, expect_size, got);
    if (memcmp(got, sha, SNAP_SHA256_LEN) != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "chunk %s: sha256 does not match its content", key);
    return 0;
}
