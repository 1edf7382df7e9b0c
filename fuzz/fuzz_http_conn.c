/* libFuzzer target: the HTTP server's connection state machine (httpd.c,
 * httpd_conn.c, httpd_write.c), not only its parser. One nu_httpd serves
 * 127.0.0.1 on a loop this thread runs by hand; for each input a client
 * connects and sends the input's bytes split at random places, with the
 * loop run after each piece, so requests arrive split, pipelined, while an
 * answer is pending (handler answers later, never, aborts, closes, answers
 * beyond max_unsent_bytes) and the client may reset mid-stream.
 *
 * Input: byte 0 holds flags (bit 0: reset at a random piece instead of a
 * clean end; bit 1: whole input in one send), byte 1 seeds the piece
 * sizes (1..256 bytes); the rest is what the client sends. After each input
 * every connection must be gone with nothing held (buffers, unsent bytes,
 * handler requests), and the server's answers must parse as HTTP. */
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "httpd.h"

#define BIG (2u << 20) /* beyond loopback's socket buffers: held, then over the cap */
#define MID (200u * 1024)

static uv_loop_t loop;
static struct nu_httpd *srv;
static int port;
static int pending; /* requests the handler still holds */

struct later {
    uv_timer_t t;
    struct nu_http_req *req;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
    pending--;
}

static void later_fire(uv_timer_t *t)
{
    struct later *l = t->data;
    if (nu_httpd_respond(l->req, 200, "text/plain", "later", 5) != 0)
        abort();
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void later_cancel(struct nu_http_req *req, void *ud)
{
    struct later *l = ud;
    if (nu_httpd_respond(req, 200, NULL, NULL, 0) != NU_ESTATE)
        abort(); /* a cancelled req is never answered */
    uv_timer_stop(&l->t);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

/* Answers after ms (or never, when ms is 0); cancelled if the client goes. */
static void answer_later(struct nu_http_req *req, unsigned ms)
{
    struct later *l = calloc(1, sizeof(*l));
    if (!l)
        abort();
    l->req = req;
    uv_timer_init(&loop, &l->t);
    l->t.data = l;
    if (ms)
        uv_timer_start(&l->t, later_fire, ms - 1, 0);
    nu_httpd_on_cancel(req, later_cancel, l);
    pending++;
}

static int respond_big(struct nu_http_req *req, size_t n, bool take)
{
    char *b = malloc(n);
    if (!b)
        abort();
    memset(b, 'b', n);
    if (take)
        return nu_httpd_respond_take(req, 200, "application/octet-stream", NULL, b, n, 0);
    int err = nu_httpd_respond(req, 200, "application/octet-stream", b, n);
    free(b);
    return err;
}

static void handler(struct nu_http_req *req, void *ud)
{
    const char *p = req->path;
    int err = 0;
    if (strcmp(p, "/async") == 0) {
        answer_later(req, 1);
    } else if (strcmp(p, "/never") == 0) {
        answer_later(req, 0);
    } else if (strcmp(p, "/abort") == 0) {
        nu_httpd_abort(req);
    } else if (strcmp(p, "/close") == 0) {
        err = nu_httpd_respond_ex(req, 200, "text/plain", NULL, "bye", 3, NU_HTTPD_CLOSE);
    } else if (strcmp(p, "/big") == 0 || strcmp(p, "/mid") == 0) {
        err = respond_big(req, p[1] == 'b' ? BIG : MID, req->body_len % 2 == 0);
    } else if (req->body_len % 2) {
        char *copy = malloc(req->body_len);
        if (!copy)
            abort();
        memcpy(copy, req->body, req->body_len);
        err = nu_httpd_respond_take(req, 200, "text/plain", NULL, copy, req->body_len, 0);
    } else {
        err = nu_httpd_respond(req, 200, "text/plain", req->body, req->body_len);
    }
    if (err)
        abort();
}

static void setup(void)
{
    struct nu_httpd_opts o;
    nu_httpd_opts_init(&o);
    o.max_header_bytes = 2048;
    o.max_body_bytes = 4096;
    o.max_headers = 16;
    o.max_unsent_bytes = 1u << 20;
    char err[NU_ERRMSG_MAX];
    if (uv_loop_init(&loop) != 0 || nu_httpd_new(&loop, &o, handler, NULL, &srv, err) != 0)
        abort();
    port = nu_httpd_port(srv);
}

/* ---- the client ---- */

struct client {
    int fd;
    bool gone; /* the server closed or reset */
    llhttp_t rp;
    llhttp_settings_t rs;
    bool bad_answer, head_sent;
};

static void pump(struct client *c, int rounds)
{
    char buf[65536];
    for (int i = 0; i < rounds; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        for (;;) {
            ssize_t n = c->fd >= 0 && !c->gone ? recv(c->fd, buf, sizeof(buf), 0) : -1;
            if (n > 0) {
                /* HEAD answers carry a length but no body: not checked then. */
                if (!c->head_sent && llhttp_execute(&c->rp, buf, (size_t)n) != HPE_OK)
                    c->bad_answer = true;
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                c->gone = true;
            break;
        }
    }
}

static void reset_close(struct client *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(c->fd);
    c->fd = -1;
}

static void send_piece(struct client *c, const uint8_t *d, size_t n)
{
    for (int tries = 0; n > 0 && !c->gone && tries < 64; tries++) {
        ssize_t w = send(c->fd, d, n, MSG_NOSIGNAL);
        if (w > 0) {
            d += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            c->gone = true;
        }
        pump(c, 2);
    }
}

static int open_client(struct client *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0)
        return -1;
    /* Loopback: the kernel completes the handshake before accept. */
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        fcntl(c->fd, F_SETFL, O_NONBLOCK) != 0) {
        close(c->fd);
        return -1;
    }
    llhttp_settings_init(&c->rs);
    llhttp_init(&c->rp, HTTP_RESPONSE, &c->rs);
    return 0;
}

/* Every connection gone, nothing held: else the state machine leaks. */
static void check_quiet(void)
{
    struct nu_httpd_stats st;
    for (int i = 0; i < 2000; i++) {
        nu_httpd_get_stats(srv, &st);
        if (st.open_connections == 0 && pending == 0)
            break;
        uv_run(&loop, UV_RUN_NOWAIT);
        if (i > 100)
            usleep(100);
    }
    if (st.open_connections != 0 || pending != 0 || st.unsent_bytes != 0 || st.buffer_bytes != 0)
        abort();
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        setup();
    if (size < 2)
        return 0;
    bool reset = data[0] & 1, whole = data[0] & 2;
    uint32_t rnd = 0x9e3779b9u ^ ((uint32_t)data[1] << 8 | data[0]);
    data += 2;
    size -= 2;
    struct client c = {0};
    if (open_client(&c) != 0)
        return 0;
    c.head_sent = memmem(data, size, "HEAD", 4) != NULL;
    size_t cut = reset && size ? next_rand(&rnd) % size : size;
    pump(&c, 2); /* accept */
    for (size_t off = 0; off < cut && !c.gone;) {
        size_t n = whole ? cut - off : 1 + next_rand(&rnd) % 256;
        if (n > cut - off)
            n = cut - off;
        send_piece(&c, data + off, n);
        off += n;
        pump(&c, 2);
    }
    if (!reset && !c.gone) {
        shutdown(c.fd, SHUT_WR); /* the server treats a half-close as gone */
        for (int i = 0; i < 200 && !c.gone; i++)
            pump(&c, 1);
    }
    if (c.bad_answer)
        abort(); /* the server wrote something that is not HTTP */
    reset_close(&c);
    check_quiet();
    return 0;
}
