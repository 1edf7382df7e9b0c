/* "host:port" text (see hostport.h). */
#include "hostport.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

#define PORT_DIGITS_MAX 5

/* The port in [p, end): 1 to 5 digits, at most 65535; -1 otherwise. */
static int port_of(const char *p, const char *end)
{
    int v = 0;
    if (p == end || end - p > PORT_DIGITS_MAX)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v <= 65535 ? v : -1;
}

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return NU_EINVAL;
}

/* Finds the host in [s, end) (*host, *hlen) and the ':' before its port
 * (*port; NULL when there is none). Sets hp->ipv6 for a bracketed host. */
static int split(const char *s, const char *end, struct nu_hostport *hp, const char **host,
                 size_t *hlen, const char **port, const char **why)
{
    if (s < end && s[0] == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (close == NULL)
            return refuse(why, "unclosed [ in the host");
        *port = close + 1 < end ? close + 1 : NULL;
        if (*port != NULL && **port != ':')
            return refuse(why, "expected :PORT after ]");
        hp->ipv6 = true;
        *host = s + 1;
        *hlen = (size_t)(close - s - 1);
        return 0;
    }
    *port = NULL;
    for (const char *p = s; p < end; p++)
        *port = *p == ':' ? p : *port; /* the last one */
    *host = s;
    *hlen = (size_t)((*port != NULL ? *port : end) - s);
    return 0;
}

static int copy_host(struct nu_hostport *hp, const char *host, size_t hlen, const char **why)
{
    struct sockaddr_storage sa;
    if (hlen == 0)
        return refuse(why, "no host");
    if (hlen >= sizeof(hp->host))
        return refuse(why, "host name too long");
    memcpy(hp->host, host, hlen);
    hp->host[hlen] = '\0';
    if (hp->ipv6 && uv_ip6_addr(hp->host, 0, (struct sockaddr_in6 *)&sa) != 0)
        return refuse(why, "bad IPv6 address");
    if (!hp->ipv6 && memchr(host, ':', hlen) != NULL)
        return refuse(why, "more than one ':' (an IPv6 address goes in brackets)");
    return 0;
}

int nu_hostport_parse(const char *s, size_t len, int default_port, unsigned flags,
                      struct nu_hostport *hp, const char **why)
{
    const char *host = NULL, *port = NULL;
    size_t hlen = 0;
    memset(hp, 0, sizeof(*hp));
    *why = NULL;
    int rc = split(s, s + len, hp, &host, &hlen, &port, why);
    if (rc == 0)
        rc = copy_host(hp, host, hlen, why);
    if (rc < 0)
        return rc;
    if (port == NULL && default_port <= 0)
        return refuse(why, "no :PORT");
    hp->default_port = port == NULL;
    hp->port = port != NULL ? port_of(port + 1, s + len) : default_port;
    if (flags & NU_HOSTPORT_PORT0)
        return hp->port >= 0 ? 0 : refuse(why, "the port must be 0 to 65535");
    return hp->port >= 1 ? 0 : refuse(why, "the port must be 1 to 65535");
}

int nu_hostport_format(const char *host, int port, char *out, size_t outsz)
{
    bool v6 = strchr(host, ':') != NULL;
    int n = snprintf(out, outsz, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

bool nu_host_name_ok(const char *host)
{
    for (const unsigned char *p = (const unsigned char *)host; *p != '\0'; p++) {
        bool alnum =
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum && *p != '-' && *p != '.' && *p != '_')
            return false;
    }
    return true;
}

int nu_ip_sockaddr(const char *host, int port, struct sockaddr_storage *sa, socklen_t *salen)
{
    socklen_t len = sizeof(struct sockaddr_in);
    memset(sa, 0, sizeof(*sa));
    /* libuv's parsers: IPv6 with a zone ("fe80::1%eth0") too. */
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) != 0) {
        if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) != 0)
            return NU_EINVAL;
        len = sizeof(struct sockaddr_in6);
    }
    if (salen != NULL)
        *salen = len;
    return 0;
}
