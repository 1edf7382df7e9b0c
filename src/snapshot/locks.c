/* Store markers for create/prune coordination (see util.h), and the
 * chunk-job delay hook for tests. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "settings.h"
#include "util.h"

#define MARKER_MAX 16384

int snap_marker_put(struct snap_store *s, const char *key, char *errbuf)
{
    char host[256] = "", body[512];
    if (gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    int n = snprintf(body, sizeof(body), "{\"pid\":%ld,\"host\":\"%.200s\",\"started\":%lld}\n",
                     (long)getpid(), host, (long long)time(NULL));
    for (char *p = body; *p != '\0'; p++) {
        if (*p == '\\' || (unsigned char)*p < 0x20)
            *p = '_';
    }
    body[n - 1] = '\n';
    return snap_store_put(s, key, body, (size_t)n, 0, errbuf);
}

static int add_marker(void *ud, const struct snap_obj_info *o)
{
    struct snap_markers *m = ud;
    if (m->n >= MARKER_MAX)
        return 0; /* bounded: a flood of markers only makes us more careful */
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct snap_marker *p = realloc(m->m, cap * sizeof(*p));
        if (p == NULL)
            return NU_ENOMEM;
        m->m = p;
        m->cap = cap;
    }
    snprintf(m->m[m->n].key, sizeof(m->m[m->n].key), "%s", o->key);
    m->m[m->n].mtime = o->mtime;
    m->n++;
    return 0;
}

int snap_markers_list(struct snap_store *s, const char *own_key, struct snap_markers *out,
                      char *errbuf)
{
    memset(out, 0, sizeof(*out));
    int rc = snap_store_list(s, "locks/", add_marker, out, errbuf);
    if (rc == NU_ENOMEM)
        nu_err_set(errbuf, rc, "out of memory");
    if (rc < 0) {
        snap_markers_release(out);
        return rc;
    }
    out->now = (int64_t)time(NULL);
    for (size_t i = 0; own_key != NULL && i < out->n; i++) {
        if (strcmp(out->m[i].key, own_key) == 0 && out->m[i].mtime > 0)
            out->now = out->m[i].mtime;
    }
    return 0;
}

void snap_markers_release(struct snap_markers *m)
{
    free(m->m);
    memset(m, 0, sizeof(*m));
}

/* A test hook's delay from env var name: 1 ms to 60 s, else 0. */
static long hook_ms(const char *name)
{
    uint64_t v;
    return nu_parse_uint(getenv(name), 59999, &v) == 0 ? (long)v : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void snap_test_checkpoint_delay(void)
{
    long ms = hook_ms("NEARUP_SNAPSHOT_TEST_CHECKPOINT_DELAY_MS");
    if (ms > 0)
        sleep_ms(ms);
}

void snap_test_delay(void)
{
    static atomic_long cached = -1;
    long delay_ms = atomic_load(&cached);
    if (delay_ms < 0) {
        delay_ms = hook_ms("NEARUP_SNAPSHOT_TEST_DELAY_MS");
        atomic_store(&cached, delay_ms);
    }
    if (delay_ms > 0)
        sleep_ms(delay_ms);
}

int snap_err_prefix(char *errbuf, int rc, const char *prefix)
{
    char tmp[NU_ERRMSG_MAX];
    if (errbuf == NULL)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s", errbuf);
    return nu_err_set(errbuf, rc, "%s: %s", prefix, tmp);
}
