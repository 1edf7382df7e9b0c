/* Tests for hostport.c: "host:port" and "[v6]:port" as every listener,
 * upstream, neard address and URL reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "hostport.h"

static const char *parse(const char *s, int def, unsigned flags, struct nu_hostport *hp)
{
    const char *why = "untouched";
    int rc = nu_hostport_parse(s, strlen(s), def, flags, hp, &why);
    if (rc == 0)
        return NULL;
    assert_int_equal(rc, NU_EINVAL);
    assert_non_null(why);
    return why;
}

static void test_accepted(void **state)
{
    (void)state;
    struct nu_hostport hp;
    assert_null(parse("127.0.0.1:3030", 0, 0, &hp));
    assert_string_equal(hp.host, "127.0.0.1");
    assert_int_equal(hp.port, 3030);
    assert_false(hp.ipv6);
    assert_false(hp.default_port);
    assert_null(parse("[::1]:8080", 0, 0, &hp));
    assert_string_equal(hp.host, "::1");
    assert_int_equal(hp.port, 8080);
    assert_true(hp.ipv6);
    assert_null(parse("rpc.internal:65535", 0, 0, &hp));
    assert_string_equal(hp.host, "rpc.internal");
    assert_int_equal(hp.port, 65535);
    assert_null(parse("h:1", 0, 0, &hp));
    assert_int_equal(hp.port, 1);
    assert_null(parse("[2001:db8::7]:443", 0, 0, &hp));
    assert_string_equal(hp.host, "2001:db8::7");
    assert_null(parse("0.0.0.0:0", 0, NU_HOSTPORT_PORT0, &hp)); /* a listener: any port */
    assert_int_equal(hp.port, 0);
}

static void test_default_port(void **state)
{
    (void)state;
    struct nu_hostport hp;
    assert_null(parse("example.org", 443, 0, &hp));
    assert_string_equal(hp.host, "example.org");
    assert_int_equal(hp.port, 443);
    assert_true(hp.default_port);
    assert_null(parse("[::1]", 80, 0, &hp));
    assert_string_equal(hp.host, "::1");
    assert_int_equal(hp.port, 80);
    assert_true(hp.ipv6);
    assert_true(hp.default_port);
    assert_null(parse("h:8080", 80, 0, &hp));
    assert_int_equal(hp.port, 8080);
    assert_false(hp.default_port);
    /* Only len bytes count: the rest of a URL after the authority. */
    const char *url_rest = "h:81/path";
    const char *why = NULL;
    assert_int_equal(nu_hostport_parse(url_rest, 4, 80, 0, &hp, &why), 0);
    assert_int_equal(hp.port, 81);
}

static void test_refused(void **state)
{
    (void)state;
    struct nu_hostport hp;
    static const struct {
        const char *text;
        unsigned flags;
        const char *why;
    } cases[] = {
        {"", 0, "no host"},
        {":3030", 0, "no host"},
        {"[]:1", 0, "no host"},
        {"h", 0, "no :PORT"},
        {"[::1]", 0, "no :PORT"},
        {"h:0", 0, "the port must be 1 to 65535"},
        {"h:65536", 0, "the port must be 1 to 65535"},
        {"h:65536", NU_HOSTPORT_PORT0, "the port must be 0 to 65535"},
        {"h:", 0, "the port must be 1 to 65535"},
        {"h:x1", 0, "the port must be 1 to 65535"},
        {"h:12a", 0, "the port must be 1 to 65535"},
        {"h:-1", 0, "the port must be 1 to 65535"},
        {"h:+80", 0, "the port must be 1 to 65535"},
        {"h: 80", 0, "the port must be 1 to 65535"},
        {"h:000080", 0, "the port must be 1 to 65535"},
        {"[::1:80", 0, "unclosed [ in the host"},
        {"[::1]80", 0, "expected :PORT after ]"},
        {"[::1]x:80", 0, "expected :PORT after ]"},
        {"[zz]:1", 0, "bad IPv6 address"},
        {"[127.0.0.1]:1", 0, "bad IPv6 address"},
        {"::1:80", 0, "more than one ':' (an IPv6 address goes in brackets)"},
        {"h:80:90", 0, "more than one ':' (an IPv6 address goes in brackets)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = parse(cases[i].text, 0, cases[i].flags, &hp);
        if (why == NULL || strcmp(why, cases[i].why) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].text, why ? why : "(accepted)",
                     cases[i].why);
    }
    char longhost[NU_HOST_MAX + 8];
    memset(longhost, 'a', NU_HOST_MAX);
    memcpy(longhost + NU_HOST_MAX, ":1", 3); /* 256 bytes of host */
    assert_string_equal(parse(longhost, 0, 0, &hp), "host name too long");
    memcpy(longhost + NU_HOST_MAX - 1, ":1", 3); /* 255: fits */
    assert_null(parse(longhost, 0, 0, &hp));
    assert_int_equal(strlen(hp.host), NU_HOST_MAX - 1);
}

static void test_format(void **state)
{
    (void)state;
    char out[NU_HOSTPORT_MAX];
    assert_int_equal(nu_hostport_format("127.0.0.1", 3030, out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.1:3030");
    assert_int_equal(nu_hostport_format("::1", 8080, out, sizeof(out)), 0);
    assert_string_equal(out, "[::1]:8080");
    assert_int_equal(nu_hostport_format("node.internal", 0, out, sizeof(out)), 0);
    assert_string_equal(out, "node.internal:0");
    assert_int_equal(nu_hostport_format("::1", 8080, out, 11), 0); /* exactly fits */
    assert_int_equal(nu_hostport_format("::1", 8080, out, 10), NU_ETOOBIG);
    assert_string_equal(out, "[::1]:808");
    char host[NU_HOST_MAX];
    memset(host, 'f', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    host[1] = ':'; /* the longest host, as IPv6: brackets and the largest port fit */
    assert_int_equal(nu_hostport_format(host, 65535, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), NU_HOSTPORT_MAX - 1);
}

static void test_host_name_ok(void **state)
{
    (void)state;
    assert_true(nu_host_name_ok("rpc-1.internal_zone"));
    assert_true(nu_host_name_ok("127.0.0.1"));
    assert_false(nu_host_name_ok("bad/name"));
    assert_false(nu_host_name_ok("a b"));
    assert_false(nu_host_name_ok("::1"));
}

static void test_ip_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_storage sa;
    socklen_t len = 0;
    assert_int_equal(nu_ip_sockaddr("127.0.0.1", 3030, &sa, &len), 0);
    assert_int_equal(sa.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&sa;
    assert_int_equal(ntohs(a4->sin_port), 3030);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001u);
    assert_int_equal(nu_ip_sockaddr("::1", 443, &sa, &len), 0);
    assert_int_equal(sa.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&sa;
    assert_int_equal(ntohs(a6->sin6_port), 443);
    assert_int_equal(a6->sin6_addr.s6_addr[15], 1);
    assert_int_equal(nu_ip_sockaddr("localhost", 1, &sa, NULL), NU_EINVAL); /* no lookup */
    assert_int_equal(nu_ip_sockaddr("1.2.3", 1, &sa, NULL), NU_EINVAL);
    assert_int_equal(nu_ip_sockaddr("[::1]", 1, &sa, NULL), NU_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),     cmocka_unit_test(test_default_port),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_format),
        cmocka_unit_test(test_host_name_ok), cmocka_unit_test(test_ip_sockaddr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
