/* Tests for runcfg.c: run.json written and read back exactly (the file's
 * text included), defaults for missing fields, field errors, restart
 * policy names, and the flags and RPC address taken from run.json. */
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

#include "fs.h"
#include "state.h"
#include "runcfg.h"
#include "unit_tmp.h"

static char tmpdir[PATH_MAX / 2]; /* room for the names put in it */
static char home[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_make(tmpdir, sizeof(tmpdir), "test_node_runcfg") != 0)
        return -1;
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    return node_state_init(home, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_remove(tmpdir) == 0 ? 0 : -1;
}

static char *read_runjson(void)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    assert_int_equal(node_state_path(home, "run.json", path, sizeof(path)), 0);
    assert_int_equal(nu_fs_read_file(path, 1u << 20, &text, &len, NULL), 0);
    return text;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    assert_int_equal(nu_fs_join(path, sizeof(path), dir, name), 0);
    assert_int_equal(nu_fs_write_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static void write_runjson(const char *text)
{
    char dir[PATH_MAX];
    assert_int_equal(node_state_path(home, "", dir, sizeof(dir)), 0);
    write_file(dir, "run.json", text);
}

static void fill(struct node_run_config *c)
{
    static const char *const args[] = {"--rpc-addr", "127.0.0.1:3030", "--boot-nodes",
                                       "ed25519:abc@1.2.3.4:24567", "--archive"};
    node_runcfg_init(c);
    snprintf(c->network, sizeof(c->network), "testnet");
    snprintf(c->chain_id, sizeof(c->chain_id), "testnet");
    snprintf(c->binary, sizeof(c->binary), "/cache/blobs/%064d", 5);
    snprintf(c->neard_version, sizeof(c->neard_version), "2.5.0-rc.1");
    snprintf(c->neard_commit, sizeof(c->neard_commit), "080ffe82");
    snprintf(c->neard_sha256, sizeof(c->neard_sha256), "%064d", 5);
    snprintf(c->release_url, sizeof(c->release_url), "http://127.0.0.1:8080/b");
    for (size_t i = 0; i < 5; i++)
        c->args[i] = strdup(args[i]);
    c->env[0] = strdup("RUST_LOG=info,near=debug");
    c->env[1] = strdup("A=\"quoted\" \\ value");
    c->restart = NODE_RESTART_ON_FAILURE;
    c->log_max_size = 3ull << 30;
    c->log_keep = 7;
    c->stop_timeout_s = 300;
    snprintf(c->metrics_textfile_dir, sizeof(c->metrics_textfile_dir), "/var/lib/textfile");
    snprintf(c->metrics_listen, sizeof(c->metrics_listen), "127.0.0.1:9480");
}

static const char expected_text[] =
    "{\n"
    "  \"network\": \"testnet\",\n"
    "  \"chain_id\": \"testnet\",\n"
    "  \"binary\": "
    "\"/cache/blobs/0000000000000000000000000000000000000000000000000000000000000005\",\n"
    "  \"neard_version\": \"2.5.0-rc.1\",\n"
    "  \"neard_commit\": \"080ffe82\",\n"
    "  \"neard_sha256\": \"0000000000000000000000000000000000000000000000000000000000000005\",\n"
    "  \"release_url\": \"http://127.0.0.1:8080/b\",\n"
    "  \"args\": [\n"
    "    \"--rpc-addr\",\n"
    "    \"127.0.0.1:3030\",\n"
    "    \"--boot-nodes\",\n"
    "    \"ed25519:abc@1.2.3.4:24567\",\n"
    "    \"--archive\"\n"
    "  ],\n"
    "  \"env\": [\n"
    "    \"RUST_LOG=info,near=debug\",\n"
    "    \"A=\\\"quoted\\\" \\\\ value\"\n"
    "  ],\n"
    "  \"restart\": \"on-failure\",\n"
    "  \"log_max_size\": 3221225472,\n"
    "  \"log_keep\": 7,\n"
    "  \"stop_timeout\": 300,\n"
    "  \"metrics_textfile_dir\": \"/var/lib/textfile\",\n"
    "  \"metrics_listen\": \"127.0.0.1:9480\"\n"
    "}\n";

static void assert_same(const struct node_run_config *a, const struct node_run_config *b)
{
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->chain_id, b->chain_id);
    assert_string_equal(a->binary, b->binary);
    assert_string_equal(a->neard_version, b->neard_version);
    assert_string_equal(a->neard_commit, b->neard_commit);
    assert_string_equal(a->neard_sha256, b->neard_sha256);
    assert_string_equal(a->release_url, b->release_url);
    for (size_t i = 0; i <= NODE_MAX_ARGS; i++) {
        if (a->args[i] == NULL || b->args[i] == NULL) {
            assert_ptr_equal(a->args[i], b->args[i]);
            break;
        }
        assert_string_equal(a->args[i], b->args[i]);
    }
    for (size_t i = 0; i <= NODE_MAX_ENV; i++) {
        if (a->env[i] == NULL || b->env[i] == NULL) {
            assert_ptr_equal(a->env[i], b->env[i]);
            break;
        }
        assert_string_equal(a->env[i], b->env[i]);
    }
    assert_int_equal(a->restart, b->restart);
    assert_int_equal(a->log_max_size, b->log_max_size);
    assert_int_equal(a->log_keep, b->log_keep);
    assert_int_equal(a->stop_timeout_s, b->stop_timeout_s);
    assert_string_equal(a->metrics_textfile_dir, b->metrics_textfile_dir);
    assert_string_equal(a->metrics_listen, b->metrics_listen);
}

static void test_round_trip_is_exact(void **state)
{
    (void)state;
    struct node_run_config c, back;
    fill(&c);
    assert_int_equal(node_runcfg_save(home, &c, NULL), 0);
    char *text = read_runjson();
    assert_string_equal(text, expected_text);
    free(text);
    assert_int_equal(node_runcfg_load(home, &back, NULL), 0);
    assert_same(&c, &back);
    /* Saving what was read writes the same bytes. */
    assert_int_equal(node_runcfg_save(home, &back, NULL), 0);
    text = read_runjson();
    assert_string_equal(text, expected_text);
    free(text);
    node_runcfg_release(&c);
    node_runcfg_release(&back);
    node_runcfg_release(&back); /* release is idempotent */
}

static void test_missing_fields_take_defaults(void **state)
{
    (void)state;
    struct node_run_config c;
    write_runjson("{\"binary\": \"/usr/bin/neard\", \"args\": null}\n");
    assert_int_equal(node_runcfg_load(home, &c, NULL), 0);
    assert_string_equal(c.binary, "/usr/bin/neard");
    assert_string_equal(c.network, "");
    assert_string_equal(c.neard_sha256, "");
    assert_null(c.args[0]);
    assert_null(c.env[0]);
    assert_int_equal(c.restart, NODE_RESTART_ALWAYS);
    assert_int_equal(c.log_max_size, 100u << 20);
    assert_int_equal(c.log_keep, 5);
    assert_int_equal(c.stop_timeout_s, NODE_DEFAULT_STOP_TIMEOUT_S);
    assert_string_equal(c.metrics_textfile_dir, "");
    assert_string_equal(c.metrics_listen, "");
    node_runcfg_release(&c);
}

/* --metrics-listen: a bare port is loopback's; names and port 0 are refused. */
static void test_metrics_listen_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *in, *host;
        int port;
    } ok[] = {{"9480", "127.0.0.1", 9480},
              {"0.0.0.0:9480", "0.0.0.0", 9480},
              {"[::1]:1", "::1", 1},
              {"localhost:65535", "localhost", 65535}};
    static const struct {
        const char *in, *err;
    } bad[] = {{"0", "metrics listen address 0: the port must be 1 to 65535"},
               {"127.0.0.1:0", "metrics listen address 127.0.0.1:0: the port must be 1 to 65535"},
               {"host.example:9480", "metrics listen address host.example:9480: the host must be "
                                     "an IP address or localhost"},
               {"", "metrics listen address : no host"},
               {"65536", "metrics listen address 65536: the port must be 1 to 65535"}};
    struct nu_hostport hp;
    char err[NU_ERRMSG_MAX];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(node_metrics_listen_parse(ok[i].in, &hp, err), 0);
        assert_string_equal(hp.host, ok[i].host);
        assert_int_equal(hp.port, ok[i].port);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(node_metrics_listen_parse(bad[i].in, &hp, err), NU_EINVAL);
        assert_string_equal(err, bad[i].err);
    }
}

static void test_field_errors_name_the_file_and_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *error;
    } cases[] = {
        {"{}", "binary is missing"},
        {"[]", "not a JSON object"},
        {"{\"binary\": 5}", "field binary must be a string of at most 4095 bytes"},
        {"{\"binary\": \"/b\", \"args\": [\"a\", 1]}", "args[1] must be a string"},
        {"{\"binary\": \"/b\", \"env\": \"A=1\"}", "env must be an array of at most 32 strings"},
        {"{\"binary\": \"/b\", \"restart\": \"sometimes\"}",
         "restart must be always, on-failure or no"},
        {"{\"binary\": \"/b\", \"log_keep\": 1001}", "log_keep must be an integer from 0 to 1000"},
        {"{\"binary\": \"/b\", \"stop_timeout\": -1}",
         "stop_timeout must be an integer from 0 to 86400"},
    };
    char err[NU_ERRMSG_MAX], want[NU_ERRMSG_MAX + PATH_MAX];
    struct node_run_config c;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_runjson(cases[i].json);
        assert_int_equal(node_runcfg_load(home, &c, err), NU_EPARSE);
        snprintf(want, sizeof(want), "%s/.nearup/run.json: %s", home, cases[i].error);
        assert_string_equal(err, want);
        assert_null(c.args[0]); /* nothing left allocated */
    }
    char path[PATH_MAX];
    assert_int_equal(node_state_path(home, "run.json", path, sizeof(path)), 0);
    unlink(path);
    assert_int_equal(node_runcfg_load(home, &c, err), NU_ENOENT);
}

static void test_restart_policy_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum node_restart_policy p;
    } names[] = {
        {"always", NODE_RESTART_ALWAYS},
        {"on-failure", NODE_RESTART_ON_FAILURE},
        {"no", NODE_RESTART_NO},
    };
    enum node_restart_policy p;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(node_restart_policy_parse(names[i].name, &p), 0);
        assert_int_equal(p, names[i].p);
        assert_string_equal(node_restart_policy_name(names[i].p), names[i].name);
    }
    static const char *const bad[] = {"", "Always", "on_failure", "never", "always "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(node_restart_policy_parse(bad[i], &p), NU_EINVAL);
    assert_int_equal(node_restart_policy_parse(NULL, &p), NU_EINVAL);
    assert_string_equal(node_restart_policy_name((enum node_restart_policy)42), "always");
}

static void test_neard_flags_from_args(void **state)
{
    (void)state;
    struct node_run_config c;
    const char *v = NULL;
    node_runcfg_init(&c);
    c.args[0] = strdup("--rpc-addr");
    c.args[1] = strdup("0.0.0.0:3030");
    c.args[2] = strdup("--network-addr=127.0.0.1:24567");
    c.args[3] = strdup("--archive");
    assert_int_equal(node_runcfg_arg(&c, "--rpc-addr", &v), 0);
    assert_string_equal(v, "0.0.0.0:3030");
    assert_int_equal(node_runcfg_arg(&c, "--network-addr", &v), 0);
    assert_string_equal(v, "127.0.0.1:24567");
    assert_int_equal(node_runcfg_arg(&c, "--archive", NULL), 0);
    assert_int_equal(node_runcfg_arg(&c, "--boot-nodes", &v), NU_ENOENT);
    assert_int_equal(node_runcfg_arg(&c, "--rpc", &v), NU_ENOENT); /* no prefix match */

    char addr[256], err[NU_ERRMSG_MAX];
    assert_int_equal(node_runcfg_rpc_addr(home, &c, addr, sizeof(addr), NULL), 0);
    assert_string_equal(addr, "127.0.0.1:3030"); /* 0.0.0.0 is not an address to connect to */
    free(c.args[1]);
    c.args[1] = strdup("[::]:3031");
    assert_int_equal(node_runcfg_rpc_addr(home, &c, addr, sizeof(addr), NULL), 0);
    assert_string_equal(addr, "[::1]:3031");
    c.args[4] = strdup("--disable-rpc");
    assert_int_equal(node_runcfg_rpc_addr(home, &c, addr, sizeof(addr), err), NU_ENOENT);
    assert_string_equal(err, "rpc is disabled");
    node_runcfg_release(&c);
}

static void test_rpc_addr_from_config_json(void **state)
{
    (void)state;
    char addr[256], err[NU_ERRMSG_MAX];
    write_file(home, "config.json",
               "{\"rpc\": {\"addr\": \"0.0.0.0:3030\"} // neard allows this\n}");
    assert_int_equal(node_runcfg_rpc_addr(home, NULL, addr, sizeof(addr), NULL), 0);
    assert_string_equal(addr, "127.0.0.1:3030");
    write_file(home, "config.json", "{\"network\": {}}");
    assert_int_equal(node_runcfg_rpc_addr(home, NULL, addr, sizeof(addr), err), NU_ENOENT);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s/config.json: no rpc.addr", home);
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_fields_take_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_errors_name_the_file_and_field, setup, teardown),
        cmocka_unit_test(test_restart_policy_names),
        cmocka_unit_test(test_metrics_listen_addresses),
        cmocka_unit_test_setup_teardown(test_neard_flags_from_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpc_addr_from_config_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
