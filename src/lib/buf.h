/* Bounded growable byte buffer (string builder). Every buffer has a maximum
 * size; growth past it fails with NU_ETOOBIG and leaves the contents intact.
 * data is always NUL-terminated (the NUL is not counted in len). */
#ifndef NU_BUF_H
#define NU_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "error.h"

struct nu_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* toobig limit in bytes, excluding the NUL */
};

void nu_buf_init(struct nu_buf *b, size_t max);
void nu_buf_release(struct nu_buf *b); /* frees data, keeps max; accepts NULL */
void nu_buf_reset(struct nu_buf *b);   /* len = 0, keeps memory */
NU_WUR int nu_buf_append(struct nu_buf *b, const void *data, size_t len);
NU_WUR int nu_buf_puts(struct nu_buf *b, const char *s);
NU_WUR int nu_buf_putc(struct nu_buf *b, char c);
NU_WUR int nu_buf_printf(struct nu_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
NU_WUR int nu_buf_vprintf(struct nu_buf *b, const char *fmt, va_list ap);
/* Returns the data (caller frees) and resets b to empty. Never NULL unless OOM. */
char *nu_buf_take(struct nu_buf *b);

/* Room for one more element in an array of n elements of elsz bytes with
 * room for *cap: items itself while n < *cap, else items realloc'ed to
 * twice *cap (first when *cap is 0) and *cap updated. NULL when out of
 * memory (or the size would overflow): items is then as it was, and still
 * the caller's to free. Bounds on n are the caller's. */
void *nu_grow(void *items, size_t n, size_t *cap, size_t elsz, size_t first);

#endif
