/* nearup snapshot create|restore|list|verify|prune: dispatch, flags and
 * reports. The work is in src/snapshot (snap.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "httpc.h"
#include "progress.h"
#include "snap.h"
#include "state.h"
#include "workers.h"

#define CMD "snapshot"

static void note(void *ud, const char *msg)
{
    fprintf(stderr, "nearup snapshot %s: %s\n", (const char *)ud, msg);
}

/* Every flag of every subcommand; each subcommand accepts its own subset. */
enum {
    O_HOME = 256,
    O_TO,
    O_FROM,
    O_NAME,
    O_PARALLEL,
    O_COMPRESS,
    O_SIGN,
    O_VERIFY,
    O_REPLACE,
    O_JSON,
    O_KEEP,
    O_GRACE,
    O_STALE,
    O_DRY,
    O_ENDPOINT,
    O_LAYOUT,
    O_KIND,
    O_STOPTO,
    O_KEEPOLD,
};

struct opts {
    const char *home, *store, *name, *sign_key, *verify_key, *endpoint, *kind;
    unsigned parallel, keep, stop_timeout;
    bool compress, replace, keep_old, json, dry_run;
    int64_t grace, stale;
    enum snap_layout layout;
    char abshome[PATH_MAX];
};

static const struct option all_options[] = {
    {"home", required_argument, NULL, O_HOME},
    {"to", required_argument, NULL, O_TO},
    {"from", required_argument, NULL, O_FROM},
    {"name", required_argument, NULL, O_NAME},
    {"parallel", required_argument, NULL, O_PARALLEL},
    {"compress", required_argument, NULL, O_COMPRESS},
    {"sign-key", required_argument, NULL, O_SIGN},
    {"verify-key", required_argument, NULL, O_VERIFY},
    {"replace", no_argument, NULL, O_REPLACE},
    {"json", no_argument, NULL, O_JSON},
    {"keep", required_argument, NULL, O_KEEP},
    {"grace", required_argument, NULL, O_GRACE},
    {"stale-after", required_argument, NULL, O_STALE},
    {"dry-run", no_argument, NULL, O_DRY},
    {"s3-endpoint", required_argument, NULL, O_ENDPOINT},
    {"layout", required_argument, NULL, O_LAYOUT},
    {"kind", required_argument, NULL, O_KIND},
    {"stop-timeout", required_argument, NULL, O_STOPTO},
    {"keep-old", no_argument, NULL, O_KEEPOLD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct sub {
    const char *name;
    int (*fn)(struct opts *o);
    const char *usage;
    const int *flags; /* accepted, 0-terminated */
    bool needs_home, needs_store;
};

static int usage_error(const struct sub *s, const char *fmt, const char *arg)
{
    fprintf(stderr, "nearup snapshot %s: ", s->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: %s\n", s->usage);
    return 2;
}

static int parse_layout(const char *s, enum snap_layout *out)
{
    static const char *const names[] = {"auto", "nearup", "near", "fastnear"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum snap_layout)i;
            return 0;
        }
    }
    return NU_EINVAL;
}

static int set_value(const struct sub *s, struct opts *o, int c, const char *arg)
{
    long v = 0;
    switch (c) {
    case O_PARALLEL:
        if (cli_parse_long(arg, 1, SNAP_PARALLEL_MAX, &v) < 0)
            return usage_error(s, "--parallel '%s' is not a number from 1 to 64", arg);
        o->parallel = (unsigned)v;
        return 0;
    case O_KEEP:
        if (cli_parse_long(arg, 1, 1000000, &v) < 0)
            return usage_error(s, "--keep '%s' is not a number of at least 1", arg);
        o->keep = (unsigned)v;
        return 0;
    case O_GRACE:
    case O_STALE:
        if (cli_parse_long(arg, 0, 10L * 365 * 86400, &v) < 0)
            return usage_error(s, "'%s' is not a number of seconds", arg);
        *(c == O_GRACE ? &o->grace : &o->stale) = v;
        return 0;
    case O_STOPTO:
        if (cli_parse_long(arg, 1, 86400, &v) < 0)
            return usage_error(s, "--stop-timeout '%s' is not a number of seconds (1-86400)", arg);
        o->stop_timeout = (unsigned)v;
        return 0;
    case O_COMPRESS:
        if (strcmp(arg, "zstd") != 0 && strcmp(arg, "none") != 0)
            return usage_error(s, "--compress must be zstd or none, not '%s'", arg);
        o->compress = strcmp(arg, "zstd") == 0;
        return 0;
    case O_LAYOUT:
        if (parse_layout(arg, &o->layout) < 0)
            return usage_error(s, "--layout must be nearup, near or fastnear, not '%s'", arg);
        return 0;
    }
    return 0;
}

static int set_opt(const struct sub *s, struct opts *o, int c, const char *arg)
{
    switch (c) {
    case O_HOME:
        o->home = arg;
        return 0;
    case O_TO:
    case O_FROM:
        o->store = arg;
        return 0;
    case O_NAME:
        o->name = arg;
        return 0;
    case O_SIGN:
        o->sign_key = arg;
        return 0;
    case O_VERIFY:
        o->verify_key = arg;
        return 0;
    case O_REPLACE:
        o->replace = true;
        return 0;
    case O_KEEPOLD:
        o->keep_old = true;
        return 0;
    case O_JSON:
        o->json = true;
        return 0;
    case O_DRY:
        o->dry_run = true;
        return 0;
    case O_ENDPOINT:
        o->endpoint = arg;
        return 0;
    case O_KIND:
        o->kind = arg;
        return 0;
    }
    return set_value(s, o, c, arg);
}

static bool accepted(const struct sub *s, int c)
{
    for (const int *f = s->flags; *f != 0; f++) {
        if (*f == c)
            return true;
    }
    return false;
}

static int parse(const struct sub *s, int argc, char **argv, struct opts *o)
{
    char err[NU_ERRMSG_MAX];
    int c, rc, idx = -1;
    memset(o, 0, sizeof(*o));
    o->compress = true;
    o->grace = SNAP_GRACE_DEFAULT_S;
    o->stale = SNAP_MARKER_STALE_DEFAULT_S;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", all_options, &idx)) != -1) {
        if (c == 'h') {
            printf("usage: %s\n", s->usage);
            return -1;
        }
        if (c != '?' && c != ':' && !accepted(s, c)) {
            char flag[64];
            snprintf(flag, sizeof(flag), "--%s", all_options[idx].name);
            return usage_error(s, "unknown option '%s'", flag);
        }
        if (c == '?' || c == ':')
            return usage_error(s, c == ':' ? "option '%s' needs a value" : "unknown option '%s'",
                               argv[optind - 1]);
        if ((rc = set_opt(s, o, c, optarg)) != 0)
            return rc;
    }
    if (optind != argc)
        return usage_error(s, "unexpected argument '%s'", argv[optind]);
    if (s->needs_store && o->store == NULL)
        return usage_error(s, "%s",
                           strcmp(s->name, "create") == 0 ? "--to STORE is required"
                                                          : "--from STORE is required");
    if (s->needs_home && o->home == NULL)
        return usage_error(s, "%s", "--home DIR is required");
    if (o->keep_old && !o->replace)
        return usage_error(s, "%s", "--keep-old goes with --replace (it keeps the replaced data)");
    if (strcmp(s->name, "prune") == 0 && o->keep == 0)
        return usage_error(s, "%s", "--keep N is required");
    if (o->home != NULL && node_abspath(o->home, o->abshome, sizeof(o->abshome), err) < 0)
        return usage_error(s, "%s", err);
    return 0;
}

static struct snap_common common(const struct opts *o, const char *sub)
{
    return (struct snap_common){
        .store = o->store,
        .s3_endpoint = o->endpoint,
        .parallel = o->parallel,
        .progress_fd = 2,
        .progress_tty = !o->json && isatty(2) == 1,
        .cancel = &cli_cancelled,
        .note = note,
        .note_ud = (void *)sub,
    };
}

static void human(uint64_t n, char *out, size_t outsz)
{
    node_format_bytes(n, out, outsz);
}

static int print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    if (s == NULL)
        return 1;
    puts(s);
    free(s);
    return 0;
}

/* ---- create ---- */

static json_t *create_json(const struct snap_create_result *r)
{
    return json_pack(
        "{s:s, s:o, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:b}",
        "name", r->name, "height", r->height >= 0 ? json_integer(r->height) : json_null(),
        "was_running", r->was_running, "restarted", r->restarted, "downtime_ms",
        (json_int_t)r->downtime_ms, "stop_ms", (json_int_t)r->stop_ms, "checkpoint_ms",
        (json_int_t)r->checkpoint_ms, "start_ms", (json_int_t)r->start_ms, "total_ms",
        (json_int_t)r->total_ms, "files_linked", (json_int_t)r->files_linked, "files_copied",
        (json_int_t)r->files_copied, "bytes_copied", (json_int_t)r->bytes_copied, "link_fallback",
        r->link_fallback, "files", (json_int_t)r->files, "files_new", (json_int_t)r->files_new,
        "chunks", (json_int_t)r->chunks, "chunks_uploaded", (json_int_t)r->chunks_uploaded, "bytes",
        (json_int_t)r->bytes, "bytes_new", (json_int_t)r->bytes_new, "bytes_uploaded",
        (json_int_t)r->bytes_uploaded, "signed", r->signed_manifest);
}

static void create_report(const struct snap_create_result *r)
{
    char total[32], fresh[32], stored[32], copied[32];
    human(r->bytes, total, sizeof(total));
    human(r->bytes_new, fresh, sizeof(fresh));
    human(r->bytes_uploaded, stored, sizeof(stored));
    human(r->bytes_copied, copied, sizeof(copied));
    if (r->was_running)
        printf("nearup snapshot create: node down for %llu ms (stop %llu ms, checkpoint %llu ms, "
               "start %llu ms)\n",
               (unsigned long long)r->downtime_ms, (unsigned long long)r->stop_ms,
               (unsigned long long)r->checkpoint_ms, (unsigned long long)r->start_ms);
    else
        printf("nearup snapshot create: the node was not running (checkpoint %llu ms)\n",
               (unsigned long long)r->checkpoint_ms);
    printf("nearup snapshot create: checkpoint: %zu files hard-linked, %zu copied (%s)\n",
           r->files_linked, r->files_copied, copied);
    printf("nearup snapshot create: %s at height %lld: %zu files, %zu chunks, %s; uploaded %zu "
           "new chunks from %zu files (%s, %s stored)%s in %.1f s\n",
           r->name, (long long)r->height, r->files, r->chunks, total, r->chunks_uploaded,
           r->files_new, fresh, stored, r->signed_manifest ? ", signed" : "",
           (double)r->total_ms / 1000.0);
}

static int do_create(struct opts *o)
{
    struct snap_create_opts co = {
        .c = common(o, "create"),
        .home = o->abshome,
        .name = o->name,
        .compress = o->compress,
        .sign_key = o->sign_key,
        .stop_timeout_s = o->stop_timeout,
    };
    struct snap_create_result r;
    char err[NU_ERRMSG_MAX];
    int rc = snap_create(&co, &r, err);
    if (r.link_fallback)
        fprintf(stderr,
                "nearup snapshot create: warning: hard links are impossible here (%s); copied "
                "%zu files instead, which took the node down longer\n",
                r.link_fallback_why, r.files_copied);
    if (rc < 0) {
        cli_error("snapshot create", "%s", err);
        return 1;
    }
    if (o->json)
        return print_json(create_json(&r));
    create_report(&r);
    return 0;
}

/* ---- restore ---- */

static const char *layout_name(enum snap_layout l)
{
    static const char *const names[] = {"auto", "nearup", "near", "fastnear"};
    return names[l];
}

static json_t *restore_json(const struct snap_restore_result *r)
{
    json_t *old = json_array();
    for (size_t i = 0; old != NULL && i < r->nold; i++)
        json_array_append_new(old, json_string(r->old_data[i]));
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:s, "
        "s:I}",
        "name", r->name, "chain_id", r->chain_id, "height",
        r->height >= 0 ? json_integer(r->height) : json_null(), "layout", layout_name(r->layout),
        "files", (json_int_t)r->files, "bytes", (json_int_t)r->bytes, "chunks",
        (json_int_t)r->chunks, "chunks_present", (json_int_t)r->chunks_present, "chunks_downloaded",
        (json_int_t)r->chunks_downloaded, "bytes_downloaded", (json_int_t)r->bytes_downloaded,
        "replaced", r->replaced, "signature_verified", r->signature_verified, "checks", r->checks,
        "data_dir", r->data_dir, "total_ms", (json_int_t)r->total_ms);
    if (o == NULL || old == NULL || json_object_set_new(o, "old_data", old) < 0 ||
        json_object_set_new(o, "old_kept", json_boolean(r->old_kept)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void restore_report(const char *cmd, const struct snap_restore_result *r)
{
    char total[32], got[32], rate[32];
    double secs = (double)(r->total_ms ? r->total_ms : 1) / 1000.0;
    human(r->bytes, total, sizeof(total));
    human(r->bytes_downloaded, got, sizeof(got));
    human((uint64_t)((double)r->bytes / secs), rate, sizeof(rate));
    printf("nearup %s: restored %s (%s, height %lld) into %s: %zu files, %s\n", cmd, r->name,
           r->chain_id, (long long)r->height, r->data_dir, r->files, total);
    for (size_t i = 0; i < r->nold; i++)
        printf("nearup %s: the old data is in %s%s\n", cmd, r->old_data[i],
               r->old_kept ? " (kept: --keep-old)"
                           : "; it is removed once the node has opened the restored data");
    const char *unit = r->layout == SNAP_LAYOUT_NEARUP ? "chunks" : "files";
    printf("nearup %s: downloaded %zu %s (%s), %zu were already in place; verified: %s; "
           "%.1f s, %s/s\n",
           cmd, r->chunks_downloaded, unit, got, r->chunks_present, r->checks, secs, rate);
}

static int do_restore(struct opts *o)
{
    struct snap_restore_opts ro = {
        .c = common(o, "restore"),
        .home = o->abshome,
        .name = o->name,
        .verify_key = o->verify_key,
        .replace = o->replace,
        .keep_old = o->keep_old,
        .layout = o->layout,
        .kind = o->kind,
    };
    struct snap_restore_result r;
    char err[NU_ERRMSG_MAX];
    if (snap_restore(&ro, &r, err) < 0) {
        cli_error("snapshot restore", "%s", err);
        return 1;
    }
    if (o->json)
        return print_json(restore_json(&r));
    restore_report("snapshot restore", &r);
    return 0;
}

/* ---- list, verify, prune ---- */

static json_t *info_json(const struct snap_info *in)
{
    if (in->error[0] != '\0')
        return json_pack("{s:s, s:s}", "name", in->name, "error", in->error);
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:b, s:b}", "name", in->name,
                     "created_at", in->created_at, "chain_id", in->chain_id, "height",
                     in->height >= 0 ? json_integer(in->height) : json_null(), "block_hash",
                     in->block_hash, "neard_version", in->neard_version, "files",
                     (json_int_t)in->files, "chunks", (json_int_t)in->chunks, "bytes",
                     (json_int_t)in->bytes, "latest", in->latest, "signed", in->has_signature);
}

static int do_list(struct opts *o)
{
    struct snap_common c = common(o, "list");
    struct snap_info *v;
    size_t n;
    char err[NU_ERRMSG_MAX], size[32];
    if (snap_list(&c, &v, &n, err) < 0) {
        cli_error("snapshot list", "%s", err);
        return 1;
    }
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, info_json(&v[i]));
        free(v);
        return print_json(arr);
    }
    printf("%-40s %-20s %-12s %10s %7s %11s %s\n", "NAME", "CREATED", "CHAIN", "HEIGHT", "FILES",
           "SIZE", "");
    for (size_t i = 0; i < n; i++) {
        human(v[i].bytes, size, sizeof(size));
        if (v[i].error[0] != '\0')
            printf("%-40s unreadable: %s\n", v[i].name, v[i].error);
        else
            printf("%-40s %-20s %-12s %10lld %7zu %11s %s%s\n", v[i].name, v[i].created_at,
                   v[i].chain_id, (long long)v[i].height, v[i].files, size,
                   v[i].latest ? "latest" : "", v[i].has_signature ? " signed" : "");
    }
    free(v);
    return 0;
}

static int verify_home_report(const struct opts *o, int rc, const struct snap_verify_result *r)
{
    char size[32];
    if (o->json)
        print_json(json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I}", "ok", rc == 0, "home",
                             o->abshome, "snapshot", r->name, "files", (json_int_t)r->files,
                             "files_bad", (json_int_t)r->files_bad, "chunks", (json_int_t)r->chunks,
                             "bytes", (json_int_t)r->bytes, "first_bad", r->first_bad,
                             "old_removed", (json_int_t)r->old_removed));
    if (rc < 0 || o->json)
        return rc < 0 ? 1 : 0;
    human(r->bytes, size, sizeof(size));
    printf("nearup snapshot verify: the data of %s matches snapshot %s: %zu files, %zu chunks "
           "(%s), every one's sha256\n",
           o->abshome, r->name, r->files, r->chunks, size);
    if (r->old_removed > 0)
        printf("nearup snapshot verify: removed the old data the restore had kept aside (%zu "
               "dir%s)\n",
               r->old_removed, r->old_removed == 1 ? "" : "s");
    return 0;
}

static int do_verify(struct opts *o)
{
    struct snap_verify_opts vo = {.c = common(o, "verify"),
                                  .name = o->name,
                                  .verify_key = o->verify_key,
                                  .home = o->home != NULL ? o->abshome : NULL};
    struct snap_verify_result r;
    char err[NU_ERRMSG_MAX], size[32];
    int rc = snap_verify(&vo, &r, err);
    if (rc < 0)
        cli_error("snapshot verify", "%s", err);
    if (vo.home != NULL)
        return verify_home_report(o, rc, &r);
    if (o->json)
        print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:s}", "ok", rc == 0, "snapshots",
                             (json_int_t)r.snapshots, "chunks", (json_int_t)r.chunks, "chunks_bad",
                             (json_int_t)r.chunks_bad, "bytes", (json_int_t)r.bytes, "first_bad",
                             r.first_bad));
    if (rc < 0)
        return 1;
    human(r.bytes, size, sizeof(size));
    if (!o->json)
        printf("nearup snapshot verify: %zu snapshot%s, %zu chunks (%s): every chunk is present "
               "and matches its sha256\n",
               r.snapshots, r.snapshots == 1 ? "" : "s", r.chunks, size);
    return 0;
}

static int do_prune(struct opts *o)
{
    struct snap_prune_opts po = {.c = common(o, "prune"),
                                 .keep = o->keep,
                                 .grace_s = o->grace,
                                 .stale_s = o->stale,
                                 .dry_run = o->dry_run};
    struct snap_prune_result r;
    char err[NU_ERRMSG_MAX], size[32];
    if (snap_prune(&po, &r, err) < 0) {
        cli_error("snapshot prune", "%s", err);
        return 1;
    }
    if (o->json)
        return print_json(json_pack(
            "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "dry_run", o->dry_run,
            "snapshots", (json_int_t)r.snapshots, "kept", (json_int_t)r.kept, "manifests_deleted",
            (json_int_t)r.manifests_deleted, "chunks", (json_int_t)r.chunks, "chunks_deleted",
            (json_int_t)r.chunks_deleted, "chunks_young", (json_int_t)r.chunks_young,
            "chunks_referenced", (json_int_t)r.chunks_referenced, "bytes_deleted",
            (json_int_t)r.bytes_deleted, "stale_markers", (json_int_t)r.stale_markers,
            "chunks_deferred", r.chunks_deferred, "deferred_by", r.deferred_by));
    human(r.bytes_deleted, size, sizeof(size));
    printf("nearup snapshot prune: %skept %zu of %zu snapshots, deleted %zu\n",
           o->dry_run ? "(dry run) " : "", r.kept, r.snapshots, r.manifests_deleted);
    if (r.chunks_deferred)
        printf("nearup snapshot prune: snapshot %s is being created; no chunk was deleted (run "
               "prune again later)\n",
               r.deferred_by);
    else
        printf("nearup snapshot prune: deleted %zu of %zu chunks (%s); kept %zu referenced and "
               "%zu younger than %llds\n",
               r.chunks_deleted, r.chunks, size, r.chunks_referenced, r.chunks_young,
               (long long)o->grace);
    return 0;
}

/* ---- dispatch ---- */

static const int create_flags[] = {O_HOME, O_TO,   O_NAME,     O_PARALLEL, O_COMPRESS,
                                   O_SIGN, O_JSON, O_ENDPOINT, O_STOPTO,   0};
static const int restore_flags[] = {O_HOME,    O_FROM, O_NAME,     O_PARALLEL, O_VERIFY, O_REPLACE,
                                    O_KEEPOLD, O_JSON, O_ENDPOINT, O_LAYOUT,   O_KIND,   0};
static const int list_flags[] = {O_FROM, O_JSON, O_ENDPOINT, 0};
static const int verify_flags[] = {O_FROM, O_NAME,     O_PARALLEL, O_VERIFY,
                                   O_JSON, O_ENDPOINT, O_HOME,     0};
static const int prune_flags[] = {O_FROM, O_KEEP,     O_GRACE,    O_STALE, O_DRY,
                                  O_JSON, O_PARALLEL, O_ENDPOINT, 0};

static const struct sub subs[] = {
    {"create", do_create,
     "nearup snapshot create --home DIR --to STORE [--name NAME] [--parallel N] "
     "[--compress zstd|none] [--sign-key FILE] [--s3-endpoint URL] [--json]",
     create_flags, true, true},
    {"restore", do_restore,
     "nearup snapshot restore --from STORE --home DIR [--name NAME|latest] [--parallel N] "
     "[--verify-key ed25519:PK] [--replace [--keep-old]] "
     "[--layout nearup|near|fastnear [--kind rpc]] [--s3-endpoint URL] [--json]",
     restore_flags, true, true},
    {"list", do_list, "nearup snapshot list --from STORE [--s3-endpoint URL] [--json]", list_flags,
     false, true},
    {"verify", do_verify,
     "nearup snapshot verify --from STORE [--home DIR] [--name NAME] [--verify-key ed25519:PK] "
     "[--parallel N] [--json]",
     verify_flags, false, true},
    {"prune", do_prune,
     "nearup snapshot prune --from STORE --keep N [--grace SECONDS] [--stale-after SECONDS] "
     "[--dry-run] [--json]",
     prune_flags, false, true},
};

#define NSUBS (sizeof(subs) / sizeof(subs[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: nearup snapshot <create|restore|list|verify|prune> [<args>]\n");
    for (size_t i = 0; i < NSUBS; i++)
        fprintf(out, "  %s\n", subs[i].usage);
    fprintf(out, "STORE: /path, file:///path, s3://bucket/prefix or http(s)://... (read-only)\n");
}

int cmd_snapshot(int argc, char **argv)
{
    struct opts o;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NSUBS; i++) {
        if (strcmp(subs[i].name, argv[1]) != 0)
            continue;
        int rc = parse(&subs[i], argc - 1, argv + 1, &o);
        if (rc != 0)
            return rc < 0 ? 0 : rc;
        if (nu_httpc_global_init() < 0) {
            cli_error(CMD, "cannot initialise libcurl");
            return 1;
        }
        cli_catch_signals();
        rc = subs[i].fn(&o);
        nu_httpc_global_cleanup();
        return rc;
    }
    fprintf(stderr, "nearup snapshot: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
