/* nearup debug bundle: one .tar.zst with what an incident review or a bug
 * report needs about the nodes (and a gateway), secrets removed. The work
 * is in src/bundle (bundle.h); docs/debug-bundle.md lists the members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cmd.h"
#include "fs.h"
#include "progress.h"
#include "state.h"

#define PROG "debug bundle"

struct bundle_args {
    const char *home, *gateway, *output;
    bool all;
    unsigned since;
    uint64_t max_size;
};

#define A(field) NU_FIELD(struct bundle_args, field)

static const struct nu_setting opts[] = {
    {.name = "home",
     .type = NU_T_STR,
     A(home),
     .metavar = "DIR",
     .help = "one node's home, or a localnet root (each of its nodes)"},
    {.name = "all",
     .type = NU_T_BOOL,
     A(all),
     .help = "every registered node (what no --home means too)"},
    {.name = "since",
     .type = NU_T_SECONDS,
     A(since),
     .max = BUNDLE_SINCE_MAX_S,
     .help = "only the log lines of this last while (30m, 2h); default: all the logs kept"},
    {.name = "gateway",
     .type = NU_T_STR,
     A(gateway),
     .metavar = "URL",
     .help = "also the /upstreams and /metrics of the nearup gateway at URL"},
    {.name = "output",
     .short_name = 'o',
     .type = NU_T_STR,
     A(output),
     .metavar = "FILE",
     .help = "the archive to write, or a directory for it (default: "
             "nearup-bundle-HOST-TIME.tar.zst in the current directory)"},
    {.name = "max-size",
     .type = NU_T_SIZE,
     A(max_size),
     .def = NU_TEXT(BUNDLE_MAX_SIZE_DEFAULT_MIB) "MiB",
     .min = BUNDLE_MAX_SIZE_MIN,
     .max = BUNDLE_MAX_SIZE_MAX,
     .help = "the members' bytes at most, before compression; logs keep their newest lines"},
};

static const struct cli_doc bundle_doc = {
    .prog = PROG,
    .summary = "write one .tar.zst of logs, configs, status and metrics, secrets removed",
    .usage = "nearup debug bundle [--home DIR | --all] [--since SECONDS] [--gateway URL]\n"
             "                    [-o FILE] [--max-size SIZE]",
    .about = "For incident reviews and bug reports: the last logs, config.json with secrets\n"
             "removed, run and supervisor state, restarts, `nearup status --json`, neard's\n"
             "/status and /metrics, binary version and sha256, disk, memory and limits, and\n"
             "with --gateway the gateway's /upstreams and /metrics. Key files are listed by\n"
             "name and mode, never read. The node keeps running; its home is only read.\n"
             "MANIFEST.json in the archive says what was collected and what was not, and why.\n",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static int parse(int argc, char **argv, struct bundle_args *a)
{
    memset(a, 0, sizeof(*a));
    int rc = cli_parse(&bundle_doc, argc, argv, a, NULL, 0, NULL);
    if (rc != 0)
        return rc;
    if (a->gateway != NULL && strncmp(a->gateway, "http://", 7) != 0 &&
        strncmp(a->gateway, "https://", 8) != 0)
        return cli_usage(PROG, "--gateway: '%s' is not an http:// or https:// URL", a->gateway);
    return 0;
}

/* --output, a directory in it, or the default name here. */
static int output_path(const char *output, char *out, size_t outsz)
{
    char name[256];
    if (bundle_default_name(name, sizeof(name)) != 0)
        return -1;
    if (output == NULL)
        return snprintf(out, outsz, "%s", name) < (int)outsz ? 0 : -1;
    size_t len = strlen(output);
    if (nu_fs_is_dir(output) || (len > 0 && output[len - 1] == '/'))
        return nu_fs_join(out, outsz, output, name);
    return snprintf(out, outsz, "%s", output) < (int)outsz ? 0 : -1;
}

static void report(const char *path, const struct bundle_result *r)
{
    char size[32], members[32];
    node_format_bytes(r->archive_bytes, size, sizeof(size));
    node_format_bytes(r->member_bytes, members, sizeof(members));
    printf("nearup debug bundle: wrote %s (%s; %zu members, %s before compression) in %.2f s\n",
           path, size, r->members, members, (double)r->elapsed_ms / 1000.0);
    if (r->omitted > 0 || r->failed > 0)
        printf("nearup debug bundle: %zu left out, %zu could not be collected; MANIFEST.json "
               "says which and why\n",
               r->omitted, r->failed);
}

static int run_bundle(int argc, char **argv)
{
    struct bundle_args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char(*homes)[PATH_MAX] = calloc(NODE_MAX_HOMES, sizeof(*homes));
    char path[PATH_MAX], err[NU_ERRMSG_MAX];
    size_t n = 0;
    if (homes == NULL) {
        cli_error(PROG, "out of memory");
        return 1;
    }
    struct cli_homes_sel sel = {
        .home = a.home, .all = a.all, .has_all = true, .pick = CLI_HOMES_REGISTERED};
    rc = cli_select_homes(PROG, &sel, homes, &n);
    if (rc == 0 && n == 0) {
        cli_error(PROG, "no nodes registered; pass --home DIR");
        rc = 1;
    }
    if (rc == 0 && output_path(a.output, path, sizeof(path)) != 0) {
        cli_error(PROG, "--output %s: path too long", a.output);
        rc = 1;
    }
    struct bundle_opts o = {.homes = (const char(*)[PATH_MAX])homes,
                            .nhomes = n,
                            .gateway = a.gateway,
                            .output = path,
                            .max_size = a.max_size,
                            .since_s = a.since,
                            .cancel = &cli_cancelled};
    struct bundle_result r;
    if (rc == 0 && (rc = bundle_write(&o, &r, err)) < 0) {
        cli_error(PROG, "%s; no bundle was written", err);
        rc = 1;
    } else if (rc == 0) {
        report(path, &r);
    }
    free(homes);
    return rc;
}

static const struct cli_cmd subs[] = {
    {"bundle", run_bundle, CLI_CURL | CLI_SIGNALS, &bundle_doc},
};

const struct cli_doc cli_debug_doc = {
    .prog = "debug",
    .summary = "collect what an incident review or a bug report needs (debug bundle)",
    .subs = subs,
    .nsubs = CLI_NOPTS(subs),
};
