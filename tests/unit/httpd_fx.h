/* Shared by the nu_httpd unit tests: a server on a uv loop in a background
 * thread with a handler that answers by path, and a raw blocking client so
 * the exact bytes on the wire are asserted. */
#ifndef TEST_HTTPD_FX_H
#define TEST_HTTPD_FX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>
#include "httpd.h"

struct fx {
    uv_loop_t loop;
    uv_thread_t th;
    uv_async_t stop;
    struct nu_httpd *h;
    int port;
    unsigned drain_ms;
    struct nu_httpd_stats st;
    atomic_int cancels, done, handled;
};

struct cl {
    int fd;
    char buf[65536];
    size_t len;
};

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

#define ERR(code, reason, n)                                                                       \
    "HTTP/1.1 " code " " reason "\r\nContent-Type: text/plain\r\nContent-Length: " n               \
    "\r\nConnection: close\r\n\r\n" reason "\n"

/* Answers by path: /echo, /async?ms=N, /never, /truncate, /close, /huge,
 * /nocontent, /pattern?n=N and /take?n=N (N bytes of fx_pattern, copied by
 * the server or handed over); anything else "path=PATH". */
char fx_pattern(size_t i);
void fx_handler(struct nu_http_req *req, void *ud);
struct fx *fx_start(const struct nu_httpd_opts *o);
struct fx *fx_start_default(void);
void fx_stop(struct fx *f, unsigned drain_ms);
struct nu_httpd_stats fx_finish(struct fx *f);
struct cl *cl_open(int port);
void cl_close(struct cl *c);
void cl_send(struct cl *c, const char *s, size_t n);
void cl_puts(struct cl *c, const char *s);
ssize_t cl_fill(struct cl *c);
void cl_response(struct cl *c, bool head_only, char *out, size_t outsz);
const char *cl_rest(struct cl *c);
bool cl_eof(struct cl *c);
void fx_expect(struct cl *c, const char *want);
struct fx *fx_start_small(void);
void fx_expect_error(struct fx *f, const char *req, const char *want);
/* The server's whole answer to a request it refuses with a detail: the
 * body is "<reason in lower case>: <detail>\n", then the close. */
void fx_refused(char *out, size_t outsz, int status, const char *detail);
/* Sends req on a fresh connection and asserts that answer. */
void fx_expect_refused(struct fx *f, const char *req, int status, const char *detail);

#endif
