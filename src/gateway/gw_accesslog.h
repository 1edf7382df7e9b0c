/* Optional logfmt access log, one line per HTTP request:
 *   ts=... client=1.2.3.4 method=block calls=1 upstream=rpc-a status=200
 *   latency_ms=1.234 retries=0 bytes_in=80 bytes_out=1500
 * Lines are buffered per worker and written with uv_fs_write (thread
 * pool), never on the loop; when writing falls behind, lines are dropped
 * and counted (nearup_gateway_access_log_dropped_total). */
#ifndef GW_ACCESSLOG_H
#define GW_ACCESSLOG_H

#include <stdint.h>
#include "gw_gateway-int.h"

#define GW_ALOG_BUF_MAX (1u << 20) /* per worker; lines beyond are dropped */

struct gw_alog_entry {
    const char *client;
    const char *method; /* "batch" for batches */
    unsigned calls;
    const char *upstream; /* "-" when none */
    int status;
    uint64_t latency_us;
    unsigned retries;
    size_t bytes_in, bytes_out;
};

/* Opens path for appending ("-": stderr). NULL with errbuf on failure. */
struct gw_alog *gw_alog_open(const char *path, char *errbuf);
struct gw_alog *gw_alog_ref(struct gw_alog *a);
void gw_alog_unref(struct gw_alog *a); /* accepts NULL */

void gw_alogbuf_init(struct gw_alogbuf *b);
void gw_alogbuf_release(struct gw_alogbuf *b);
/* Adds a line when the worker's current snapshot has an access log. */
void gw_alog_add(struct gw_worker *w, struct gw_view *v, const struct gw_alog_entry *e);
/* Starts writing buffered lines (from the worker's 1 s tick, or at stop). */
void gw_alog_flush(struct gw_worker *w);
/* True while a write is in flight (the worker waits for it at exit). */
bool gw_alog_busy(const struct gw_worker *w);

#endif
