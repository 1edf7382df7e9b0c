/* Bitcoin-alphabet base58 (see base58.h): the input is a big-endian number;
 * each leading zero byte is written as a leading '1'. Quadratic in the input
 * length, which is fine for hashes and keys. */
#include "base58.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Largest input accepted, so lengths always fit the int return value. */
#define BASE58_INPUT_MAX (1u << 20)

static int digit_value(unsigned char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Multiplies the big-endian number in num[size - *used .. size) by mul and
 * adds carry, growing *used as needed; num must have room (checked by the
 * callers' size estimates). */
static void mul_add(uint8_t *num, size_t size, size_t *used, unsigned mul, unsigned base,
                    unsigned carry)
{
    size_t i = 0;
    for (size_t k = size; k > 0 && (carry != 0 || i < *used); k--, i++) {
        carry += mul * num[k - 1];
        num[k - 1] = (uint8_t)(carry % base);
        carry /= base;
    }
    *used = i;
}

int nu_base58_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
    if (len > BASE58_INPUT_MAX)
        return NU_ETOOBIG;
    size_t zeros = 0;
    while (zeros < len && in[zeros] == 0)
        zeros++;
    /* log(256) / log(58) < 1.38 digits per byte. */
    size_t size = (len - zeros) * 138 / 100 + 1, used = 0;
    uint8_t *digits = calloc(size, 1);
    if (digits == NULL)
        return NU_ENOMEM;
    for (size_t i = zeros; i < len; i++)
        mul_add(digits, size, &used, 256, 58, in[i]);
    size_t start = size - used;
    while (start < size && digits[start] == 0)
        start++;
    size_t total = zeros + (size - start);
    int rc = NU_ETOOBIG;
    if (total < outsz) {
        memset(out, '1', zeros);
        for (size_t i = start; i < size; i++)
            out[zeros + i - start] = alphabet[digits[i]];
        out[total] = '\0';
        rc = (int)total;
    }
    free(digits);
    return rc;
}

int nu_base58_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen)
{
    size_t n = strlen(in);
    if (n > BASE58_INPUT_MAX)
        return NU_ETOOBIG;
    size_t ones = 0;
    while (ones < n && in[ones] == '1')
        ones++;
    /* log(58) / log(256) < 0.733 bytes per digit. */
    size_t size = (n - ones) * 733 / 1000 + 1, used = 0;
    uint8_t *num = calloc(size, 1);
    if (num == NULL)
        return NU_ENOMEM;
    int rc = 0;
    for (size_t i = ones; i < n && rc == 0; i++) {
        int d = digit_value((unsigned char)in[i]);
        if (d < 0)
            rc = NU_EINVAL;
        else
            mul_add(num, size, &used, 58, 256, (unsigned)d);
    }
    size_t start = size - used;
    while (start < size && num[start] == 0)
        start++;
    size_t total = ones + (size - start);
    if (rc == 0 && total > outsz)
        rc = NU_ETOOBIG;
    if (rc == 0) {
        memset(out, 0, ones);
        memcpy(out + ones, num + start, size - start);
        *outlen = total;
    }
    free(num);
    return rc;
}
