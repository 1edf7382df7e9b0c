/* libFuzzer target for the URL redactor: any text, any output size. The
 * result always fits and is NUL-terminated, its length is what nu_redact
 * returned, and redacting it again changes nothing (every userinfo left
 * in it is "***", so no part of a password can survive). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FUZZ_MAX + 1], out[FUZZ_MAX * 2 + 1], again[FUZZ_MAX * 2 + 1], small[17];
    if (size > FUZZ_MAX)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t n = nu_redact(text, out, sizeof(out));
    if (n >= sizeof(out) || strlen(out) != n)
        abort();
    if (nu_redact(out, again, sizeof(again)) != n || strcmp(out, again) != 0)
        abort();
    /* cut short: the prefix of the full result, never past the buffer */
    size_t m = nu_redact(text, small, sizeof(small));
    if (m != n || strlen(small) != (n < sizeof(small) ? n : sizeof(small) - 1) ||
        strncmp(small, out, strlen(small)) != 0)
        abort();
    return 0;
}
