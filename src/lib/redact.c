/* Userinfo redaction of URLs in text (see redact.h). */
#include "redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool scheme_char(char c, bool first)
{
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return alpha || (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

static bool ends_authority(char c)
{
    return c == '\0' || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' ||
           c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\\';
}

/* When text[i] starts "://" after a scheme: the length of the userinfo
 * that follows (up to and without the last '@' of the authority), else 0
 * with *has_at false. */
static size_t userinfo_at(const char *text, size_t i, bool *has_at)
{
    *has_at = false;
    if (text[i] != ':' || text[i + 1] != '/' || text[i + 2] != '/' || i == 0)
        return 0;
    size_t s = i;
    while (s > 0 && scheme_char(text[s - 1], false))
        s--;
    while (s < i && !scheme_char(text[s], true))
        s++; /* a scheme starts with a letter */
    if (s == i)
        return 0;
    const char *auth = text + i + 3;
    size_t len = 0, at = 0;
    for (; !ends_authority(auth[len]); len++) {
        if (auth[len] == '@') {
            at = len;
            *has_at = true;
        }
    }
    return at;
}

/* Appends n bytes of s to out at *pos (the count goes on past outsz). */
static void put(char *out, size_t outsz, size_t *pos, const char *s, size_t n)
{
    if (*pos < outsz - 1) {
        size_t room = outsz - 1 - *pos;
        memcpy(out + *pos, s, n < room ? n : room);
    }
    *pos += n;
}

size_t nu_redact(const char *in, char *out, size_t outsz)
{
    size_t pos = 0;
    if (in == NULL)
        in = "";
    for (size_t i = 0; in[i] != '\0';) {
        bool has_at;
        size_t ui = userinfo_at(in, i, &has_at);
        if (!has_at) {
            put(out, outsz, &pos, in + i, 1);
            i++;
            continue;
        }
        put(out, outsz, &pos, "://" NU_REDACTED, 3 + strlen(NU_REDACTED));
        i += 3 + ui; /* on to the '@' */
    }
    out[pos < outsz ? pos : outsz - 1] = '\0';
    return pos;
}

void nu_redact_inplace(char *buf, size_t bufsz)
{
    if (bufsz == 0 || !nu_redact_needed(buf))
        return;
    char *copy = strdup(buf);
    if (copy == NULL) {
        buf[0] = '\0'; /* nothing beats showing a password */
        return;
    }
    nu_redact(copy, buf, bufsz);
    free(copy);
}

bool nu_redact_needed(const char *text)
{
    for (size_t i = 0; text != NULL && text[i] != '\0'; i++) {
        bool has_at;
        (void)userinfo_at(text, i, &has_at);
        if (has_at)
            return true;
    }
    return false;
}

bool nu_redact_was_redacted(const char *text)
{
    const char *marker = "://" NU_REDACTED "@";
    return text != NULL && strstr(text, marker) != NULL;
}
