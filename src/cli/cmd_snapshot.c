/* nearup snapshot create|restore|list|verify|prune: dispatch, flags and
 * reports. The work is in src/snapshot (snap.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "cmd.h"
#include "cmd_snapshot.h"
#include "fs.h"
#include "log.h"
#include "progress.h"
#include "runmetrics.h"
#include "snap.h"
#include "state.h"
#include "url.h"
#include "workers.h"

#define CMD "snapshot"

static void note(void *ud, const char *msg)
{
    fprintf(stderr, "nearup snapshot %s: %s\n", (const char *)ud, msg);
}

struct opts {
    const char *home, *store, *name, *sign_key, *verify_key, *endpoint, *kind, *metrics_dir;
    unsigned parallel, keep, stop_timeout, grace, stale, expect_every;
    int compression; /* index in "zstd|none" */
    bool replace, keep_old, json, dry_run, log_result;
    enum snap_layout layout;
    struct cli_verify verify;
    char abshome[PATH_MAX];
};

#define O(field) NU_FIELD(struct opts, field)
#define OPT_HOME(what)                                                                             \
    {                                                                                              \
        .name = "home", .type = NU_T_STR, O(home), .metavar = "DIR", .help = what                  \
    }
#define OPT_FROM                                                                                   \
    {                                                                                              \
        .name = "from", .type = NU_T_STR, O(store), .metavar = "STORE",                            \
        .help = "the store: /path, file:///path, s3://bucket/prefix or http(s)://... (read-only)"  \
    }
#define OPT_NAME(what)                                                                             \
    {                                                                                              \
        .name = "name", .type = NU_T_STR, O(name), .metavar = "NAME", .help = what                 \
    }
#define OPT_PARALLEL                                                                               \
    {                                                                                              \
        .name = "parallel", .type = NU_T_UINT, O(parallel), .min = 1, .max = SNAP_PARALLEL_MAX,    \
        .help = "transfers at once (default " NU_TEXT(SNAP_PARALLEL_DEFAULT) ")"                   \
    }
#define OPT_VERIFY_KEY                                                                             \
    {                                                                                              \
        .name = "verify-key", .type = NU_T_STR, O(verify_key), .metavar = "ed25519:PK",            \
        .help = "the manifest must carry a valid signature of this key"                            \
    }
#define OPT_JSON                                                                                   \
    {                                                                                              \
        .name = "json", .type = NU_T_BOOL, O(json), .help = "one JSON document instead of text"    \
    }
#define OPT_ENDPOINT                                                                               \
    {                                                                                              \
        .name = "s3-endpoint", .type = NU_T_STR, O(endpoint), .metavar = "URL",                    \
        .help = "an S3-compatible endpoint instead of AWS"                                         \
    }
#define OPT_METRICS_DIR                                                                            \
    {                                                                                              \
        .name = "metrics-textfile-dir", .type = NU_T_STR, O(metrics_dir), .metavar = "DIR",        \
        .help =                                                                                    \
            "record the outcome in DIR/nearup_snapshot_<home>_<hash>.prom for node_exporter's "    \
            "textfile collector (the file of this home and store; docs/snapshots.md)"              \
    }
#define OPT_LOG_RESULT                                                                             \
    {                                                                                              \
        .name = "log-result", .type = NU_T_BOOL, O(log_result),                                    \
        .help = "end with one logfmt line on stderr that sums the run up (for the journal)"        \
    }

static const struct nu_setting create_opts[] = {
    OPT_HOME("the node home whose data is snapshotted (required)"),
    {.name = "to",
     .type = NU_T_STR,
     O(store),
     .metavar = "STORE",
     .help = "the store: /path, file:///path or s3://bucket/prefix (required)"},
    OPT_NAME("the snapshot's name (default: chain id, height and time)"),
    OPT_PARALLEL,
    {.name = "compress",
     .type = NU_T_ENUM,
     O(compression),
     .def = "zstd",
     .choices = "zstd|none",
     .help = "how chunks are stored"},
    {.name = "sign-key",
     .type = NU_T_STR,
     O(sign_key),
     .metavar = "FILE",
     .help = "sign the manifest with this ed25519 key file (a NEAR key JSON)"},
    OPT_JSON,
    OPT_ENDPOINT,
    {.name = "stop-timeout",
     .type = NU_T_SECONDS,
     O(stop_timeout),
     .min = 1,
     .max = 86400,
     .help = "seconds a running neard has to stop for the checkpoint"},
    OPT_METRICS_DIR,
    {.name = "expect-every",
     .type = NU_T_SECONDS,
     O(expect_every),
     .min = 1,
     .max = SNAP_RUNMETRICS_INTERVAL_MAX_S,
     .help =
         "with --metrics-textfile-dir: the schedule's interval (nearup_snapshot_interval_seconds; "
         "the snapshot is stale after two)"},
    OPT_LOG_RESULT,
};

static const struct nu_setting restore_opts[] = {
    OPT_HOME("the node home to restore into (required)"),
    OPT_FROM,
    OPT_NAME("the snapshot to restore (default: latest)"),
    OPT_PARALLEL,
    OPT_VERIFY_KEY,
    {.name = "replace",
     .type = NU_T_BOOL,
     O(replace),
     .help = "replace data the home has already (kept aside until the node opens the new)"},
    {.name = "keep-old",
     .type = NU_T_BOOL,
     O(keep_old),
     .help = "with --replace: keep the replaced data instead of removing it"},
    OPT_JSON,
    OPT_ENDPOINT,
    {.name = "layout",
     .type = NU_T_ENUM,
     O(layout),
     .def = "auto",
     .choices = "auto|nearup|near|fastnear",
     .help = "the store's layout: nearup's manifests, or a public NEAR or FastNEAR snapshot"},
    {.name = "kind",
     .type = NU_T_STR,
     O(kind),
     .metavar = "KIND",
     .help = "which public snapshot (rpc, archival) with --layout near|fastnear"},
    CLI_VERIFY_OPTS(""),
};

static const struct nu_setting list_opts[] = {OPT_FROM, OPT_JSON, OPT_ENDPOINT};

static const struct nu_setting verify_opts[] = {
    OPT_FROM,
    OPT_NAME("only this snapshot (default: every one)"),
    OPT_PARALLEL,
    OPT_VERIFY_KEY,
    OPT_JSON,
    OPT_ENDPOINT,
    OPT_HOME("check this home's data against the snapshot instead of the store's chunks"),
};

static const struct nu_setting prune_opts[] = {
    OPT_FROM,
    {.name = "keep",
     .type = NU_T_UINT,
     O(keep),
     .min = 1,
     .max = 1000000,
     .help = "snapshots kept, newest first (required)"},
    {.name = "grace",
     .type = NU_T_SECONDS,
     O(grace),
     .def = NU_TEXT(SNAP_GRACE_DEFAULT_S),
     .max = 10u * 365 * 86400,
     .help = "chunks younger than this are never deleted"},
    {.name = "stale-after",
     .type = NU_T_SECONDS,
     O(stale),
     .max = 10u * 365 * 86400,
     .def = NU_TEXT(SNAP_MARKER_STALE_DEFAULT_S),
     .help = "a create marker older than this belongs to a create that died"},
    {.name = "dry-run", .type = NU_T_BOOL, O(dry_run), .help = "say what would be deleted"},
    OPT_JSON,
    OPT_PARALLEL,
    OPT_ENDPOINT,
    OPT_METRICS_DIR,
    OPT_HOME(
        "with --metrics-textfile-dir: the node whose snapshots these are (its file and labels)"),
    OPT_LOG_RESULT,
};

/* After the flags: what each subcommand requires. 0 or exit code 2. */
static int check(const struct cli_doc *doc, struct opts *o)
{
    char err[NU_ERRMSG_MAX];
    bool create = doc->opts == create_opts;
    if (o->store == NULL)
        return cli_usage(doc->prog, "%s",
                         create ? "--to STORE is required" : "--from STORE is required");
    if ((create || doc->opts == restore_opts) && o->home == NULL)
        return cli_usage(doc->prog, "--home DIR is required");
    if (o->keep_old && !o->replace)
        return cli_usage(doc->prog, "--keep-old goes with --replace (it keeps the replaced data)");
    if (doc->opts == prune_opts && o->keep == 0)
        return cli_usage(doc->prog, "--keep N is required");
    if (o->expect_every != 0 && o->metrics_dir == NULL)
        return cli_usage(doc->prog, "--expect-every goes with --metrics-textfile-dir (it is "
                                    "exported there)");
    if (doc->opts == prune_opts && o->dry_run && o->metrics_dir != NULL)
        return cli_usage(doc->prog, "--dry-run deletes nothing: it goes without "
                                    "--metrics-textfile-dir");
    if (o->home != NULL && node_abspath(o->home, o->abshome, sizeof(o->abshome), err) < 0)
        return cli_usage(doc->prog, "%s", err);
    if (doc->opts != restore_opts)
        return 0;
    if (o->verify.given[0] != NULL &&
        (o->layout == SNAP_LAYOUT_NEAR || o->layout == SNAP_LAYOUT_FASTNEAR))
        return cli_usage(doc->prog, "--verify-with needs nearup's layout: the public layouts "
                                    "record no block to check");
    return cli_verify_setup(doc->prog, &o->verify);
}

/* ---- --verify-with, --verify-quorum (cmd_snapshot.h) ---- */

int cli_set_verify_with(const struct nu_setting *s, void *obj, const char *value, char *msg,
                        size_t msgsz)
{
    char url[NODE_CHAIN_URL_MAX];
    if (nu_url_from_user(value, url, sizeof(url), msg, msgsz) != 0)
        return NU_EINVAL;
    return nu_setting_store(s, obj, value, msg, msgsz);
}

int cli_verify_setup(const char *prog, struct cli_verify *v)
{
    char msg[NU_ERRMSG_MAX];
    size_t n = 0;
    for (; v->given[n] != NULL; n++) {
        if (nu_url_from_user(v->given[n], v->text[n], sizeof(v->text[n]), msg, sizeof(msg)) != 0)
            return cli_usage(prog, "--verify-with: %s", msg); /* checked already: cannot be */
        v->urls[n] = v->text[n];
    }
    v->urls[n] = NULL;
    if (v->quorum != 0 && n == 0)
        return cli_usage(prog, "--verify-quorum goes with --verify-with URL");
    if (v->quorum > n)
        return cli_usage(prog,
                         "--verify-quorum %u needs at least %u --verify-with URLs (%zu given)",
                         v->quorum, v->quorum, n);
    v->refs = (struct snap_verify_refs){.urls = n > 0 ? v->urls : NULL, .quorum = v->quorum};
    return 0;
}

void cli_verify_report(const char *cmd, const struct snap_chain_report *r, FILE *out)
{
    for (size_t i = 0; r->checked && i < r->nrefs; i++)
        fprintf(out, "nearup %s: reference %s: %s: %s\n", cmd, r->refs[i].url,
                node_chain_outcome_name(r->refs[i].outcome), r->refs[i].detail);
}

/* 0 to go on, else the exit code (0 after --help). */
static int parse(const struct cli_doc *doc, int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    int rc = cli_parse(doc, argc, argv, o, NULL, 0, NULL);
    if (rc != 0)
        return rc < 0 ? -1 : rc;
    return check(doc, o);
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

/* ---- what a scheduled run leaves: the metrics file and the log line ---- */

/* With --metrics-textfile-dir: the schedule's file read back into rm. 0,
 * or 1 (the error said) when DIR is unusable. */
static int metrics_open(const struct opts *o, const char *cmd, struct snap_runmetrics *rm)
{
    char err[NU_ERRMSG_MAX], warn[NU_ERRMSG_MAX];
    if (!nu_fs_is_dir(o->metrics_dir) || access(o->metrics_dir, W_OK) != 0) {
        cli_error(cmd,
                  "--metrics-textfile-dir %s: not a directory this account can write to; "
                  "create it (node_exporter's --collector.textfile.directory) or pass another",
                  o->metrics_dir);
        return 1;
    }
    const char *home = o->home != NULL ? o->abshome : "";
    if (snap_runmetrics_load(rm, o->metrics_dir, home, o->store, warn, err) < 0) {
        cli_error(cmd, "%s", err);
        return 1;
    }
    if (warn[0] != '\0')
        fprintf(stderr, "nearup %s: warning: %s\n", cmd, warn);
    return 0;
}

/* Writes rm; 0, or 1 after saying why (also into err). */
static int metrics_write(const char *cmd, const struct snap_runmetrics *rm, char *err)
{
    char why[NU_ERRMSG_MAX];
    if (snap_runmetrics_write(rm, why) == 0)
        return 0;
    snprintf(err, NU_ERRMSG_MAX, "cannot write the metrics file: %.470s", why);
    cli_error(cmd, "%s", err);
    return 1;
}

static void fmt_secs(uint64_t ms, char *out, size_t outsz)
{
    snprintf(out, outsz, "%.3f", (double)ms / 1000.0);
}

/* The run's last line, for the journal: one logfmt line on stderr. */
static void log_create(const struct opts *o, bool ok, const struct snap_create_result *r,
                       const char *err)
{
    char height[24] = "", bytes[24], up[24], total[24], down[24];
    if (r->height >= 0)
        snprintf(height, sizeof(height), "%lld", (long long)r->height);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)r->bytes);
    snprintf(up, sizeof(up), "%llu", (unsigned long long)r->bytes_uploaded);
    fmt_secs(r->total_ms, total, sizeof(total));
    fmt_secs(r->downtime_ms, down, sizeof(down));
    nu_log_emit(ok ? NU_LOG_INFO : NU_LOG_ERROR,
                ok ? "snapshot create succeeded" : "snapshot create failed", "outcome",
                ok ? "success" : "failure", "home", o->abshome, "store", o->store, "snapshot",
                r->name, "height", height, "bytes", bytes, "bytes_uploaded", up, "duration_s",
                total, "downtime_s", down, ok ? NULL : "error", err, NULL);
}

static int do_create(struct opts *o)
{
    struct snap_create_opts co = {
        .c = common(o, "create"),
        .home = o->abshome,
        .name = o->name,
        .compress = o->compression == 0,
        .sign_key = o->sign_key,
        .stop_timeout_s = o->stop_timeout,
    };
    struct snap_create_result r;
    struct snap_runmetrics rm;
    char err[NU_ERRMSG_MAX] = "", merr[NU_ERRMSG_MAX];
    if (o->metrics_dir != NULL && metrics_open(o, "snapshot create", &rm) != 0)
        return 1;
    int rc = snap_create(&co, &r, err);
    if (r.link_fallback)
        fprintf(stderr,
                "nearup snapshot create: warning: hard links are impossible here (%s); copied "
                "%zu files instead, which took the node down longer\n",
                r.link_fallback_why, r.files_copied);
    int exit_code = 0;
    if (rc < 0) {
        cli_error("snapshot create", "%s", err);
        exit_code = 1;
    } else if (o->json) {
        exit_code = print_json(create_json(&r));
    } else {
        create_report(&r);
    }
    fflush(stdout);
    if (o->metrics_dir != NULL) {
        snap_runmetrics_create(&rm, rc, &r, nu_real_ms() / 1000, o->expect_every);
        if (metrics_write("snapshot create", &rm, merr) != 0) {
            exit_code = 1;
            if (rc == 0) /* the run's error is the metrics file's then */
                snprintf(err, sizeof(err), "%s", merr);
        }
    }
    if (o->log_result)
        log_create(o, exit_code == 0, &r, err);
    return exit_code;
}

/* ---- restore ---- */

static const char *layout_name(enum snap_layout l)
{
    static const char *const names[] = {"auto", "nearup", "near", "fastnear"};
    return names[l];
}

/* null without --verify-with; else the block, the quorum and every reference. */
static json_t *chain_json(const struct snap_chain_report *c)
{
    if (!c->checked)
        return json_null();
    json_t *refs = json_array();
    for (size_t i = 0; refs != NULL && i < c->nrefs; i++)
        json_array_append_new(refs, json_pack("{s:s, s:s, s:s}", "url", c->refs[i].url, "outcome",
                                              node_chain_outcome_name(c->refs[i].outcome), "detail",
                                              c->refs[i].detail));
    return json_pack("{s:I, s:s, s:i, s:I, s:o, s:s}", "height", (json_int_t)c->height, "hash",
                     c->hash, "quorum", (int)c->quorum, "matches", (json_int_t)c->matches,
                     "references", refs, "state", "pending");
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
        json_object_set_new(o, "old_kept", json_boolean(r->old_kept)) < 0 ||
        json_object_set_new(o, "chain_check", chain_json(&r->chain)) < 0) {
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
    if (r->chain.checked) {
        printf("nearup %s: block %lld (hash %s) is confirmed by %zu of %zu references (%u "
               "needed); the node confirms it too before it serves (chain check pending)\n",
               cmd, (long long)r->chain.height, r->chain.hash, r->chain.matches, r->chain.nrefs,
               r->chain.quorum);
        cli_verify_report(cmd, &r->chain, stdout);
    }
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
        .verify = o->verify.refs,
    };
    struct snap_restore_result r;
    char err[NU_ERRMSG_MAX];
    if (snap_restore(&ro, &r, err) < 0) {
        cli_error("snapshot restore", "%s", err);
        cli_verify_report("snapshot restore", &r.chain, stderr);
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

static void log_prune(const struct opts *o, bool ok, const struct snap_prune_result *r, uint64_t ms,
                      const char *err)
{
    char kept[24], deleted[24], chunks[24], bytes[24], total[24];
    snprintf(kept, sizeof(kept), "%zu", r->kept);
    snprintf(deleted, sizeof(deleted), "%zu", r->manifests_deleted);
    snprintf(chunks, sizeof(chunks), "%zu", r->chunks_deleted);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)r->bytes_deleted);
    fmt_secs(ms, total, sizeof(total));
    nu_log_emit(ok ? NU_LOG_INFO : NU_LOG_ERROR,
                ok ? "snapshot prune succeeded" : "snapshot prune failed", "outcome",
                ok ? "success" : "failure", "home", o->home != NULL ? o->abshome : "", "store",
                o->store, "kept", kept, "deleted", deleted, "chunks_deleted", chunks,
                "bytes_deleted", bytes, "duration_s", total, ok ? NULL : "error", err, NULL);
}

static int prune_report(const struct opts *o, const struct snap_prune_result *r)
{
    char size[32];
    if (o->json)
        return print_json(json_pack(
            "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "dry_run", o->dry_run,
            "snapshots", (json_int_t)r->snapshots, "kept", (json_int_t)r->kept, "manifests_deleted",
            (json_int_t)r->manifests_deleted, "chunks", (json_int_t)r->chunks, "chunks_deleted",
            (json_int_t)r->chunks_deleted, "chunks_young", (json_int_t)r->chunks_young,
            "chunks_referenced", (json_int_t)r->chunks_referenced, "bytes_deleted",
            (json_int_t)r->bytes_deleted, "stale_markers", (json_int_t)r->stale_markers,
            "chunks_deferred", r->chunks_deferred, "deferred_by", r->deferred_by));
    human(r->bytes_deleted, size, sizeof(size));
    printf("nearup snapshot prune: %skept %zu of %zu snapshots, deleted %zu\n",
           o->dry_run ? "(dry run) " : "", r->kept, r->snapshots, r->manifests_deleted);
    if (r->chunks_deferred)
        printf("nearup snapshot prune: snapshot %s is being created; no chunk was deleted (run "
               "prune again later)\n",
               r->deferred_by);
    else
        printf("nearup snapshot prune: deleted %zu of %zu chunks (%s); kept %zu referenced and "
               "%zu younger than %llds\n",
               r->chunks_deleted, r->chunks, size, r->chunks_referenced, r->chunks_young,
               (long long)o->grace);
    return 0;
}

static int do_prune(struct opts *o)
{
    struct snap_prune_opts po = {.c = common(o, "prune"),
                                 .keep = o->keep,
                                 .grace_s = (int64_t)o->grace,
                                 .stale_s = (int64_t)o->stale,
                                 .dry_run = o->dry_run};
    struct snap_prune_result r;
    struct snap_runmetrics rm;
    char err[NU_ERRMSG_MAX] = "", merr[NU_ERRMSG_MAX];
    if (o->metrics_dir != NULL && metrics_open(o, "snapshot prune", &rm) != 0)
        return 1;
    uint64_t t0 = nu_mono_ms();
    int rc = snap_prune(&po, &r, err);
    uint64_t ms = nu_mono_ms() - t0;
    int exit_code = 1;
    if (rc < 0)
        cli_error("snapshot prune", "%s", err);
    else
        exit_code = prune_report(o, &r);
    fflush(stdout);
    if (o->metrics_dir != NULL) {
        snap_runmetrics_prune(&rm, rc, &r, nu_real_ms() / 1000, ms);
        if (metrics_write("snapshot prune", &rm, merr) != 0) {
            exit_code = 1;
            if (rc == 0) /* the run's error is the metrics file's then */
                snprintf(err, sizeof(err), "%s", merr);
        }
    }
    if (o->log_result)
        log_prune(o, exit_code == 0, &r, ms, err);
    return exit_code;
}

/* ---- dispatch ---- */

static const struct cli_doc create_doc = {
    .prog = "snapshot create",
    .summary = "snapshot a node's data into a store (the node is down for the checkpoint only)",
    .usage = "nearup snapshot create --home DIR --to STORE [--name NAME] [--parallel N]\n"
             "                       [--compress zstd|none] [--sign-key FILE] [--s3-endpoint URL]\n"
             "                       [--stop-timeout SECONDS] [--json]\n"
             "                       [--metrics-textfile-dir DIR [--expect-every SECONDS]]\n"
             "                       [--log-result]",
    .opts = create_opts,
    .nopts = CLI_NOPTS(create_opts),
};

static const struct cli_doc restore_doc = {
    .prog = "snapshot restore",
    .summary = "restore a snapshot into a home, verifying every chunk",
    .usage = "nearup snapshot restore --from STORE --home DIR [--name NAME|latest] [--parallel N]\n"
             "                        [--verify-key ed25519:PK] [--replace [--keep-old]]\n"
             "                        [--verify-with URL]... [--verify-quorum N]\n"
             "                        [--layout nearup|near|fastnear [--kind rpc]]\n"
             "                        [--s3-endpoint URL] [--json]",
    .about = "With --verify-with, the snapshot's block (height and hash) must be on the chain of\n"
             "a quorum of those JSON-RPC URLs before anything is downloaded, and the restored\n"
             "node must show that same block before `nearup health --home` lets it serve\n"
             "(docs/snapshots.md, \"Chain check\").\n",
    .opts = restore_opts,
    .nopts = CLI_NOPTS(restore_opts),
};

static const struct cli_doc list_doc = {
    .prog = "snapshot list",
    .summary = "the snapshots in a store, newest first",
    .usage = "nearup snapshot list --from STORE [--s3-endpoint URL] [--json]",
    .opts = list_opts,
    .nopts = CLI_NOPTS(list_opts),
};

static const struct cli_doc verify_doc = {
    .prog = "snapshot verify",
    .summary = "check a store's chunks (or a home's data) against the manifests",
    .usage = "nearup snapshot verify --from STORE [--home DIR] [--name NAME]\n"
             "                       [--verify-key ed25519:PK] [--parallel N] [--s3-endpoint URL]\n"
             "                       [--json]",
    .opts = verify_opts,
    .nopts = CLI_NOPTS(verify_opts),
};

static const struct cli_doc prune_doc = {
    .prog = "snapshot prune",
    .summary = "delete all but the newest N snapshots and the chunks only they used",
    .usage = "nearup snapshot prune --from STORE --keep N [--grace SECONDS]\n"
             "                      [--stale-after SECONDS] [--dry-run] [--parallel N]\n"
             "                      [--s3-endpoint URL] [--json]\n"
             "                      [--metrics-textfile-dir DIR [--home DIR]] [--log-result]",
    .opts = prune_opts,
    .nopts = CLI_NOPTS(prune_opts),
};

#define SNAP_SUB(sub)                                                                              \
    static int run_##sub(int argc, char **argv)                                                    \
    {                                                                                              \
        struct opts o;                                                                             \
        int rc = parse(&sub##_doc, argc, argv, &o);                                                \
        return rc != 0 ? (rc < 0 ? 0 : rc) : do_##sub(&o);                                         \
    }

SNAP_SUB(create)
SNAP_SUB(restore)
SNAP_SUB(list)
SNAP_SUB(verify)
SNAP_SUB(prune)

static const struct cli_cmd subs[] = {
    {"create", run_create, CLI_CURL | CLI_SIGNALS, &create_doc},
    {"restore", run_restore, CLI_CURL | CLI_SIGNALS, &restore_doc},
    {"list", run_list, CLI_CURL | CLI_SIGNALS, &list_doc},
    {"verify", run_verify, CLI_CURL | CLI_SIGNALS, &verify_doc},
    {"prune", run_prune, CLI_CURL | CLI_SIGNALS, &prune_doc},
};

const struct cli_doc cli_snapshot_doc = {
    .prog = CMD,
    .summary = "create, restore, list, verify or prune data snapshots",
    .about = "STORE: /path, file:///path, s3://bucket/prefix or http(s)://... (read-only)\n",
    .subs = subs,
    .nsubs = CLI_NOPTS(subs),
};
