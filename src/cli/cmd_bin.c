/* nearup bin list | fetch VER | prune: the cache of verified neard binaries. */
#include <getopt.h>
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

static const char usage_text[] =
    "usage: nearup bin list [--json]\n"
    "       nearup bin fetch VERSION|latest [--chain C] [--release-url URL] [--neard-sha256 HEX]\n"
    "                        [--json]\n"
    "       nearup bin prune [--keep N] [--json]\n"
    "\n"
    "  list    cached neard binaries for this machine, newest first\n"
    "  fetch   download and verify a release into the cache (reuses a cached one)\n"
    "  prune   remove all but the N newest (default 3), never one a node uses\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("nearup bin: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("; see 'nearup bin --help'\n", stderr);
    return 2;
}

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
    const char *chain, *release_url, *sha256, *keep;
};

/* Parses the options of one bin subcommand (argv[0] is its name). Returns
 * the index of the first positional argument, or -1 after a usage error. */
static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option table[] = {
        {"json", no_argument, NULL, 'j'},
        {"chain", required_argument, NULL, 'c'},
        {"release-url", required_argument, NULL, 'u'},
        {"neard-sha256", required_argument, NULL, 's'},
        {"keep", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0; /* glibc: full re-initialisation */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->json = true;
            break;
        case 'c':
            o->chain = optarg;
            break;
        case 'u':
            o->release_url = optarg;
            break;
        case 's':
            o->sha256 = optarg;
            break;
        case 'k':
            o->keep = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case ':':
            usage_error("option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    return optind;
}

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
    int i = parse(argc, argv, &o);
    if (i < 0)
        return 2;
    if (i < argc)
        return usage_error("list takes no argument, got '%s'", argv[i]);
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

static int check_fetch_opts(const struct opts *o, const char *version)
{
    if (strcmp(version, "latest") != 0 && !node_release_name_valid(version))
        return usage_error("invalid neard version '%s'", version);
    if (o->chain && !node_network_find(o->chain) && !node_chain_id_valid(o->chain))
        return usage_error("unknown network '%s'", o->chain);
    if (o->release_url && strncmp(o->release_url, "http://", 7) != 0 &&
        strncmp(o->release_url, "https://", 8) != 0)
        return usage_error("--release-url must be an http:// or https:// URL, got '%s'",
                           o->release_url);
    char hex[NODE_SHA256_HEX];
    if (o->sha256 && (strlen(o->sha256) != 64 || node_sha256_parse(o->sha256, hex) != 0))
        return usage_error("--neard-sha256 must be 64 hex digits, got '%s'", o->sha256);
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
    int i = parse(argc, argv, &o);
    if (i < 0)
        return 2;
    if (i >= argc)
        return usage_error("%s", "fetch needs a VERSION (or 'latest')");
    if (i + 1 < argc)
        return usage_error("unexpected argument '%s'", argv[i + 1]);
    int rc = check_fetch_opts(&o, argv[i]);
    if (rc)
        return rc;
    /* Without SA_RESTART, so a wait for another fetch's lock is interrupted too. */
    cli_catch_signals();
    struct node_fetch_opts fo = {
        .release_url = o.release_url,
        .chain = o.chain ? o.chain : DEFAULT_CHAIN,
        .version = strcmp(argv[i], "latest") == 0 ? NULL : argv[i],
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
    int i = parse(argc, argv, &o);
    if (i < 0)
        return 2;
    if (i < argc)
        return usage_error("prune takes no argument, got '%s'", argv[i]);
    unsigned long keep = DEFAULT_KEEP;
    if (o.keep) {
        char *end;
        keep = strtoul(o.keep, &end, 10);
        if (o.keep[0] < '0' || o.keep[0] > '9' || *end || keep > 1000000)
            return usage_error("--keep must be a number, got '%s'", o.keep);
    }
    unsigned removed = 0;
    struct node_cached *v = NULL;
    size_t n = 0;
    char msg[NU_ERRMSG_MAX];
    if (node_cache_prune((unsigned)keep, &removed, msg) != 0 || node_cache_list(&v, &n, msg) != 0) {
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

int cmd_bin(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } subs[] = {{"list", bin_list}, {"fetch", bin_fetch}, {"prune", bin_prune}};
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1);
    }
    return usage_error("unknown subcommand '%s'", argv[1]);
}
