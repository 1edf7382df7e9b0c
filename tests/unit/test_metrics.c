/* nu_metrics: exact exposition text, escaping, limits, and promtool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "metrics.h"
#include "sha256.h"
#include "unit_tmp.h"

static char *render(struct nu_metrics *r)
{
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    assert_int_equal(nu_metrics_render(r, &b), 0);
    return nu_buf_take(&b);
}

static void test_format_value(void **state)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {42, "42"},
        {-3, "-3"},
        {0.1, "0.1"},
        {0.001, "0.001"},
        {2.5, "2.5"},
        {1e-07, "1e-07"},
        {1e20, "1e+20"},
        {1.0 / 3, "0.3333333333333333"},
        {123456789012, "123456789012"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    char out[NU_METRICS_VALUE_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nu_metrics_format_value(cases[i].v, out);
        assert_string_equal(out, cases[i].want);
    }
}

static struct nu_metric *mk(struct nu_metrics *r, enum nu_metric_type t, const char *name,
                            const char *help, const char *const *labels, const double *b, size_t nb)
{
    struct nu_metric *m = NULL;
    char err[NU_ERRMSG_MAX] = "";
    assert_int_equal(nu_metric_new(r, t, name, help, labels, b, nb, &m, err), 0);
    assert_non_null(m);
    return m;
}

static const char expected[] =
    "# HELP nearup_requests_total Requests by method and code.\n"
    "# TYPE nearup_requests_total counter\n"
    "nearup_requests_total{method=\"status\",code=\"200\"} 3\n"
    "nearup_requests_total{method=\"q\\\"x\\\\y\\nz\",code=\"500\"} 1.5\n"
    "# HELP nearup_up Whether the node is up.\\nSecond line with \\\\ backslash.\n"
    "# TYPE nearup_up gauge\n"
    "nearup_up 0.25\n"
    "# HELP nearup_latency_seconds Request latency.\n"
    "# TYPE nearup_latency_seconds histogram\n"
    "nearup_latency_seconds_bucket{method=\"block\",le=\"0.001\"} 1\n"
    "nearup_latency_seconds_bucket{method=\"block\",le=\"0.01\"} 2\n"
    "nearup_latency_seconds_bucket{method=\"block\",le=\"0.1\"} 2\n"
    "nearup_latency_seconds_bucket{method=\"block\",le=\"+Inf\"} 3\n"
    "nearup_latency_seconds_sum{method=\"block\"} 5.0105\n"
    "nearup_latency_seconds_count{method=\"block\"} 3\n"
    "# HELP nearup_empty_seconds No observations yet.\n"
    "# TYPE nearup_empty_seconds histogram\n"
    "nearup_empty_seconds_bucket{le=\"1\"} 0\n"
    "nearup_empty_seconds_bucket{le=\"+Inf\"} 0\n"
    "nearup_empty_seconds_sum 0\n"
    "nearup_empty_seconds_count 0\n"
    "# HELP nearup_peers_total Peers.\n"
    "# TYPE nearup_peers_total counter\n";

static struct nu_metrics *sample(void)
{
    struct nu_metrics *r = nu_metrics_new();
    assert_non_null(r);
    const char *const req_labels[] = {"method", "code", NULL};
    struct nu_metric *c = mk(r, NU_METRIC_COUNTER, "nearup_requests_total",
                             "Requests by method and code.", req_labels, NULL, 0);
    struct nu_metric *g =
        mk(r, NU_METRIC_GAUGE, "nearup_up",
           "Whether the node is up.\nSecond line with \\ backslash.", NULL, NULL, 0);
    const double b[] = {0.001, 0.01, 0.1};
    const char *const hl[] = {"method", NULL};
    struct nu_metric *h =
        mk(r, NU_METRIC_HISTOGRAM, "nearup_latency_seconds", "Request latency.", hl, b, 3);
    const double one[] = {1, INFINITY};
    mk(r, NU_METRIC_HISTOGRAM, "nearup_empty_seconds", "No observations yet.", NULL, one, 2);
    const char *const pl[] = {"peer", NULL};
    mk(r, NU_METRIC_COUNTER, "nearup_peers_total", "Peers.", pl, NULL, 0);

    const char *const s200[] = {"status", "200"};
    const char *const odd[] = {"q\"x\\y\nz", "500"};
    nu_metric_add(c, s200, 2);
    nu_metric_inc(c, s200);
    nu_metric_add(c, odd, 1.5);
    nu_metric_add(c, odd, -7); /* ignored: counters only go up */
    nu_metric_set(g, NULL, 3);
    nu_metric_add(g, NULL, -2.75);
    const char *const blk[] = {"block"};
    nu_metric_observe(h, blk, 0.0005);
    nu_metric_observe(h, blk, 0.01); /* le is inclusive */
    nu_metric_observe(h, blk, 5);
    nu_metric_observe(h, blk, NAN); /* ignored */
    assert_true(nu_metric_value(c, s200) == 3);
    assert_true(nu_metric_value(g, NULL) == 0.25);
    assert_true(nu_metric_value(h, blk) == 3);
    const char *const absent[] = {"nope", "1"};
    assert_true(nu_metric_value(c, absent) == 0);
    return r;
}

static void test_render_exact(void **state)
{
    struct nu_metrics *r = sample();
    char *text = render(r);
    assert_string_equal(text, expected);
    free(text);
    nu_metrics_free(r);
}

static void test_bad_registrations(void **state)
{
    struct nu_metrics *r = nu_metrics_new();
    struct nu_metric *m = NULL;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_metric_new(r, NU_METRIC_COUNTER, "9bad", "", NULL, NULL, 0, &m, err),
                     NU_EINVAL);
    assert_string_equal(err, "metric name \"9bad\" is not valid");
    assert_int_equal(nu_metric_new(r, NU_METRIC_COUNTER, "a-b", "", NULL, NULL, 0, &m, err),
                     NU_EINVAL);
    const char *const bad_label[] = {"x:y", NULL};
    assert_int_equal(nu_metric_new(r, NU_METRIC_GAUGE, "g", "", bad_label, NULL, 0, &m, err),
                     NU_EINVAL);
    assert_string_equal(err, "metric g: bad label name \"x:y\"");
    const char *const le[] = {"le", NULL};
    assert_int_equal(nu_metric_new(r, NU_METRIC_HISTOGRAM, "h", "", le, NULL, 0, &m, err),
                     NU_EINVAL);
    const char *const five[] = {"a", "b", "c", "d", "e", NULL};
    assert_int_equal(nu_metric_new(r, NU_METRIC_GAUGE, "g", "", five, NULL, 0, &m, err), NU_EINVAL);
    const char *const twice[] = {"a", "a", NULL};
    assert_int_equal(nu_metric_new(r, NU_METRIC_GAUGE, "g", "", twice, NULL, 0, &m, err),
                     NU_EINVAL);
    const double down[] = {1, 0.5};
    assert_int_equal(nu_metric_new(r, NU_METRIC_HISTOGRAM, "h", "", NULL, down, 2, &m, err),
                     NU_EINVAL);
    assert_string_equal(err, "metric h: buckets must be finite and increasing");
    assert_null(m);
    assert_int_equal(nu_metric_new(r, NU_METRIC_GAUGE, "ns:g", "", NULL, NULL, 0, &m, err), 0);
    assert_int_equal(nu_metric_new(r, NU_METRIC_COUNTER, "ns:g", "", NULL, NULL, 0, &m, err),
                     NU_EEXIST);
    assert_string_equal(err, "metric ns:g is already registered");
    nu_metrics_free(r);
    nu_metrics_free(NULL);
}

static void test_max_series(void **state)
{
    struct nu_metrics *r = nu_metrics_new();
    const char *const l[] = {"k", NULL};
    struct nu_metric *m = mk(r, NU_METRIC_COUNTER, "t_total", "T.", l, NULL, 0);
    nu_metric_set_max_series(m, 2);
    const char *const a[] = {"a"}, *const b[] = {"b"}, *const c[] = {"c"};
    nu_metric_inc(m, a);
    nu_metric_inc(m, b);
    nu_metric_inc(m, c); /* dropped */
    nu_metric_inc(m, a); /* existing series still update */
    nu_metric_inc(m, c); /* dropped */
    assert_int_equal(nu_metrics_dropped(r), 2);
    char *text = render(r);
    assert_string_equal(text, "# HELP t_total T.\n# TYPE t_total counter\n"
                              "t_total{k=\"a\"} 2\nt_total{k=\"b\"} 1\n");
    free(text);
    nu_metrics_free(r);
}

static void test_many_series(void **state)
{
    struct nu_metrics *r = nu_metrics_new();
    const char *const l[] = {"a", "b", NULL};
    struct nu_metric *m = mk(r, NU_METRIC_GAUGE, "g", "G.", l, NULL, 0);
    char x[16], y[16];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 500; i++) {
            snprintf(x, sizeof(x), "%d", i);
            snprintf(y, sizeof(y), "%d", i % 7);
            const char *const v[] = {x, y};
            nu_metric_add(m, v, 1);
        }
    }
    /* ("ab","") and ("a","b") are different series */
    const char *const p[] = {"ab", ""}, *const q[] = {"a", "b"};
    nu_metric_set(m, p, 5);
    nu_metric_set(m, q, 6);
    const char *const v[] = {"499", "2"};
    assert_true(nu_metric_value(m, v) == 2);
    assert_true(nu_metric_value(m, p) == 5);
    assert_true(nu_metric_value(m, q) == 6);
    assert_int_equal(nu_metrics_dropped(r), 0);
    nu_metrics_free(r);
}

static void test_exp_buckets(void **state)
{
    double b[4];
    nu_metrics_exp_buckets(0.001, 10, 4, b);
    char out[NU_METRICS_VALUE_MAX];
    const char *want[] = {"0.001", "0.01", "0.1", "1"};
    for (int i = 0; i < 4; i++) {
        nu_metrics_format_value(b[i], out);
        assert_string_equal(out, want[i]);
    }
}

static void *bump(void *arg)
{
    struct nu_metric *m = arg;
    char k[8];
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "%d", i % 5);
        const char *const v[] = {k};
        nu_metric_inc(m, v);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct nu_metrics *r = nu_metrics_new();
    const char *const l[] = {"k", NULL};
    struct nu_metric *m = mk(r, NU_METRIC_COUNTER, "t_total", "T.", l, NULL, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, bump, m), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    const char *const v[] = {"3"};
    assert_true(nu_metric_value(m, v) == 8000);
    nu_metrics_free(r);
}

/* The output must satisfy Prometheus' own checker. */
static void test_promtool(void **state)
{
    if (access("/usr/bin/promtool", X_OK) != 0)
        skip();
    struct nu_metrics *r = sample();
    char *text = render(r);
    char dir[256], path[300], cmd[400];
    assert_int_equal(unit_tmp_make(dir, sizeof(dir), "test_metrics"), 0);
    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < '%s'", path);
    int st = system(cmd);
    assert_int_equal(unit_tmp_remove(dir), 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    free(text);
    nu_metrics_free(r);
}

/* The 12 hex digits of sha256(key). */
static void hex12(const char *key, size_t len, char out[13])
{
    uint8_t md[NU_SHA256_LEN];
    char hex[NU_SHA256_HEX];
    nu_sha256(key, len, md);
    nu_sha256_hex(md, hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
}

static void test_textfile_name(void **state)
{
    (void)state;
    char name[NU_METRICS_TEXTFILE_NAME_MAX], want[512], hex[13], longpath[400];
    /* the supervisor's scheme (docs/supervisor.md) */
    hex12("/srv/near/main-net", 18, hex);
    nu_metrics_textfile_name("nearup_node", "/srv/near/main-net", "/srv/near/main-net", 18, name);
    snprintf(want, sizeof(want), "nearup_node_srv_near_main_net_%s.prom", hex);
    assert_string_equal(name, want);
    /* /a-b and /a_b read the same, hash apart */
    char other[NU_METRICS_TEXTFILE_NAME_MAX];
    nu_metrics_textfile_name("nearup_node", "/a_b", "/a_b", 4, name);
    nu_metrics_textfile_name("nearup_node", "/a-b", "/a-b", 4, other);
    assert_int_equal(strncmp(name, other, strlen("nearup_node_a_b_")), 0);
    assert_string_not_equal(name, other);
    /* nothing readable: prefix and hash */
    hex12("k", 1, hex);
    nu_metrics_textfile_name("nearup_snapshot", "", "k", 1, name);
    snprintf(want, sizeof(want), "nearup_snapshot_%s.prom", hex);
    assert_string_equal(name, want);
    /* long paths: prefix and readable part cut at 160 bytes */
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    nu_metrics_textfile_name("nearup_node", longpath, longpath, strlen(longpath), name);
    assert_int_equal(strlen(name), NU_METRICS_TEXTFILE_READABLE_MAX + 1 + 12 + 5);
    assert_int_equal(strspn(name + 12, "x"), NU_METRICS_TEXTFILE_READABLE_MAX - 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_value),      cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_bad_registrations), cmocka_unit_test(test_max_series),
        cmocka_unit_test(test_many_series),       cmocka_unit_test(test_exp_buckets),
        cmocka_unit_test(test_threads),           cmocka_unit_test(test_promtool),
        cmocka_unit_test(test_textfile_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
