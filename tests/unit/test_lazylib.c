/* Tests for lazylib.c and its users: libcurl, libcrypto, libssl and
 * libarchive load by the names the build gave (every symbol forwarded is
 * found), the forwarding functions reach the real ones, and a missing
 * library or symbol is reported, or ends the process the way the dynamic
 * loader would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <curl/curl.h>
#include <openssl/sha.h>

#include "lazylib.h"

static void test_curl_and_crypto_load_with_every_symbol(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX] = "";
    struct nu_lazylib *libs[] = {&nu_libcurl, &nu_libcrypto, &nu_libssl, &nu_libarchive};
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(nu_lazylib_load(libs[k], err), 0);
        assert_string_equal(err, "");
        assert_true(libs[k]->n > 0);
        for (size_t i = 0; i < libs[k]->n; i++)
            assert_non_null(libs[k]->syms[i]);
    }
    assert_int_equal(nu_libcurl.n, 11);
    assert_int_equal(nu_libcrypto.n, 24);
    assert_int_equal(nu_libssl.n, 18);
    assert_int_equal(nu_libarchive.n, 20);
}

static void test_forwarding_reaches_the_library(void **state)
{
    (void)state;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256((const unsigned char *)"abc", 3, md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    /* one option of each argument type curl reads */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:9/"), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
    long code = -1;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    assert_int_equal(code, 0);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    /* libarchive writes zstd itself (linked with libzstd), not through an
     * external zstd program: the bundle depends on it. */
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

static void test_missing_library_and_symbol(void **state)
{
    (void)state;
    static const char *const names[] = {"strlen", "nu_no_such_symbol"};
    void *syms[2];
    struct nu_lazylib gone = NU_LAZYLIB("libnearup-gone.so.0", names, syms);
    struct nu_lazylib partial = NU_LAZYLIB("libc.so.6", names, syms);
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_lazylib_load(&gone, err), NU_EIO);
    assert_string_equal(err, "libnearup-gone.so.0: cannot open shared object file: No such file or "
                             "directory");
    assert_int_equal(nu_lazylib_load(&gone, err), NU_EIO); /* tried once, remembered */
    assert_int_equal(nu_lazylib_load(&partial, err), NU_EIO);
    assert_string_equal(err, "libc.so.6: no symbol nu_no_such_symbol");
}

static void test_a_call_without_its_library_exits_127(void **state)
{
    (void)state;
    static const char *const names[] = {"f"};
    void *syms[1];
    struct nu_lazylib gone = NU_LAZYLIB("libnearup-gone.so.0", names, syms);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        (void)nu_lazylib_sym(&gone, 0);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 127);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_and_crypto_load_with_every_symbol),
        cmocka_unit_test(test_forwarding_reaches_the_library),
        cmocka_unit_test(test_missing_library_and_symbol),
        cmocka_unit_test(test_a_call_without_its_library_exits_127),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
