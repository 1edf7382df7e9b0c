/* nearup run NETWORK: pick a neard (a given path, the cached version this
 * home ran, or a verified download), prepare the home through neard's own
 * init, record run.json and start a supervisor for the home. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bincache.h"
#include "cmd.h"
#include "cmd_run.h"
#include "cmd_snapshot.h"
#include "dataswap.h"
#include "fs.h"
#include "home.h"
#include "hostport.h"
#include "json.h"
#include "keys.h"
#include "logrot.h"
#include "network.h"
#include "redact.h"
#include "snap.h"
#include "state.h"
#include "neard_version.h"
#include "runcfg.h"
#include "supctl.h"

#define LOG_MIN_SIZE 1024u
#define LOG_MAX_SIZE (1ull << 40) /* --log-max-size, at most (1 TiB) */

struct run_opts {
    const char *network;
    const char *home_arg;
    const char *account_id, *boot_nodes, *binary_path, *version, *sha256, *release_url;
    const char *rpc_addr, *network_addr, *from_snapshot, *verify_key, *s3_endpoint;
    const char *metrics_textfile_dir, *metrics_listen;
    bool archival, foreground, reset_data, allow_mainnet_validator, interactive;
    const char *refused; /* a Python nearup flag's value (cli_set_refused) */
    enum node_restart_policy restart;
    uint64_t log_max_size;
    unsigned log_keep, stop_timeout, ready_timeout;
    const char *env[NODE_MAX_ENV + 1];
    struct cli_verify verify;       /* --verify-with, --verify-quorum (with --from-snapshot) */
    struct snap_chain_report chain; /* what the references said, for the report */
    char home[PATH_MAX];
    char metrics_dir[PATH_MAX]; /* metrics_textfile_dir made absolute */
};

#define O(field) NU_FIELD(struct run_opts, field)

static const struct nu_setting opts[] = {
    {.name = "home",
     .type = NU_T_STR,
     O(home_arg),
     .metavar = "DIR",
     .help = "the node's home (default ~/.near/NETWORK); nearup's state is in HOME/.nearup"},
    {.name = "account-id",
     .type = NU_T_STR,
     O(account_id),
     .metavar = "A",
     .help = "the validator account this node signs for (on mainnet only with "
             "--allow-mainnet-validator)"},
    {.name = "boot-nodes",
     .type = NU_T_STR,
     O(boot_nodes),
     .metavar = "LIST",
     .help = "peers to connect to first (neard's --boot-nodes: KEY@HOST:PORT,...)"},
    {.name = "binary-path",
     .type = NU_T_STR,
     O(binary_path),
     .metavar = "PATH",
     .help = "run this neard instead of a downloaded release"},
    {.name = "neard-version",
     .type = NU_T_STR,
     O(version),
     .metavar = "VER",
     .help = "the release to download and verify (default: the network's latest, or the build "
             "this home ran)"},
    {.name = "neard-sha256",
     .type = NU_T_STR,
     O(sha256),
     .metavar = "HEX",
     .help = "the sha256 the downloaded neard must have"},
    {.name = "release-url",
     .type = NU_T_STR,
     O(release_url),
     .metavar = "URL",
     .help = "the release bucket (default " NODE_DEFAULT_RELEASE_URL ")"},
    {.name = "archival",
     .type = NU_T_BOOL,
     O(archival),
     .help = "keep every block (neard --archive)"},
    {.name = "rpc-addr",
     .type = NU_T_STR,
     O(rpc_addr),
     .metavar = "ADDR",
     .help = "neard's JSON-RPC address (HOST:PORT)"},
    {.name = "network-addr",
     .type = NU_T_STR,
     O(network_addr),
     .metavar = "ADDR",
     .help = "neard's peer-to-peer address (HOST:PORT)"},
    {.name = "foreground",
     .type = NU_T_BOOL,
     O(foreground),
     .help = "this process becomes the supervisor (for systemd); no detaching, no wait"},
    {.name = "restart",
     .type = NU_T_ENUM,
     O(restart),
     .def = "always",
     .choices = "always|on-failure|no",
     .metavar = "POLICY",
     .set = cli_set_restart,
     .help = "when the supervisor starts neard again after it exits"},
    {.name = "log-max-size",
     .type = NU_T_SIZE,
     O(log_max_size),
     .def = NU_TEXT(NODE_LOG_DEFAULT_MAX_SIZE_MIB) "MiB",
     .min = LOG_MIN_SIZE,
     .max = LOG_MAX_SIZE,
     .help = "neard.log is rotated when it reaches this size"},
    {.name = "log-keep",
     .type = NU_T_UINT,
     O(log_keep),
     .def = NU_TEXT(NODE_LOG_DEFAULT_KEEP),
     .max = 1000,
     .help = "rotated logs kept (zstd-compressed)"},
    {.name = "env",
     .type = NU_T_LIST,
     O(env),
     .max = NODE_MAX_ENV,
     .metavar = "KEY=VAL",
     .set = cli_set_env,
     .help = "an environment variable for neard (repeatable)"},
    {.name = "reset-data",
     .type = NU_T_BOOL,
     O(reset_data),
     .help = "delete the node's data (data/, cold-data/) before it starts"},
    {.name = "allow-mainnet-validator",
     .type = NU_T_BOOL,
     O(allow_mainnet_validator),
     .help = "allow --account-id on mainnet"},
    {.name = "stop-timeout",
     .type = NU_T_SECONDS,
     O(stop_timeout),
     .def = NU_TEXT(NODE_DEFAULT_STOP_TIMEOUT_S),
     .min = 1,
     .max = 86400,
     .help = "seconds neard has after SIGTERM before SIGKILL"},
    {.name = "ready-timeout",
     .type = NU_T_SECONDS,
     O(ready_timeout),
     .def = NU_TEXT(CLI_READY_TIMEOUT_S),
     .min = 1,
     .max = 86400,
     .help = "seconds to wait for neard to answer /status (not with --foreground)"},
    {.name = "from-snapshot",
     .type = NU_T_STR,
     O(from_snapshot),
     .metavar = "STORE",
     .help = "a node without data restores STORE's latest snapshot first"},
    {.name = "verify-key",
     .type = NU_T_STR,
     O(verify_key),
     .metavar = "ed25519:PK",
     .help = "with --from-snapshot: the snapshot's manifest must be signed by this key"},
    {.name = "s3-endpoint",
     .type = NU_T_STR,
     O(s3_endpoint),
     .metavar = "URL",
     .help = "with --from-snapshot: an S3-compatible endpoint instead of AWS (for s3:// stores)"},
    CLI_VERIFY_OPTS("with --from-snapshot: "),
    {.name = "metrics-textfile-dir",
     .type = NU_T_STR,
     O(metrics_textfile_dir),
     .metavar = "DIR",
     .help = "the supervisor writes nearup_node_*.prom here (node_exporter's textfile "
             "directory)"},
    {.name = "metrics-listen",
     .type = NU_T_STR,
     O(metrics_listen),
     .metavar = "ADDR",
     .help = "the supervisor serves GET /metrics on ADDR (PORT on 127.0.0.1, or HOST:PORT)"},
    {.name = "interactive",
     .type = NU_T_BOOL,
     O(interactive),
     .help = "the Python nearup's: ask on the terminal for --account-id when the home is new"},
    CLI_PY_VERBOSE,
    CLI_PY_NO_WATCHER,
    CLI_PY_REFUSED("neard-log", NU_T_STR, O(refused),
                   "deprecated there already; pass --env RUST_LOG=FILTER (or --verbose)"),
};

const struct cli_doc cli_run_doc = {
    .prog = "run",
    .summary = "initialise a home if needed and run neard under a supervisor",
    .usage =
        "nearup run NETWORK [--home DIR] [--account-id A] [--boot-nodes LIST]\n"
        "                  [--binary-path PATH | --neard-version VER] [--neard-sha256 HEX]\n"
        "                  [--release-url URL] [--archival] [--rpc-addr A] [--network-addr A]\n"
        "                  [--foreground] [--restart always|on-failure|no] [--log-max-size "
        "N[K|M|G]]\n"
        "                  [--log-keep N] [--env KEY=VAL]... [--reset-data]\n"
        "                  [--allow-mainnet-validator] [--stop-timeout SECONDS]\n"
        "                  [--ready-timeout SECONDS] [--from-snapshot STORE\n"
        "                  [--verify-key ed25519:PK] [--s3-endpoint URL]\n"
        "                  [--verify-with URL]... [--verify-quorum N]] [--interactive]\n"
        "                  [--metrics-textfile-dir DIR] [--metrics-listen ADDR]",
    .about = "NETWORK is mainnet, testnet, betanet or a custom chain id; 'nearup run localnet'\n"
             "is 'nearup localnet' (as in the Python nearup), but with --foreground (a unit of\n"
             "'nearup service'), which runs one node of chain localnet.\n"
             "The home defaults to ~/.near/NETWORK; its state is in HOME/.nearup.\n"
             "Without --foreground, waits up to --ready-timeout (default 60) seconds for neard\n"
             "to answer /status; Ctrl-C meanwhile stops the node.\n"
             "--from-snapshot restores STORE's latest snapshot first when the home has no data;\n"
             "with --verify-with its block must be on the references' chain first, and neard\n"
             "must show the same block before it is reported running (docs/snapshots.md);\n"
             "with --verify-key its manifest must carry that key's signature.\n",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

/* The supervisor binds and writes these long after `run` returned: a bad
 * address or directory is refused now. */
static int check_metrics(struct run_opts *o)
{
    char err[NU_ERRMSG_MAX];
    struct nu_hostport hp;
    if (o->metrics_listen != NULL && node_metrics_listen_parse(o->metrics_listen, &hp, err) < 0)
        return cli_usage("run", "%s", err);
    if (o->metrics_textfile_dir == NULL)
        return 0;
    if (!nu_fs_is_dir(o->metrics_textfile_dir) ||
        realpath(o->metrics_textfile_dir, o->metrics_dir) == NULL)
        return cli_usage("run", "--metrics-textfile-dir %s is not a directory",
                         o->metrics_textfile_dir);
    return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    char *pos[1];
    size_t npos = 0;
    int rc = cli_parse(&cli_run_doc, argc, argv, o, pos, 1, &npos);
    if (rc != 0)
        return rc;
    if (npos == 0)
        return cli_usage("run", "which NETWORK? (mainnet, testnet, betanet, localnet or a chain "
                                "id)");
    o->network = pos[0];
    if (node_network_find(o->network) == NULL && !node_chain_id_valid(o->network))
        return cli_usage("run",
                         "unknown network '%s'; use mainnet, testnet, betanet, localnet or a "
                         "chain id of [a-z0-9._-]",
                         o->network);
    if (o->binary_path != NULL && o->version != NULL)
        return cli_usage("run", "--binary-path and --neard-version exclude each other");
    if (o->verify.given[0] != NULL && o->from_snapshot == NULL)
        return cli_usage("run", "--verify-with goes with --from-snapshot STORE");
    if (o->verify_key != NULL && o->from_snapshot == NULL)
        return cli_usage("run", "--verify-key goes with --from-snapshot STORE");
    if (o->s3_endpoint != NULL && o->from_snapshot == NULL)
        return cli_usage("run", "--s3-endpoint goes with --from-snapshot STORE");
    if (o->verify_key != NULL) { /* checked now, not only when a restore happens */
        uint8_t pk[NU_KEY_PUB_LEN];
        char why[NU_ERRMSG_MAX];
        if (nu_key_parse_pub(o->verify_key, pk, why) != 0)
            return cli_usage("run", "--verify-key %s is not an ed25519:<base58> public key (%s)",
                             o->verify_key, why);
    }
    if ((rc = cli_verify_setup("run", &o->verify)) != 0)
        return rc;
    return check_metrics(o);
}

/* ---- the binary ---- */

struct chosen {
    char binary[PATH_MAX];
    char version[NODE_VERSION_MAX]; /* "" for --binary-path */
    char commit[NODE_VERSION_MAX];
    char sha256[NODE_SHA256_HEX];
};

static int use_path(const char *path, struct chosen *b, char *err)
{
    struct stat st;
    int rc = cli_binary_path(path, b->binary, sizeof(b->binary), err);
    if (rc < 0)
        return rc;
    if (stat(b->binary, &st) < 0)
        return nu_err_set(err, NU_ENOENT, "neard binary %s: %s; check --binary-path", b->binary,
                          strerror(errno));
    if (!S_ISREG(st.st_mode) || access(b->binary, X_OK) < 0)
        return nu_err_set(err, NU_EPERM,
                          "neard binary %s is not an executable file; check "
                          "--binary-path",
                          b->binary);
    return 0;
}

static void take_binary(struct chosen *b, const struct node_binary *nb)
{
    snprintf(b->binary, sizeof(b->binary), "%s", nb->path);
    snprintf(b->version, sizeof(b->version), "%s", nb->version);
    snprintf(b->commit, sizeof(b->commit), "%s", nb->commit);
    snprintf(b->sha256, sizeof(b->sha256), "%s", nb->sha256);
}

/* A verified download (or cache hit) of version (NULL: latest); commit
 * and sha256 pin the exact build when set. */
static int fetch_build(const struct run_opts *o, const char *release_url, const char *version,
                       const char *commit, const char *sha256, struct chosen *b, char *err)
{
    struct node_binary nb;
    struct node_fetch_opts fo = {
        .release_url = release_url,
        .chain = node_network_deploy_chain(o->network),
        .version = version,
        .commit = commit,
        .sha256 = sha256,
        .progress = isatty(2),
        .cancel = &cli_cancelled,
    };
    int rc = node_bin_fetch(&fo, &nb, err);
    if (rc == 0)
        take_binary(b, &nb);
    return rc;
}

static int fetch(const struct run_opts *o, const char *version, struct chosen *b, char *err)
{
    return fetch_build(o, o->release_url, version, NULL, o->sha256, b, err);
}

/* The exact build this home ran: its blob by sha256 from the cache (no
 * network), else that build fetched again and checked against that hash.
 * A release name re-deployed with other bytes never replaces it. */
static int same_build(const struct run_opts *o, const struct node_run_config *prev,
                      struct chosen *b, char *err)
{
    struct node_binary nb;
    if (node_cache_blob(prev->neard_sha256, &nb, NULL) == 0) {
        take_binary(b, &nb);
        snprintf(b->version, sizeof(b->version), "%s", prev->neard_version);
        snprintf(b->commit, sizeof(b->commit), "%s", prev->neard_commit);
        return 0;
    }
    const char *url = o->release_url;
    if (url == NULL && prev->release_url[0] != '\0')
        url = prev->release_url;
    int rc =
        fetch_build(o, url, prev->neard_version, prev->neard_commit, prev->neard_sha256, b, err);
    if (rc == NU_EVERIFY) {
        char why[NU_ERRMSG_MAX];
        snprintf(why, sizeof(why), "%s", err);
        nu_err_set(err, rc,
                   "%s; the build this home ran is no longer cached and the release bucket has "
                   "other bytes under its name now; pass --neard-version or --binary-path to "
                   "choose a build",
                   why);
    }
    return rc;
}

/* --binary-path; else the build this home ran (from the cache, with no
 * network at all); else a previous --binary-path; else a download. */
static int choose_binary(const struct run_opts *o, struct chosen *b, char *err)
{
    struct node_run_config prev;
    struct node_binary nb;
    char sha[NODE_SHA256_HEX];
    memset(b, 0, sizeof(*b));
    if (o->binary_path != NULL)
        return use_path(o->binary_path, b, err);
    if (o->version != NULL || o->sha256 != NULL || node_runcfg_load(o->home, &prev, NULL) < 0)
        return fetch(o, o->version, b, err);
    int rc;
    if (prev.neard_version[0] != '\0' && node_sha256_parse(prev.neard_sha256, sha) == 0 &&
        strlen(prev.neard_sha256) == NODE_SHA256_HEX - 1) {
        rc = same_build(o, &prev, b, err);
    } else if (prev.neard_version[0] != '\0' &&
               node_cache_lookup(prev.neard_version, &nb, NULL) == 0) {
        take_binary(b, &nb); /* a run.json from before hashes were recorded */
        rc = 0;
    } else if (prev.neard_version[0] != '\0') {
        rc = fetch(o, prev.neard_version, b, err);
    } else if (access(prev.binary, X_OK) == 0) {
        rc = use_path(prev.binary, b, err);
    } else {
        rc = fetch(o, NULL, b, err);
    }
    node_runcfg_release(&prev);
    return rc;
}

/* ---- ports ---- */

/* 0 when addr ("host:port", IPv4 or [IPv6]) can be bound now. */
static int try_bind(const char *addr, char *err, const char *what, const char *flag)
{
    struct sockaddr_storage ss;
    struct nu_hostport hp;
    const char *why;
    socklen_t len;
    if (nu_hostport_parse(addr, strlen(addr), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0 ||
        nu_ip_sockaddr(hp.host, hp.port, &ss, &len) != 0)
        return 0; /* not ours to judge; neard will say */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as neard binds */
    int rc = bind(fd, (struct sockaddr *)&ss, len);
    int e = errno;
    close(fd);
    if (rc < 0 && e == EADDRINUSE)
        return nu_err_set(err, NU_EEXIST,
                          "%s address %s is already in use; stop what listens "
                          "there or pass %s",
                          what, addr, flag);
    return 0;
}

static int check_ports(const struct run_opts *o, char *err)
{
    char path[PATH_MAX];
    json_t *cfg = NULL;
    const char *rpc = o->rpc_addr, *net = o->network_addr;
    /* A neard of this home still stopping holds them; the supervisor waits for it. */
    if (node_pidfile_alive(o->home, NODE_NEARD_PID, NULL))
        return 0;
    if (nu_fs_join(path, sizeof(path), o->home, "config.json") == 0 &&
        nu_json_load_file(path, true, &cfg, NULL) == 0) {
        if (rpc == NULL && nu_json_get_str(cfg, "rpc.addr", &rpc) < 0)
            rpc = NULL;
        if (net == NULL && nu_json_get_str(cfg, "network.addr", &net) < 0)
            net = NULL;
    }
    int rc = rpc != NULL ? try_bind(rpc, err, "rpc", "--rpc-addr") : 0;
    if (rc == 0 && net != NULL)
        rc = try_bind(net, err, "network", "--network-addr");
    json_decref(cfg);
    return rc;
}

/* ---- run.json ---- */

static int add_arg(struct node_run_config *c, size_t *n, const char *a)
{
    if (*n >= NODE_MAX_ARGS || (c->args[*n] = strdup(a)) == NULL)
        return NU_ENOMEM;
    (*n)++;
    return 0;
}

static int build_runcfg(const struct run_opts *o, const struct chosen *b, struct node_run_config *c,
                        char *err)
{
    size_t n = 0;
    int rc = 0;
    node_runcfg_init(c);
    snprintf(c->network, sizeof(c->network), "%s", o->network);
    if (node_home_chain_id(o->home, c->chain_id, sizeof(c->chain_id), err) < 0)
        snprintf(c->chain_id, sizeof(c->chain_id), "%s", o->network);
    snprintf(c->binary, sizeof(c->binary), "%s", b->binary);
    snprintf(c->neard_version, sizeof(c->neard_version), "%s", b->version);
    snprintf(c->neard_commit, sizeof(c->neard_commit), "%s", b->commit);
    snprintf(c->neard_sha256, sizeof(c->neard_sha256), "%s", b->sha256);
    snprintf(c->release_url, sizeof(c->release_url), "%s",
             o->release_url != NULL ? o->release_url : NODE_DEFAULT_RELEASE_URL);
    if (o->rpc_addr != NULL && (rc = add_arg(c, &n, "--rpc-addr")) == 0)
        rc = add_arg(c, &n, o->rpc_addr);
    if (rc == 0 && o->network_addr != NULL && (rc = add_arg(c, &n, "--network-addr")) == 0)
        rc = add_arg(c, &n, o->network_addr);
    if (rc == 0 && o->boot_nodes != NULL && (rc = add_arg(c, &n, "--boot-nodes")) == 0)
        rc = add_arg(c, &n, o->boot_nodes);
    if (rc == 0 && o->archival)
        rc = add_arg(c, &n, "--archive");
    for (size_t i = 0; rc == 0 && o->env[i] != NULL; i++)
        rc = (c->env[i] = strdup(o->env[i])) != NULL ? 0 : NU_ENOMEM;
    c->restart = o->restart;
    c->log_max_size = o->log_max_size;
    c->log_keep = o->log_keep;
    c->stop_timeout_s = o->stop_timeout;
    snprintf(c->metrics_textfile_dir, sizeof(c->metrics_textfile_dir), "%s", o->metrics_dir);
    snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s",
             o->metrics_listen != NULL ? o->metrics_listen : "");
    if (rc < 0)
        return nu_err_set(err, rc, "out of memory");
    return node_runcfg_save(o->home, c, err);
}

/* ---- starting ---- */

/* Prints a multi-line error: first line as is, the rest indented. */
static void print_error(const char *cmd, const char *msg)
{
    const char *nl = strchr(msg, '\n');
    if (nl == NULL) {
        cli_error(cmd, "%s", msg);
        return;
    }
    fprintf(stderr, "nearup %s: %.*s\n", cmd, (int)(nl - msg), msg);
    for (const char *line = nl + 1; *line != '\0';) {
        nl = strchr(line, '\n');
        int len = nl != NULL ? (int)(nl - line) : (int)strlen(line);
        fprintf(stderr, "  %.*s\n", len, line);
        line += len + (nl != NULL);
    }
}

int cli_start_detached_ex(const char *cmd, const char *home, unsigned ready_timeout_s,
                          const volatile sig_atomic_t *cancel)
{
    char err[NU_ERRMSG_MAX], rpc[256], version[NODE_VERSION_MAX] = "unknown", log[PATH_MAX];
    struct node_pidfile pf;
    struct node_run_config c;
    int rc = node_supervisor_start_ex(home, ready_timeout_s, cancel, err);
    if (rc == NU_EEXIST) {
        cli_error(cmd, "%s; use 'nearup stop --home %s'", err, home);
        return 1;
    }
    if (rc < 0) {
        print_error(cmd, err);
        return 1;
    }
    if (node_runcfg_load(home, &c, NULL) == 0) {
        if (c.neard_version[0] != '\0')
            snprintf(version, sizeof(version), "%s", c.neard_version);
        else if (node_neard_version(c.binary, version, sizeof(version), NULL) < 0)
            snprintf(version, sizeof(version), "unknown");
        if (node_runcfg_rpc_addr(home, &c, rpc, sizeof(rpc), NULL) < 0)
            snprintf(rpc, sizeof(rpc), "disabled");
        node_runcfg_release(&c);
    }
    if (node_state_path(home, NODE_NEARD_LOG, log, sizeof(log)) < 0)
        log[0] = '\0';
    long pid = node_pidfile_read(home, NODE_NEARD_PID, &pf, NULL) == 0 ? (long)pf.pid : 0;
    printf("nearup %s: neard %s running for %s (pid %ld), rpc %s%s, logs %s\n", cmd, version, home,
           pid, strcmp(rpc, "disabled") == 0 ? "" : "http://", rpc, log);
    return 0;
}

static int prepare(struct run_opts *o, struct chosen *b, char *err)
{
    struct node_home_opts ho = {
        .home = o->home,
        .network = o->network,
        .account_id = o->account_id,
        .boot_nodes = o->boot_nodes,
        .release_url = o->release_url,
        .archival = o->archival,
        .allow_mainnet_validator = o->allow_mainnet_validator,
    };
    if (strcmp(o->network, "mainnet") == 0 && o->account_id != NULL && !o->allow_mainnet_validator)
        return nu_err_set(err, NU_EPERM,
                          "--account-id on mainnet makes a validator; pass "
                          "--allow-mainnet-validator if that is what you want");
    int rc = choose_binary(o, b, err);
    if (rc < 0)
        return rc;
    ho.neard = b->binary;
    rc = node_home_prepare(&ho, err);
    if (rc == 0)
        rc = check_ports(o, err);
    if (rc == 0)
        rc = node_state_init(o->home, err);
    return rc;
}

/* --from-snapshot: a new node (no data yet) restores before its first
 * start, under the home lock run holds (relabelled while it restores).
 * o->chain gets what the references said. */
static int from_snapshot(struct run_opts *o, int lock, char *err)
{
    struct snap_restore_result r;
    memset(&r, 0, sizeof(r));
    int rc = node_home_lock_relabel(lock, NODE_LOCK_RESTORE);
    if (rc == 0)
        rc = snap_bootstrap_home(&(struct snap_bootstrap_opts){.home = o->home,
                                                               .store = o->from_snapshot,
                                                               .s3_endpoint = o->s3_endpoint,
                                                               .verify_key = o->verify_key,
                                                               .verify = &o->verify.refs,
                                                               .cancel = &cli_cancelled},
                                 &r, err);
    else
        nu_err_set(err, rc, "cannot write the home lock of %s", o->home);
    o->chain = r.chain;
    if (node_home_lock_relabel(lock, NODE_LOCK_RUN) < 0 && rc == 0)
        rc = nu_err_set(err, NU_EIO, "cannot write the home lock of %s", o->home);
    if (rc < 0) {
        char why[NU_ERRMSG_MAX], store[NODE_URL_MAX];
        snprintf(why, sizeof(why), "%s", err);
        nu_redact(o->from_snapshot, store, sizeof(store)); /* before it is cut short */
        return nu_err_set(err, rc, "--from-snapshot %.200s: %.280s", store, why);
    }
    if (r.skipped)
        printf("nearup run: %s already has data; not restoring --from-snapshot\n", r.data_dir);
    else
        printf("nearup run: restored snapshot %s (height %lld, %zu files) into %s\n", r.name,
               (long long)r.height, r.files, r.data_dir);
    if (!r.skipped && r.chain.checked) {
        printf("nearup run: block %lld (hash %s) is confirmed by %zu of %zu references (%u "
               "needed); neard must show it too before it is reported running\n",
               (long long)r.chain.height, r.chain.hash, r.chain.matches, r.chain.nrefs,
               r.chain.quorum);
        cli_verify_report("run", &r.chain, stdout);
    }
    return 0;
}

/* What touches the data dirs before the first start, under the home lock:
 * an interrupted restore's swap settled, --reset-data, --from-snapshot. */
static int prepare_data(struct run_opts *o, int lock, char *err)
{
    struct node_swap_recovery rec;
    int rc = node_swap_recover(o->home, &rec, err);
    if (rc == 0 && rec.outcome != NODE_SWAP_NOTHING)
        printf("nearup run: %s\n", rec.note);
    if (rc == 0 && o->reset_data)
        rc = node_home_reset_data(o->home, err);
    if (rc == 0 && o->from_snapshot != NULL)
        rc = from_snapshot(o, lock, err);
    return rc;
}

/* Everything before the start: the home, its data, run.json, the registry. */
static int prepare_all(struct run_opts *o, char *err)
{
    struct chosen b;
    struct node_run_config c;
    int lock = -1;
    int rc = prepare(o, &b, err);
    if (rc == 0 && (rc = node_home_lock(o->home, NODE_LOCK_RUN, &lock, err)) == NU_EEXIST) {
        char why[NU_ERRMSG_MAX];
        snprintf(why, sizeof(why), "%s", err);
        nu_err_set(err, rc, "%.400s; use 'nearup stop --home %s'", why, o->home);
    }
    if (rc == 0)
        rc = prepare_data(o, lock, err);
    if (rc == 0) {
        rc = build_runcfg(o, &b, &c, err);
        node_runcfg_release(&c);
    }
    if (rc == 0)
        rc = node_registry_add(o->home, err);
    node_state_unlock(lock);
    return rc;
}

/* A home someone else holds (a supervisor, a restore) is refused before
 * anything is downloaded or changed. */
static int refuse_busy(const char *home)
{
    char err[NU_ERRMSG_MAX];
    int rc = node_home_busy(home, err);
    if (rc == NU_EEXIST)
        cli_error("run", "%s; use 'nearup stop --home %s'", err, home);
    else if (rc < 0)
        cli_error("run", "%s", err);
    return rc < 0 ? 1 : 0;
}

/* ---- the Python nearup's spellings ---- */

/* The index of the NETWORK word when it is "localnet" and the command line
 * is not a unit's (--foreground), else 0. */
static int localnet_word(int argc, char **argv)
{
    const struct nu_settings_table tables[] = {{opts, CLI_NOPTS(opts)},
                                               {cli_localnet_doc.opts, cli_localnet_doc.nopts}};
    int at = nu_args_first_positional(tables, 2, argc, argv, 1);
    if (at >= argc || strcmp(argv[at], "localnet") != 0)
        return 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--foreground") == 0)
            return 0;
    return at;
}

/* `nearup run localnet ...` runs `nearup localnet ...`. */
static int run_localnet(int argc, char **argv, int at)
{
    char **args = calloc((size_t)argc, sizeof(*args));
    if (args == NULL) {
        cli_error("run", "out of memory");
        return 1;
    }
    args[0] = "localnet";
    for (int i = 1, k = 1; i < argc; i++)
        if (i != at)
            args[k++] = argv[i];
    cli_hint("nearup run localnet is spelled nearup localnet here");
    int rc = cmd_localnet(argc - 1, args);
    free(args);
    return rc;
}

/* --interactive: a new home asks for the validator account, as the
 * Python nearup did. Returns 0 to go on, else the exit code. */
static int ask_account(struct run_opts *o, char *answer, size_t size)
{
    char cfg[PATH_MAX];
    if (!o->interactive || o->account_id != NULL ||
        (nu_fs_join(cfg, sizeof(cfg), o->home, "config.json") == 0 && nu_fs_exists(cfg)))
        return 0;
    int rc = cli_prompt("account id this node validates for (empty: none): ", answer, size);
    if (rc == NU_ESTATE)
        return cli_usage("run", "--interactive asks on a terminal, and stdin is not one; pass "
                                "--account-id A instead");
    if (rc != 0) {
        cli_error("run", "no answer to --interactive's question; nothing was started");
        return 1;
    }
    o->account_id = answer[0] != '\0' ? answer : NULL;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    char err[NU_ERRMSG_MAX], def[PATH_MAX], account[256];
    int at = localnet_word(argc, argv);
    if (at > 0)
        return run_localnet(argc, argv, at);
    memset(&o, 0, sizeof(o));
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    snprintf(def, sizeof(def), "~/.near/%s", o.network);
    if (node_abspath(o.home_arg != NULL ? o.home_arg : def, o.home, sizeof(o.home), err) < 0) {
        cli_error("run", "%s", err);
        return 2;
    }
    char prog[PATH_MAX]; /* before anything is done for a run that cannot start */
    if (node_supervisor_path(prog, sizeof(prog), err) < 0) {
        cli_error("run", "%s", err);
        return 1;
    }
    if (refuse_busy(o.home) != 0 || cli_refuse_python_node("run") != 0)
        return 1;
    if ((rc = ask_account(&o, account, sizeof(account))) != 0)
        return rc;
    rc = prepare_all(&o, err);
    if (rc < 0) {
        print_error("run", err);
        cli_verify_report("run", &o.chain, stderr);
        return 1;
    }
    if (cli_cancelled) {
        cli_error("run", "interrupted; nothing was started");
        return 1;
    }
    if (!o.foreground)
        return cli_start_detached_ex("run", o.home, o.ready_timeout, &cli_cancelled);
    /* This process becomes the supervisor (the pid systemd watches). */
    char *args[] = {"--home", o.home, getenv("NOTIFY_SOCKET") != NULL ? "--notify" : NULL, NULL};
    rc = node_supervisor_exec("run", args, err);
    print_error("run", err);
    return 1;
}
