/* nu_http_get/post/download and nu_httpc_do (requests on a kept handle)
 * against a nu_httpd running in a thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "fs.h"
#include "httpc.h"
#include "httpd.h"
#include "unit_tmp.h"

#define FILE_LEN 100000

static char content[FILE_LEN];

struct fx {
    uv_loop_t loop;
    uv_thread_t th;
    uv_async_t stop;
    struct nu_httpd *h;
    int port;
    pthread_mutex_t mu;
    char ranges[256]; /* Range headers of file requests, each followed by ';' */
    int file_requests, flaky_requests;
    char dir[256];
};

static struct fx *F;

/* ---- server ---- */

static void serve_file(struct nu_http_req *req, struct fx *f, bool honour_range)
{
    const char *range = nu_http_req_header(req, "range");
    pthread_mutex_lock(&f->mu);
    size_t rl = strlen(f->ranges);
    snprintf(f->ranges + rl, sizeof(f->ranges) - rl, "%s;", range ? range : "");
    int nth = strcmp(req->path, "/flaky") == 0 ? ++f->flaky_requests : 0;
    f->file_requests++;
    pthread_mutex_unlock(&f->mu);
    if (nth == 1) {
        /* The first try dies half-way. */
        assert_int_equal(nu_httpd_respond_ex(req, 200, "application/octet-stream", NULL, content,
                                             FILE_LEN, NU_HTTPD_TRUNCATE),
                         0);
        return;
    }
    unsigned long from = 0;
    if (honour_range && range && strncmp(range, "bytes=", 6) == 0)
        from = strtoul(range + 6, NULL, 10);
    if (from >= FILE_LEN) {
        assert_int_equal(nu_httpd_respond(req, 416, "text/plain", "", 0), 0);
        return;
    }
    if (from == 0) {
        assert_int_equal(nu_httpd_respond(req, 200, "application/octet-stream", content, FILE_LEN),
                         0);
        return;
    }
    char cr[96];
    snprintf(cr, sizeof(cr), "Content-Range: bytes %lu-%d/%d", from, FILE_LEN - 1, FILE_LEN);
    const char *extra[] = {cr, NULL};
    assert_int_equal(nu_httpd_respond_ex(req, 206, "application/octet-stream", extra,
                                         content + from, FILE_LEN - from, 0),
                     0);
}

static void handler(struct nu_http_req *req, void *ud)
{
    struct fx *f = ud;
    if (strcmp(req->path, "/hello") == 0) {
        assert_int_equal(nu_httpd_respond(req, 200, "text/plain", "hello world", 11), 0);
    } else if (strcmp(req->path, "/big") == 0) {
        assert_int_equal(nu_httpd_respond(req, 200, "text/plain", content, 10000), 0);
    } else if (strcmp(req->path, "/file") == 0 || strcmp(req->path, "/flaky") == 0) {
        serve_file(req, f, true);
    } else if (strcmp(req->path, "/norange") == 0) {
        serve_file(req, f, false);
    } else if (strcmp(req->path, "/redirect") == 0) {
        const char *extra[] = {"Location: /hello", NULL};
        assert_int_equal(nu_httpd_respond_ex(req, 302, "text/plain", extra, "", 0, 0), 0);
    } else if (strcmp(req->path, "/loop") == 0) {
        const char *extra[] = {"Location: /loop", NULL};
        assert_int_equal(nu_httpd_respond_ex(req, 302, "text/plain", extra, "", 0, 0), 0);
    } else if (strcmp(req->path, "/echo") == 0) {
        char body[256];
        const char *ct = nu_http_req_header(req, "content-type");
        const char *x = nu_http_req_header(req, "x-extra");
        int n = snprintf(body, sizeof(body), "%s|%s|%s|%s", req->method, ct ? ct : "-", x ? x : "-",
                         req->body);
        assert_int_equal(nu_httpd_respond(req, 200, "text/plain", body, (size_t)n), 0);
    } else {
        assert_int_equal(nu_httpd_respond(req, 404, "text/plain", "nope\n", 5), 0);
    }
}

static void on_stop(uv_async_t *a)
{
    struct fx *f = a->data;
    nu_httpd_close(f->h, 0, NULL, NULL);
    uv_close((uv_handle_t *)&f->stop, NULL);
}

static void run_loop(void *arg)
{
    struct fx *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    for (size_t i = 0; i < FILE_LEN; i++)
        content[i] = (char)('a' + (i * 7 + i / 251) % 26);
    struct fx *f = calloc(1, sizeof(*f));
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_httpc_global_init(), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    assert_int_equal(nu_httpd_new(&f->loop, &o, handler, f, &f->h, err), 0);
    f->port = nu_httpd_port(f->h);
    pthread_mutex_init(&f->mu, NULL);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    assert_int_equal(unit_tmp_make(f->dir, sizeof(f->dir), "test_httpc"), 0);
    assert_int_equal(uv_thread_create(&f->th, run_loop, f), 0);
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    uv_async_send(&f->stop);
    uv_thread_join(&f->th);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    pthread_mutex_destroy(&f->mu);
    assert_int_equal(unit_tmp_remove(f->dir), 0);
    free(f);
    nu_httpc_global_cleanup();
    return 0;
}

static void url(char *out, size_t n, const char *path)
{
    snprintf(out, n, "http://127.0.0.1:%d%s", F->port, path);
}

/* ---- tests ---- */

static void test_get(void **state)
{
    char u[128], err[NU_ERRMSG_MAX] = "";
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    long status = 0;
    url(u, sizeof(u), "/hello");
    assert_int_equal(nu_http_get(u, NULL, &b, &status, err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(b.data, "hello world");
    /* Appends; redirects are followed. */
    url(u, sizeof(u), "/redirect");
    assert_int_equal(nu_http_get(u, NULL, &b, &status, err), 0);
    assert_string_equal(b.data, "hello worldhello world");
    nu_buf_release(&b);
}

static void test_errors(void **state)
{
    char u[128], want[256], err[NU_ERRMSG_MAX] = "";
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    long status = 0;
    url(u, sizeof(u), "/missing");
    assert_int_equal(nu_http_get(u, NULL, &b, &status, err), NU_EHTTP);
    assert_int_equal(status, 404);
    snprintf(want, sizeof(want), "GET %s: HTTP 404", u);
    assert_string_equal(err, want);
    assert_string_equal(b.data, "nope\n");

    url(u, sizeof(u), "/loop");
    assert_int_equal(nu_http_get(u, NULL, &b, &status, err), NU_ENET);
    assert_non_null(strstr(err, "redirects"));

    assert_int_equal(nu_http_get("file:///etc/hostname", NULL, &b, &status, err), NU_ENET);
    assert_non_null(strstr(err, "file"));

    /* A port nobody listens on. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    status = 7;
    assert_int_equal(nu_http_get(u, NULL, &b, &status, err), NU_ENET);
    assert_int_equal(status, 0);
    snprintf(want, sizeof(want), "GET %s: ", u);
    assert_memory_equal(err, want, strlen(want));
    assert_true(strlen(err) > strlen(want));
    nu_buf_release(&b);
}

static void test_max_bytes(void **state)
{
    char u[128], err[NU_ERRMSG_MAX] = "";
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.max_bytes = 9999;
    url(u, sizeof(u), "/big");
    assert_int_equal(nu_http_get(u, &o, &b, NULL, err), NU_ETOOBIG);
    assert_non_null(strstr(err, "larger than 9999 bytes"));
    o.max_bytes = 10000;
    nu_buf_reset(&b);
    assert_int_equal(nu_http_get(u, &o, &b, NULL, err), 0);
    assert_int_equal(b.len, 10000);
    /* The buffer's own limit counts too. */
    struct nu_buf small;
    nu_buf_init(&small, 100);
    assert_int_equal(nu_http_get(u, NULL, &small, NULL, err), NU_ETOOBIG);
    nu_buf_release(&small);
    nu_buf_release(&b);
}

struct prog {
    int calls;
    uint64_t done, total;
    uint64_t abort_after;
};

static int on_progress(void *ud, uint64_t done, uint64_t total)
{
    struct prog *p = ud;
    p->calls++;
    assert_true(done >= p->done); /* never goes back */
    p->done = done;
    p->total = total;
    return p->abort_after && done >= p->abort_after;
}

static void test_progress(void **state)
{
    char u[128], err[NU_ERRMSG_MAX] = "";
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    struct prog p = {0};
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.progress = on_progress;
    o.progress_ud = &p;
    url(u, sizeof(u), "/big");
    assert_int_equal(nu_http_get(u, &o, &b, NULL, err), 0);
    assert_true(p.calls >= 1);
    assert_int_equal(p.done, 10000);
    assert_int_equal(p.total, 10000);
    /* A callback that says stop aborts the transfer. */
    struct prog q = {.abort_after = 1};
    o.progress_ud = &q;
    url(u, sizeof(u), "/file");
    assert_int_equal(nu_http_get(u, &o, &b, NULL, err), NU_ENET);
    assert_non_null(strstr(err, "aborted"));
    nu_buf_release(&b);
}

static void test_post(void **state)
{
    char u[128], err[NU_ERRMSG_MAX] = "";
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    long status = 0;
    const char *const hdrs[] = {"X-Extra: 42", NULL};
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.headers = hdrs;
    url(u, sizeof(u), "/echo");
    assert_int_equal(nu_http_post(u, &o, "application/json", "{\"a\":1}", 7, &b, &status, err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(b.data, "POST|application/json|42|{\"a\":1}");
    nu_buf_release(&b);
}

static void read_whole(const char *path, char **out, size_t *len)
{
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_fs_read_file(path, 1 << 24, out, len, err), 0);
}

static void expect_file(const char *path)
{
    char *data;
    size_t len;
    read_whole(path, &data, &len);
    assert_int_equal(len, FILE_LEN);
    assert_memory_equal(data, content, FILE_LEN);
    free(data);
}

static void test_download_resume(void **state)
{
    struct fx *f = *state;
    char u[128], dest[320], part[330], err[NU_ERRMSG_MAX] = "";
    snprintf(dest, sizeof(dest), "%s/flaky.bin", f->dir);
    snprintf(part, sizeof(part), "%s.part", dest);
    url(u, sizeof(u), "/flaky");
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.resume = true;
    struct prog p = {0};
    o.progress = on_progress;
    o.progress_ud = &p;
    f->ranges[0] = '\0';
    /* First try: the server resets half-way; the part stays. */
    assert_int_equal(nu_http_download(u, dest, &o, err), NU_ENET);
    assert_false(nu_fs_exists(dest));
    struct stat st;
    assert_int_equal(stat(part, &st), 0);
    assert_true(st.st_size > 0 && st.st_size <= FILE_LEN / 2);
    /* Second try continues where the part ends. */
    p = (struct prog){0};
    if (nu_http_download(u, dest, &o, err) != 0)
        fail_msg("%s", err);
    char want[64];
    snprintf(want, sizeof(want), ";bytes=%lld-;", (long long)st.st_size);
    pthread_mutex_lock(&f->mu);
    assert_string_equal(f->ranges, want);
    assert_int_equal(f->flaky_requests, 2);
    pthread_mutex_unlock(&f->mu);
    expect_file(dest);
    assert_false(nu_fs_exists(part));
    assert_int_equal(p.done, FILE_LEN);
    assert_int_equal(p.total, FILE_LEN);
}

static void test_download_range_ignored(void **state)
{
    struct fx *f = *state;
    char u[128], dest[320], part[330], err[NU_ERRMSG_MAX] = "";
    snprintf(dest, sizeof(dest), "%s/norange.bin", f->dir);
    snprintf(part, sizeof(part), "%s.part", dest);
    /* A part that does not match: the server's 200 replaces it. */
    assert_int_equal(nu_fs_write_atomic(part, "XXXXXXXXXX", 10, 0644, err), 0);
    f->ranges[0] = '\0';
    url(u, sizeof(u), "/norange");
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.resume = true;
    if (nu_http_download(u, dest, &o, err) != 0)
        fail_msg("%s", err);
    /* curl refuses the 200 to the Range request; the retry starts over. */
    pthread_mutex_lock(&f->mu);
    assert_string_equal(f->ranges, "bytes=10-;;");
    pthread_mutex_unlock(&f->mu);
    expect_file(dest);
    /* Without resume the part is ignored; 404 leaves no file and no data. */
    o.resume = false;
    if (nu_http_download(u, dest, &o, err) != 0)
        fail_msg("%s", err);
    expect_file(dest);
    char dest2[320], want[256];
    snprintf(dest2, sizeof(dest2), "%s/missing.bin", f->dir);
    url(u, sizeof(u), "/missing");
    assert_int_equal(nu_http_download(u, dest2, &o, err), NU_EHTTP);
    snprintf(want, sizeof(want), "GET %s: HTTP 404", u);
    assert_string_equal(err, want);
    assert_false(nu_fs_exists(dest2));
    /* A part longer than the file: 416, then a fresh download. */
    char *big = calloc(1, FILE_LEN + 1);
    assert_int_equal(nu_fs_write_atomic(part, big, FILE_LEN + 1, 0644, err), 0);
    free(big);
    f->ranges[0] = '\0';
    o.resume = true;
    url(u, sizeof(u), "/file");
    assert_int_equal(nu_http_download(u, dest, &o, err), 0);
    expect_file(dest);
    pthread_mutex_lock(&f->mu);
    assert_string_equal(f->ranges, "bytes=100001-;;");
    pthread_mutex_unlock(&f->mu);
    o.resume = false;
    o.max_download_bytes = 1000;
    url(u, sizeof(u), "/file");
    assert_int_equal(nu_http_download(u, dest2, &o, err), NU_ETOOBIG);
}

/* ---- requests on a kept handle ---- */

static void do_req(struct nu_httpc *h, struct nu_httpc_req *rq, const char *path,
                   struct nu_httpc_resp *rs, int want_rc, char *err)
{
    char u[128];
    url(u, sizeof(u), path);
    rq->url = u;
    int rc = nu_httpc_do(h, rq, rs, err);
    if (rc != want_rc)
        fail_msg("%s: %d %s", path, rc, err);
}

static void test_request_memory(void **state)
{
    (void)state;
    struct nu_httpc *h;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_httpc_new(&h, err), 0);
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    atomic_uint_fast64_t progress = 0;
    struct nu_httpc_req rq = {
        .method = "GET", .out = &b, .max = 100, .fd = -1, .progress = &progress};
    struct nu_httpc_resp rs;
    for (int i = 0; i < 2; i++) { /* the handle is used again */
        nu_buf_reset(&b);
        do_req(h, &rq, "/hello", &rs, 0, err);
        assert_int_equal(rs.status, 200);
        assert_string_equal(b.data, "hello world");
        assert_int_equal(rs.content_length, 11);
        assert_int_equal(rs.received, 11);
        assert_int_equal(rs.range_total, UINT64_MAX);
    }
    assert_int_equal(progress, 22);
    /* past max: refused, or cut short when truncate_ok */
    nu_buf_reset(&b);
    do_req(h, &rq, "/big", &rs, NU_ETOOBIG, err);
    char want[200];
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/big: answer larger than 100 bytes", F->port);
    assert_string_equal(err, want);
    nu_buf_reset(&b);
    rq.truncate_ok = true;
    do_req(h, &rq, "/big", &rs, 0, err);
    assert_int_equal(b.len, 100);
    assert_memory_equal(b.data, content, 100);
    assert_int_equal(rs.received, 10000);
    /* a range, as the stores peek (this server sends the rest of the file) */
    nu_buf_reset(&b);
    rq = (struct nu_httpc_req){.method = "GET",
                               .out = &b,
                               .max = 10,
                               .truncate_ok = true,
                               .fd = -1,
                               .has_range = true,
                               .range_from = 10,
                               .range_to = 19};
    do_req(h, &rq, "/file", &rs, 0, err);
    assert_int_equal(rs.status, 206);
    assert_int_equal(rs.range_total, FILE_LEN);
    assert_int_equal(rs.content_length, FILE_LEN - 10);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, content + 10, 10);
    pthread_mutex_lock(&F->mu);
    assert_non_null(strstr(F->ranges, "bytes=10-19;"));
    pthread_mutex_unlock(&F->mu);
    /* a non-2xx answer is no error here; its body is kept aside */
    nu_buf_reset(&b);
    do_req(h, &rq, "/missing", &rs, 0, err);
    assert_int_equal(rs.status, 404);
    assert_string_equal(rs.err_body, "nope\n");
    assert_int_equal(rs.err_len, 5);
    assert_int_equal(b.len, 0);
    assert_int_equal(rs.received, 0);
    nu_buf_release(&b);
    nu_httpc_free(h);
}

static void test_request_methods(void **state)
{
    (void)state;
    struct nu_httpc *h;
    char err[NU_ERRMSG_MAX];
    assert_int_equal(nu_httpc_new(&h, err), 0);
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    struct nu_httpc_resp rs;
    struct nu_httpc_req rq = {.method = "HEAD", .out = &b, .max = 100, .fd = -1};
    do_req(h, &rq, "/file", &rs, 0, err);
    assert_int_equal(rs.status, 200);
    assert_int_equal(rs.content_length, FILE_LEN);
    assert_int_equal(rs.received, 0);
    static const char *const extra[] = {"X-Extra: 1", NULL};
    rq = (struct nu_httpc_req){.method = "PUT",
                               .body = "xyz",
                               .body_len = 3,
                               .out = &b,
                               .max = 100,
                               .fd = -1,
                               .headers = extra};
    do_req(h, &rq, "/echo", &rs, 0, err);
    assert_string_equal(b.data, "PUT|-|1|xyz");
    static const char *const json[] = {"Content-Type: application/json", NULL};
    nu_buf_reset(&b);
    rq = (struct nu_httpc_req){.method = "POST",
                               .body = "{}",
                               .body_len = 2,
                               .out = &b,
                               .max = 100,
                               .fd = -1,
                               .headers = json};
    do_req(h, &rq, "/echo", &rs, 0, err);
    assert_string_equal(b.data, "POST|application/json|-|{}");
    /* redirects are followed, unless the request is signed */
    nu_buf_reset(&b);
    rq = (struct nu_httpc_req){.method = "GET", .out = &b, .max = 100, .fd = -1};
    do_req(h, &rq, "/redirect", &rs, 0, err);
    assert_int_equal(rs.status, 200);
    assert_string_equal(b.data, "hello world");
    nu_buf_reset(&b);
    rq.sigv4 = "aws:amz:us-east-1:s3";
    rq.user = "AKID";
    rq.password = "secret";
    do_req(h, &rq, "/redirect", &rs, 0, err);
    assert_int_equal(rs.status, 302);
    assert_int_equal(b.len, 0);
    nu_buf_release(&b);
    /* transport failures name the method and the URL */
    rq = (struct nu_httpc_req){.method = "GET", .url = "http://127.0.0.1:1/x", .fd = -1};
    assert_int_equal(nu_httpc_do(h, &rq, &rs, err), NU_ENET);
    assert_string_equal(err, "GET http://127.0.0.1:1/x: Couldn't connect to server");
    nu_httpc_free(h);
}

static void test_request_to_fd(void **state)
{
    struct fx *f = *state;
    struct nu_httpc *h;
    char err[NU_ERRMSG_MAX], path[600];
    assert_int_equal(nu_httpc_new(&h, err), 0);
    snprintf(path, sizeof(path), "%s/part", f->dir);
    struct nu_httpc_resp rs;
    for (int ignore_range = 0; ignore_range < 2; ignore_range++) {
        /* the first half is there; the rest is asked for with a Range */
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, FILE_LEN / 2), FILE_LEN / 2);
        struct nu_httpc_req rq = {.method = "GET",
                                  .fd = fd,
                                  .fd_off = FILE_LEN / 2,
                                  .has_range = true,
                                  .range_from = FILE_LEN / 2,
                                  .range_to = FILE_LEN - 1};
        do_req(h, &rq, ignore_range ? "/norange" : "/file", &rs, 0, err);
        /* a server that ignores Range sends it all: the file starts over */
        assert_int_equal(rs.status, ignore_range ? 200 : 206);
        assert_int_equal(rs.received, ignore_range ? FILE_LEN : FILE_LEN / 2);
        close(fd);
        expect_file(path);
    }
    assert_int_equal(unlink(path), 0);
    nu_httpc_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_download_resume),
        cmocka_unit_test(test_download_range_ignored),
        cmocka_unit_test(test_request_memory),
        cmocka_unit_test(test_request_methods),
        cmocka_unit_test(test_request_to_fd),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
