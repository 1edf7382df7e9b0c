/* Tests for base58.c against known encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base58.h"

static void check_encode(const uint8_t *in, size_t len, const char *want)
{
    char out[256];
    int n = nu_base58_encode(in, len, out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
    uint8_t back[256];
    size_t blen = 0;
    assert_int_equal(nu_base58_decode(want, back, sizeof(back), &blen), 0);
    assert_int_equal(blen, len);
    if (len > 0)
        assert_memory_equal(back, in, len);
}

static void test_known_vectors(void **state)
{
    (void)state;
    check_encode((const uint8_t *)"Hello World!", 12, "2NEpo7TZRRrLZSi2U");
    const uint8_t lead[] = {0, 0, 0x28, 0x7f, 0xb4, 0xcd};
    check_encode(lead, sizeof(lead), "11233QC4");
    const uint8_t zero[1] = {0};
    check_encode(zero, 1, "1");
    const uint8_t ff[] = {0xff, 0xff, 0xff, 0xff};
    check_encode(ff, sizeof(ff), "7YXq9G");
    uint8_t seq[32];
    for (int i = 0; i < 32; i++)
        seq[i] = (uint8_t)(i + 1);
    check_encode(seq, sizeof(seq), "4wBqpZM9xaSheZzJSMawUKKwhdpChKbZ5eu5ky4Vigw");
    check_encode(NULL, 0, "");
}

static void test_all_zero_hash(void **state)
{
    (void)state;
    uint8_t z[32] = {0};
    check_encode(z, sizeof(z), "11111111111111111111111111111111");
}

static void test_near_public_key_round_trip(void **state)
{
    (void)state;
    const char *text = "6DSjZ8mvsRZDvFqFxo8tCKePG96omXW7eVYVSySmDk8e";
    const uint8_t want[32] = {0x4d, 0x7a, 0x80, 0x63, 0x6b, 0x24, 0x69, 0x4b, 0xa9, 0xc9, 0x28,
                              0x39, 0x41, 0x18, 0xcd, 0x53, 0x9b, 0xf8, 0x63, 0xf5, 0xe5, 0x77,
                              0x3a, 0x0d, 0xe2, 0x7c, 0x76, 0x77, 0xd3, 0xeb, 0x0a, 0x87};
    uint8_t pub[32];
    size_t len = 0;
    assert_int_equal(nu_base58_decode(text, pub, sizeof(pub), &len), 0);
    assert_int_equal(len, 32);
    assert_memory_equal(pub, want, 32);
    check_encode(pub, 32, text);
}

static void test_decode_rejects_bad_chars(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t len = 0;
    /* 0, O, I and l are not in the alphabet; nor are spaces or '+'. */
    assert_int_equal(nu_base58_decode("abc0", out, sizeof(out), &len), NU_EINVAL);
    assert_int_equal(nu_base58_decode("O", out, sizeof(out), &len), NU_EINVAL);
    assert_int_equal(nu_base58_decode("Il", out, sizeof(out), &len), NU_EINVAL);
    assert_int_equal(nu_base58_decode("2NEpo 7TZ", out, sizeof(out), &len), NU_EINVAL);
    assert_int_equal(nu_base58_decode("ab+", out, sizeof(out), &len), NU_EINVAL);
    assert_int_equal(nu_base58_decode("\xc3\xa9", out, sizeof(out), &len), NU_EINVAL);
    assert_int_equal(nu_base58_decode("", out, sizeof(out), &len), 0);
    assert_int_equal(len, 0);
}

static void test_buffer_limits(void **state)
{
    (void)state;
    char out[18];
    /* "2NEpo7TZRRrLZSi2U" is 17 characters: needs 18 bytes with the NUL. */
    assert_int_equal(nu_base58_encode((const uint8_t *)"Hello World!", 12, out, 17), NU_ETOOBIG);
    assert_int_equal(nu_base58_encode((const uint8_t *)"Hello World!", 12, out, 18), 17);
    uint8_t bytes[12];
    size_t len = 0;
    assert_int_equal(nu_base58_decode("2NEpo7TZRRrLZSi2U", bytes, 11, &len), NU_ETOOBIG);
    assert_int_equal(nu_base58_decode("2NEpo7TZRRrLZSi2U", bytes, 12, &len), 0);
    assert_int_equal(len, 12);
    /* Leading '1's count toward the output size too. */
    assert_int_equal(nu_base58_decode("111", bytes, 2, &len), NU_ETOOBIG);
}

static void test_round_trip_many(void **state)
{
    (void)state;
    uint8_t in[70] = {0}, back[70];
    char text[128];
    for (size_t len = 0; len <= sizeof(in); len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)((i * 37 + len * 11) & 0xff);
        if (len > 2)
            in[0] = 0;
        int n = nu_base58_encode(in, len, text, sizeof(text));
        assert_true(n >= 0);
        size_t blen = 0;
        assert_int_equal(nu_base58_decode(text, back, sizeof(back), &blen), 0);
        assert_int_equal(blen, len);
        if (len > 0)
            assert_memory_equal(back, in, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_all_zero_hash),
        cmocka_unit_test(test_near_public_key_round_trip),
        cmocka_unit_test(test_decode_rejects_bad_chars),
        cmocka_unit_test(test_buffer_limits),
        cmocka_unit_test(test_round_trip_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
