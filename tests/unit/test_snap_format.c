/* Tests for the snapshot format: chunk objects, manifests, path and key
 * checks, the chunk set, S3 listings, STORE parsing and the directory
 * store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunker.h"
#include "fs.h"
#include "manifest.h"
#include "paths.h"
#include "s3xml.h"
#include "store.h"
#include "sysunit.h"
#include "chunkset.h"
#include "unit_tmp.h"

static void test_chunk_round_trip(void **state)
{
    (void)state;
    size_t n = 100000, cap = snap_chunk_stored_max(n), len = 0;
    uint8_t *plain = malloc(n), *obj = malloc(cap), *back = malloc(n), sha[SNAP_SHA256_LEN];
    char err[NU_ERRMSG_MAX];
    enum snap_compression comp;
    uint64_t size;
    memset(plain, 'a', n);
    nu_sha256(plain, n, sha);
    assert_int_equal(snap_chunk_encode(plain, n, true, obj, cap, &len, &comp, err), 0);
    assert_int_equal(comp, SNAP_COMP_ZSTD);
    assert_true(len < 1000);
    assert_int_equal(snap_chunk_header(obj, len, &comp, &size, err), 0);
    assert_int_equal(size, n);
    assert_int_equal(snap_chunk_decode(obj, len, sha, n, back, "k", err), 0);
    assert_memory_equal(back, plain, n);
    /* incompressible bytes are stored plain */
    uint64_t x = 88172645463325252ull; /* xorshift64: incompressible enough */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        plain[i] = (uint8_t)x;
    }
    nu_sha256(plain, n, sha);
    assert_int_equal(snap_chunk_encode(plain, n, true, obj, cap, &len, &comp, err), 0);
    assert_int_equal(comp, SNAP_COMP_NONE);
    assert_int_equal(len, n + SNAP_CHUNK_HDR);
    assert_int_equal(snap_chunk_decode(obj, len, sha, n, back, "k", err), 0);
    /* a flipped byte, a wrong size, a bad header */
    obj[SNAP_CHUNK_HDR + 7] ^= 1;
    assert_int_equal(snap_chunk_decode(obj, len, sha, n, back, "k", err), NU_EVERIFY);
    assert_string_equal(err, "chunk k: sha256 does not match its content");
    assert_int_equal(snap_chunk_decode(obj, len, sha, n - 1, back, "k", err), NU_EVERIFY);
    assert_string_equal(err, "chunk k: holds 100000 bytes, the manifest says 99999");
    obj[0] = 'X';
    assert_int_equal(snap_chunk_decode(obj, len, sha, n, back, "k", err), NU_EVERIFY);
    assert_int_equal(snap_chunk_encode(plain, n, true, obj, 10, &len, &comp, err), NU_ETOOBIG);
    free(plain);
    free(obj);
    free(back);
}

static const char valid[] =
    "{\"format\":\"nearup-snapshot\",\"version\":1,\"name\":\"n1\",\"chain_id\":\"simnet\","
    "\"block_height\":7,\"block_hash\":\"h\",\"neard_version\":\"2.4.0\","
    "\"created_at\":\"2026-11-29T00:05:34Z\",\"chunk_size\":4194304,\"files\":["
    "{\"path\":\"a/b.sst\",\"dir\":\"cold\",\"size\":3,\"mode\":420,\"chunks\":[{\"sha256\":"
    "\"0000000000000000000000000000000000000000000000000000000000000001\",\"size\":3,"
    "\"stored_size\":19,\"compression\":\"none\"}]},"
    "{\"path\":\"CURRENT\",\"size\":0,\"mode\":384,\"chunks\":[]}]}";

static void test_manifest_round_trip(void **state)
{
    (void)state;
    struct snap_manifest m, again;
    struct nu_buf out;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(snap_manifest_parse(valid, strlen(valid), &m, err), 0);
    assert_string_equal(m.name, "n1");
    assert_int_equal(m.height, 7);
    assert_int_equal(m.created_unix, 1795910734);
    assert_int_equal(m.nfiles, 2);
    assert_int_equal(m.files[0].dir, SNAP_DIR_COLD);
    assert_int_equal(m.files[1].dir, SNAP_DIR_HOT);
    assert_int_equal(m.total_size, 3);
    assert_int_equal(m.total_chunks, 1);
    nu_buf_init(&out, 1 << 20);
    assert_int_equal(snap_manifest_dump(&m, &out, err), 0);
    assert_int_equal(snap_manifest_parse(out.data, out.len, &again, err), 0);
    assert_int_equal(again.nfiles, 2);
    assert_string_equal(again.files[0].path, "a/b.sst");
    assert_memory_equal(again.files[0].chunks[0].sha, m.files[0].chunks[0].sha, SNAP_SHA256_LEN);
    snap_manifest_release(&again);
    snap_manifest_release(&m);
    nu_buf_release(&out);
}

/* valid with one substring replaced; the parse must fail with want. */
static void refuse(const char *from, const char *to, const char *want)
{
    char text[4096], err[NU_ERRMSG_MAX];
    struct snap_manifest m;
    const char *at = strstr(valid, from);
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - valid), valid, to, at + strlen(from));
    if (snap_manifest_parse(text, strlen(text), &m, err) == 0)
        fail_msg("parsed: %s", text);
    assert_string_equal(err, want);
    snap_manifest_release(&m);
}

static void test_manifest_refusals(void **state)
{
    (void)state;
    refuse("a/b.sst", "a/../../b",
           "manifest: files[0]: path 'a/../../b' escapes the data dir or "
           "is malformed");
    refuse("a/b.sst", "/etc/x",
           "manifest: files[0]: path '/etc/x' escapes the data dir or is "
           "malformed");
    refuse("\"size\":3,\"mode\"", "\"size\":4,\"mode\"",
           "manifest: a/b.sst: chunks add up to 3 bytes, the file size is 4");
    refuse("\"cold\"", "\"warm\"", "manifest: a/b.sst: dir must be \"hot\" or \"cold\"");
    refuse("\"none\"", "\"lz4\"", "manifest: a/b.sst: compression must be \"none\" or \"zstd\"");
    refuse("0001\"", "001\"", "manifest: a/b.sst: chunk sha256 must be 64 lowercase hex digits");
    refuse("\"version\":1", "\"version\":9",
           "manifest format version 9 is newer than this nearup understands (1); upgrade nearup");
    refuse("\"CURRENT\"", "\"a/b.sst/c\",\"dir\":\"cold\"",
           "manifest: path a/b.sst is listed twice or used as both file and directory");
    refuse("nearup-snapshot", "other", "not a nearup snapshot manifest");
    refuse("2026-11-29T00:05:34Z", "yesterday",
           "manifest: created_at must be YYYY-MM-DDTHH:MM:SSZ");
}

/* A manifest of empty files at the given "<dir>:<path>" entries; the parse
 * result and, when it fails, the message. */
static int parse_paths(const char *const *entries, size_t n, char *err)
{
    char text[4096];
    struct snap_manifest m;
    int len = snprintf(text, sizeof(text),
                       "{\"format\":\"nearup-snapshot\",\"version\":1,\"name\":\"n1\","
                       "\"chain_id\":\"simnet\",\"created_at\":\"2026-11-29T00:05:34Z\","
                       "\"chunk_size\":4194304,\"files\":[");
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(entries[i], ':');
        len += snprintf(text + len, sizeof(text) - (size_t)len,
                        "%s{\"path\":\"%s\",\"dir\":\"%.*s\",\"size\":0,\"mode\":420,"
                        "\"chunks\":[]}",
                        i ? "," : "", colon + 1, (int)(colon - entries[i]), entries[i]);
    }
    snprintf(text + len, sizeof(text) - (size_t)len, "]}");
    err[0] = '\0';
    int rc = snap_manifest_parse(text, strlen(text), &m, err);
    snap_manifest_release(&m);
    return rc;
}

#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

/* Every path is checked against every other, not just its sorted neighbour:
 * "a.x" sorts between "a" and "a/b". */
static void test_manifest_path_conflicts(void **state)
{
    (void)state;
    char err[NU_ERRMSG_MAX];
    const char *dotted[] = {"hot:a", "hot:a.x", "hot:a/b"};
    const char *deep[] = {"hot:a/b/c/d", "hot:a-", "hot:a.", "hot:a/b", "hot:a/b.x"};
    const char *twice[] = {"hot:z", "hot:y", "hot:z"};
    const char *fine[] = {"hot:a.x", "hot:a/b", "hot:a-b/c", "cold:a", "hot:ab", "hot:a/bc"};
    assert_int_equal(parse_paths(dotted, NPATHS(dotted), err), NU_EINVAL);
    assert_string_equal(err, "manifest: path a is listed twice or used as both file and directory");
    assert_int_equal(parse_paths(deep, NPATHS(deep), err), NU_EINVAL);
    assert_string_equal(err,
                        "manifest: path a/b is listed twice or used as both file and directory");
    assert_int_equal(parse_paths(twice, NPATHS(twice), err), NU_EINVAL);
    assert_string_equal(err, "manifest: path z is listed twice or used as both file and directory");
    assert_int_equal(parse_paths(fine, NPATHS(fine), err), 0);
    assert_string_equal(err, "");
}

static void test_paths_keys_names(void **state)
{
    (void)state;
    const char *good[] = {"CURRENT", "000123.sst", "a/b/c", "..x", "x..", "MANIFEST-000005"};
    const char *bad[] = {"",      "/a",   "a/",   "a//b", ".",    "..",
                         "a/./b", "a/..", "a\\b", "a b",  "a\tb", "\x7f"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(snap_relpath_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(snap_relpath_valid(bad[i]));
    assert_true(snap_key_valid("chunks/ab/ab01"));
    assert_true(snap_key_valid("manifests/x.json"));
    assert_false(snap_key_valid("../x"));
    assert_false(snap_key_valid("a//b"));
    assert_false(snap_key_valid("a/b?c"));
    assert_true(snap_name_valid("simnet-20261129T000534Z"));
    assert_false(snap_name_valid(".hidden"));
    assert_false(snap_name_valid("a/b"));
}

static void test_chunkset(void **state)
{
    (void)state;
    struct snap_chunkset s;
    struct snap_chunk c = {.size = 1};
    snap_chunkset_init(&s);
    for (int i = 0; i < 5000; i++) {
        c.sha[0] = (uint8_t)i;
        c.sha[1] = (uint8_t)(i >> 8);
        c.size = (uint32_t)i + 1;
        assert_int_equal(snap_chunkset_add(&s, &c), 1);
        assert_int_equal(snap_chunkset_add(&s, &c), 0);
    }
    assert_int_equal(s.n, 5000);
    c.sha[0] = 77;
    c.sha[1] = 0;
    assert_int_equal(snap_chunkset_find(&s, c.sha)->size, 78);
    c.sha[1] = 200;
    assert_null(snap_chunkset_find(&s, c.sha));
    snap_chunkset_release(&s);
}

static int collect(void *ud, const char *key, uint64_t size, int64_t mtime, const char *etag)
{
    char *out = ud;
    size_t len = strlen(out);
    snprintf(out + len, 512 - len, "%s|%llu|%lld|%s;", key, (unsigned long long)size,
             (long long)mtime, etag);
    return 0;
}

static void test_s3_listing(void **state)
{
    (void)state;
    static const char xml[] =
        "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a&amp;b/c</Key><LastModified>2026-11-29T00:05:34.000Z</LastModified>"
        "<ETag>&quot;abc&quot;</ETag><Size>6</Size></Contents>"
        "<Contents><Key>d</Key><Size>0</Size></Contents>"
        "<NextContinuationToken>t/+=</NextContinuationToken></ListBucketResult>";
    char out[512] = "", err[NU_ERRMSG_MAX];
    struct snap_s3_page page;
    assert_int_equal(snap_s3_parse_list(xml, strlen(xml), collect, out, &page, err), 0);
    assert_string_equal(out, "a&b/c|6|1795910734|abc;d|0|0|;");
    assert_true(page.truncated);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.next_token, "t/+=");
    static const char bad[] = "<ListBucketResult><Contents><Key>x</Key><Size>-1</Size>"
                              "</Contents></ListBucketResult>";
    assert_int_equal(snap_s3_parse_list(bad, strlen(bad), collect, out, &page, err), NU_EPARSE);
    assert_string_equal(err, "S3 listing: bad Size '-1'");
    assert_int_equal(snap_s3_parse_list("<html/>", 7, collect, out, &page, err), NU_EPARSE);
}

static void test_store_specs(void **state)
{
    (void)state;
    struct snap_store_spec s;
    struct snap_store_opts o = {.s3_endpoint = "http://127.0.0.1:9000/"};
    char err[NU_ERRMSG_MAX];
    assert_int_equal(snap_store_spec_parse("file:///srv/snaps", NULL, &s, err), 0);
    assert_int_equal(s.kind, SNAP_STORE_DIR);
    assert_string_equal(s.root, "/srv/snaps");
    setenv("AWS_ACCESS_KEY_ID", "AK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    assert_int_equal(snap_store_spec_parse("s3://bkt/near/rpc/", &o, &s, err), 0);
    assert_int_equal(s.kind, SNAP_STORE_S3);
    assert_string_equal(s.base_url, "http://127.0.0.1:9000/bkt/near/rpc/");
    assert_string_equal(s.key_prefix, "near/rpc/");
    assert_string_equal(s.region, "eu-west-1");
    assert_string_equal(s.access_key, "AK");
    assert_int_equal(snap_store_spec_parse("s3://bkt", NULL, &s, err), 0);
    assert_string_equal(s.base_url, "https://bkt.s3.eu-west-1.amazonaws.com/");
    assert_int_equal(snap_store_spec_parse("https://cdn.example/snaps/", NULL, &s, err), 0);
    assert_int_equal(s.kind, SNAP_STORE_HTTP);
    assert_string_equal(s.base_url, "https://cdn.example/snaps/");
    assert_int_equal(snap_store_spec_parse("s3://bkt/../x", NULL, &s, err), NU_EINVAL);
    assert_int_equal(snap_store_spec_parse("gs://x", NULL, &s, err), NU_EINVAL);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(snap_store_spec_parse("s3://bkt", NULL, &s, err), NU_EINVAL);
    assert_string_equal(err, "AWS access key AK has no secret key");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_REGION");
}

static int count_keys(void *ud, const struct snap_obj_info *o)
{
    (*(int *)ud)++;
    return 0;
}

static void test_dir_store(void **state)
{
    (void)state;
    char tmp[2048], root[4096], err[NU_ERRMSG_MAX];
    assert_int_equal(unit_tmp_make(tmp, sizeof(tmp), "test_snap_format"), 0);
    snprintf(root, sizeof(root), "%s/store", tmp); /* the store makes it */
    struct snap_store_spec spec;
    struct snap_store *s;
    struct nu_buf b;
    uint64_t size;
    int n = 0;
    assert_int_equal(snap_store_spec_parse(root, NULL, &spec, err), 0);
    assert_int_equal(snap_store_open(&spec, &s, err), 0);
    assert_int_equal(snap_store_put(s, "chunks/ab/ab1", "hello", 5, SNAP_PUT_IF_ABSENT, err), 0);
    assert_int_equal(snap_store_put(s, "chunks/ab/ab1", "other", 5, SNAP_PUT_IF_ABSENT, err),
                     NU_EEXIST);
    assert_int_equal(snap_store_sync(s, err), 0);
    nu_buf_init(&b, 1024);
    assert_int_equal(snap_store_get(s, "chunks/ab/ab1", 100, &b, err), 0);
    assert_string_equal(b.data, "hello");
    nu_buf_reset(&b);
    assert_int_equal(snap_store_get(s, "chunks/ab/ab1", 4, &b, err), NU_ETOOBIG);
    nu_buf_reset(&b);
    assert_int_equal(snap_store_peek(s, "chunks/ab/ab1", 2, &b, &size, err), 0);
    assert_string_equal(b.data, "he");
    assert_int_equal(size, 5);
    assert_int_equal(snap_store_head(s, "nope", &size, err), NU_ENOENT);
    assert_int_equal(snap_store_put(s, "latest", "x\n", 2, 0, err), 0);
    assert_int_equal(snap_store_list(s, "chunks/", count_keys, &n, err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(snap_store_delete(s, "chunks/ab/ab1", err), 0);
    assert_int_equal(snap_store_delete(s, "chunks/ab/ab1", err), 0);
    assert_int_equal(snap_store_put(s, "../escape", "x", 1, 0, err), NU_EINVAL);
    assert_string_equal(err, "invalid store key '../escape'");
    nu_buf_release(&b);
    snap_store_free(s);
    assert_int_equal(nu_fs_rm_tree(root, err), 0);
    assert_int_equal(unit_tmp_remove_expecting(tmp, NULL), 0);
}

static void test_cgroup_unit(void **state)
{
    (void)state;
    char unit[256];
    bool user = true;
    assert_int_equal(
        snap_cgroup_unit("0::/system.slice/nearup-testnet.service\n", unit, sizeof(unit), &user),
        0);
    assert_string_equal(unit, "nearup-testnet.service");
    assert_false(user);
    assert_int_equal(snap_cgroup_unit("0::/user.slice/user-1000.slice/user@1000.service/"
                                      "app.slice/near.service\n",
                                      unit, sizeof(unit), &user),
                     0);
    assert_string_equal(unit, "near.service");
    assert_true(user);
    assert_int_equal(snap_cgroup_unit("0::/user.slice/user-1000.slice/session-3.scope\n", unit,
                                      sizeof(unit), &user),
                     NU_ENOENT);
    assert_int_equal(snap_cgroup_unit("0::/user.slice/user-1000.slice/user@1000.service/init.scope",
                                      unit, sizeof(unit), &user),
                     NU_ENOENT);
    assert_int_equal(snap_cgroup_unit("0::/\n", unit, sizeof(unit), &user), NU_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_round_trip),  cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_manifest_refusals), cmocka_unit_test(test_manifest_path_conflicts),
        cmocka_unit_test(test_paths_keys_names),  cmocka_unit_test(test_chunkset),
        cmocka_unit_test(test_s3_listing),        cmocka_unit_test(test_store_specs),
        cmocka_unit_test(test_dir_store),         cmocka_unit_test(test_cgroup_unit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
