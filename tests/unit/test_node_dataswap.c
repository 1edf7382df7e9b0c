/* Tests for dataswap.c: the swap of hot and cold data dirs, its checks at
 * the rename (data without --replace, a database held open), the journal
 * after a kill -9 at each step (finished across both dirs, or rolled back
 * for both when a staging dir is gone), the deferred removal, and the
 * chain check's part: removal held back while it is pending, a rejection
 * that puts the old data back, a check discarded with a rolled-back swap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaincheck.h"
#include "dataswap.h"
#include "fs.h"
#include "state.h"
#include "unit_tmp.h"

static char tmpdir[PATH_MAX / 4];
static char home[PATH_MAX / 2];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_make(tmpdir, sizeof(tmpdir), "test_node_dataswap") != 0)
        return -1;
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    return node_state_init(home, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv(NODE_SWAP_KILL_ENV);
    return unit_tmp_remove(tmpdir) == 0 ? 0 : -1;
}

static void path_of(char *out, const char *dir, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s%s%s", home, dir, name[0] ? "/" : "", name);
}

/* <home>/<dir>/f holding text (dir created). */
static void put(const char *dir, const char *text)
{
    char d[PATH_MAX], f[PATH_MAX];
    path_of(d, dir, "");
    path_of(f, dir, "f");
    assert_int_equal(nu_fs_mkdir_p(d, 0755, NULL), 0);
    assert_int_equal(nu_fs_write_atomic(f, text, strlen(text), 0644, NULL), 0);
}

/* What <home>/<dir>/f holds, "-" when the dir is absent. */
static const char *got(const char *dir)
{
    static char text[4][64];
    static int next;
    char f[PATH_MAX], *data = NULL, *out = text[next++ % 4];
    size_t len = 0;
    path_of(f, dir, "f");
    if (nu_fs_read_file(f, 63, &data, &len, NULL) < 0)
        snprintf(out, 64, "%s", nu_fs_exists(f) ? "?" : "-");
    else
        snprintf(out, 64, "%s", data);
    free(data);
    return out;
}

static bool exists(const char *dir)
{
    char d[PATH_MAX];
    path_of(d, dir, "");
    return nu_fs_exists(d);
}

static bool journal_exists(void)
{
    char p[PATH_MAX];
    assert_int_equal(node_state_path(home, NODE_SWAP_FILE, p, sizeof(p)), 0);
    return nu_fs_exists(p);
}

/* Old data in data/ and cold/, their restored data staged as snapshot s1. */
static void plan(struct node_swap *sw, bool with_old, bool replace)
{
    char t[PATH_MAX];
    memset(sw, 0, sizeof(*sw));
    snprintf(sw->name, sizeof(sw->name), "s1");
    sw->replace = replace;
    sw->ndirs = 2;
    const char *dirs[] = {"data", "cold"};
    for (int i = 0; i < 2; i++) {
        path_of(t, dirs[i], "");
        assert_int_equal(node_swap_dir_init(&sw->dir[i], t, "s1", NULL), 0);
        char staged[64];
        snprintf(staged, sizeof(staged), "%s.restore-s1", dirs[i]);
        put(staged, i == 0 ? "new-hot" : "new-cold");
        if (with_old)
            put(dirs[i], i == 0 ? "old-hot" : "old-cold");
    }
}

static void test_swap_moves_old_data_aside_until_removed(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_result res;
    size_t removed = 0;
    char err[NU_ERRMSG_MAX];
    plan(&sw, true, true);
    assert_int_equal(node_swap_run(home, &sw, &res, err), 0);
    assert_true(res.replaced);
    assert_false(res.kept);
    assert_int_equal(res.nold, 2);
    assert_string_equal(res.old[0], sw.dir[0].old);
    assert_string_equal(got("data"), "new-hot");
    assert_string_equal(got("cold"), "new-cold");
    assert_string_equal(got("data.replaced-s1"), "old-hot");
    assert_string_equal(got("cold.replaced-s1"), "old-cold");
    assert_false(exists("data.restore-s1") || exists("cold.restore-s1"));
    assert_true(node_swap_removal_pending(home, NULL, 0));
    assert_int_equal(node_swap_remove_old(home, &removed, err), 0);
    assert_int_equal(removed, 2);
    assert_false(exists("data.replaced-s1") || exists("cold.replaced-s1"));
    assert_false(journal_exists());
    assert_false(node_swap_removal_pending(home, NULL, 0));
}

static void test_data_without_replace_is_never_moved(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_result res;
    char err[NU_ERRMSG_MAX], want[3 * PATH_MAX];
    plan(&sw, false, false);
    put("cold", "appeared");
    snprintf(want, sizeof(want),
             "%s got data while the restore ran (was a node started?); it was left as it is, and "
             "the restored data waits in %s: rerun the restore with --replace to replace it",
             sw.dir[1].target, sw.dir[1].staging);
    assert_int_equal(node_swap_run(home, &sw, &res, err), NU_EEXIST);
    assert_string_equal(err, want);
    assert_string_equal(got("cold"), "appeared");
    assert_string_equal(got("data"), "-"); /* the hot dir was not swapped alone either */
    assert_string_equal(got("data.restore-s1"), "new-hot");
    assert_false(journal_exists());
}

static void test_a_database_held_open_is_not_moved(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_result res;
    char err[NU_ERRMSG_MAX], want[3 * PATH_MAX], lock[PATH_MAX];
    int pfd[2];
    plan(&sw, true, true);
    path_of(lock, "cold", "LOCK");
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    if (child == 0) { /* as RocksDB holds it */
        int fd = open(lock, O_RDWR | O_CREAT, 0644);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        char c = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
        if (write(pfd[1], &c, 1) != 1)
            _exit(3);
        pause();
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(pfd[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    assert_true(node_data_locked(sw.dir[1].target));
    snprintf(want, sizeof(want),
             "a neard opened the database in %s while the restore ran; nothing was changed and "
             "the restored data waits in %s: stop that neard, then rerun the restore",
             sw.dir[1].target, sw.dir[1].staging);
    assert_int_equal(node_swap_run(home, &sw, &res, err), NU_ESTATE);
    assert_string_equal(err, want);
    kill(child, SIGKILL);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    close(pfd[0]);
    close(pfd[1]);
    assert_string_equal(got("data"), "old-hot");
    assert_string_equal(got("cold"), "old-cold");
    assert_false(exists("data.replaced-s1"));
    assert_false(journal_exists());
}

/* node_swap_run in a child that SIGKILLs itself after step. */
static void killed_at(const char *step, struct node_swap *sw)
{
    pid_t child = fork();
    if (child == 0) {
        struct node_swap_result res;
        setenv(NODE_SWAP_KILL_ENV, step, 1);
        _exit(node_swap_run(home, sw, &res, NULL) == 0 ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_a_kill_at_each_step_is_finished_for_both_dirs(void **state)
{
    (void)state;
    static const char *const steps[] = {"journal", "aside", "in", "done"};
    for (size_t i = 0; i < 4; i++) {
        struct node_swap sw;
        struct node_swap_recovery rec;
        char err[NU_ERRMSG_MAX], want[3 * PATH_MAX];
        size_t removed;
        plan(&sw, true, true);
        killed_at(steps[i], &sw);
        assert_true(journal_exists());
        assert_int_equal(node_swap_recover(home, &rec, err), 0);
        assert_int_equal(rec.outcome, i < 3 ? NODE_SWAP_FINISHED : NODE_SWAP_NOTHING);
        snprintf(want, sizeof(want),
                 "finished the swap of snapshot s1 that was interrupted: %s holds the snapshot "
                 "now; its old data is in %s",
                 sw.dir[0].target, sw.dir[0].old);
        assert_string_equal(rec.note, i < 3 ? want : "");
        assert_string_equal(got("data"), "new-hot");
        assert_string_equal(got("cold"), "new-cold");
        assert_string_equal(got("data.replaced-s1"), "old-hot");
        assert_string_equal(got("cold.replaced-s1"), "old-cold");
        assert_int_equal(node_swap_remove_old(home, &removed, err), 0);
        assert_int_equal(removed, 2);
        assert_false(journal_exists());
    }
}

static void test_a_lost_staging_dir_rolls_back_both_dirs(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_recovery rec;
    char err[NU_ERRMSG_MAX], staged[PATH_MAX];
    plan(&sw, true, true);
    killed_at("in", &sw); /* hot swapped, cold not yet */
    assert_string_equal(got("data"), "new-hot");
    path_of(staged, "cold.restore-s1", "");
    assert_int_equal(nu_fs_rm_tree(staged, NULL), 0);
    assert_int_equal(node_swap_recover(home, &rec, err), 0);
    assert_int_equal(rec.outcome, NODE_SWAP_ROLLED_BACK);
    assert_string_equal(rec.note, "rolled back the swap of snapshot s1 that was interrupted: its "
                                  "restored data was gone");
    assert_string_equal(got("data"), "old-hot");
    assert_string_equal(got("cold"), "old-cold");
    assert_string_equal(got("data.restore-s1"), "new-hot"); /* kept for a rerun */
    assert_false(exists("data.replaced-s1") || exists("cold.replaced-s1"));
    assert_false(journal_exists());
}

static void test_old_data_gone_keeps_everything_stopped(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_recovery rec;
    char err[NU_ERRMSG_MAX], want[3 * PATH_MAX], p[PATH_MAX];
    plan(&sw, true, true);
    killed_at("aside", &sw);
    path_of(p, "data.replaced-s1", "");
    assert_int_equal(nu_fs_rm_tree(p, NULL), 0);
    path_of(p, "data.restore-s1", "");
    assert_int_equal(nu_fs_rm_tree(p, NULL), 0);
    snprintf(want, sizeof(want),
             "the old data of %s is gone (neither it nor %s is there); not starting neard on it: "
             "put the data back by hand",
             sw.dir[0].target, sw.dir[0].old);
    for (int i = 0; i < 2; i++) { /* and again: the journal stays */
        assert_int_equal(node_swap_recover(home, &rec, err), NU_ESTATE);
        assert_string_equal(err, want);
        assert_true(journal_exists());
    }
    assert_string_equal(got("cold"), "old-cold");
}

/* A check of snapshot s1 in state st for data/ and cold/. */
static void record_check(enum node_chain_state st)
{
    struct node_chain_check c;
    memset(&c, 0, sizeof(c));
    c.state = st;
    snprintf(c.snapshot, sizeof(c.snapshot), "s1");
    snprintf(c.chain_id, sizeof(c.chain_id), "simnet");
    c.height = 42;
    snprintf(c.expected_hash, sizeof(c.expected_hash), "Expected1");
    c.quorum = 1;
    c.ndirs = 2;
    path_of(c.data_dirs[0], "data", "");
    path_of(c.data_dirs[1], "cold", "");
    if (st != NODE_CHAIN_PENDING) {
        c.checked_at = 1;
        snprintf(c.node_hash, sizeof(c.node_hash), "Node1");
    }
    assert_int_equal(node_chain_save(home, &c, NULL), 0);
}

static void test_a_pending_check_keeps_the_old_data(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_result res;
    size_t removed = 9;
    char err[NU_ERRMSG_MAX], want[PATH_MAX];
    plan(&sw, true, true);
    record_check(NODE_CHAIN_PENDING);
    assert_int_equal(node_swap_run(home, &sw, &res, err), 0);
    assert_false(node_swap_removal_pending(home, NULL, 0));
    snprintf(want, sizeof(want),
             "the chain check of %s has not passed; the old data a restore kept stays until it "
             "does",
             home);
    assert_int_equal(node_swap_remove_old(home, &removed, err), NU_ESTATE);
    assert_string_equal(err, want);
    assert_int_equal(removed, 0);
    assert_string_equal(got("data.replaced-s1"), "old-hot");
    record_check(NODE_CHAIN_MISMATCH); /* failed: kept too */
    assert_false(node_swap_removal_pending(home, NULL, 0));
    record_check(NODE_CHAIN_OK);
    assert_true(node_swap_removal_pending(home, NULL, 0));
    assert_int_equal(node_swap_remove_old(home, &removed, err), 0);
    assert_int_equal(removed, 2);
}

static void test_rejected_data_goes_aside_and_the_old_comes_back(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_result res;
    struct node_swap_rejection *r = calloc(1, sizeof(*r));
    char err[NU_ERRMSG_MAX], targets[2][PATH_MAX];
    plan(&sw, true, true);
    record_check(NODE_CHAIN_PENDING);
    assert_int_equal(node_swap_run(home, &sw, &res, err), 0);
    put("data.rejected-s1", "earlier"); /* a rejection of before: taken */
    path_of(targets[0], "data", "");
    path_of(targets[1], "cold", "");
    assert_int_equal(node_swap_reject_plan((const char(*)[PATH_MAX])targets, 2, "s1", r, err), 0);
    assert_int_equal(r->ndirs, 2);
    char want0[PATH_MAX + 32], want1[PATH_MAX + 32];
    snprintf(want0, sizeof(want0), "%s.rejected-s1.2", sw.dir[0].target);
    snprintf(want1, sizeof(want1), "%s.rejected-s1", sw.dir[1].target);
    assert_string_equal(r->rejected[0], want0);
    assert_string_equal(r->rejected[1], want1);
    assert_string_equal(got("data"), "new-hot"); /* a plan moves nothing */
    assert_int_equal(node_swap_reject(home, r, err), 0);
    assert_true(r->old_back[0] && r->old_back[1]);
    assert_string_equal(got("data"), "old-hot");
    assert_string_equal(got("cold"), "old-cold");
    assert_string_equal(got("data.rejected-s1.2"), "new-hot");
    assert_string_equal(got("cold.rejected-s1"), "new-cold");
    assert_string_equal(got("data.rejected-s1"), "earlier");
    assert_false(exists("data.replaced-s1") || exists("cold.replaced-s1"));
    assert_false(journal_exists()); /* nothing is left to remove */
    free(r);
}

static void test_a_rejection_with_every_name_taken_moves_nothing(void **state)
{
    (void)state;
    struct node_swap_rejection *r = calloc(1, sizeof(*r));
    char err[NU_ERRMSG_MAX], targets[1][PATH_MAX], want[2 * PATH_MAX], name[64];
    put("data", "restored");
    put("data.rejected-s1", "1");
    for (int k = 2; k <= NODE_SWAP_REJECTED_MAX; k++) {
        snprintf(name, sizeof(name), "data.rejected-s1.%d", k);
        put(name, "k");
    }
    path_of(targets[0], "data", "");
    assert_int_equal(node_swap_reject_plan((const char(*)[PATH_MAX])targets, 1, "s1", r, err),
                     NU_EEXIST);
    snprintf(want, sizeof(want),
             "%s.rejected-s1 and 15 more rejected data dirs are in the way; move them away",
             targets[0]);
    assert_string_equal(err, want);
    assert_string_equal(got("data"), "restored");
    free(r);
}

static void test_a_rolled_back_swap_discards_its_check(void **state)
{
    (void)state;
    struct node_swap sw;
    struct node_swap_recovery rec;
    struct node_chain_check c;
    char err[NU_ERRMSG_MAX], staged[PATH_MAX];
    plan(&sw, true, true);
    record_check(NODE_CHAIN_PENDING); /* a restore writes it before the swap */
    killed_at("in", &sw);
    path_of(staged, "cold.restore-s1", "");
    assert_int_equal(nu_fs_rm_tree(staged, NULL), 0);
    assert_int_equal(node_swap_recover(home, &rec, err), 0);
    assert_int_equal(rec.outcome, NODE_SWAP_ROLLED_BACK);
    assert_string_equal(got("data"), "old-hot");
    assert_int_equal(node_chain_load(home, &c, err), NU_ENOENT);
    /* a finished one keeps it: the restored data is what it is about */
    plan(&sw, true, true);
    record_check(NODE_CHAIN_PENDING);
    killed_at("in", &sw);
    assert_int_equal(node_swap_recover(home, &rec, err), 0);
    assert_int_equal(rec.outcome, NODE_SWAP_FINISHED);
    assert_int_equal(node_chain_load(home, &c, err), 0);
    assert_int_equal(c.state, NODE_CHAIN_PENDING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_swap_moves_old_data_aside_until_removed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_data_without_replace_is_never_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_database_held_open_is_not_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_kill_at_each_step_is_finished_for_both_dirs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_lost_staging_dir_rolls_back_both_dirs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_old_data_gone_keeps_everything_stopped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_pending_check_keeps_the_old_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_data_goes_aside_and_the_old_comes_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_rejection_with_every_name_taken_moves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_rolled_back_swap_discards_its_check, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
