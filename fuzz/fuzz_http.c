/* libFuzzer target: arbitrary bytes from a client into the HTTP server's
 * request parser (the same llhttp callbacks and limits the server runs),
 * fed in chunks so requests split at every place a socket can split them.
 * The first input byte picks the chunk size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "httpd-int.h"

static void check_request(const struct nu_hparser *p, const struct nu_http_req *r)
{
    /* Invariants the handler relies on; abort() makes the fuzzer report. */
    if (!r->method || !r->url || !r->path || !r->body)
        abort();
    if (strncmp(r->url, r->path, strlen(r->path)) != 0)
        abort();
    if (r->nheaders > p->max_headers || r->body_len > p->max_body_bytes)
        abort();
    if (r->body[r->body_len] != '\0')
        abort();
    /* Framing the server promises (httpd_strict.c): HTTP/1.0 or 1.1, one
     * Host on 1.1 (at most one on 1.0), names never empty, no line break or
     * surrounding whitespace left in a name or value. */
    if (r->http_major != 1 || r->http_minor > 1)
        abort();
    size_t hosts = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *n = r->headers[i].name, *v = r->headers[i].value;
        if (!n || !v || !n[0] || strpbrk(n, "\r\n \t:") || strpbrk(v, "\r\n"))
            abort();
        size_t vl = strlen(v);
        if (vl && (v[0] == ' ' || v[0] == '\t' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            abort();
        hosts += strcasecmp(n, "host") == 0;
    }
    if (hosts > 1 || (r->http_minor == 1 && hosts != 1))
        abort();
    (void)nu_http_req_header(r, "content-type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] % 16) + 1;
    if (data[0] >= 128)
        chunk = size; /* whole input at once, as one big read */
    data++;
    size--;

    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_header_bytes = 2048;
    o.max_body_bytes = 4096;
    o.max_headers = 16;
    struct nu_hparser p;
    nu_hparser_init(&p, &o, NULL, NULL);
    const char *in = (const char *)data;
    size_t left = size, nreq = 0;
    while (left > 0) {
        size_t n = left < chunk ? left : chunk, used = 0;
        enum nu_hparse_ev ev = nu_hparser_feed(&p, in, n, &used);
        if (used > n)
            abort();
        in += used;
        left -= used;
        if (ev == NU_HP_ERROR) {
            if (p.err_status != 400 && p.err_status != 413 && p.err_status != 431 &&
                p.err_status != 505)
                abort();
            if ((p.err_status == 400 || p.err_status == 505) && !p.err_detail[0])
                abort(); /* every refusal says why */
            break;
        }
        if (ev == NU_HP_REQUEST) {
            struct nu_http_req r = {0};
            if (nu_hparser_fill(&p, &r) != 0)
                abort();
            check_request(&p, &r);
            nreq++;
            if (p.upgrade)
                break; /* the server closes after an upgrade request */
            nu_hparser_next(&p);
        }
    }
    nu_hparser_release(&p);
    return 0;
}
