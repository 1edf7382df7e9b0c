/* libFuzzer target for the debug bundle's scrubber (src/bundle/scrub.c):
 * any bytes. What it gives back holds no ed25519: text longer than a
 * public key and no key field name, and scrubbing it again changes
 * nothing (no part of a secret survives for a second pass to find). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bundle-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 8192
#define B58 "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

static void check_clean(const char *s, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++) {
        if (memcmp(s + i, "ed25519:", 8) != 0)
            continue;
        size_t run = 0;
        while (i + 8 + run < n && s[i + 8 + run] != '\0' && strchr(B58, s[i + 8 + run]) != NULL)
            run++;
        if (run > 44)
            abort();
    }
    for (size_t i = 0; i + 10 <= n; i++) {
        if (strncasecmp(s + i, "secret_key", 10) == 0 || strncasecmp(s + i, "private_key", 11) == 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX)
        return 0;
    struct nu_buf once, twice;
    nu_buf_init(&once, 8 * FUZZ_MAX);
    nu_buf_init(&twice, 8 * FUZZ_MAX);
    unsigned r1 = 0, r2 = 0;
    if (bundle_scrub_text((const char *)data, size, &once, &r1) != 0)
        abort();
    check_clean(once.data, once.len);
    if (bundle_scrub_text(once.data, once.len, &twice, &r2) != 0 || r2 != 0 ||
        twice.len != once.len || memcmp(once.data, twice.data, once.len) != 0)
        abort();
    if (r1 == 0 && (once.len != size || memcmp(once.data, data, size) != 0))
        abort();
    nu_buf_release(&once);
    nu_buf_release(&twice);
    return 0;
}
