/* The project's one SHA-256: known answers (FIPS 180-2 examples), the
 * incremental form against the one-shot, hex, files and fds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sha256.h"
#include "unit_tmp.h"

static const char ABC[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char EMPTY[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char TWO_BLOCKS[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char TWO_BLOCKS_IN[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void hex_of(const void *data, size_t len, char out[NU_SHA256_HEX])
{
    uint8_t md[NU_SHA256_LEN];
    nu_sha256(data, len, md);
    nu_sha256_hex(md, out);
}

static void test_known_answers(void **state)
{
    char hex[NU_SHA256_HEX];
    hex_of("abc", 3, hex);
    assert_string_equal(hex, ABC);
    hex_of("", 0, hex);
    assert_string_equal(hex, EMPTY);
    hex_of(TWO_BLOCKS_IN, strlen(TWO_BLOCKS_IN), hex);
    assert_string_equal(hex, TWO_BLOCKS);
}

/* A million 'a' fed in pieces of every size from 1 to 997 bytes. */
static void test_incremental_matches_one_shot(void **state)
{
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    struct nu_sha256 h;
    nu_sha256_init(&h);
    for (size_t off = 0, step = 1; off < n; off += step, step = step % 997 + 1)
        nu_sha256_update(&h, a + off, off + step <= n ? step : n - off);
    uint8_t md[NU_SHA256_LEN];
    char inc[NU_SHA256_HEX], one[NU_SHA256_HEX];
    nu_sha256_final(&h, md);
    nu_sha256_hex(md, inc);
    hex_of(a, n, one);
    free(a);
    assert_string_equal(inc, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert_string_equal(one, inc);
}

static void test_file_and_fd(void **state)
{
    char dir[256], path[300];
    assert_int_equal(unit_tmp_make(dir, sizeof(dir), "test_sha256"), 0);
    snprintf(path, sizeof(path), "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    /* more than one read chunk, so the read loop runs several times */
    size_t n = 3 * NU_SHA256_CHUNK + 5;
    char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(i * 7);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    char want[NU_SHA256_HEX], got[NU_SHA256_HEX], err[NU_ERRMSG_MAX];
    hex_of(buf, n, want);
    assert_int_equal(nu_sha256_file(path, got, err), 0);
    assert_string_equal(got, want);
    /* from the current offset: the last 5 bytes only */
    assert_int_equal(lseek(fd, (off_t)(n - 5), SEEK_SET), (off_t)(n - 5));
    hex_of(buf + n - 5, 5, want);
    assert_int_equal(nu_sha256_fd(fd, path, got, err), 0);
    assert_string_equal(got, want);
    close(fd);
    unlink(path);
    free(buf);
    assert_int_equal(nu_sha256_file(path, got, err), NU_ENOENT);
    char msg[NU_ERRMSG_MAX];
    snprintf(msg, sizeof(msg), "open %s: No such file or directory", path);
    assert_string_equal(err, msg);
    assert_int_equal(unit_tmp_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_incremental_matches_one_shot),
        cmocka_unit_test(test_file_and_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
