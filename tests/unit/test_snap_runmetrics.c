/* The textfile of a snapshot schedule (runmetrics.h): exact text after a
 * create and a prune, what a failed run keeps, reading the previous file
 * back (and refusing what this module never writes), and the file's
 * name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "metrics.h"
#include "runmetrics.h"
#include "unit_tmp.h"

#define L "{home=\"/srv/n\",chain_id=\"simnet\",store=\"s3://b/p\"}"

static char *render(const struct snap_runmetrics *m)
{
    struct nu_buf b;
    char err[NU_ERRMSG_MAX];
    nu_buf_init(&b, SNAP_RUNMETRICS_FILE_MAX);
    assert_int_equal(snap_runmetrics_render(m, &b, err), 0);
    return nu_buf_take(&b);
}

/* Only the sample lines, for shorter expectations. */
static char *samples(const struct snap_runmetrics *m)
{
    char *text = render(m), *out = calloc(1, strlen(text) + 1);
    size_t n = 0;
    for (char *line = text; *line != '\0';) {
        char *eol = strchr(line, '\n');
        size_t len = (size_t)(eol - line + 1);
        if (line[0] != '#') {
            memcpy(out + n, line, len);
            n += len;
        }
        line = eol + 1;
    }
    free(text);
    return out;
}

static void fresh(struct snap_runmetrics *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->home, sizeof(m->home), "/srv/n");
    snprintf(m->store, sizeof(m->store), "s3://b/p");
    snprintf(m->chain_id, sizeof(m->chain_id), "simnet");
}

static struct snap_create_result created(int64_t height, uint64_t bytes, uint64_t up)
{
    struct snap_create_result r;
    memset(&r, 0, sizeof(r));
    r.height = height;
    r.bytes = bytes;
    r.bytes_uploaded = up;
    r.total_ms = 12345;
    r.downtime_ms = 240;
    return r;
}

static void test_create_then_prune_exact(void **state)
{
    (void)state;
    struct snap_runmetrics m;
    struct snap_create_result r = created(1200, 5000, 300);
    struct snap_prune_result p;
    fresh(&m);
    snap_runmetrics_create(&m, 0, &r, 1700000000, 21600);
    memset(&p, 0, sizeof(p));
    p.kept = 2;
    p.manifests_deleted = 1;
    p.bytes_deleted = 4096;
    snap_runmetrics_prune(&m, 0, &p, 1700000003, 1500);
    char *text = render(&m);
    assert_int_equal(strncmp(text,
                             "# HELP nearup_snapshot_last_run_timestamp_seconds When the last "
                             "snapshot create ended (unix seconds).\n"
                             "# TYPE nearup_snapshot_last_run_timestamp_seconds gauge\n"
                             "nearup_snapshot_last_run_timestamp_seconds" L " 1700000000\n",
                             200),
                     0);
    free(text);
    char *got = samples(&m);
    assert_string_equal(got,
                        "nearup_snapshot_last_run_timestamp_seconds" L " 1700000000\n"
                        "nearup_snapshot_last_run_success" L " 1\n"
                        "nearup_snapshot_last_duration_seconds" L " 12.345\n"
                        "nearup_snapshot_last_downtime_seconds" L " 0.24\n"
                        "nearup_snapshot_last_success_timestamp_seconds" L " 1700000000\n"
                        "nearup_snapshot_last_height" L " 1200\n"
                        "nearup_snapshot_last_bytes" L " 5000\n"
                        "nearup_snapshot_last_bytes_uploaded" L " 300\n"
                        "nearup_snapshot_interval_seconds" L " 21600\n"
                        "nearup_snapshot_prune_last_run_timestamp_seconds" L " 1700000003\n"
                        "nearup_snapshot_prune_last_run_success" L " 1\n"
                        "nearup_snapshot_prune_last_duration_seconds" L " 1.5\n"
                        "nearup_snapshot_prune_last_success_timestamp_seconds" L " 1700000003\n"
                        "nearup_snapshot_prune_last_kept_snapshots" L " 2\n"
                        "nearup_snapshot_prune_last_deleted_snapshots" L " 1\n"
                        "nearup_snapshot_prune_last_bytes_deleted" L " 4096\n");
    free(got);
}

static void test_a_failure_keeps_the_last_success(void **state)
{
    (void)state;
    struct snap_runmetrics m;
    struct snap_create_result ok = created(1200, 5000, 300), bad = created(-1, 0, 7);
    fresh(&m);
    snap_runmetrics_create(&m, 0, &ok, 1700000000, 600);
    bad.total_ms = 50;
    bad.downtime_ms = 0;
    snap_runmetrics_create(&m, NU_EIO, &bad, 1700000600, 0); /* no interval: the old stays */
    char *got = samples(&m);
    assert_string_equal(got, "nearup_snapshot_last_run_timestamp_seconds" L " 1700000600\n"
                             "nearup_snapshot_last_run_success" L " 0\n"
                             "nearup_snapshot_last_duration_seconds" L " 0.05\n"
                             "nearup_snapshot_last_downtime_seconds" L " 0\n"
                             "nearup_snapshot_last_success_timestamp_seconds" L " 1700000000\n"
                             "nearup_snapshot_last_height" L " 1200\n"
                             "nearup_snapshot_last_bytes" L " 5000\n"
                             "nearup_snapshot_last_bytes_uploaded" L " 300\n"
                             "nearup_snapshot_interval_seconds" L " 600\n");
    free(got);
    /* never a success: no success series at all (not a time of 0) */
    fresh(&m);
    snap_runmetrics_create(&m, NU_EIO, &bad, 1700000600, 600);
    got = samples(&m);
    assert_null(strstr(got, "success_timestamp"));
    assert_null(strstr(got, "last_height"));
    free(got);
    /* a stopped node's snapshot has no height */
    fresh(&m);
    snap_runmetrics_create(&m, 0, &bad, 1700000600, 600);
    got = samples(&m);
    assert_null(strstr(got, "last_height"));
    assert_non_null(strstr(got, "nearup_snapshot_last_bytes_uploaded" L " 7\n"));
    free(got);
}

static void test_parse_reads_back_what_render_writes(void **state)
{
    (void)state;
    struct snap_runmetrics m, back;
    struct snap_create_result r = created(99, 1, 2);
    char err[NU_ERRMSG_MAX];
    fresh(&m);
    snprintf(m.chain_id, sizeof(m.chain_id), "a \"b\"\\c\nd");
    snap_runmetrics_create(&m, 0, &r, 1700000000, 3600);
    char *text = render(&m);
    memset(&back, 0, sizeof(back));
    assert_int_equal(snap_runmetrics_parse(&back, text, strlen(text), err), 0);
    assert_string_equal(back.chain_id, m.chain_id);
    assert_memory_equal(back.have, m.have, sizeof(m.have));
    for (size_t i = 0; i < SNAP_RM_N; i++)
        assert_true(back.v[i] == m.v[i]);
    free(text);
    /* other series are skipped; a line this module never writes is refused */
    memset(&back, 0, sizeof(back));
    const char *other = "# HELP x y\nsome_other{a=\"b\"} 1\nnearup_snapshot_last_height 5\n";
    assert_int_equal(snap_runmetrics_parse(&back, other, strlen(other), err), 0);
    assert_true(back.have[SNAP_RM_HEIGHT] && back.v[SNAP_RM_HEIGHT] == 5);
    assert_false(back.have[SNAP_RM_RUN_AT]);
    static const char *const bad[] = {
        "nearup_snapshot_last_height{chain_id=\"x} 5\n",
        "nearup_snapshot_last_height 5 1700000000\n",
        "nearup_snapshot_last_height NaN\n",
        "nearup_snapshot_last_height{chain_id=\"\\x\"} 5\n",
        "nearup_snapshot_last_height{=\"x\"} 5\n",
        "{chain_id=\"x\"} 5\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char two[256];
        snprintf(two, sizeof(two), "# ok\n%s", bad[i]);
        assert_int_equal(snap_runmetrics_parse(&back, two, strlen(two), err), NU_EPARSE);
        assert_string_equal(err, "line 2: not a sample this file holds");
    }
}

static void test_load_names_the_file_and_reads_it_back(void **state)
{
    (void)state;
    char dir[512], err[NU_ERRMSG_MAX], warn[NU_ERRMSG_MAX], want[PATH_MAX + 256], key[64];
    char name[NU_METRICS_TEXTFILE_NAME_MAX];
    struct snap_runmetrics m;
    struct snap_create_result r = created(7, 8, 9);
    assert_int_equal(unit_tmp_make(dir, sizeof(dir), "runmetrics"), 0);
    /* the store's credentials are neither in the label nor in the name */
    const char *store = "https://u:secret@h/p";
    assert_int_equal(snap_runmetrics_load(&m, dir, "/srv/n", store, warn, err), 0);
    assert_string_equal(warn, "");
    assert_string_equal(m.store, "https://***@h/p");
    assert_string_equal(m.chain_id, ""); /* no genesis.json there */
    memcpy(key, "/srv/n\0https://***@h/p", 23);
    nu_metrics_textfile_name("nearup_snapshot", "/srv/n", key, 22, name);
    snprintf(want, sizeof(want), "%s/%s", dir, name);
    assert_string_equal(m.path, want);
    snprintf(m.chain_id, sizeof(m.chain_id), "simnet");
    snap_runmetrics_create(&m, 0, &r, 1700000000, 600);
    assert_int_equal(snap_runmetrics_write(&m, err), 0);
    struct snap_runmetrics again;
    assert_int_equal(snap_runmetrics_load(&again, dir, "/srv/n", store, warn, err), 0);
    assert_string_equal(again.chain_id, "simnet"); /* the previous file's */
    assert_true(again.have[SNAP_RM_SUCCESS_AT] && again.v[SNAP_RM_SUCCESS_AT] == 1700000000);
    /* a file that is not ours: its values are lost, and said so */
    assert_int_equal(nu_fs_write_atomic(m.path, "garbage\n", 8, 0644, err), 0);
    assert_int_equal(snap_runmetrics_load(&again, dir, "/srv/n", store, warn, err), 0);
    snprintf(want, sizeof(want),
             "%s: line 1: not a sample this file holds; its values (the last "
             "success) are lost",
             m.path);
    assert_string_equal(warn, want);
    assert_false(again.have[SNAP_RM_SUCCESS_AT]);
    /* a prune without --home: the store alone names it */
    assert_int_equal(snap_runmetrics_load(&again, dir, "", "s3://b/p", warn, err), 0);
    memcpy(key, "\0s3://b/p", 9);
    nu_metrics_textfile_name("nearup_snapshot", "", key, 9, name);
    snprintf(want, sizeof(want), "%s/%s", dir, name);
    assert_string_equal(again.path, want);
    assert_int_equal(strncmp(name, "nearup_snapshot_", 16), 0);
    assert_int_equal(strlen(name), 16 + 12 + 5);
    assert_int_equal(unit_tmp_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_prune_exact),
        cmocka_unit_test(test_a_failure_keeps_the_last_success),
        cmocka_unit_test(test_parse_reads_back_what_render_writes),
        cmocka_unit_test(test_load_names_the_file_and_reads_it_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
