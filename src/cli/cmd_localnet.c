/* nearup localnet: a local multi-node network, one supervisor per node.
 *
 * The first run generates <root>/node0.. through `neard localnet`; later
 * runs reuse it (data is deleted only with --reset-data). Every listen
 * address is bound to 127.0.0.1 unless --public. Each node gets a run.json,
 * is registered for --all, and is started under its own supervisor;
 * `nearup status/stop/logs --home <root>` act on all of them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bincache.h"
#include "cmd.h"
#include "dataswap.h"
#include "fs.h"
#include "localnet.h"
#include "network.h"
#include "state.h"
#include "runcfg.h"
#include "supctl.h"

#define CMD "localnet"
#define READY_TIMEOUT_S 60

struct ln_args {
    const char *root;
    const char *binary_path;
    const char *version;
    const char *release_url;
    const char *sha256;
    enum node_restart_policy restart;
    bool restart_given;
    const char *env[NODE_MAX_ENV + 1];
    unsigned validators, rpc, archival, shards;
    bool sizes_given; /* --nodes/--rpc/--archival on the command line */
    bool public_addrs, fast, reset_data;
    const char *tracked_shards;
    bool override, archival_nodes, fixed_shards, interactive; /* the Python nearup's */
};

/* --nodes, --rpc, --archival: noted, since they only shape a new localnet
 * (the table's default is applied through here too, as s->def itself). */
static int set_size(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz)
{
    if (value != s->def)
        ((struct ln_args *)obj)->sizes_given = true;
    return nu_setting_store(s, obj, value, msg, msgsz);
}

static int set_restart(const struct nu_setting *s, void *obj, const char *value, char *msg,
                       size_t msgsz)
{
    ((struct ln_args *)obj)->restart_given = true;
    return cli_set_restart(s, obj, value, msg, msgsz);
}

#define O(field) NU_FIELD(struct ln_args, field)

static const struct nu_setting opts[] = {
    {.name = "nodes",
     .type = NU_T_UINT,
     O(validators),
     .def = "4",
     .min = 1,
     .max = NODE_LOCALNET_MAX_NODES,
     .set = set_size,
     .help = "validators of a new localnet"},
    {.name = "rpc",
     .type = NU_T_UINT,
     O(rpc),
     .max = NODE_LOCALNET_MAX_NODES,
     .set = set_size,
     .help = "non-validating RPC nodes of a new localnet"},
    {.name = "archival",
     .type = NU_T_UINT,
     O(archival),
     .max = NODE_LOCALNET_MAX_NODES,
     .set = set_size,
     .help = "archival RPC nodes of a new localnet"},
    {.name = "home",
     .type = NU_T_STR,
     O(root),
     .metavar = "DIR",
     .help = "the localnet root, holding node0, node1, ... (default ~/.near/localnet)"},
    {.name = "binary-path",
     .type = NU_T_STR,
     O(binary_path),
     .metavar = "PATH",
     .help = "run this neard instead of a downloaded release"},
    {.name = "neard-version",
     .type = NU_T_STR,
     O(version),
     .metavar = "VER",
     .help = "the release to download and verify"},
    {.name = "release-url",
     .type = NU_T_STR,
     O(release_url),
     .metavar = "URL",
     .help = "the release bucket"},
    {.name = "neard-sha256",
     .type = NU_T_STR,
     O(sha256),
     .metavar = "HEX",
     .help = "the sha256 the downloaded neard must have"},
    {.name = "restart",
     .type = NU_T_ENUM,
     O(restart),
     .choices = "always|on-failure|no",
     .metavar = "POLICY",
     .set = set_restart,
     .help = "when a supervisor starts its neard again (default: each node's run.json, else "
             "always)"},
    {.name = "env",
     .type = NU_T_LIST,
     O(env),
     .max = NODE_MAX_ENV,
     .metavar = "KEY=VAL",
     .set = cli_set_env,
     .help = "an environment variable for every neard (repeatable)"},
    {.name = "public",
     .type = NU_T_BOOL,
     O(public_addrs),
     .help = "listen on every interface instead of 127.0.0.1"},
    {.name = "fast",
     .type = NU_T_BOOL,
     O(fast),
     .help = "a new localnet produces blocks fast (short epochs, for tests)"},
    {.name = "reset-data",
     .type = NU_T_BOOL,
     O(reset_data),
     .help = "delete every node's data (data/, cold-data/) before it starts"},
    {.name = "shards",
     .type = NU_T_UINT,
     O(shards),
     .min = 1,
     .max = NODE_LOCALNET_MAX_SHARDS,
     .help = "shards of a new localnet (neard localnet --shards; default neard's, 1)"},
    {.name = "tracked-shards",
     .type = NU_T_STR,
     O(tracked_shards),
     .metavar = "SPEC",
     .help = "what each node of a new localnet tracks: all, none or shard ids 0,1,... "
             "(neard localnet --tracked-shards; default neard's, all)"},
    {.name = "override",
     .type = NU_T_BOOL,
     O(override),
     .help = "the Python nearup's: delete the localnet in ROOT (keys and data) and generate a "
             "new one"},
    {.name = "archival-nodes",
     .type = NU_T_BOOL,
     O(archival_nodes),
     .help = "the Python nearup's: every node of a new localnet keeps every block (an older "
             "neard's localnet --archival-nodes)"},
    {.name = "fix-accounts",
     .type = NU_T_BOOL,
     O(fixed_shards),
     .help = "the Python nearup's: with --shards above 1, a new localnet's accounts are fixed "
             "to shards (an older neard's localnet --fixed-shards)"},
    {.name = "interactive",
     .type = NU_T_BOOL,
     O(interactive),
     .help = "the Python nearup's: ask on the terminal for --nodes when the localnet is new"},
    {.name = "num-nodes", .alias_of = "nodes", .help = "the Python nearup's spelling"},
    {.name = "num-shards", .alias_of = "shards", .help = "the Python nearup's spelling"},
    CLI_PY_VERBOSE,
    CLI_PY_NO_WATCHER,
};

const struct cli_doc cli_localnet_doc = {
    .prog = CMD,
    .summary = "run a local multi-node network",
    .usage = "nearup localnet [--nodes N] [--rpc N] [--archival N] [--home DIR]\n"
             "                       [--binary-path P | --neard-version V] [--release-url URL]\n"
             "                       [--neard-sha256 HEX] [--public] [--fast] [--reset-data]\n"
             "                       [--restart always|on-failure|no] [--env KEY=VAL]...\n"
             "                       [--shards N] [--tracked-shards SPEC] [--override]\n"
             "                       [--archival-nodes] [--fix-accounts] [--interactive]",
    .about = "The first run generates ROOT/node0.. through `neard localnet`; later runs reuse\n"
             "it (data is deleted only with --reset-data). Each node runs under its own\n"
             "supervisor; `nearup status/stop/logs --home ROOT` act on all of them.\n",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static int parse_args(int argc, char **argv, struct ln_args *a)
{
    int rc = cli_parse(&cli_localnet_doc, argc, argv, a, NULL, 0, NULL);
    if (rc == 0 && a->binary_path != NULL && a->version != NULL)
        return cli_usage(CMD, "--binary-path and --neard-version exclude each other");
    if (rc == 0 && a->validators + a->rpc + a->archival > NODE_LOCALNET_MAX_NODES)
        return cli_usage(CMD, "at most %d nodes in all", NODE_LOCALNET_MAX_NODES);
    return rc;
}

/* The binary every node runs (explicit, or fetched), or none: keep run.json's. */
struct ln_binary {
    bool chosen;
    struct node_binary bin;
    char release_url[NODE_URL_MAX];
};

/* --binary-path, or a fetched (usually cached) release when asked for one
 * or when some node has no run.json yet. */
static int choose_binary(const struct ln_args *a, bool need, struct ln_binary *b)
{
    char errbuf[NU_ERRMSG_MAX];
    snprintf(b->release_url, sizeof(b->release_url), "%s",
             a->release_url ? a->release_url : NODE_DEFAULT_RELEASE_URL);
    if (a->binary_path != NULL) {
        if (cli_binary_path(a->binary_path, b->bin.path, sizeof(b->bin.path), errbuf) != 0 ||
            access(b->bin.path, X_OK) != 0) {
            cli_error(CMD, "no executable neard at %s; check --binary-path", a->binary_path);
            return 1;
        }
        b->chosen = true;
        return 0;
    }
    if (!need && a->version == NULL)
        return 0;
    const struct node_network *net = node_network_find("localnet");
    struct node_fetch_opts fo = {
        .release_url = b->release_url,
        .chain = net != NULL ? net->deploy_chain : "testnet",
        .version = a->version,
        .sha256 = a->sha256,
        .progress = isatty(STDERR_FILENO),
        .cancel = &cli_cancelled,
    };
    if (node_bin_fetch(&fo, &b->bin, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    b->chosen = true;
    return 0;
}

static int fill_runcfg(const struct ln_args *a, const struct ln_binary *b,
                       struct node_run_config *c)
{
    snprintf(c->network, sizeof(c->network), "localnet");
    snprintf(c->chain_id, sizeof(c->chain_id), NODE_LOCALNET_CHAIN_ID);
    if (b->chosen) {
        snprintf(c->binary, sizeof(c->binary), "%s", b->bin.path);
        snprintf(c->neard_version, sizeof(c->neard_version), "%s", b->bin.version);
        snprintf(c->neard_commit, sizeof(c->neard_commit), "%s", b->bin.commit);
        snprintf(c->neard_sha256, sizeof(c->neard_sha256), "%s", b->bin.sha256);
        snprintf(c->release_url, sizeof(c->release_url), "%s", b->release_url);
    }
    if (a->restart_given)
        c->restart = a->restart;
    if (a->env[0] != NULL) {
        for (size_t i = 0; i < NODE_MAX_ENV && c->env[i] != NULL; i++) {
            free(c->env[i]);
            c->env[i] = NULL;
        }
        for (size_t i = 0; a->env[i] != NULL; i++) {
            if ((c->env[i] = strdup(a->env[i])) == NULL) {
                cli_error(CMD, "out of memory");
                return 1;
            }
        }
    }
    return 0;
}

/* --reset-data under the home lock, so no node starts on the data while
 * it is removed; a database a neard opened by hand is never removed. */
static int reset_data(const char *home, char *errbuf)
{
    static const char *const dirs[] = {"data", "cold-data"};
    int lock = -1;
    int rc = node_home_lock(home, NODE_LOCK_RUN, &lock, errbuf);
    for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char path[PATH_MAX];
        if (nu_fs_join(path, sizeof(path), home, dirs[i]) != 0)
            rc = nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
        else if (node_data_locked(path))
            rc = nu_err_set(errbuf, NU_ESTATE,
                            "the database in %s is open by a process nearup does not "
                            "supervise; stop it before --reset-data",
                            path);
    }
    if (rc == 0)
        rc = node_reset_data(home, errbuf);
    node_state_unlock(lock);
    return rc;
}

/* Config, optional data reset, run.json and registry entry of one node. */
static int prepare_node(const struct ln_args *a, const struct ln_binary *b, const char *home,
                        bool generated)
{
    char errbuf[NU_ERRMSG_MAX];
    struct node_run_config c;
    struct node_lock_owner lo;
    bool running = node_home_lock_owner(home, &lo);
    int rc = 0;
    if (running && lo.role != NODE_LOCK_SUPERVISOR && node_home_busy(home, errbuf) < 0) {
        cli_error(CMD, "%s", errbuf); /* a restore, a run: not a node to reuse */
        return 1;
    }
    running = running && lo.role == NODE_LOCK_SUPERVISOR;
    if (node_runcfg_load(home, &c, errbuf) != 0)
        node_runcfg_init(&c);
    if (a->reset_data && running) {
        cli_error(CMD, "%s is running; stop it (nearup stop --home %s) before --reset-data", home,
                  a->root);
        rc = 1;
    } else if (!running) {
        if (node_localnet_config(home, a->public_addrs, a->fast && generated, errbuf) != 0 ||
            node_state_init(home, errbuf) != 0 ||
            (a->reset_data && reset_data(home, errbuf) != 0)) {
            cli_error(CMD, "%s", errbuf);
            rc = 1;
        }
        if (rc == 0)
            rc = fill_runcfg(a, b, &c);
        if (rc == 0 && node_runcfg_save(home, &c, errbuf) != 0) {
            cli_error(CMD, "%s", errbuf);
            rc = 1;
        }
    }
    if (rc == 0 && node_registry_add(home, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        rc = 1;
    }
    node_runcfg_release(&c);
    return rc;
}

/* True when some node has no run.json yet (so a binary must be chosen). */
static bool some_node_new(char (*homes)[PATH_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (node_state_path(homes[i], "run.json", path, sizeof(path)) != 0 || !nu_fs_exists(path))
            return true;
    }
    return n == 0;
}

/* Stops what this invocation started, after a failure or an interrupt. */
static void stop_started(char (*homes)[PATH_MAX], size_t n, const bool *started)
{
    char errbuf[NU_ERRMSG_MAX];
    for (size_t i = 0; i < n; i++) {
        if (started[i] && node_stop(homes[i], NODE_DEFAULT_STOP_TIMEOUT_S, errbuf) != 0)
            cli_error(CMD, "cannot stop %s: %s", homes[i], errbuf);
    }
}

static int start_nodes(char (*homes)[PATH_MAX], size_t n, bool *started)
{
    char errbuf[NU_ERRMSG_MAX];
    for (size_t i = 0; i < n; i++) {
        struct node_lock_owner lo;
        if (node_home_lock_owner(homes[i], &lo) && lo.role == NODE_LOCK_SUPERVISOR)
            continue; /* already running: reused as it is */
        if (cli_cancelled) {
            cli_error(CMD, "interrupted; stopping the nodes started so far");
            stop_started(homes, n, started);
            return 1;
        }
        if (node_supervisor_start(homes[i], READY_TIMEOUT_S, errbuf) != 0) {
            cli_error(CMD, "node%zu did not start: %s", i, errbuf);
            stop_started(homes, n, started);
            return 1;
        }
        started[i] = true;
    }
    return 0;
}

static void print_nodes(const char *root, char (*homes)[PATH_MAX], size_t n, const bool *started,
                        bool generated)
{
    printf("localnet in %s: %zu nodes (%s)\n", root, n, generated ? "new" : "reused");
    for (size_t i = 0; i < n; i++) {
        char addr[256] = "-", errbuf[NU_ERRMSG_MAX], url[300];
        struct node_pidfile pf = {0};
        if (node_runcfg_rpc_addr(homes[i], NULL, addr, sizeof(addr), errbuf) != 0)
            snprintf(addr, sizeof(addr), "-");
        snprintf(url, sizeof(url), "http://%s", addr);
        bool alive = node_pidfile_alive(homes[i], NODE_NEARD_PID, &pf);
        printf("  node%-3zu %-9s %-28s %s, neard pid %ld\n", i, node_localnet_role(homes[i]), url,
               started[i] ? "started" : "already running", alive ? (long)pf.pid : 0L);
    }
    printf("next: nearup status --home %s\n"
           "      nearup logs --home %s --node 0 -f\n"
           "      nearup stop --home %s\n",
           root, root, root);
}

/* The localnet's node homes, generating it first when root holds none. */
static int find_or_generate(const struct ln_args *a, struct ln_binary *b, char (*homes)[PATH_MAX],
                            size_t *n, bool *generated)
{
    char errbuf[NU_ERRMSG_MAX];
    if (node_localnet_nodes(a->root, homes, NODE_LOCALNET_MAX_NODES, n, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    int rc = b->chosen ? 0 : choose_binary(a, some_node_new(homes, *n), b);
    if (rc != 0 || *n > 0) {
        if (rc == 0 && a->sizes_given && *n != a->validators + a->rpc + a->archival)
            printf("reusing the localnet of %zu nodes in %s (--nodes/--rpc/--archival apply to a "
                   "new one; remove the directory for that)\n",
                   *n, a->root);
        return rc;
    }
    struct node_localnet_opts o = {
        .neard = b->bin.path,
        .root = a->root,
        .validators = a->validators,
        .rpc = a->rpc,
        .archival = a->archival,
        .shards = a->shards,
        .tracked_shards = a->tracked_shards,
        .archival_nodes = a->archival_nodes,
        .fixed_shards = a->fixed_shards && a->shards > 1, /* as the Python nearup passed it */
    };
    if (node_localnet_generate(&o, errbuf) != 0 ||
        node_localnet_nodes(a->root, homes, NODE_LOCALNET_MAX_NODES, n, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    if (*n != a->validators + a->rpc + a->archival) {
        cli_error(CMD, "%s localnet made %zu nodes, not %u; check the binary", b->bin.path, *n,
                  a->validators + a->rpc + a->archival);
        return 1;
    }
    *generated = true;
    return 0;
}

/* --override's first check, before the binary is looked for: no node of
 * the localnet in root runs. */
static int refuse_running(const struct ln_args *a, char (*homes)[PATH_MAX])
{
    char errbuf[NU_ERRMSG_MAX];
    size_t n = 0;
    if (node_localnet_nodes(a->root, homes, NODE_LOCALNET_MAX_NODES, &n, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (node_home_lock_owner(homes[i], NULL)) {
            cli_error(CMD,
                      "node%zu of %s is running; stop it (nearup stop --home %s) before "
                      "--override",
                      i, a->root, a->root);
            return 1;
        }
    }
    return 0;
}

/* --override: the localnet in root goes, unless one of its nodes runs.
 * Called once the binary is known to be good (a bad --binary-path loses
 * nothing), and removes the nodes while holding every node's home lock,
 * so none starts on what is being removed. */
static int override(const struct ln_args *a, char (*homes)[PATH_MAX])
{
    char errbuf[NU_ERRMSG_MAX];
    int locks[NODE_LOCALNET_MAX_NODES];
    size_t n = 0, held = 0;
    if (node_localnet_nodes(a->root, homes, NODE_LOCALNET_MAX_NODES, &n, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    int rc = 0;
    for (; rc == 0 && held < n; held++) {
        int lrc = node_state_init(homes[held], errbuf);
        if (lrc == 0)
            lrc = node_home_lock(homes[held], NODE_LOCK_RUN, &locks[held], errbuf);
        if (lrc == NU_EEXIST)
            cli_error(CMD,
                      "node%zu of %s is running; stop it (nearup stop --home %s) before "
                      "--override",
                      held, a->root, a->root);
        else if (lrc != 0)
            cli_error(CMD, "--override: %s", errbuf);
        if (lrc != 0)
            rc = 1;
    }
    if (rc != 0)
        held--; /* the failed one holds no lock */
    if (rc == 0 && n > 0 && nu_fs_rm_tree(a->root, errbuf) != 0) {
        cli_error(CMD, "--override: %s", errbuf);
        rc = 1;
    }
    while (held > 0)
        node_state_unlock(locks[--held]);
    return rc;
}

/* --interactive: a new localnet asks how many nodes it has, as the Python
 * nearup did. Returns 0 to go on, else the exit code. */
static int ask_nodes(struct ln_args *a, char (*homes)[PATH_MAX])
{
    char answer[32], errbuf[NU_ERRMSG_MAX];
    size_t n = 0;
    uint64_t v;
    if (!a->interactive || a->sizes_given ||
        node_localnet_nodes(a->root, homes, NODE_LOCALNET_MAX_NODES, &n, errbuf) != 0 || n > 0)
        return 0;
    int rc = cli_prompt("number of nodes [4]: ", answer, sizeof(answer));
    if (rc == NU_ESTATE)
        return cli_usage(CMD, "--interactive asks on a terminal, and stdin is not one; pass "
                              "--nodes N instead");
    if (rc != 0) {
        cli_error(CMD, "no answer to --interactive's question; nothing was started");
        return 1;
    }
    if (answer[0] == '\0')
        return 0;
    if (nu_parse_uint(answer, NODE_LOCALNET_MAX_NODES, &v) != 0 || v == 0)
        return cli_usage(CMD, "--interactive: \"%s\" is not a number of nodes (1-%d)", answer,
                         NODE_LOCALNET_MAX_NODES);
    a->validators = (unsigned)v;
    return 0;
}

static int run_localnet(struct ln_args *a, char (*homes)[PATH_MAX], bool *started)
{
    struct ln_binary b = {0};
    size_t n = 0;
    bool generated = false;
    int rc = a->override ? refuse_running(a, homes) : 0;
    if (rc == 0 && a->override)
        rc = choose_binary(a, true, &b);
    if (rc == 0 && a->override)
        rc = override(a, homes);
    if (rc == 0)
        rc = ask_nodes(a, homes);
    if (rc == 0)
        rc = find_or_generate(a, &b, homes, &n, &generated);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = prepare_node(a, &b, homes[i], generated);
    if (rc == 0)
        rc = start_nodes(homes, n, started);
    if (rc == 0)
        print_nodes(a->root, homes, n, started, generated);
    return rc;
}

int cmd_localnet(int argc, char **argv)
{
    struct ln_args a;
    memset(&a, 0, sizeof(a));
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char root[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    if (node_abspath(a.root ? a.root : "~/.near/localnet", root, sizeof(root), errbuf) != 0) {
        cli_error(CMD, "home: %s", errbuf);
        return 1;
    }
    a.root = root;
    if (cli_refuse_python_node(CMD) != 0)
        return 1;
    char(*homes)[PATH_MAX] = calloc(NODE_LOCALNET_MAX_NODES, sizeof(*homes));
    bool started[NODE_LOCALNET_MAX_NODES] = {0};
    if (homes == NULL) {
        cli_error(CMD, "out of memory");
        return 1;
    }
    rc = run_localnet(&a, homes, started);
    free(homes);
    return rc;
}
