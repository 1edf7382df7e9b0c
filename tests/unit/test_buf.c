/* Tests for buf.c: growth, the hard cap, NUL termination, take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_init_is_empty_string(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 100);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    nu_buf_release(&b);
}

static void test_append_grows_and_terminates(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(nu_buf_puts(&b, "abc"), 0);
    assert_int_equal(b.len, 3000);
    assert_int_equal(strlen(b.data), 3000);
    assert_memory_equal(b.data + 2997, "abc", 4);
    assert_true(b.cap > b.len);
    nu_buf_release(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 1 << 20);
}

static void test_binary_append(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 16);
    const char raw[3] = {'a', '\0', 'b'};
    assert_int_equal(nu_buf_append(&b, raw, 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, raw, 3);
    assert_int_equal(b.data[3], '\0');
    nu_buf_release(&b);
}

static void test_cap_exact_fits(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 5);
    assert_int_equal(nu_buf_puts(&b, "12345"), 0);
    assert_string_equal(b.data, "12345");
    assert_int_equal(nu_buf_putc(&b, 'x'), NU_ETOOBIG);
    nu_buf_release(&b);
}

static void test_toobig_leaves_contents_intact(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 8);
    assert_int_equal(nu_buf_puts(&b, "hello"), 0);
    assert_int_equal(nu_buf_puts(&b, "world"), NU_ETOOBIG);
    assert_string_equal(b.data, "hello");
    assert_int_equal(b.len, 5);
    assert_int_equal(nu_buf_printf(&b, "%d", 1234), NU_ETOOBIG);
    assert_string_equal(b.data, "hello");
    assert_int_equal(nu_buf_printf(&b, "%d", 123), 0);
    assert_string_equal(b.data, "hello123");
    nu_buf_release(&b);
}

static void test_huge_len_does_not_overflow(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, SIZE_MAX);
    assert_int_equal(nu_buf_puts(&b, "x"), 0);
    assert_int_equal(nu_buf_append(&b, "y", SIZE_MAX), NU_ETOOBIG);
    assert_string_equal(b.data, "x");
    nu_buf_release(&b);
}

static void test_printf_formats(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 1024);
    assert_int_equal(nu_buf_printf(&b, "%s=%d", "port", 3030), 0);
    assert_int_equal(nu_buf_printf(&b, "%s", ""), 0);
    assert_int_equal(nu_buf_printf(&b, " %05.1f", 2.5), 0);
    assert_string_equal(b.data, "port=3030 002.5");
    assert_int_equal(b.len, 15);
    nu_buf_release(&b);
}

static void test_reset_keeps_memory(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 64);
    assert_int_equal(nu_buf_puts(&b, "abcdef"), 0);
    char *before = b.data;
    nu_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_ptr_equal(b.data, before);
    assert_int_equal(nu_buf_puts(&b, "z"), 0);
    assert_string_equal(b.data, "z");
    nu_buf_release(&b);
}

static void test_take_transfers_ownership(void **state)
{
    (void)state;
    struct nu_buf b;
    nu_buf_init(&b, 64);
    assert_int_equal(nu_buf_puts(&b, "owned"), 0);
    char *s = nu_buf_take(&b);
    assert_string_equal(s, "owned");
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    free(s);
    /* Taking an empty buffer still yields a freeable empty string. */
    s = nu_buf_take(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    nu_buf_release(&b);
    nu_buf_release(NULL);
}

/* Arrays grow by doubling from first; full-size requests that would
 * overflow fail and leave the array as it was. */
static void test_grow_doubles(void **state)
{
    (void)state;
    size_t cap = 0, n = 0;
    int *v = NULL;
    for (int i = 0; i < 100; i++, n++) {
        int *g = nu_grow(v, n, &cap, sizeof(*v), 4);
        assert_non_null(g);
        v = g;
        v[n] = i;
        if (n == 0)
            assert_int_equal(cap, 4);
        if (n == 4)
            assert_int_equal(cap, 8);
    }
    assert_int_equal(cap, 128);
    assert_ptr_equal(nu_grow(v, 100, &cap, sizeof(*v), 4), v); /* room left: the same array */
    assert_int_equal(cap, 128);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    size_t huge = SIZE_MAX / 2 + 1;
    assert_null(nu_grow(v, huge, &huge, sizeof(*v), 4));
    assert_true(huge == SIZE_MAX / 2 + 1);
    size_t big = SIZE_MAX / 8 + 1;
    assert_null(nu_grow(v, big, &big, sizeof(*v), 4)); /* 2 * big ints do not fit in size_t */
    assert_true(big == SIZE_MAX / 8 + 1);
    assert_int_equal(v[99], 99);
    free(v);
    size_t none = 0;
    assert_null(nu_grow(NULL, 0, &none, sizeof(int), 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_empty_string),
        cmocka_unit_test(test_append_grows_and_terminates),
        cmocka_unit_test(test_binary_append),
        cmocka_unit_test(test_cap_exact_fits),
        cmocka_unit_test(test_toobig_leaves_contents_intact),
        cmocka_unit_test(test_huge_len_does_not_overflow),
        cmocka_unit_test(test_printf_formats),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_take_transfers_ownership),
        cmocka_unit_test(test_grow_doubles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
