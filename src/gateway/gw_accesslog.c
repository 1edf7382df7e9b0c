/* Buffered logfmt access log (see gw_accesslog.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "gw_accesslog.h"
#include "gw_worker.h"
#include "log.h"

#define FLUSH_AT (64u * 1024) /* write early when this much is buffered */

struct gw_alog *gw_alog_open(const char *path, char *errbuf)
{
    struct gw_alog *a = calloc(1, sizeof(*a));
    if (!a) {
        nu_err_set(errbuf, NU_ENOMEM, "access log: out of memory");
        return NULL;
    }
    atomic_init(&a->refs, 1);
    if (strcmp(path, "-") == 0) {
        a->fd = 2;
        return a;
    }
    /* Opened once at start or reload, on the control thread. */
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (a->fd < 0) {
        nu_err_set(errbuf, NU_EIO, "access log %s: %s", path, strerror(errno));
        free(a);
        return NULL;
    }
    a->close_fd = true;
    return a;
}

struct gw_alog *gw_alog_ref(struct gw_alog *a)
{
    if (a)
        atomic_fetch_add(&a->refs, 1);
    return a;
}

void gw_alog_unref(struct gw_alog *a)
{
    if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
        return;
    if (a->close_fd)
        close(a->fd);
    free(a);
}

void gw_alogbuf_init(struct gw_alogbuf *b)
{
    nu_buf_init(&b->buf, GW_ALOG_BUF_MAX);
    nu_buf_init(&b->inflight, GW_ALOG_BUF_MAX);
}

void gw_alogbuf_release(struct gw_alogbuf *b)
{
    nu_buf_release(&b->buf);
    nu_buf_release(&b->inflight);
}

bool gw_alog_busy(const struct gw_worker *w)
{
    return w->alog.writing;
}

void gw_alog_add(struct gw_worker *w, struct gw_view *v, const struct gw_alog_entry *e)
{
    if (!v->snap->alog)
        return;
    char ts[NU_UTC_TEXT_MAX], client[96], up[160];
    nu_utc_text(nu_real_ms(), ts, sizeof(ts));
    nu_log_format_value(client, sizeof(client), e->client ? e->client : "-");
    nu_log_format_value(up, sizeof(up), e->upstream ? e->upstream : "-");
    int err = nu_buf_printf(&w->alog.buf,
                            "ts=%s level=info msg=access client=%s method=%s calls=%u upstream=%s "
                            "status=%d latency_ms=%.3f retries=%u bytes_in=%zu bytes_out=%zu\n",
                            ts, client, e->method, e->calls, up, e->status,
                            (double)e->latency_us / 1000.0, e->retries, e->bytes_in, e->bytes_out);
    if (err) {
        GW_STAT_INC(w->st.alog_dropped);
        return;
    }
    if (w->alog.buf.len >= FLUSH_AT)
        gw_alog_flush(w);
}

static void on_written(uv_fs_t *req)
{
    struct gw_worker *w = req->data;
    uv_fs_req_cleanup(req);
    w->alog.writing = false;
    nu_buf_reset(&w->alog.inflight);
    gw_alog_unref(w->alog.wlog);
    w->alog.wlog = NULL;
    if (w->stopping)
        gw_worker_alog_done(w);
    else if (w->alog.buf.len >= FLUSH_AT)
        gw_alog_flush(w);
}

void gw_alog_flush(struct gw_worker *w)
{
    struct gw_alogbuf *b = &w->alog;
    if (b->writing || b->buf.len == 0)
        return;
    struct gw_alog *a = w->view ? w->view->snap->alog : NULL;
    if (!a) {
        nu_buf_reset(&b->buf); /* access log switched off */
        return;
    }
    struct nu_buf tmp = b->inflight;
    b->inflight = b->buf;
    b->buf = tmp;
    b->wlog = gw_alog_ref(a);
    b->req.data = w;
    uv_buf_t ub = uv_buf_init(b->inflight.data, (unsigned)b->inflight.len);
    if (uv_fs_write(&w->loop, &b->req, a->fd, &ub, 1, -1, on_written) != 0) {
        GW_STAT_INC(w->st.alog_dropped);
        nu_buf_reset(&b->inflight);
        gw_alog_unref(b->wlog);
        b->wlog = NULL;
        return;
    }
    b->writing = true;
}
