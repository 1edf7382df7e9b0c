/* Store markers for create/prune coordination (the protocol is in locks.h). */
#include "locks.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

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
    struct snap_marker *p = nu_grow(m->m, m->n, &m->cap, sizeof(*p), 16);
    if (p == NULL)
        return NU_ENOMEM;
    m->m = p;
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
