/* http:// and https:// URLs split into what the event-loop HTTP client
 * (hclient.h) needs: scheme, host, port, path and the userinfo for basic
 * authentication. libcurl parses its own; this is for the loop. */
#ifndef NU_URL_H
#define NU_URL_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "hostport.h"

#define NU_URL_HOST_MAX NU_HOST_MAX
#define NU_URL_PATH_MAX 1024
#define NU_URL_CRED_MAX 256 /* user or password, decoded */

struct nu_url {
    bool tls;                   /* https */
    char host[NU_URL_HOST_MAX]; /* a name, an IPv4 address, or an IPv6 one without brackets */
    bool ipv6;
    int port;                   /* the given one, else 80 or 443 */
    bool default_port;          /* none was given */
    char path[NU_URL_PATH_MAX]; /* path and query as given, "/" when empty */
    bool has_userinfo;
    char user[NU_URL_CRED_MAX]; /* percent-decoded */
    char password[NU_URL_CRED_MAX];
};

/* Parses "http[s]://[user[:password]@]host[:port][/path][?query]". The
 * scheme is case-blind; a host is a name of letters, digits, '-', '.' and
 * '_', an IPv4 address or a bracketed IPv6 one; the port is 1 to 65535;
 * the path may hold no space, control character or '#'. NU_EINVAL
 * otherwise, errbuf naming the URL (its userinfo redacted) and the fault. */
NU_WUR int nu_url_parse(const char *text, struct nu_url *u, char *errbuf);

/* The Host header for u: "host", or "host:port" with a port given;
 * IPv6 in brackets. */
void nu_url_host_header(const struct nu_url *u, char *out, size_t outsz);

/* "Authorization: Basic <base64 of user:password>\r\n" for u's userinfo,
 * "" without one. NU_ETOOBIG when out is too small. */
NU_WUR int nu_url_basic_auth(const struct nu_url *u, char *out, size_t outsz);

/* A URL as a user writes it on a command line or in a file:
 * "http[s]://..." or a bare "host:port" (http:// is added), checked with
 * nu_url_parse, into out. NU_EINVAL with what is wrong in msg (out is ""
 * then): "\"x\" is not an http:// or https:// URL", "URL longer than N
 * bytes", or nu_url_parse's message. */
NU_WUR int nu_url_from_user(const char *in, char *out, size_t outsz, char *msg, size_t msgsz);

/* Percent-encodes s (RFC 3986's unreserved characters pass; with
 * keep_slash '/' too) into out. NU_ETOOBIG when it does not fit. */
NU_WUR int nu_url_encode(const char *s, bool keep_slash, char *out, size_t outsz);

#endif
