/* Request framing checks that llhttp 8.1 (Debian 12's node-llhttp) does not
 * make even when compiled with LLHTTP_STRICT_MODE, which the build uses:
 *
 *  - line structure of the head and of the trailer section: obs-fold
 *    (a line starting with SP or HT), a line ending in a bare LF or bare
 *    CR, and a header line without a name (": x"). llhttp 8.1 folds the
 *    continuation into the value, takes a lone LF as the end of the head
 *    and passes an empty name; its callbacks never see line ends or the
 *    bytes between spans, so these are checked on the raw bytes, by a
 *    small state machine that carries its state across reads;
 *  - Host (RFC 9112 section 3.2), Transfer-Encoding in HTTP/1.0 (section
 *    6.1) and the HTTP version, checked once the head is complete.
 *
 * llhttp 9.x makes most of these strict by default, but Debian 12 packages
 * only 8.1 and the build must use Debian's sources (DESIGN.md). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "httpd-int.h"

enum {
    LN_PRE,    /* before the request line: empty lines (CRLF) are skipped */
    LN_PRE_CR, /* CR of an empty line before the request line */
    LN_LINE,   /* inside the request line or a header line */
    LN_CR,     /* CR that ends a line */
    LN_START,  /* first byte of a header (or trailer) line */
    LN_END_CR, /* CR of the empty line that ends the section */
    LN_OFF,    /* after the section: body bytes are not looked at */
};

static const char FOLD[] = "header line starts with whitespace (obs-fold); send each header on "
                           "one line";
static const char BARE_LF[] = "line ends in a bare LF; end every line with CRLF";
static const char BARE_CR[] = "line ends in a bare CR; end every line with CRLF";
static const char NO_NAME[] = "header line has no name before the colon";

void nu_hlines_begin(struct nu_hlines *l)
{
    l->state = LN_PRE;
}

void nu_hlines_trailers(struct nu_hlines *l)
{
    l->state = LN_START;
}

static const char *line_byte(struct nu_hlines *l, char ch)
{
    switch (l->state) {
    case LN_PRE:
        l->state = ch == '\r' ? LN_PRE_CR : LN_LINE;
        return ch == '\n' ? BARE_LF : NULL;
    case LN_PRE_CR:
        l->state = LN_PRE;
        return ch == '\n' ? NULL : BARE_CR;
    case LN_LINE:
        if (ch == '\r')
            l->state = LN_CR;
        return ch == '\n' ? BARE_LF : NULL;
    case LN_CR:
        l->state = LN_START;
        return ch == '\n' ? NULL : BARE_CR;
    case LN_START:
        l->state = ch == '\r' ? LN_END_CR : LN_LINE;
        if (ch == ' ' || ch == '\t')
            return FOLD;
        if (ch == ':')
            return NO_NAME;
        return ch == '\n' ? BARE_LF : NULL;
    case LN_END_CR:
        l->state = LN_OFF;
        return ch == '\n' ? NULL : BARE_CR;
    default:
        return NULL;
    }
}

const char *nu_hlines_check(struct nu_hlines *l, const char *at, const char *end)
{
    for (; at < end && l->state != LN_OFF; at++) {
        if (l->state == LN_LINE) {
            /* Most bytes are inside a line: skip to its first CR (which
             * must be the one before the LF) with memchr, not byte by byte. */
            const char *lf = memchr(at, '\n', (size_t)(end - at));
            const char *cr = memchr(at, '\r', (size_t)((lf ? lf : end) - at));
            if (cr == NULL && lf == NULL)
                break;
            at = cr ? cr : lf;
        }
        const char *why = line_byte(l, *at);
        if (why)
            return why;
    }
    return NULL;
}

/* uri-host [":" port] (RFC 3986): reg-name, IPv4 or an IP literal in
 * brackets; empty is allowed (a target without authority). */
static bool host_ok(const char *v)
{
    static const char extra[] = "-._~%!$&'()*+,;=:[]";
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (!isalnum(*c) && !strchr(extra, *c))
            return false;
    return true;
}

int nu_hhead_check(const struct nu_hparser *p, const char **detail)
{
    const llhttp_t *lp = &p->lp;
    if (lp->http_major != 1 || lp->http_minor > 1) {
        *detail = "only HTTP/1.0 and HTTP/1.1 are served";
        return 505;
    }
    *detail = NULL;
    if ((lp->flags & F_TRANSFER_ENCODING) && lp->http_minor == 0)
        *detail = "Transfer-Encoding in an HTTP/1.0 request; use HTTP/1.1 or Content-Length";
    size_t hosts = 0;
    const char *host = NULL;
    for (size_t i = 0; i < p->nhdr && !*detail; i++) {
        if (strcasecmp(p->hbuf + p->hoff[i * 2], "host") != 0)
            continue;
        hosts++;
        host = p->hbuf + p->hoff[i * 2 + 1];
    }
    if (*detail)
        return 400;
    if (hosts > 1)
        *detail = "more than one Host header; send exactly one";
    else if (hosts == 0 && lp->http_minor == 1)
        *detail = "HTTP/1.1 request without a Host header; send one";
    else if (host && !host_ok(host))
        *detail = "Host header is not a valid host[:port]";
    return *detail ? 400 : 0;
}
