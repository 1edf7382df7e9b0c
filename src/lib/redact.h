/* Credentials never reach the screen, a log, a state file or a metric:
 * every URL in a text has its userinfo ("user:password@") replaced by
 * "***@" (alice:pass@host becomes ***@host), so a password is never shown.
 *
 * A URL is a scheme ([A-Za-z][A-Za-z0-9+.-]*) then "://"; its authority
 * runs to the first '/', '?', '#', white space, quote, '<' or '>', and the
 * userinfo is everything in it up to the last '@' (RFC 3986: a '/', '?' or
 * '#' inside a password must be percent-encoded). Error messages
 * (nu_err_set), log values (nu_log_format_value) and the CLI's error line
 * pass through it; so does anything nearup writes that names a URL. */
#ifndef NU_REDACT_H
#define NU_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define NU_REDACTED "***"

/* Copies in to out (outsz > 0; always NUL-terminated, cut short when it
 * does not fit) with the userinfo of every URL replaced by NU_REDACTED.
 * in and out may not overlap. Returns the length out would need (without
 * the NUL), like snprintf. */
size_t nu_redact(const char *in, char *out, size_t outsz);
/* nu_redact of buf into itself (buf holds bufsz bytes). */
void nu_redact_inplace(char *buf, size_t bufsz);
/* True when some URL in text carries userinfo (so printing it as is
 * would show a credential). */
bool nu_redact_needed(const char *text);
/* True when some URL in text carries the userinfo NU_REDACTED, i.e. it
 * was redacted before it was stored and its credentials are gone. */
bool nu_redact_was_redacted(const char *text);

#endif
