/* nearup debug bundle (bundle.h): what `nearup status --json` says of the
 * homes, the machine, each node (node.c) and its logs (logs.c), the
 * gateway when given, and MANIFEST.json saying what was collected, what
 * was left out and why. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bundle-int.h"
#include "clock.h"
#include "redact.h"
#include "state.h"

#ifndef NU_VERSION
#define NU_VERSION "dev"
#endif

#define MANIFEST_FORMAT 1

/* The host name with anything but [A-Za-z0-9._-] made '_'. */
static void host_name(char *out, size_t outsz)
{
    if (gethostname(out, outsz - 1) != 0 || out[0] == '\0')
        snprintf(out, outsz, "localhost");
    out[outsz - 1] = '\0';
    for (char *p = out; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            *p = '_';
    }
}

int bundle_default_name(char *out, size_t outsz)
{
    char host[128];
    host_name(host, sizeof(host));
    time_t t = (time_t)(nu_real_ms() / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
    int n = snprintf(out, outsz, "nearup-bundle-%s-%s.tar.zst", host, when);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

/* ---- the machine ---- */

/* /proc/meminfo as {"MemTotal": kB, ...}. */
static json_t *meminfo_json(void)
{
    char *text = NULL, err[NU_ERRMSG_MAX];
    json_t *o = json_object();
    if (o == NULL || nu_fs_read_file("/proc/meminfo", BUNDLE_PROC_MAX, &text, NULL, err) != 0)
        return o;
    char key[64];
    long long kb;
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (sscanf(p, "%63[^:]: %lld", key, &kb) == 2)
            json_object_set_new(o, key, json_integer(kb));
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    free(text);
    return o;
}

static json_t *loadavg_json(void)
{
    char *text = NULL, err[NU_ERRMSG_MAX];
    double a[3];
    json_t *v = json_null();
    if (nu_fs_read_file("/proc/loadavg", BUNDLE_PROC_MAX, &text, NULL, err) == 0 &&
        sscanf(text, "%lf %lf %lf", &a[0], &a[1], &a[2]) == 3) {
        json_decref(v);
        v = json_pack("[f, f, f]", a[0], a[1], a[2]);
    }
    free(text);
    return v;
}

static int add_system(struct bundle_ar *ar, char *errbuf)
{
    struct utsname u;
    json_t *un = uname(&u) == 0 ? json_pack("{s:s, s:s, s:s, s:s, s:s}", "sysname", u.sysname,
                                            "nodename", u.nodename, "release", u.release, "version",
                                            u.version, "machine", u.machine)
                                : json_null();
    return bundle_ar_add_json(ar, "system.json", NULL,
                              json_pack("{s:o, s:i, s:o, s:o}", "uname", un, "cpus",
                                        (int)sysconf(_SC_NPROCESSORS_ONLN), "loadavg",
                                        loadavg_json(), "meminfo_kib", meminfo_json()),
                              errbuf);
}

/* ---- the gateway ---- */

static int add_gateway(struct bundle_ar *ar, const char *base, char *errbuf)
{
    static const char *const what[][2] = {{"gateway/upstreams.json", "/upstreams"},
                                          {"gateway/metrics.txt", "/metrics"}};
    static const size_t max[] = {BUNDLE_UPSTREAMS_MAX, BUNDLE_METRICS_MAX};
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    for (size_t i = 0; i < 2; i++) {
        char url[4096];
        snprintf(url, sizeof(url), "%.*s%s", (int)len, base, what[i][1]);
        int rc = bundle_add_url(ar, what[i][0], url, max[i], i == 0, errbuf);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- the nodes ---- */

/* Each home's name in the archive: its last path component, made unique
 * with "-2", "-3", ... */
static void node_names(const struct bundle_opts *o, struct bundle_node *nodes)
{
    for (size_t i = 0; i < o->nhomes; i++) {
        const char *base = strrchr(o->homes[i], '/');
        base = base != NULL && base[1] != '\0' ? base + 1 : "home";
        char want[48];
        snprintf(want, sizeof(want), "%s", base);
        snprintf(nodes[i].name, sizeof(nodes[i].name), "%s", want);
        for (unsigned k = 2;; k++) {
            bool clash = false;
            for (size_t j = 0; j < i && !clash; j++)
                clash = strcmp(nodes[j].name, nodes[i].name) == 0;
            if (!clash)
                break;
            snprintf(nodes[i].name, sizeof(nodes[i].name), "%s-%u", want, k);
        }
    }
}

static int add_all_logs(struct bundle_ar *ar, const struct bundle_node *nodes, size_t n,
                        int64_t cutoff_ms, char *errbuf)
{
    for (size_t i = 0; i < n; i++) {
        char dir[PATH_MAX], prefix[PATH_MAX];
        if (node_state_path(nodes[i].home, "logs", dir, sizeof(dir)) != 0)
            continue;
        snprintf(prefix, sizeof(prefix), "nodes/%s", nodes[i].name);
        /* What is left is shared by the nodes still to come; one that
         * needs less leaves the rest to the others. */
        uint64_t used, share = bundle_ar_room(ar) / (n - i);
        int rc = bundle_add_logs(ar, dir, prefix, cutoff_ms, share, &used, errbuf);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static json_t *homes_json(const struct bundle_node *nodes, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", nodes[i].name, "home",
                                           nodes[i].home, "state",
                                           node_state_name(nodes[i].st->state)));
    return a;
}

static json_t *manifest_json(const struct bundle_opts *o, const struct bundle_node *nodes,
                             int64_t start_ms, int64_t cutoff_ms)
{
    char created[NU_UTC_TEXT_MAX], cutoff[NU_UTC_TEXT_MAX], host[128], gw[4096];
    nu_utc_text(start_ms, created, sizeof(created));
    nu_utc_text(cutoff_ms, cutoff, sizeof(cutoff));
    host_name(host, sizeof(host));
    if (o->gateway != NULL)
        nu_redact(o->gateway, gw, sizeof(gw));
    return json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:o}", "format", MANIFEST_FORMAT,
                     "nearup_version", NU_VERSION, "created_at", created, "host", host, "since_s",
                     o->since_s ? json_integer(o->since_s) : json_null(), "since_cutoff",
                     o->since_s ? json_string(cutoff) : json_null(), "max_size",
                     (json_int_t)o->max_size, "gateway",
                     o->gateway != NULL ? json_string(gw) : json_null(), "homes",
                     homes_json(nodes, o->nhomes));
}

static int collect(struct bundle_ar *ar, const struct bundle_opts *o, struct bundle_node *nodes,
                   const struct node_status *st, int64_t cutoff_ms, char *errbuf)
{
    int rc =
        bundle_ar_add_json(ar, "status.json", NULL, node_status_json(st, o->nhomes, NULL), errbuf);
    if (rc == 0)
        rc = add_system(ar, errbuf);
    for (size_t i = 0; rc == 0 && i < o->nhomes; i++)
        rc = bundle_add_node(ar, &nodes[i], errbuf);
    if (rc == 0 && o->gateway != NULL)
        rc = add_gateway(ar, o->gateway, errbuf);
    if (rc == 0)
        rc = add_all_logs(ar, nodes, o->nhomes, cutoff_ms, errbuf);
    if (rc == 0 && bundle_ar_cancelled(ar))
        rc = nu_err_set(errbuf, NU_ESTATE, "interrupted");
    return rc;
}

static void result(const struct bundle_opts *o, const struct bundle_ar *ar, uint64_t t0,
                   struct bundle_result *r)
{
    struct stat sb;
    r->archive_bytes = stat(o->output, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    r->member_bytes = ar->used;
    r->members = json_array_size(ar->members);
    r->omitted = json_array_size(ar->omitted);
    r->failed = json_array_size(ar->failed);
    r->elapsed_ms = nu_mono_ms() - t0;
}

int bundle_write(const struct bundle_opts *o, struct bundle_result *r, char *errbuf)
{
    uint64_t t0 = nu_mono_ms();
    int64_t start = nu_real_ms();
    int64_t cutoff = o->since_s ? start - (int64_t)o->since_s * 1000 : -1;
    struct bundle_ar ar;
    struct node_status *st = calloc(o->nhomes ? o->nhomes : 1, sizeof(*st));
    struct bundle_node *nodes = calloc(o->nhomes ? o->nhomes : 1, sizeof(*nodes));
    struct node_status_ref ref;
    memset(r, 0, sizeof(*r));
    int rc = bundle_ar_open(&ar, o->output, o->max_size, start / 1000, o->cancel, errbuf);
    if (rc == 0 && (st == NULL || nodes == NULL))
        rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (rc == 0)
        rc = node_status_collect(o->homes, o->nhomes, NULL, st, &ref, errbuf);
    for (size_t i = 0; rc == 0 && i < o->nhomes; i++) {
        nodes[i].home = o->homes[i];
        nodes[i].st = &st[i];
    }
    if (rc == 0)
        node_names(o, nodes);
    if (rc == 0)
        rc = collect(&ar, o, nodes, st, cutoff, errbuf);
    if (rc == 0)
        rc = bundle_ar_commit(&ar, manifest_json(o, nodes, start, cutoff), errbuf);
    if (rc == 0)
        result(o, &ar, t0, r);
    bundle_ar_release(&ar);
    free(st);
    free(nodes);
    return rc;
}
