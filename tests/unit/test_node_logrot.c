/* Tests for logrot.c: rotation at the size limit with whole lines,
 * generations shifting (.1.zst -> .2.zst ...), zstd content that
 * decompresses to exactly what was written, keeping N generations, no
 * truncation on reopen, and a plain generation left by a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "buf.h"
#include "fs.h"
#include "logrot.h"
#include "unit_tmp.h"

#define LINE_LEN 10 /* "line 0001\n" */

static char tmpdir[PATH_MAX / 2]; /* room for the names put in it */
static char logpath[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_make(tmpdir, sizeof(tmpdir), "test_node_logrot") != 0)
        return -1;
    snprintf(logpath, sizeof(logpath), "%s/neard.log", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_remove(tmpdir) == 0 ? 0 : -1;
}

static void gen_path(char *out, const char *suffix)
{
    int n = snprintf(out, PATH_MAX, "%s%s", logpath, suffix);
    assert_true(n > 0 && n < PATH_MAX);
}

static char *read_plain(const char *suffix)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    gen_path(path, suffix);
    assert_int_equal(nu_fs_read_file(path, 1u << 20, &text, &len, NULL), 0);
    return text;
}

/* Decompresses a .zst generation with libzstd's streaming API (the writer
 * streams, so the frame has no content size). Caller frees. */
static char *read_zst(const char *suffix)
{
    char path[PATH_MAX], *packed = NULL, out[4096];
    size_t len = 0;
    struct nu_buf text;
    gen_path(path, suffix);
    assert_int_equal(nu_fs_read_file(path, 1u << 20, &packed, &len, NULL), 0);
    nu_buf_init(&text, 1u << 20);
    ZSTD_DStream *ds = ZSTD_createDStream();
    assert_non_null(ds);
    ZSTD_inBuffer in = {packed, len, 0};
    size_t left = 1;
    while (in.pos < in.size) {
        ZSTD_outBuffer ob = {out, sizeof(out), 0};
        left = ZSTD_decompressStream(ds, &ob, &in);
        assert_false(ZSTD_isError(left));
        assert_int_equal(nu_buf_append(&text, out, ob.pos), 0);
    }
    assert_int_equal(left, 0); /* a complete frame */
    ZSTD_freeDStream(ds);
    free(packed);
    return nu_buf_take(&text);
}

static bool exists(const char *suffix)
{
    char path[PATH_MAX];
    gen_path(path, suffix);
    return nu_fs_exists(path);
}

/* "line <first>\n" ... "line <last>\n" */
static char *lines(unsigned first, unsigned last)
{
    struct nu_buf b;
    nu_buf_init(&b, 1u << 20);
    for (unsigned i = first; i <= last; i++)
        assert_int_equal(nu_buf_printf(&b, "line %04u\n", i), 0);
    return nu_buf_take(&b);
}

static void write_lines(struct node_log *l, unsigned first, unsigned last)
{
    char line[32];
    for (unsigned i = first; i <= last; i++) {
        snprintf(line, sizeof(line), "line %04u\n", i);
        assert_int_equal(strlen(line), LINE_LEN);
        assert_int_equal(node_log_write(l, line, LINE_LEN, NULL), 0);
    }
}

static void assert_text(char *got, unsigned first, unsigned last)
{
    char *want = lines(first, last);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static void test_rotates_at_the_size_limit_into_zstd_generations(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    assert_int_equal(node_log_open(logpath, 10 * LINE_LEN, 3, &l, NULL), 0);
    write_lines(l, 1, 10); /* exactly the limit: no rotation yet */
    assert_false(exists(".1.zst"));
    assert_false(exists(".1"));
    write_lines(l, 11, 25);
    node_log_close(l); /* waits for the compression in progress */
    assert_text(read_plain(""), 21, 25);
    assert_text(read_zst(".1.zst"), 11, 20);
    assert_text(read_zst(".2.zst"), 1, 10);
    assert_false(exists(".1"));
    assert_false(exists(".3.zst"));
    assert_false(exists(".1.zst.tmp"));
}

static void test_keeps_only_n_generations(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    assert_int_equal(node_log_open(logpath, 10 * LINE_LEN, 2, &l, NULL), 0);
    write_lines(l, 1, 55); /* five rotations */
    node_log_close(l);
    assert_text(read_plain(""), 51, 55);
    assert_text(read_zst(".1.zst"), 41, 50);
    assert_text(read_zst(".2.zst"), 31, 40);
    assert_false(exists(".3.zst"));
    assert_false(exists(".3"));
}

static void test_keep_zero_drops_old_output(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    assert_int_equal(node_log_open(logpath, 10 * LINE_LEN, 0, &l, NULL), 0);
    write_lines(l, 1, 25);
    node_log_close(l);
    assert_text(read_plain(""), 21, 25);
    assert_false(exists(".1"));
    assert_false(exists(".1.zst"));
}

static void test_whole_lines_stay_in_one_file(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    assert_int_equal(node_log_open(logpath, 25, 3, &l, NULL), 0);
    /* Two lines of 10 fit in 25; the third would straddle: it opens the next file. */
    const char *chunk = "line 0001\nline 0002\nline 0003\n";
    assert_int_equal(node_log_write(l, chunk, strlen(chunk), NULL), 0);
    node_log_close(l);
    assert_text(read_plain(""), 3, 3);
    assert_text(read_zst(".1.zst"), 1, 2);
}

static void test_a_line_longer_than_the_limit_is_split(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    char big[64];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\n';
    assert_int_equal(node_log_open(logpath, 40, 3, &l, NULL), 0);
    assert_int_equal(node_log_write(l, big, sizeof(big), NULL), 0);
    node_log_close(l);
    char *cur = read_plain(""), *old = read_zst(".1.zst");
    assert_int_equal(strlen(old), 40);
    assert_int_equal(strlen(cur), 24);
    assert_memory_equal(old, big, 40);
    assert_memory_equal(cur, big + 40, 24);
    free(cur);
    free(old);
}

static void test_reopen_appends_never_truncates(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    assert_int_equal(node_log_open(logpath, 1u << 20, 3, &l, NULL), 0);
    write_lines(l, 1, 3);
    node_log_close(l);
    assert_int_equal(node_log_open(logpath, 1u << 20, 3, &l, NULL), 0);
    write_lines(l, 4, 5);
    node_log_close(l);
    assert_text(read_plain(""), 1, 5);
    /* The size it finds counts toward the limit. */
    assert_int_equal(node_log_open(logpath, 6 * LINE_LEN, 3, &l, NULL), 0);
    write_lines(l, 6, 7);
    node_log_close(l);
    assert_text(read_plain(""), 7, 7);
    assert_text(read_zst(".1.zst"), 1, 6);
}

static void test_plain_generation_left_by_a_crash_is_compressed_on_open(void **state)
{
    (void)state;
    char path[PATH_MAX], *text = lines(1, 4);
    struct node_log *l = NULL;
    gen_path(path, ".1");
    assert_int_equal(nu_fs_write_atomic(path, text, strlen(text), 0644, NULL), 0);
    free(text);
    assert_int_equal(node_log_open(logpath, 1u << 20, 3, &l, NULL), 0);
    node_log_close(l);
    assert_false(exists(".1"));
    assert_text(read_zst(".1.zst"), 1, 4);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct node_log *l = NULL;
    char path[PATH_MAX + 32], err[NU_ERRMSG_MAX];
    snprintf(path, sizeof(path), "%s/missing/neard.log", tmpdir);
    assert_int_equal(node_log_open(path, 100, 3, &l, err), NU_EIO);
    assert_null(l);
    assert_non_null(strstr(err, "No such file or directory"));
    node_log_close(NULL); /* accepts NULL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotates_at_the_size_limit_into_zstd_generations, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keeps_only_n_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_zero_drops_old_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_lines_stay_in_one_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_line_longer_than_the_limit_is_split, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_appends_never_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_generation_left_by_a_crash_is_compressed_on_open,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
