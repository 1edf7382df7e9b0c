/* libFuzzer target for what the health judge and its client read from
 * outside: neard status replies (both shapes), RFC 3339 block times and
 * the sidecar's URLs. The first byte picks which. Invariants: the
 * judge's verdict is a state of the enum with bounded, NUL-terminated
 * reasons, DOWN exactly when the status is not judgeable, never a
 * negative age or lag; a time parses the same twice; an accepted URL has
 * a host, a port in range and a path from '/', and built again from its
 * parts parses to the same parts. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "rfc3339.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 65536

static void check_reason(const char *r)
{
    if (memchr(r, '\0', HEALTH_REASON_MAX) == NULL)
        abort();
}

static void judge(const char *body, size_t len, enum health_reply form)
{
    char err[NU_ERRMSG_MAX];
    struct health_status st;
    struct health_check c;
    const struct health_limits lim = {.max_lag = 20, .stale_ms = 30000};
    if (health_status_parse(body, len, form, &st, err) != 0) {
        if (memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        return;
    }
    bool judgeable = health_status_judgeable(&st, err) == 0;
    health_classify(&st, 100, 1739398210530LL, &lim, &c);
    check_reason(c.reason);
    if ((unsigned)c.state >= HEALTH_NSTATES || (c.state == HEALTH_DOWN) == judgeable)
        abort();
    if (judgeable && (c.age_ms < 0 || c.lag < 0 || c.head != st.head))
        abort();
    struct health_verdict v;
    health_verdict_init(&v);
    if (health_verdict_apply(&v, &c, 2, 2) != c.state)
        abort(); /* the first check is taken as is */
    check_reason(v.reason);
}

static void time_text(const char *s)
{
    int64_t a = 1, b = 2;
    int ra = nu_parse_rfc3339_ms(s, &a), rb = nu_parse_rfc3339_ms(s, &b);
    if (ra != rb || (ra == 0 && a != b) || (ra != 0 && (a != 1 || b != 2)))
        abort();
}

static void url_text(const char *s)
{
    char err[NU_ERRMSG_MAX], again[4096], host[NU_URL_HOST_MAX + 16];
    struct nu_url u, v;
    if (nu_url_parse(s, &u, err) != 0)
        return;
    if (u.host[0] == '\0' || u.port < 1 || u.port > 65535 || u.path[0] != '/')
        abort();
    nu_url_host_header(&u, host, sizeof(host));
    snprintf(again, sizeof(again), "%s://%s%s%s:%d%s", u.tls ? "https" : "http", u.ipv6 ? "[" : "",
             u.host, u.ipv6 ? "]" : "", u.port, u.path);
    if (nu_url_parse(again, &v, err) != 0 || strcmp(u.host, v.host) != 0 || u.port != v.port ||
        strcmp(u.path, v.path) != 0 || u.tls != v.tls)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FUZZ_MAX + 1];
    if (size < 1 || size > FUZZ_MAX)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0:
        judge(text, size - 1, HEALTH_REPLY_JSONRPC);
        break;
    case 1:
        judge(text, size - 1, HEALTH_REPLY_BARE);
        break;
    case 2:
        time_text(text);
        break;
    default:
        url_text(text);
        break;
    }
    return 0;
}
