/* Logging: one logfmt line per event on stderr:
 *   ts=2026-11-28T23:10:07.123Z level=info msg="node started" home=/x pid=42
 * Levels are checked before arguments are formatted. Values containing
 * spaces, quotes, '=' or control characters are quoted and escaped. */
#ifndef NU_LOG_H
#define NU_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define NU_LOG_LINE_MAX 8192  /* longer lines are truncated */
#define NU_LOG_VALUE_MAX 4096 /* longer values are truncated (still quoted) */

enum nu_log_level { NU_LOG_DEBUG = 0, NU_LOG_INFO, NU_LOG_WARN, NU_LOG_ERROR, NU_LOG_OFF };

void nu_log_set_level(enum nu_log_level level);
enum nu_log_level nu_log_get_level(void);
/* "debug", "info", "warn", "error", "off" -> 0; otherwise NU_EINVAL. */
int nu_log_parse_level(const char *s, enum nu_log_level *out);
static inline bool nu_log_enabled(enum nu_log_level level)
{
    extern enum nu_log_level nu_log_level_current;
    return level >= nu_log_level_current;
}

/* Sends log lines to fd instead of stderr (2); for tests and log files.
 * The fd stays owned by the caller. */
void nu_log_set_fd(int fd);

/* Writes one line. Variadic arguments are key/value string pairs ending
 * with NULL: nu_log_emit(NU_LOG_INFO, "started", "addr", addr, NULL).
 * A NULL value is written as "" and ends the list. */
void nu_log_emit(enum nu_log_level level, const char *msg, ...) __attribute__((sentinel));

/* The one logfmt writer: the line nu_log_emit writes, with "component=C"
 * after the level when component is not NULL, from the key/value pairs in
 * ap (as nu_log_emit's), into out. A long line is cut but still ends in
 * '\n' (and a NUL after it). Returns its length without the NUL; for a
 * line that goes elsewhere than nu_log's fd (the supervisor's into
 * neard.log). outsz >= 2. */
size_t nu_log_vformat(char *out, size_t outsz, enum nu_log_level level, const char *component,
                      const char *msg, va_list ap);

/* Escapes a logfmt value into out (quoted when needed); truncates to outsz.
 * URLs in it lose their userinfo to "***" (redact.h). */
void nu_log_format_value(char *out, unsigned long outsz, const char *value);

#define nu_log(level, ...)                                                                         \
    do {                                                                                           \
        if (nu_log_enabled(level))                                                                 \
            nu_log_emit(level, __VA_ARGS__, NULL);                                                 \
    } while (0)
#define nu_debug(...) nu_log(NU_LOG_DEBUG, __VA_ARGS__)
#define nu_info(...) nu_log(NU_LOG_INFO, __VA_ARGS__)
#define nu_warn(...) nu_log(NU_LOG_WARN, __VA_ARGS__)
#define nu_error(...) nu_log(NU_LOG_ERROR, __VA_ARGS__)

#endif
