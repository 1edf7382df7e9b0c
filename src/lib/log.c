/* logfmt logger (see log.h). The only place in src/lib that prints. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "fs.h"
#include "redact.h"

enum nu_log_level nu_log_level_current = NU_LOG_INFO;
static int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void nu_log_set_level(enum nu_log_level level)
{
    nu_log_level_current = level;
}

enum nu_log_level nu_log_get_level(void)
{
    return nu_log_level_current;
}

void nu_log_set_fd(int fd)
{
    log_fd = fd;
}

int nu_log_parse_level(const char *s, enum nu_log_level *out)
{
    for (int i = NU_LOG_DEBUG; i <= NU_LOG_OFF; i++) {
        if (s != NULL && strcmp(s, level_names[i]) == 0) {
            *out = (enum nu_log_level)i;
            return 0;
        }
    }
    return NU_EINVAL;
}

static int needs_quotes(const char *v)
{
    if (*v == '\0')
        return 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == 0x7f)
            return 1;
    }
    return 0;
}

/* Escape sequence for c inside a quoted value, written to esc (>= 7 bytes). */
static size_t escape_char(unsigned char c, char *esc)
{
    switch (c) {
    case '"':
        return (size_t)snprintf(esc, 7, "\\\"");
    case '\\':
        return (size_t)snprintf(esc, 7, "\\\\");
    case '\n':
        return (size_t)snprintf(esc, 7, "\\n");
    case '\r':
        return (size_t)snprintf(esc, 7, "\\r");
    case '\t':
        return (size_t)snprintf(esc, 7, "\\t");
    default:
        if (c < 0x20 || c == 0x7f)
            return (size_t)snprintf(esc, 7, "\\u%04x", c);
        esc[0] = (char)c;
        esc[1] = '\0';
        return 1;
    }
}

void nu_log_format_value(char *out, unsigned long outsz, const char *value)
{
    char clean[NU_LOG_VALUE_MAX];
    if (outsz == 0)
        return;
    if (value == NULL)
        value = "";
    if (nu_redact_needed(value)) { /* a URL with credentials: they stay out of logs */
        nu_redact(value, clean, sizeof(clean));
        value = clean;
    }
    if (!needs_quotes(value)) {
        snprintf(out, outsz, "%s", value);
        return;
    }
    if (outsz < 3) {
        out[0] = '\0';
        return;
    }
    /* Reserve room for the closing quote and NUL so a truncated value still
     * parses; never split an escape sequence. */
    size_t n = 0, room = outsz - 2;
    out[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char esc[8];
        size_t k = escape_char(*p, esc);
        if (n + k > room)
            break;
        memcpy(out + n, esc, k);
        n += k;
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* Appends s to line at *pos, truncating at the end of the line buffer. */
static void put(char *line, size_t size, size_t *pos, const char *s)
{
    size_t len = strlen(s);
    if (*pos >= size)
        return;
    if (len > size - *pos)
        len = size - *pos;
    memcpy(line + *pos, s, len);
    *pos += len;
}

static void put_timestamp(char *line, size_t size, size_t *pos)
{
    char when[NU_UTC_TEXT_MAX];
    nu_utc_text(nu_real_ms(), when, sizeof(when));
    put(line, size, pos, "ts=");
    put(line, size, pos, when);
}

static void put_pair(char *line, size_t size, size_t *pos, const char *key, const char *value)
{
    char v[NU_LOG_VALUE_MAX];
    nu_log_format_value(v, sizeof(v), value);
    put(line, size, pos, " ");
    put(line, size, pos, key);
    put(line, size, pos, "=");
    put(line, size, pos, v);
}

size_t nu_log_vformat(char *out, size_t outsz, enum nu_log_level level, const char *component,
                      const char *msg, va_list ap)
{
    size_t size = outsz - 2, pos = 0; /* room for '\n' and NUL */
    put_timestamp(out, size, &pos);
    put(out, size, &pos, " level=");
    put(out, size, &pos, level_names[level < NU_LOG_OFF ? level : NU_LOG_ERROR]);
    if (component != NULL)
        put_pair(out, size, &pos, "component", component);
    put_pair(out, size, &pos, "msg", msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *value = va_arg(ap, const char *);
        put_pair(out, size, &pos, key, value);
        if (value == NULL)
            break; /* an odd argument count ends here instead of reading past */
    }
    out[pos++] = '\n';
    out[pos] = '\0';
    return pos;
}

void nu_log_emit(enum nu_log_level level, const char *msg, ...)
{
    if (!nu_log_enabled(level) || level >= NU_LOG_OFF)
        return;
    /* One buffer and one write(2) so concurrent lines never interleave. */
    char line[NU_LOG_LINE_MAX + 1]; /* the NUL after the line's NU_LOG_LINE_MAX bytes */
    int saved_errno = errno;
    va_list ap;
    va_start(ap, msg);
    size_t len = nu_log_vformat(line, sizeof(line), level, NULL, msg, ap);
    va_end(ap);
    (void)!nu_write_all(log_fd, line, len); /* nowhere to report a failing log sink */
    errno = saved_errno;
}
