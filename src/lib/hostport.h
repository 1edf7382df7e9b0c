/* Network addresses written as text: "host:port" and "[v6]:port", the one
 * parser for listeners, upstreams, neard's addresses and URLs (url.c).
 * A host is a name or an IPv4 address, or an IPv6 address in brackets; a
 * bare IPv6 address is refused, as neard refuses it, since its last ':'
 * would be taken for the port's. Parsing never resolves a name. */
#ifndef NU_HOSTPORT_H
#define NU_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include "error.h"

#define NU_HOST_MAX 256
#define NU_HOSTPORT_MAX (NU_HOST_MAX + 8) /* "[host]:65535" with its NUL */

struct nu_hostport {
    char host[NU_HOST_MAX]; /* without the brackets */
    int port;
    bool ipv6;         /* the host was in brackets (and is an IPv6 address) */
    bool default_port; /* none was given: the caller's default */
};

/* Flags of nu_hostport_parse. */
#define NU_HOSTPORT_PORT0 0x1u /* port 0 is allowed (a listener: any free port) */

/* Parses len bytes of s: "host:port", "[v6]:port", and with a
 * default_port > 0 also "host" and "[v6]". The port is 1 to 5 digits, 1
 * to 65535 (0 to 65535 with NU_HOSTPORT_PORT0). 0, or NU_EINVAL with *why
 * set to a static reason: "no host", "host name too long", "unclosed [ in
 * the host", "expected :PORT after ]", "bad IPv6 address", "more than one
 * ':' (an IPv6 address goes in brackets)", "no :PORT", "the port must be 1
 * to 65535" (or "0 to 65535"). */
NU_WUR int nu_hostport_parse(const char *s, size_t len, int default_port, unsigned flags,
                             struct nu_hostport *hp, const char **why);

/* "host:port", or "[host]:port" for a host with a ':' (IPv6), into out.
 * NU_ETOOBIG when it was cut short (never with NU_HOSTPORT_MAX bytes and
 * a host that nu_hostport_parse gave). */
NU_WUR int nu_hostport_format(const char *host, int port, char *out, size_t outsz);

/* True when host (no brackets) is a name of letters, digits, '-', '.' and
 * '_' (which an IPv4 address is too). */
bool nu_host_name_ok(const char *host);

/* host as an IPv4 or IPv6 address (no brackets, no name lookup) with port
 * into *sa and *salen (may be NULL). NU_EINVAL when host is no address. */
NU_WUR int nu_ip_sockaddr(const char *host, int port, struct sockaddr_storage *sa,
                          socklen_t *salen);

#endif
