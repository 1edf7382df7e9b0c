/* nearup upgrade --to VER [--at-height H] [--jitter SECONDS]
 *                [--home DIR | --all] [--release-url URL] [--neard-sha256 HEX] [--binary-path P]
 * nearup upgrade --check [--to VER] [--at-height H] [--home DIR | --all] [--json]
 *
 * Checks every node first (run by nearup, running when a height is given,
 * the height still ahead of its head), fetches and verifies the new binary
 * into the cache, and only then hands each node its upgrade (upgrade.h).
 * A stopped node has run.json switched at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "bincache.h"
#include "cmd.h"
#include "network.h"
#include "nodestatus.h"
#include "sha256.h"
#include "state.h"
#include "neard_version.h"
#include "runcfg.h"
#include "upgrade.h"

#define CMD "upgrade"

struct up_args {
    const char *to;
    const char *home;
    const char *release_url;
    const char *sha256;
    const char *binary_path;
    int64_t at_height; /* -1: now */
    unsigned jitter_s;
    bool all;
    bool check;
    bool json;
};

/* One node's plan, checked before anything is changed. */
struct up_node {
    char home[PATH_MAX];
    struct node_run_config cfg;
    bool running;
    bool current; /* already runs the target binary */
    int64_t head; /* -1 unless --at-height */
    struct node_upgrade up;
};

#define O(field) NU_FIELD(struct up_args, field)

static const struct nu_setting opts[] = {
    {.name = "to",
     .type = NU_T_STR,
     O(to),
     .metavar = "VERSION",
     .help = "the neard release to switch to (required, but with --check)"},
    {.name = "at-height",
     .type = NU_T_I64,
     O(at_height),
     .max = INT64_MAX / 2,
     .metavar = "H",
     .help = "neard stops itself at this block height and the new one starts (default: now)"},
    {.name = "jitter",
     .type = NU_T_SECONDS,
     O(jitter_s),
     .max = NODE_UPGRADE_JITTER_MAX_S,
     .help = "the supervisor waits a random delay of up to this before it switches"},
    {.name = "home",
     .type = NU_T_STR,
     O(home),
     .metavar = "DIR",
     .help = "a node's home or a localnet root (default: the only registered node)"},
    {.name = "all", .type = NU_T_BOOL, O(all), .help = "every registered node"},
    {.name = "release-url",
     .type = NU_T_STR,
     O(release_url),
     .metavar = "URL",
     .help = "the release bucket (default: each node's own)"},
    {.name = "neard-sha256",
     .type = NU_T_STR,
     O(sha256),
     .metavar = "HEX",
     .help = "the sha256 the new neard must have"},
    {.name = "binary-path",
     .type = NU_T_STR,
     O(binary_path),
     .metavar = "P",
     .help = "a local neard that reports release --to, instead of a download"},
    {.name = "check",
     .type = NU_T_BOOL,
     O(check),
     .help = "change nothing: exit 0 when an upgrade is staged (matching --to and "
             "--at-height if given), 1 when not"},
    {.name = "json", .type = NU_T_BOOL, O(json), .help = "with --check: the report as JSON"},
};

const struct cli_doc cli_upgrade_doc = {
    .prog = CMD,
    .summary = "switch neard versions, optionally at a block height",
    .usage = "nearup upgrade --to VERSION [--at-height H] [--jitter SECONDS]\n"
             "                      [--home DIR | --all] [--release-url URL]\n"
             "                      [--neard-sha256 HEX] [--binary-path P]\n"
             "       nearup upgrade --check [--to VERSION] [--at-height H]\n"
             "                      [--home DIR | --all] [--json]",
    .about = "Checks every node first, fetches and verifies the new binary into the cache, and\n"
             "only then hands each node its upgrade. A stopped node has run.json switched at\n"
             "once.\n"
             "\n"
             "--check changes nothing: for each node it reads the staged upgrade\n"
             "(.nearup/upgrade.json), recomputes the sha256 of the binary it names, checks\n"
             "config.json's expected_shutdown is the staged height, and compares version and\n"
             "height with --to and --at-height. Exit 0 when every node is staged and matches,\n"
             "1 when one is not (the reason on its line), 2 on usage errors.\n",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static int parse_args(int argc, char **argv, struct up_args *a)
{
    a->at_height = -1;
    int rc = cli_parse(&cli_upgrade_doc, argc, argv, a, NULL, 0, NULL);
    if (rc != 0)
        return rc;
    if (a->check &&
        (a->jitter_s > 0 || a->release_url != NULL || a->sha256 != NULL || a->binary_path != NULL))
        return cli_usage(CMD, "--check changes nothing; it takes only --to, --at-height, "
                              "--home, --all and --json");
    if (a->json && !a->check)
        return cli_usage(CMD, "--json goes with --check");
    if (!a->check && a->to == NULL)
        return cli_usage(CMD, "--to VERSION is required");
    return 0;
}

/* --home DIR (a node or a localnet root), --all, or the only registered node. */
static int list_homes(const struct up_args *a, char (*homes)[PATH_MAX], size_t *n)
{
    struct cli_homes_sel sel = {
        .home = a->home, .all = a->all, .has_all = true, .pick = CLI_HOMES_ONE};
    return cli_select_homes(CMD, &sel, homes, n);
}

/* Loads run.json and checks the node can take the upgrade. */
static int check_node(const struct up_args *a, struct up_node *u)
{
    char errbuf[NU_ERRMSG_MAX], addr[256], url[300];
    struct node_pidfile pf;
    if (node_runcfg_load(u->home, &u->cfg, errbuf) != 0) {
        cli_error(CMD, "%s is not run by nearup (%s); start it with `nearup run`", u->home, errbuf);
        return 1;
    }
    u->running = node_pidfile_alive(u->home, NODE_SUPERVISOR_PID, &pf);
    u->head = -1;
    if (a->at_height < 0)
        return 0;
    if (!u->running) {
        cli_error(CMD,
                  "%s is not running, so it cannot stop at a height; upgrade it without "
                  "--at-height (its next start uses the new binary)",
                  u->home);
        return 1;
    }
    if (node_runcfg_rpc_addr(u->home, &u->cfg, addr, sizeof(addr), errbuf) != 0) {
        cli_error(CMD, "%s: %s; --at-height needs the node's RPC", u->home, errbuf);
        return 1;
    }
    snprintf(url, sizeof(url), "http://%s", addr);
    if (node_rpc_head(url, &u->head, errbuf) != 0) {
        cli_error(CMD, "cannot read the head of %s: %s; retry once it answers", u->home, errbuf);
        return 1;
    }
    if (a->at_height <= u->head) {
        cli_error(CMD, "--at-height %lld is not above the head of %s (%lld); pick a later height",
                  (long long)a->at_height, u->home, (long long)u->head);
        return 1;
    }
    return 0;
}

/* --binary-path: must report the release --to names. */
static int local_binary(const struct up_args *a, struct node_binary *bin)
{
    char errbuf[NU_ERRMSG_MAX], version[NODE_VERSION_MAX];
    if (node_abspath(a->binary_path, bin->path, sizeof(bin->path), errbuf) != 0 ||
        access(bin->path, X_OK) != 0) {
        cli_error(CMD, "no executable neard at %s; check --binary-path", a->binary_path);
        return 1;
    }
    if (node_neard_version(bin->path, version, sizeof(version), errbuf) != 0) {
        cli_error(CMD, "%s --version failed: %s", bin->path, errbuf);
        return 1;
    }
    if (strcmp(version, a->to) != 0) {
        cli_error(CMD, "%s reports release %s, not %s; check --to and --binary-path", bin->path,
                  version, a->to);
        return 1;
    }
    snprintf(bin->version, sizeof(bin->version), "%s", version);
    if (nu_sha256_file(bin->path, bin->sha256, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    if (a->sha256 != NULL && strcasecmp(a->sha256, bin->sha256) != 0) {
        cli_error(CMD, "checksum mismatch for %s: expected %s, got %s", bin->path, a->sha256,
                  bin->sha256);
        return 1;
    }
    return 0;
}

/* The verified binary for a node: --binary-path, or the cache (fetching
 * it from the node's bucket when missing). */
static int get_binary(const struct up_args *a, struct up_node *u)
{
    struct node_binary bin = {0};
    char errbuf[NU_ERRMSG_MAX];
    if (a->binary_path != NULL) {
        if (local_binary(a, &bin) != 0)
            return 1;
    } else {
        const struct node_network *net = node_network_find(u->cfg.network);
        const char *url = a->release_url != NULL          ? a->release_url
                          : u->cfg.release_url[0] != '\0' ? u->cfg.release_url
                                                          : NODE_DEFAULT_RELEASE_URL;
        struct node_fetch_opts fo = {
            .release_url = url,
            .chain = net != NULL ? net->deploy_chain : "testnet",
            .version = a->to,
            .sha256 = a->sha256,
            .progress = isatty(STDERR_FILENO),
            .cancel = &cli_cancelled,
        };
        if (node_bin_fetch(&fo, &bin, errbuf) != 0) {
            cli_error(CMD, "%s", errbuf);
            return 1;
        }
    }
    struct node_upgrade *p = &u->up;
    snprintf(p->version, sizeof(p->version), "%s", bin.version);
    snprintf(p->commit, sizeof(p->commit), "%s", bin.commit);
    snprintf(p->sha256, sizeof(p->sha256), "%s", bin.sha256);
    snprintf(p->binary, sizeof(p->binary), "%s", bin.path);
    p->at_height = a->at_height;
    p->jitter_s = a->jitter_s;
    u->current =
        strcmp(u->cfg.neard_sha256, bin.sha256) == 0 && strcmp(u->cfg.binary, bin.path) == 0;
    return 0;
}

static void print_plan(const struct up_node *u)
{
    const char *from = u->cfg.neard_version[0] ? u->cfg.neard_version : "(local build)";
    char delay[96] = "";
    if (u->up.jitter_s > 0)
        snprintf(delay, sizeof(delay), " after a random delay of up to %u s", u->up.jitter_s);
    if (u->current)
        printf("%s: already runs neard %s (%s); nothing to do\n", u->home, u->up.version,
               u->up.binary);
    else if (!u->running)
        printf("%s: stopped; run.json now runs neard %s (was %s), used at its next start\n",
               u->home, u->up.version, from);
    else if (u->up.at_height >= 0)
        printf("%s: neard %s -> %s at height %lld (head now %lld): neard stops itself there, "
               "then the supervisor starts %s%s\n",
               u->home, from, u->up.version, (long long)u->up.at_height, (long long)u->head,
               u->up.version, delay);
    else
        printf("%s: neard %s -> %s now: the supervisor stops neard and starts %s%s\n", u->home,
               from, u->up.version, u->up.version, delay);
}

static int apply_one(struct up_node *u)
{
    char errbuf[NU_ERRMSG_MAX];
    int rc = 0;
    if (u->current)
        rc = 0;
    else if (u->running)
        rc = node_upgrade_schedule(u->home, &u->up, errbuf);
    else
        rc = node_upgrade_apply_stopped(u->home, &u->up, errbuf);
    if (rc != 0) {
        cli_error(CMD, "%s: %s", u->home, errbuf);
        return 1;
    }
    print_plan(u);
    return 0;
}

static int upgrade_all(const struct up_args *a, struct up_node *nodes, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = check_node(a, &nodes[i]);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cli_cancelled ? 1 : get_binary(a, &nodes[i]);
    if (rc != 0)
        return rc;
    /* Past this point every node is checked and its binary verified. */
    for (size_t i = 0; i < n; i++)
        rc |= apply_one(&nodes[i]);
    if (a->home != NULL)
        printf("watch it with: nearup status --home %s\n", a->home);
    else
        printf("watch it with: nearup status --all\n");
    return rc;
}

/* One node's --check verdict as a JSON object (caller frees). */
static json_t *check_json(const char *home, int rc, const struct node_upgrade *u, const char *why)
{
    bool staged = rc != NU_ENOENT && u->binary[0] != '\0';
    json_t *o = json_pack("{s:s,s:b,s:b,s:s?}", "home", home, "ok", rc == 0, "staged", staged,
                          "reason", rc == 0 ? NULL : why);
    if (o == NULL || !staged)
        return o;
    json_t *h = u->at_height >= 0 ? json_integer(u->at_height) : json_null();
    json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I}", "version", u->version, "commit", u->commit,
                          "sha256", u->sha256, "binary", u->binary, "at_height", h, "jitter_s",
                          (json_int_t)u->jitter_s);
    if (f == NULL || json_object_update(o, f) != 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(f);
    return o;
}

static void check_line(const char *home, int rc, const struct node_upgrade *u, const char *why)
{
    if (rc != 0) {
        printf("%s: not staged: %s\n", home, why);
        return;
    }
    char when[48] = "now";
    if (u->at_height >= 0)
        snprintf(when, sizeof(when), "at height %lld", (long long)u->at_height);
    printf("%s: staged neard %s %s (sha256 %s, %s)\n", home, u->version, when, u->sha256,
           u->binary);
}

/* --check: judges every node, changes nothing; 0 when all are staged. */
static int check_all(const struct up_args *a, char (*homes)[PATH_MAX], size_t n)
{
    struct node_upgrade_want want = {.version = a->to, .at_height = a->at_height};
    json_t *doc = a->json ? json_pack("{s:b,s:[]}", "ok", true, "nodes") : NULL;
    int out = 0;
    if (a->json && doc == NULL) {
        cli_error(CMD, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        struct node_upgrade u;
        char why[NU_ERRMSG_MAX];
        int rc = node_upgrade_check(homes[i], &want, &u, why);
        out |= rc != 0;
        if (doc == NULL)
            check_line(homes[i], rc, &u, why);
        else if (json_array_append_new(json_object_get(doc, "nodes"),
                                       check_json(homes[i], rc, &u, why)) != 0)
            out = 1;
    }
    if (doc != NULL) {
        json_object_set_new(doc, "ok", json_boolean(out == 0));
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s != NULL)
            printf("%s\n", s);
        else
            out = 1;
        free(s);
        json_decref(doc);
    }
    return out;
}

int cmd_upgrade(int argc, char **argv)
{
    struct up_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char(*homes)[PATH_MAX] = calloc(NODE_MAX_HOMES, sizeof(*homes));
    struct up_node *nodes = calloc(NODE_MAX_HOMES, sizeof(*nodes));
    size_t n = 0;
    if (homes == NULL || nodes == NULL) {
        cli_error(CMD, "out of memory");
        rc = 1;
        goto out;
    }
    rc = list_homes(&a, homes, &n);
    if (a.check) {
        if (rc == 0)
            rc = check_all(&a, homes, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(nodes[i].home, sizeof(nodes[i].home), "%s", homes[i]);
        node_runcfg_init(&nodes[i].cfg);
    }
    if (rc == 0)
        rc = upgrade_all(&a, nodes, n);
    for (size_t i = 0; i < n; i++)
        node_runcfg_release(&nodes[i].cfg);
out:
    free(homes);
    free(nodes);
    return rc;
}
