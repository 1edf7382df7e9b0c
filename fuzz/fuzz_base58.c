/* libFuzzer target for base58: decoding arbitrary text must not crash, and
 * both directions must round-trip exactly (base58 text is canonical). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 2048 /* base58 is quadratic; keep executions fast */

static void text_round_trip(const char *text, size_t len)
{
    static uint8_t bytes[FUZZ_MAX];
    static char back[FUZZ_MAX * 2 + 1];
    size_t n = 0;
    if (nu_base58_decode(text, bytes, sizeof(bytes), &n) != 0)
        return;
    int m = nu_base58_encode(bytes, n, back, sizeof(back));
    if (m < 0 || (size_t)m != len || memcmp(back, text, len) != 0)
        abort();
}

static void bytes_round_trip(const uint8_t *data, size_t size)
{
    static char text[FUZZ_MAX * 2 + 1];
    static uint8_t back[FUZZ_MAX];
    size_t n = 0;
    int m = nu_base58_encode(data, size, text, sizeof(text));
    if (m < 0 || nu_base58_decode(text, back, sizeof(back), &n) != 0)
        abort();
    if (n != size || (size > 0 && memcmp(back, data, size) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    text_round_trip(text, strlen(text));
    free(text);
    bytes_round_trip(data, size);
    return 0;
}
