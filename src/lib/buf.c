/* Bounded growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Empty buffers point at a static NUL so data is always a valid string. */
static char empty[1];

void nu_buf_init(struct nu_buf *b, size_t max)
{
    b->data = empty;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void nu_buf_release(struct nu_buf *b)
{
    if (b == NULL)
        return;
    if (b->cap > 0)
        free(b->data);
    b->data = empty;
    b->len = 0;
    b->cap = 0;
}

void nu_buf_reset(struct nu_buf *b)
{
    b->len = 0;
    if (b->cap > 0)
        b->data[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL, doubling up to max. */
static int grow(struct nu_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return NU_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max < SIZE_MAX && cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->cap ? b->data : NULL, cap);
    if (p == NULL)
        return NU_ENOMEM;
    if (b->cap == 0)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int nu_buf_append(struct nu_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    int rc = grow(b, len);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int nu_buf_puts(struct nu_buf *b, const char *s)
{
    return nu_buf_append(b, s, strlen(s));
}

int nu_buf_putc(struct nu_buf *b, char c)
{
    return nu_buf_append(b, &c, 1);
}

int nu_buf_vprintf(struct nu_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NU_EINVAL;
    int rc = grow(b, (size_t)n);
    if (rc < 0)
        return rc;
    /* grow() reserved n + 1 bytes, so this cannot truncate. */
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int nu_buf_printf(struct nu_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = nu_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *nu_buf_take(struct nu_buf *b)
{
    char *p;
    if (b->cap > 0) {
        p = b->data;
    } else {
        p = malloc(1);
        if (p == NULL)
            return NULL;
        p[0] = '\0';
    }
    b->data = empty;
    b->len = 0;
    b->cap = 0;
    return p;
}

void *nu_grow(void *items, size_t n, size_t *cap, size_t elsz, size_t first)
{
    if (n < *cap)
        return items;
    if (*cap > SIZE_MAX / 2)
        return NULL;
    size_t want = *cap ? *cap * 2 : first;
    if (want == 0 || want > SIZE_MAX / elsz)
        return NULL;
    void *p = realloc(items, want * elsz);
    if (p != NULL)
        *cap = want;
    return p;
}
