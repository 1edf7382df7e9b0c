/* Tests for the release bucket helpers (release.c) and version ordering
 * (binprune.c): release-name checks, bucket URL building, sha256sum-format
 * parsing and node_version_cmp, including pre-releases. No request is
 * made: every call here works without a network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "bincache.h"
#include "release.h"

#define BASE "http://127.0.0.1:9/bucket"
#define HEX "649940341d7af57a92d0f77fda14f71e98332fc8d8dde5865726e7054e2c859b"

static void test_version_cmp(void **state)
{
    (void)state;
    static const char *const ordered[] = {
        "1.9.9", "2.4.0", "2.5.0-rc.1", "2.5.0-rc.2", "2.5.0-rc.10",
        "2.5.0", "2.5.1", "2.9.0",      "2.10.0",     "10.0.0",
    };
    size_t n = sizeof(ordered) / sizeof(ordered[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : i > j ? 1 : 0;
            if (node_version_cmp(ordered[i], ordered[j]) != want)
                fail_msg("cmp(%s, %s) != %d", ordered[i], ordered[j], want);
        }
    }
    assert_int_equal(node_version_cmp("2.05.0", "2.5.0"), 0); /* numbers, not text */
    assert_int_equal(node_version_cmp("2.5", "2.5.0"), -1);
    assert_int_equal(node_version_cmp("", "1"), -1);
}

static void test_release_name_valid(void **state)
{
    (void)state;
    char long_name[NODE_VERSION_MAX + 1];
    static const char *const good[] = {"2.5.0", "2.5.0-rc.1", "1.0+build_7",
                                       "080ffe82781bd0dab197c5b46f786aaf29ae681e", "a"};
    static const char *const bad[] = {"", ".hidden", "-x", "../x", "a/b", "a b", "2.5.0\n", "é"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(node_release_name_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(node_release_name_valid(bad[i]));
    assert_false(node_release_name_valid(NULL));
    memset(long_name, 'a', NODE_VERSION_MAX - 1);
    long_name[NODE_VERSION_MAX - 1] = '\0';
    assert_true(node_release_name_valid(long_name)); /* 127 characters */
    long_name[NODE_VERSION_MAX - 1] = 'a';
    long_name[NODE_VERSION_MAX] = '\0';
    assert_false(node_release_name_valid(long_name));
}

static void test_sha256sum_format(void **state)
{
    (void)state;
    char out[NODE_SHA256_HEX];
    static const char *const good[] = {
        HEX "  neard\n",
        HEX " *neard\n",
        HEX "\n",
        HEX,
        "  \n" HEX "\tneard",
        "649940341D7AF57A92D0F77FDA14F71E98332FC8D8DDE5865726E7054E2C859B  neard\n",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(out, 'z', sizeof(out));
        assert_int_equal(node_sha256_parse(good[i], out), 0);
        assert_string_equal(out, HEX); /* lowered */
    }
    static const char *const bad[] = {
        "",
        "neard  " HEX,
        /* 63 digits, then a blank */
        "649940341d7af57a92d0f77fda14f71e98332fc8d8dde5865726e7054e2c859  neard",
        HEX "0  neard", /* 65 digits */
        HEX "x",
        "g49940341d7af57a92d0f77fda14f71e98332fc8d8dde5865726e7054e2c859b  neard",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(node_sha256_parse(bad[i], out), NU_EPARSE);
}

static void test_os_arch_is_uname(void **state)
{
    (void)state;
    struct utsname u;
    char out[64], want[2 * sizeof(u.sysname) + 2];
    assert_int_equal(uname(&u), 0);
    snprintf(want, sizeof(want), "%s-%s", u.sysname, u.machine);
    assert_int_equal(node_os_arch(out, sizeof(out)), 0);
    assert_string_equal(out, want);
    assert_int_equal(node_os_arch(out, 3), NU_ETOOBIG);
}

static void test_bucket_urls(void **state)
{
    (void)state;
    struct node_release r;
    char os_arch[64], want[NODE_URL_MAX], url[NODE_URL_MAX];
    const char *commit = "080ffe82781bd0dab197c5b46f786aaf29ae681e";
    assert_int_equal(node_os_arch(os_arch, sizeof(os_arch)), 0);

    /* A deploy build: release and commit. A trailing slash on the base is dropped. */
    assert_int_equal(node_release_build(BASE "//", "2.5.0", commit, &r, NULL), 0);
    snprintf(want, sizeof(want), BASE "/nearcore/%s/2.5.0/%s/neard", os_arch, commit);
    assert_string_equal(r.binary_url, want);
    snprintf(want, sizeof(want), BASE "/nearcore/%s/2.5.0/%s/neard.sha256", os_arch, commit);
    assert_string_equal(r.sha256_url, want);
    assert_string_equal(r.version, "2.5.0");
    assert_string_equal(r.commit, commit);
    assert_string_equal(r.os_arch, os_arch);

    /* Pinned by release name: no commit in the path, and no request. */
    assert_int_equal(node_release_resolve(BASE, "testnet", "2.5.0", &r, NULL), 0);
    snprintf(want, sizeof(want), BASE "/nearcore/%s/2.5.0/neard", os_arch);
    assert_string_equal(r.binary_url, want);
    assert_string_equal(r.commit, "");
    assert_int_equal(node_release_build(BASE, "2.5.0", "", &r, NULL), 0);
    assert_string_equal(r.binary_url, want);

    /* The default bucket. */
    assert_int_equal(node_release_build(NULL, "2.5.0", NULL, &r, NULL), 0);
    snprintf(want, sizeof(want), NODE_DEFAULT_RELEASE_URL "/nearcore/%s/2.5.0/neard", os_arch);
    assert_string_equal(r.binary_url, want);

    assert_int_equal(
        node_release_deploy_url(BASE "/", "testnet", "latest_release", url, sizeof(url)), 0);
    assert_string_equal(url, BASE "/nearcore-deploy/testnet/latest_release");
    assert_int_equal(node_release_deploy_url(NULL, "mainnet", "rpc/config.json", url, sizeof(url)),
                     0);
    assert_string_equal(url, NODE_DEFAULT_RELEASE_URL "/nearcore-deploy/mainnet/rpc/config.json");
    assert_int_equal(node_release_deploy_url(BASE, "testnet", "genesis.json", url, 20), NU_ETOOBIG);
}

static void test_bad_names_are_refused_before_any_request(void **state)
{
    (void)state;
    struct node_release r;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(node_release_resolve(BASE, "testnet", "../../etc", &r, err), NU_EINVAL);
    assert_string_equal(err, "invalid neard version '../../etc'");
    assert_int_equal(node_release_build(BASE, "2.5.0", "a/b", &r, err), NU_EINVAL);
    assert_string_equal(err, "invalid neard commit 'a/b'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_release_name_valid),
        cmocka_unit_test(test_sha256sum_format),
        cmocka_unit_test(test_os_arch_is_uname),
        cmocka_unit_test(test_bucket_urls),
        cmocka_unit_test(test_bad_names_are_refused_before_any_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
