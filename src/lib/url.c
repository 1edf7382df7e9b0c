/* http(s) URLs for the event-loop client (see url.h). */
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostport.h"
#include "redact.h"
#include "url.h"

#define SHOWN_MAX 300 /* what an error shows of the URL */

static int bad(const char *text, const char *what, char *errbuf)
{
    char shown[SHOWN_MAX];
    nu_redact(text, shown, sizeof(shown));
    return nu_err_set(errbuf, NU_EINVAL, "URL %s: %s", shown, what);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes [s, s+len) into out; false on a bad escape, a NUL, or
 * when it does not fit. */
static bool decode(const char *s, size_t len, char *out, size_t outsz)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (lo < 0)
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || n + 1 >= outsz)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

static bool alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* "user[:password]" */
static int parse_userinfo(const char *text, const char *s, size_t len, struct nu_url *u,
                          char *errbuf)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;
    u->has_userinfo = true;
    if (!decode(s, ulen, u->user, sizeof(u->user)) ||
        (colon && !decode(colon + 1, len - ulen - 1, u->password, sizeof(u->password))))
        return bad(text, "bad percent-encoding in the user or password", errbuf);
    return 0;
}

/* "host[:port]" or "[v6][:port]" in [s, end) */
static int parse_hostport(const char *text, const char *s, const char *end, struct nu_url *u,
                          char *errbuf)
{
    struct nu_hostport hp;
    const char *why;
    if (nu_hostport_parse(s, (size_t)(end - s), u->tls ? 443 : 80, 0, &hp, &why) < 0)
        return bad(text, why, errbuf);
    if (!hp.ipv6 && !nu_host_name_ok(hp.host))
        return bad(text, "bad character in the host", errbuf);
    memcpy(u->host, hp.host, sizeof(u->host));
    u->ipv6 = hp.ipv6;
    u->port = hp.port;
    u->default_port = hp.default_port;
    return 0;
}

int nu_url_parse(const char *text, struct nu_url *u, char *errbuf)
{
    memset(u, 0, sizeof(*u));
    const char *rest;
    if (strncasecmp(text, "http://", 7) == 0)
        rest = text + 7;
    else if (strncasecmp(text, "https://", 8) == 0)
        rest = text + 8, u->tls = true;
    else
        return bad(text, "expected http:// or https://", errbuf);
    size_t alen = strcspn(rest, "/?#");
    const char *path = rest + alen, *at = NULL;
    for (const char *p = rest; p < path; p++)
        if (*p == '@')
            at = p; /* the last '@' ends the userinfo */
    int rc = at ? parse_userinfo(text, rest, (size_t)(at - rest), u, errbuf) : 0;
    const char *hp = at ? at + 1 : rest;
    if (rc == 0)
        rc = parse_hostport(text, hp, path, u, errbuf);
    if (rc != 0)
        return rc;
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#')
            return bad(text, "space, control character or '#' in the path", errbuf);
    int n = snprintf(u->path, sizeof(u->path), "%s%s", *path == '/' ? "" : "/", path);
    if (n < 0 || (size_t)n >= sizeof(u->path))
        return bad(text, "path too long", errbuf);
    return 0;
}

void nu_url_host_header(const struct nu_url *u, char *out, size_t outsz)
{
    const char *l = u->ipv6 ? "[" : "", *r = u->ipv6 ? "]" : "";
    if (u->default_port)
        snprintf(out, outsz, "%s%s%s", l, u->host, r);
    else
        snprintf(out, outsz, "%s%s%s:%d", l, u->host, r, u->port);
}

int nu_url_basic_auth(const struct nu_url *u, char *out, size_t outsz)
{
    char cred[2 * NU_URL_CRED_MAX + 2];
    const char *pre = "Authorization: Basic ";
    if (!u->has_userinfo) {
        if (outsz == 0)
            return NU_ETOOBIG;
        out[0] = '\0';
        return 0;
    }
    int n = snprintf(cred, sizeof(cred), "%s:%s", u->user, u->password);
    size_t b64 = 4 * (((size_t)n + 2) / 3), off = strlen(pre);
    if (off + b64 + 3 > outsz) /* CRLF and NUL */
        return NU_ETOOBIG;
    memcpy(out, pre, off);
    off += (size_t)EVP_EncodeBlock((unsigned char *)out + off, (const unsigned char *)cred, n);
    memcpy(out + off, "\r\n", 3);
    OPENSSL_cleanse(cred, sizeof(cred));
    return 0;
}

static bool unreserved(unsigned char c)
{
    return alnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int nu_url_encode(const char *s, bool keep_slash, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = unreserved(c) || (keep_slash && c == '/');
        if (n + (plain ? 1 : 3) >= outsz)
            return NU_ETOOBIG;
        if (plain) {
            out[n++] = (char)c;
            continue;
        }
        out[n++] = '%';
        out[n++] = hex[c >> 4];
        out[n++] = hex[c & 15];
    }
    if (n >= outsz)
        return NU_ETOOBIG;
    out[n] = '\0';
    return 0;
}

int nu_url_from_user(const char *v, char *out, size_t outsz, char *msg, size_t msgsz)
{
    bool has_scheme = strstr(v, "://") != NULL;
    bool known = strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
    if ((has_scheme && !known) || v[0] == '\0') {
        out[0] = '\0';
        snprintf(msg, msgsz, "\"%s\" is not an http:// or https:// URL", v);
        return NU_EINVAL;
    }
    int n = snprintf(out, outsz, "%s%s", has_scheme ? "" : "http://", v);
    if (n < 0 || (size_t)n >= outsz) {
        out[0] = '\0';
        snprintf(msg, msgsz, "URL longer than %zu bytes", outsz - 8);
        return NU_EINVAL;
    }
    struct nu_url u;
    char errbuf[NU_ERRMSG_MAX];
    if (nu_url_parse(out, &u, errbuf) != 0) {
        out[0] = '\0';
        snprintf(msg, msgsz, "%s", errbuf);
        return NU_EINVAL;
    }
    return 0;
}
