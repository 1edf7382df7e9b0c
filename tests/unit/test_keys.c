/* Tests for keys.c: neard-compatible derivation and key files, parsing
 * errors, signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "keys.h"
#include "unit_tmp.h"

#define NODE1_PUB "ed25519:6DSjZ8mvsRZDvFqFxo8tCKePG96omXW7eVYVSySmDk8e"
#define NODE1_SEC                                                                                  \
    "ed25519:3D4YudUahN1nawWogh8pAKSj92sUNMdbZGjn7kERKzYoTy8tnFQuwoGUC51DowKqorvkr2pytJSnwuSbsNVf" \
    "qygr"
/* A different key (from_seed("node0")) to build mismatches with. */
#define NODE0_PUB "ed25519:7PGseFbWxvYVgZ89K1uTJKYoKetWs7BJtbyXDzfbAcqX"

/* Byte-exact key file as neard writes it. */
static const char node1_file[] = "{\n"
                                 "  \"account_id\": \"node\",\n"
                                 "  \"public_key\": \"" NODE1_PUB "\",\n"
                                 "  \"secret_key\": \"" NODE1_SEC "\"\n"
                                 "}";

static char tmpdir[256];
static char keypath[512];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_make(tmpdir, sizeof(tmpdir), "test_keys") != 0)
        return -1;
    snprintf(keypath, sizeof(keypath), "%s/node_key.json", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    static const char *const written[] = {"node_key.json", NULL}; /* and no temporary file */
    return unit_tmp_remove_expecting(tmpdir, written);
}

static void test_from_seed_matches_neard(void **state)
{
    (void)state;
    struct nu_keypair kp;
    char text[NU_KEY_TEXT_MAX];
    assert_int_equal(nu_key_from_seed(&kp, "node", "node1"), 0);
    assert_string_equal(kp.account_id, "node");
    nu_key_pub_text(&kp, text, sizeof(text));
    assert_string_equal(text, NODE1_PUB);
    nu_key_sec_text(&kp, text, sizeof(text));
    assert_string_equal(text, NODE1_SEC);
    assert_int_equal(nu_key_from_seed(&kp, "node", "node0"), 0);
    nu_key_pub_text(&kp, text, sizeof(text));
    assert_string_equal(text, NODE0_PUB);
}

static void test_from_seed_truncates_at_32_bytes(void **state)
{
    (void)state;
    struct nu_keypair a, b;
    assert_int_equal(nu_key_from_seed(&a, "x", "0123456789abcdef0123456789abcdef"), 0);
    assert_int_equal(nu_key_from_seed(&b, "x", "0123456789abcdef0123456789abcdefEXTRA"), 0);
    assert_memory_equal(a.sec, b.sec, NU_KEY_SEC_LEN);
    char long_account[NU_ACCOUNT_ID_MAX + 2];
    memset(long_account, 'a', sizeof(long_account) - 1);
    long_account[sizeof(long_account) - 1] = '\0';
    assert_int_equal(nu_key_from_seed(&a, long_account, "s"), NU_EINVAL);
}

static void test_text_needs_room(void **state)
{
    (void)state;
    struct nu_keypair kp;
    char small[20];
    assert_int_equal(nu_key_from_seed(&kp, "node", "node1"), 0);
    nu_key_pub_text(&kp, small, sizeof(small));
    assert_string_equal(small, "");
}

static void test_file_write_exact_bytes_and_mode(void **state)
{
    (void)state;
    struct nu_keypair kp;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_key_from_seed(&kp, "node", "node1"), 0);
    assert_int_equal(nu_key_file_write(keypath, &kp, err), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(nu_fs_read_file(keypath, 4096, &data, &len, err), 0);
    assert_int_equal(len, strlen(node1_file));
    assert_string_equal(data, node1_file);
    free(data);
    struct stat st;
    assert_int_equal(stat(keypath, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_file_round_trip(void **state)
{
    (void)state;
    struct nu_keypair kp, back;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_key_generate(&kp, "validator.test.near"), 0);
    assert_int_equal(nu_key_file_write(keypath, &kp, err), 0);
    assert_int_equal(nu_key_file_read(keypath, &back, "node", err), 0);
    assert_string_equal(back.account_id, "validator.test.near");
    assert_memory_equal(back.pub, kp.pub, NU_KEY_PUB_LEN);
    assert_memory_equal(back.sec, kp.sec, NU_KEY_SEC_LEN);
}

static int parse(const char *text, struct nu_keypair *kp, char *err)
{
    return nu_key_parse_json(text, strlen(text), "k.json", kp, "node", err);
}

static void test_private_key_alias_and_default_account(void **state)
{
    (void)state;
    struct nu_keypair kp;
    char err[NU_ERRMSG_MAX];
    const char *text = "{\"account_id\": \"\", \"public_key\": \"" NODE1_PUB "\","
                       " \"private_key\": \"" NODE1_SEC "\"}";
    assert_int_equal(parse(text, &kp, err), 0);
    assert_string_equal(kp.account_id, "node");
    char pub[NU_KEY_TEXT_MAX];
    nu_key_pub_text(&kp, pub, sizeof(pub));
    assert_string_equal(pub, NODE1_PUB);
    assert_int_equal(nu_key_parse_json(text, strlen(text), "k", &kp, NULL, err), 0);
    assert_string_equal(kp.account_id, "");
}

static void expect_error(const char *text, int code, const char *msg)
{
    struct nu_keypair kp;
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(parse(text, &kp, err), code);
    assert_string_equal(err, msg);
    static const uint8_t zero[NU_KEY_SEC_LEN];
    assert_memory_equal(kp.sec, zero, NU_KEY_SEC_LEN);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("{\"account_id\": \"a\", \"public_key\": \"" NODE1_PUB
                 "\", \"secret_key\": \"" NODE1_SEC "\", \"private_key\": \"" NODE1_SEC "\"}",
                 NU_EINVAL, "k.json: duplicate field: both secret_key and private_key are set");
    expect_error("{\"account_id\": \"a\", \"public_key\": \"" NODE0_PUB
                 "\", \"secret_key\": \"" NODE1_SEC "\"}",
                 NU_ECRYPTO, "k.json: public_key does not match secret_key");
    expect_error("{\"account_id\": \"a\", \"public_key\": \"" NODE1_PUB
                 "\", \"secret_key\": \"ed25519:3D4Yud0ahN\"}",
                 NU_ECRYPTO, "k.json: secret_key: invalid base58");
    expect_error("{\"account_id\": \"a\", \"public_key\": \"ed25519:2NEpo7TZRRrLZSi2U\","
                 " \"secret_key\": \"" NODE1_SEC "\"}",
                 NU_ECRYPTO, "k.json: public_key: expected 32 bytes, got 12");
    expect_error(
        "{\"account_id\": \"a\", \"public_key\": \"secp256k1:abc\", \"secret_key\": \"x\"}",
        NU_ECRYPTO, "k.json: public_key: unsupported key type 'secp256k1'");
    expect_error("{\"account_id\": \"a\", \"public_key\": \"" NODE1_PUB "\"}", NU_EINVAL,
                 "k.json: missing field secret_key");
    expect_error("{\"public_key\": \"" NODE1_PUB "\"}", NU_EINVAL,
                 "k.json: missing field account_id");
    expect_error("{\"account_id\": 5}", NU_EINVAL, "k.json: account_id must be a string");
    expect_error("[]", NU_EINVAL, "k.json: expected a JSON object");
    expect_error("{\"account_id\": \"a\",}", NU_EPARSE,
                 "k.json:1:20: string or '}' expected near '}'");
}

static void test_corrupt_secret_half_rejected(void **state)
{
    (void)state;
    /* NODE1's seed with NODE0's public key as the second half. */
    struct nu_keypair k1, k0;
    assert_int_equal(nu_key_from_seed(&k1, "a", "node1"), 0);
    assert_int_equal(nu_key_from_seed(&k0, "a", "node0"), 0);
    memcpy(k1.sec + 32, k0.pub, 32);
    memcpy(k1.pub, k0.pub, 32);
    char sec[NU_KEY_TEXT_MAX], text[512], err[NU_ERRMSG_MAX];
    nu_key_sec_text(&k1, sec, sizeof(sec));
    snprintf(text, sizeof(text),
             "{\"account_id\": \"a\", \"public_key\": \"" NODE0_PUB "\", \"secret_key\": \"%s\"}",
             sec);
    struct nu_keypair kp;
    /* Comparing public_key with the secret key's second half would accept
     * this; the seed says otherwise. */
    assert_int_equal(parse(text, &kp, err), NU_ECRYPTO);
    assert_string_equal(err, "k.json: public_key does not match secret_key");
    snprintf(text, sizeof(text),
             "{\"account_id\": \"a\", \"public_key\": \"" NODE1_PUB "\", \"secret_key\": \"%s\"}",
             sec);
    assert_int_equal(parse(text, &kp, err), NU_ECRYPTO);
    assert_string_equal(err,
                        "k.json: secret_key is corrupt (its public half does not match its seed)");
}

static void test_file_read_errors(void **state)
{
    (void)state;
    struct nu_keypair kp;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_key_file_read(keypath, &kp, "node", err), NU_ENOENT);
    assert_non_null(strstr(err, "node_key.json: No such file or directory"));
    assert_int_equal(nu_fs_write_atomic(keypath, "{\"account_id\": 1}", 17, 0600, err), 0);
    assert_int_equal(nu_key_file_read(keypath, &kp, "node", err), NU_EINVAL);
    char want[NU_ERRMSG_MAX];
    snprintf(want, sizeof(want), "%s/node_key.json: account_id must be a string", tmpdir);
    assert_string_equal(err, want);
}

static void test_parse_pub_and_sec(void **state)
{
    (void)state;
    uint8_t pub[NU_KEY_PUB_LEN], sec[NU_KEY_SEC_LEN];
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_key_parse_pub(NODE1_PUB, pub, err), 0);
    assert_int_equal(pub[0], 0x4d);
    assert_int_equal(pub[31], 0x87);
    assert_int_equal(nu_key_parse_sec(NODE1_SEC, sec, err), 0);
    assert_memory_equal(sec, "node1     ", 10);
    assert_memory_equal(sec + 32, pub, 32);
    assert_int_equal(nu_key_parse_pub(NODE1_SEC, pub, err), NU_ECRYPTO);
    assert_string_equal(err, "public key: expected 32 bytes, got 64");
    assert_int_equal(nu_key_parse_pub("6DSjZ8mvsRZDvFqFxo8tCKePG96omXW7eVYVSySmDk8e", pub, err),
                     NU_ECRYPTO);
    assert_string_equal(err, "public key: expected 'ed25519:<base58>'");
}

static void test_sign_verify(void **state)
{
    (void)state;
    struct nu_keypair kp, other;
    uint8_t sig[NU_KEY_SIG_LEN];
    const uint8_t msg[] = "block 42";
    assert_int_equal(nu_key_generate(&kp, "a"), 0);
    assert_int_equal(nu_key_generate(&other, "b"), 0);
    assert_memory_not_equal(kp.pub, other.pub, NU_KEY_PUB_LEN);
    assert_int_equal(nu_key_sign(&kp, msg, sizeof(msg), sig), 0);
    assert_int_equal(nu_key_verify(kp.pub, msg, sizeof(msg), sig), 0);
    assert_int_equal(nu_key_verify(other.pub, msg, sizeof(msg), sig), NU_EVERIFY);
    sig[5] ^= 1;
    assert_int_equal(nu_key_verify(kp.pub, msg, sizeof(msg), sig), NU_EVERIFY);
    sig[5] ^= 1;
    assert_int_equal(nu_key_verify(kp.pub, msg, sizeof(msg) - 1, sig), NU_EVERIFY);
    /* Deterministic keys give deterministic (RFC 8032) signatures. */
    struct nu_keypair n1;
    assert_int_equal(nu_key_from_seed(&n1, "node", "node1"), 0);
    uint8_t s1[NU_KEY_SIG_LEN], s2[NU_KEY_SIG_LEN];
    assert_int_equal(nu_key_sign(&n1, msg, sizeof(msg), s1), 0);
    assert_int_equal(nu_key_sign(&n1, msg, sizeof(msg), s2), 0);
    assert_memory_equal(s1, s2, NU_KEY_SIG_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_seed_matches_neard),
        cmocka_unit_test(test_from_seed_truncates_at_32_bytes),
        cmocka_unit_test(test_text_needs_room),
        cmocka_unit_test_setup_teardown(test_file_write_exact_bytes_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_round_trip, setup, teardown),
        cmocka_unit_test(test_private_key_alias_and_default_account),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_corrupt_secret_half_rejected),
        cmocka_unit_test_setup_teardown(test_file_read_errors, setup, teardown),
        cmocka_unit_test(test_parse_pub_and_sec),
        cmocka_unit_test(test_sign_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
