/* Tests for chaincheck.c: the chain check file round trip, what it
 * refuses, and the lines that say where a check stands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaincheck.h"
#include "fs.h"
#include "state.h"
#include "unit_tmp.h"

static char tmpdir[PATH_MAX / 4];
static char home[PATH_MAX / 2];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_make(tmpdir, sizeof(tmpdir), "test_node_chaincheck") != 0)
        return -1;
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    return node_state_init(home, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_remove(tmpdir) == 0 ? 0 : -1;
}

static void sample(struct node_chain_check *c)
{
    memset(c, 0, sizeof(*c));
    c->state = NODE_CHAIN_PENDING;
    snprintf(c->snapshot, sizeof(c->snapshot), "mainnet-20261129T000534Z");
    snprintf(c->chain_id, sizeof(c->chain_id), "mainnet");
    c->height = 139000000;
    snprintf(c->expected_hash, sizeof(c->expected_hash), "7GkEpqs");
    c->quorum = 2;
    c->nrefs = 3;
    const char *urls[] = {"https://a.example", "https://***@b.example", "http://c:3030"};
    const enum node_chain_outcome o[] = {NODE_CHAIN_REF_MATCH, NODE_CHAIN_REF_MATCH,
                                         NODE_CHAIN_REF_UNAVAILABLE};
    for (int i = 0; i < 3; i++) {
        snprintf(c->refs[i].url, sizeof(c->refs[i].url), "%s", urls[i]);
        c->refs[i].outcome = o[i];
        snprintf(c->refs[i].detail, sizeof(c->refs[i].detail), "detail %d", i);
    }
    c->created_at = 1795910376;
    c->ndirs = 1;
    snprintf(c->data_dirs[0], PATH_MAX, "/srv/near/data");
}

static void test_round_trip(void **state)
{
    (void)state;
    struct node_chain_check a, b;
    char err[NU_ERRMSG_MAX];
    sample(&a);
    assert_int_equal(node_chain_load(home, &b, err), NU_ENOENT);
    assert_false(node_chain_blocking(home));
    assert_int_equal(node_chain_save(home, &a, err), 0);
    assert_int_equal(node_chain_load(home, &b, err), 0);
    assert_int_equal(memcmp(&a, &b, sizeof(a)), 0);
    assert_true(node_chain_blocking(home));
    assert_int_equal(node_chain_matches(&b), 2);
    /* decided: the node's hash, when, where the data went */
    a.state = NODE_CHAIN_MISMATCH;
    a.checked_at = 1795910400;
    snprintf(a.node_hash, sizeof(a.node_hash), "Fork3d");
    snprintf(a.rejected[0], PATH_MAX, "/srv/near/data.rejected-s");
    a.old_back = true;
    assert_int_equal(node_chain_save(home, &a, err), 0);
    assert_int_equal(node_chain_load(home, &b, err), 0);
    assert_int_equal(memcmp(&a, &b, sizeof(a)), 0);
    assert_true(node_chain_blocking(home));
    a.state = NODE_CHAIN_OK;
    a.rejected[0][0] = '\0';
    a.old_back = false;
    assert_int_equal(node_chain_save(home, &a, err), 0);
    assert_false(node_chain_blocking(home));
    assert_int_equal(node_chain_remove(home, err), 0);
    assert_int_equal(node_chain_remove(home, err), 0); /* none is fine */
    assert_int_equal(node_chain_load(home, &b, err), NU_ENOENT);
}

static const char *const good =
    "{\"format\":\"nearup-chain-check\",\"version\":1,\"state\":\"pending\",\"snapshot\":\"s1\","
    "\"chain_id\":\"simnet\",\"height\":5,\"expected_hash\":\"Abc\",\"quorum\":1,"
    "\"references\":[],\"created_at\":1,\"data_dirs\":[\"/h/data\"],\"checked_at\":null,"
    "\"node_hash\":null,\"rejected\":[],\"old_data_back\":false}";

/* good with the first occurrence of from replaced by to, parsed. */
static int parse_with(const char *from, const char *to, char *why)
{
    char text[2048];
    struct node_chain_check c;
    const char *at = strstr(good, from);
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
    return node_chain_parse(text, strlen(text), &c, why);
}

static void test_what_it_refuses(void **state)
{
    (void)state;
    char why[NU_ERRMSG_MAX];
    struct node_chain_check c;
    assert_int_equal(node_chain_parse(good, strlen(good), &c, why), 0);
    assert_int_equal(c.height, 5);
    assert_int_equal(parse_with("\"version\":1", "\"version\":2", why), NU_EPARSE);
    assert_string_equal(why, "not format nearup-chain-check version 1");
    assert_int_equal(parse_with("\"pending\"", "\"maybe\"", why), NU_EPARSE);
    assert_string_equal(why, "state is not one of pending, ok, mismatch");
    assert_int_equal(parse_with("\"Abc\"", "\"0OIl\"", why), NU_EPARSE); /* not base58 */
    assert_string_equal(why, "expected_hash is missing or not a valid string");
    assert_int_equal(parse_with("\"s1\"", "\"../x\"", why), NU_EPARSE);
    assert_string_equal(why, "snapshot is missing or not a valid string");
    assert_int_equal(parse_with("\"/h/data\"", "\"h/data\"", why), NU_EPARSE);
    assert_string_equal(why, "data_dirs lists something that is not an absolute path");
    assert_int_equal(parse_with("\"quorum\":1", "\"quorum\":0", why), NU_EPARSE);
    assert_string_equal(why, "height, quorum or created_at is missing or out of range");
    assert_int_equal(parse_with("\"references\":[]", "\"references\":[1,2,3,4,5,6,7,8,9]", why),
                     NU_EPARSE);
    assert_string_equal(why, "references is not a list of at most 8");
    /* a decided check must say what the node said */
    assert_int_equal(parse_with("\"pending\"", "\"mismatch\"", why), NU_EPARSE);
    assert_string_equal(why,
                        "a decided check lacks checked_at, node_hash, rejected or old_data_back");
    /* a file that cannot be read keeps the node back */
    char path[PATH_MAX], err[NU_ERRMSG_MAX], want[PATH_MAX + 64];
    assert_int_equal(node_chain_path(home, path, sizeof(path), err), 0);
    assert_int_equal(nu_fs_write_atomic(path, "{", 1, 0644, err), 0);
    assert_int_equal(node_chain_load(home, &c, err), NU_EPARSE);
    snprintf(want, sizeof(want), "%s cannot be read (chain check:1:1: ", path);
    assert_memory_equal(err, want, strlen(want));
    assert_true(node_chain_blocking(home));
}

static void test_describe(void **state)
{
    (void)state;
    struct node_chain_check c;
    char line[NU_ERRMSG_MAX];
    sample(&c);
    node_chain_describe(&c, line, sizeof(line));
    assert_string_equal(line, "chain check of snapshot mainnet-20261129T000534Z pending: block "
                              "139000000 must have hash 7GkEpqs (2 of 3 references agree); the "
                              "node has not confirmed it yet");
    c.state = NODE_CHAIN_OK;
    node_chain_describe(&c, line, sizeof(line));
    assert_string_equal(line, "chain check of snapshot mainnet-20261129T000534Z passed: block "
                              "139000000 has hash 7GkEpqs");
    c.state = NODE_CHAIN_MISMATCH;
    snprintf(c.node_hash, sizeof(c.node_hash), "Fork3d");
    snprintf(c.rejected[0], PATH_MAX, "/srv/near/data.rejected-x");
    node_chain_describe(&c, line, sizeof(line));
    assert_string_equal(line, "chain check of snapshot mainnet-20261129T000534Z failed: the "
                              "node's block 139000000 has hash Fork3d, not 7GkEpqs (2 of 3 "
                              "references agree); the restored data was moved to "
                              "/srv/near/data.rejected-x");
    c.old_back = true;
    node_chain_describe(&c, line, sizeof(line));
    assert_non_null(strstr(line, "data.rejected-x; the old data is back in place"));
    assert_string_equal(node_chain_outcome_name(NODE_CHAIN_REF_UNAVAILABLE), "unavailable");
    assert_string_equal(node_chain_state_name(NODE_CHAIN_MISMATCH), "mismatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_what_it_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
