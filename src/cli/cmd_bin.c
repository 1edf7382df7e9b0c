/* nearup bin list | fetch VER | prune: the cache of verified neard binaries. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bincache.h"
#include "cmd.h"
#include "json.h"
#include "network.h"
#include "progress.h"
#include "release.h"

#define DEFAULT_KEEP 3
#define DEFAULT_CHAIN "mainnet" /* `fetch latest` without --chain: what operators run */
#define SHORT_HEX 12            /* commit and sha256 prefixes in the table */

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(v);
}

/* Plain-language hint after a library error, by kind. */
static const char *hint(int err, const char *msg)
{
    switch (err) {
    case NU_ENET:
        return strstr(msg, "resume") ? "" : "; check the connection and --release-url";
    case NU_EVERIFY:
        return "; nothing was installed";
    default:
        return "";
    }
}

struct opts {
    bool json;
    const char *chain, *release_url, *sha256;
    unsigned keep;
};

static int set_chain(const struct nu_setting *s, void *obj, const char *value, char *msg,
                     size_t msgsz)
{
    if (node_network_find(value) == NULL && !node_chain_id_valid(value)) {
        snprintf(msg, msgsz, "unknown network \"%s\"", value);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, value, msg, msgsz);
}

static int set_release_url(const struct nu_setting *s, void *obj, const char *value, char *msg,
                           size_t msgsz)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
        snprintf(msg, msgsz, "\"%s\" is not an http:// or https:// URL", value);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, value, msg, msgsz);
}

static int set_sha256(const struct nu_setting *s, void *obj, const char *value, char *msg,
                      size_t msgsz)
{
    char hex[NODE_SHA256_HEX];
    if (strlen(value) != 64 || node_sha256_parse(value, hex) != 0) {
        snprintf(msg, msgsz, "\"%s\" is not 64 hex digits", value);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, value, msg, msgsz);
}

#define OPT_JSON                                                                                   \
    {                                                                                              \
        .name = "json", .type = NU_T_BOOL, NU_FIELD(struct opts, json),                            \
        .help = "one JSON document instead of text"                                                \
    }

static const struct nu_setting list_opts[] = {OPT_JSON};

static const struct nu_setting fetch_opts[] = {
    {.name = "chain",
     .type = NU_T_STR,
     NU_FIELD(struct opts, chain),
     .metavar = "C",
     .set = set_chain,
     .help = "whose latest release 'latest' means (default " DEFAULT_CHAIN ")"},
    {.name = "release-url",
     .type = NU_T_STR,
     NU_FIELD(struct opts, release_url),
     .metavar = "URL",
     .set = set_release_url,
     .help = "the release bucket (default " NODE_DEFAULT_RELEASE_URL ")"},
    {.name = "neard-sha256",
     .type = NU_T_STR,
     NU_FIELD(struct opts, sha256),
     .metavar = "HEX",
     .set = set_sha256,
     .help = "the sha256 the binary must have"},
    OPT_JSON,
};

static const struct nu_setting prune_opts[] = {
    {.name = "keep",
     .type = NU_T_UINT,
     NU_FIELD(struct opts, keep),
     .def = NU_TEXT(DEFAULT_KEEP),
     .max = 1000000,
     .help = "cached versions kept, newest first (one a node uses is always kept)"},
    OPT_JSON,
};

static const struct cli_doc list_doc = {
    .prog = "bin",
    .summary = "cached neard binaries for this machine, newest first",
    .usage = "nearup bin list [--json]",
    .opts = list_opts,
    .nopts = CLI_NOPTS(list_opts),
};

static const struct cli_doc fetch_doc = {
    .prog = "bin",
    .summary = "download and verify a release into the cache (reuses a cached one)",
    .usage =
        "nearup bin fetch VERSION|latest [--chain C] [--release-url URL] [--neard-sha256 HEX]\n"
        "                        [--json]",
    .opts = fetch_opts,
    .nopts = CLI_NOPTS(fetch_opts),
};

static const struct cli_doc prune_doc = {
    .prog = "bin",
    .summary = "remove all but the N newest (default 3), never one a node uses",
    .usage = "nearup bin prune [--keep N] [--json]",
    .opts = prune_opts,
    .nopts = CLI_NOPTS(prune_opts),
};

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static json_t *cached_json(const struct node_cached *c)
{
    char path[PATH_MAX], msg[NU_ERRMSG_MAX];
    if (node_cache_blob_path(c->sha256, path, sizeof(path), msg) != 0)
        path[0] = '\0';
    return json_pack("{s:s, s:o, s:s, s:I, s:I, s:b, s:s}", "version", c->version, "commit",
                     str_or_null(c->commit), "sha256", c->sha256, "size", (json_int_t)c->size,
                     "cached_at", (json_int_t)c->mtime, "in_use", c->in_use, "path", path);
}

static void list_table(const struct node_cached *v, size_t n, const char *dir)
{
    if (n == 0) {
        printf("no cached neard binaries in %s\n", dir);
        return;
    }
    printf("%-16s %-12s %-12s %10s  %-16s  %s\n", "VERSION", "COMMIT", "SHA256", "SIZE", "CACHED",
           "IN USE");
    for (size_t i = 0; i < n; i++) {
        char size[32], when[32] = "?";
        struct tm tm;
        time_t t = (time_t)v[i].mtime;
        node_format_bytes(v[i].size, size, sizeof(size));
        if (localtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
        printf("%-16s %-12.*s %-12.*s %10s  %-16s  %s\n", v[i].version, SHORT_HEX,
               v[i].commit[0] ? v[i].commit : "-", SHORT_HEX, v[i].sha256, size, when,
               v[i].in_use ? "yes" : "no");
    }
}

static int bin_list(int argc, char **argv)
{
    struct opts o = {0};
    int rc = cli_parse(&list_doc, argc, argv, &o, NULL, 0, NULL);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char dir[PATH_MAX], os_arch[64] = "", msg[NU_ERRMSG_MAX];
    struct node_cached *v = NULL;
    size_t n = 0;
    if (node_cache_dir(dir, sizeof(dir), msg) != 0 || node_cache_list(&v, &n, msg) != 0) {
        cli_error("bin", "%s", msg);
        return 1;
    }
    if (o.json) {
        json_t *arr = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(arr, cached_json(&v[k]));
        if (node_os_arch(os_arch, sizeof(os_arch)) != 0)
            os_arch[0] = '\0';
        print_json(
            json_pack("{s:s, s:s, s:o}", "cache_dir", dir, "os_arch", os_arch, "binaries", arr));
    } else {
        list_table(v, n, dir);
    }
    free(v);
    return 0;
}

static void fetch_report(const struct node_binary *b, bool json)
{
    if (json) {
        print_json(json_pack("{s:s, s:o, s:s, s:s, s:b}", "version", b->version, "commit",
                             str_or_null(b->commit), "sha256", b->sha256, "path", b->path,
                             "downloaded", b->downloaded));
        return;
    }
    printf("neard %s %s\n", b->version, b->downloaded ? "downloaded and verified" : "cached");
    printf("  commit  %s\n  sha256  %s\n  path    %s\n", b->commit[0] ? b->commit : "-", b->sha256,
           b->path);
}

static int bin_fetch(int argc, char **argv)
{
    struct opts o = {0};
    char *version = NULL;
    size_t npos = 0;
    int rc = cli_parse(&fetch_doc, argc, argv, &o, &version, 1, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos == 0)
        return cli_usage("bin", "fetch needs a VERSION (or 'latest')");
    if (strcmp(version, "latest") != 0 && !node_release_name_valid(version))
        return cli_usage("bin", "invalid neard version '%s'", version);
    struct node_fetch_opts fo = {
        .release_url = o.release_url,
        .chain = o.chain ? o.chain : DEFAULT_CHAIN,
        .version = strcmp(version, "latest") == 0 ? NULL : version,
        .sha256 = o.sha256,
        .progress = true,
        .cancel = &cli_cancelled,
    };
    struct node_binary b;
    char msg[NU_ERRMSG_MAX];
    int err = node_bin_fetch(&fo, &b, msg);
    if (err) {
        cli_error("bin", "%s%s", msg, hint(err, msg));
        return 1;
    }
    fetch_report(&b, o.json);
    return 0;
}

static int bin_prune(int argc, char **argv)
{
    struct opts o = {0};
    int rc = cli_parse(&prune_doc, argc, argv, &o, NULL, 0, NULL);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    unsigned removed = 0;
    struct node_cached *v = NULL;
    size_t n = 0;
    char msg[NU_ERRMSG_MAX];
    if (node_cache_prune(o.keep, &removed, msg) != 0 || node_cache_list(&v, &n, msg) != 0) {
        cli_error("bin", "%s", msg);
        return 1;
    }
    if (o.json) {
        json_t *kept = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(kept, json_string(v[k].version));
        print_json(json_pack("{s:I, s:o}", "removed", (json_int_t)removed, "kept", kept));
    } else {
        printf("removed %u cached version%s, kept %zu\n", removed, removed == 1 ? "" : "s", n);
    }
    free(v);
    return 0;
}

static const struct cli_cmd subs[] = {
    {"list", bin_list, 0, &list_doc},
    {"fetch", bin_fetch, CLI_SIGNALS, &fetch_doc},
    {"prune", bin_prune, 0, &prune_doc},
};

const struct cli_doc cli_bin_doc = {
    .prog = "bin",
    .summary = "list, fetch or prune cached neard binaries",
    .subs = subs,
    .nsubs = CLI_NOPTS(subs),
};
