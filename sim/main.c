/* neard-sim: command line in neard's shape (clap): global flags, then one
 * subcommand from the table below. Usage errors look like clap's and exit 2;
 * init errors look like anyhow's and exit 1; run panics like neard. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "args.h"
#include "fs.h"

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv, const char *home, bool sim_control);
    const char *help;
};

static bool is_command(const char *s);

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("error: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\nUsage: %s\n\nFor more information, try '--help'.\n", usage);
    return 2;
}

/* clap num_args(0..=1): the next word is the value unless it is a command. */
static bool optional_value(const char *word, void *ud)
{
    (void)ud;
    return !is_command(word);
}

/* A parse failure as clap words it. Returns the exit code (2). */
static int clap_error(const struct nu_args_error *e, const char *usage)
{
    char what[160];
    const struct nu_setting *s = e->s;
    if (s != NULL)
        snprintf(what, sizeof(what), "--%s <%s>", s->name, s->metavar ? s->metavar : "VALUE");
    switch (e->status) {
    case NU_ARGS_E_NEEDS_VALUE:
        return usage_error(usage, "a value is required for '%s' but none was supplied", what);
    case NU_ARGS_E_UNEXPECTED_VALUE:
        return usage_error(usage, "unexpected value for '%s'", e->word);
    case NU_ARGS_E_BAD_VALUE:
        if (s->type != NU_T_UINT)
            return usage_error(usage, "%s", e->msg);
        fprintf(stderr,
                "error: invalid value '%s' for '%s': invalid digit found in string"
                "\n\nFor more information, try '--help'.\n",
                e->value, what);
        return 2;
    default:
        return usage_error(usage, "unexpected argument '%s' found", e->word);
    }
}

/* Parses argv[start..] against t into obj (clap's rules: no positionals
 * unless stop, where the first one ends the options). 0 or exit code 2. */
static int parse_opts(int argc, char **argv, int start, const struct nu_setting *t, size_t n,
                      void *obj, const char *usage, bool stop, int *next)
{
    struct nu_args a = {.table = t,
                        .n = n,
                        .obj = obj,
                        .flags = stop ? NU_ARGS_STOP : 0,
                        .optional_value = optional_value};
    if (nu_args_parse(&a, argc, argv, start) != NU_ARGS_OK)
        return clap_error(&a.err, usage);
    if (next != NULL)
        *next = a.next;
    return 0;
}

/* neard rejects an empty --chain-id as if no value had been given. */
static int set_chain_id(const struct nu_setting *s, void *obj, const char *v, char *msg,
                        size_t msgsz)
{
    if (v[0] == '\0') {
        snprintf(msg, msgsz, "a value is required for '--%s <%s>' but none was supplied", s->name,
                 s->metavar);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, v, msg, msgsz);
}

#define NUMBER(n, field, meta, ...)                                                                \
    {                                                                                              \
        .name = n, .type = NU_T_UINT, field, .max = UINT_MAX, .metavar = meta, __VA_ARGS__         \
    }
#define VALUE(n, field, meta)                                                                      \
    {                                                                                              \
        .name = n, .type = NU_T_STR, field, .metavar = meta                                        \
    }
#define FLAG(n, field)                                                                             \
    {                                                                                              \
        .name = n, .type = NU_T_BOOL, field                                                        \
    }

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

struct init_args {
    struct sim_init_opts o;
    const char *download_config, *ignored;
};

#define I(f) NU_FIELD(struct init_args, f)

static const struct nu_setting init_opts[] = {
    {.name = "chain-id",
     .type = NU_T_STR,
     I(o.chain_id),
     .metavar = "CHAIN_ID",
     .set = set_chain_id},
    VALUE("account-id", I(o.account_id), "ACCOUNT_ID"),
    VALUE("boot-nodes", I(o.boot_nodes), "BOOT_NODES"),
    VALUE("genesis", I(o.genesis), "GENESIS"),
    FLAG("download-genesis", I(o.download_genesis)),
    VALUE("download-genesis-url", I(o.download_genesis_url), "DOWNLOAD_GENESIS_URL"),
    VALUE("download-records-url", I(ignored), "DOWNLOAD_RECORDS_URL"),
    {.name = "download-config",
     .type = NU_T_STR,
     I(download_config),
     .flags = NU_S_OPTVALUE,
     .metavar = "DOWNLOAD_CONFIG"},
    VALUE("download-config-url", I(o.download_config_url), "DOWNLOAD_CONFIG_URL"),
    FLAG("fast", I(o.fast)),
    NUMBER("num-shards", I(o.num_shards), "NUM_SHARDS"),
    VALUE("test-seed", I(o.test_seed), "TEST_SEED"),
    VALUE("max-gas-burnt-view", I(ignored), "MAX_GAS_BURNT_VIEW"),
};

static int cmd_init(int argc, char **argv, const char *home, bool sim_control)
{
    static const char usage[] = "neard init [OPTIONS]";
    struct init_args a = {.o = {.home = home, .num_shards = 1}};
    struct sim_init_opts *o = &a.o;
    if (wants_help(argc, argv)) {
        printf("Initializes NEAR configuration\n\nUsage: %s\n\nOptions:\n"
               "      --download-genesis\n      --download-config [<DOWNLOAD_CONFIG>]\n"
               "      --fast\n      --account-id <ACCOUNT_ID>\n      --chain-id <CHAIN_ID>\n"
               "      --download-genesis-url <URL>\n      --download-config-url <URL>\n"
               "      --genesis <GENESIS>\n      --boot-nodes <BOOT_NODES>\n"
               "      --num-shards <NUM_SHARDS>  [default: 1]\n      --test-seed <TEST_SEED>\n",
               usage);
        return 0;
    }
    (void)sim_control;
    int rc = parse_opts(argc, argv, 1, init_opts, sizeof(init_opts) / sizeof(init_opts[0]), &a,
                        usage, false, NULL);
    if (rc)
        return rc;
    if (a.download_config != NULL)
        o->download_config = a.download_config[0] ? a.download_config : "validator";
    /* Checked before init_configs in neard, so without its context. */
    if ((o->download_genesis || o->download_genesis_url) && o->genesis) {
        fputs("Error: Please give either --genesis or --download-genesis, not both.\n", stderr);
        return 1;
    }
    if (o->download_config && strcmp(o->download_config, "validator") != 0 &&
        strcmp(o->download_config, "rpc") != 0 && strcmp(o->download_config, "archival") != 0) {
        fprintf(stderr,
                "Error: invalid download config type '%s', expected one of validator, "
                "rpc, archival\n",
                o->download_config);
        return 1;
    }
    char err[NU_ERRMSG_MAX] = "";
    if (sim_init(o, err) < 0) {
        sim_err_context(err, "Failed to initialize configs");
        sim_print_error(err);
        return 1;
    }
    return 0;
}

#define L(f) NU_FIELD(struct sim_localnet_opts, f)

static const struct nu_setting localnet_opts[] = {
    NUMBER("shards", L(shards), "SHARDS", .short_name = 's'),
    NUMBER("validators", L(validators), "VALIDATORS", .short_name = 'v'),
    NUMBER("non-validators", L(non_validators), "NON_VALIDATORS", .short_name = 'n'),
    NUMBER("non-validators-rpc", L(rpc), "NON_VALIDATORS_RPC"),
    NUMBER("non-validators-archival", L(archival), "NON_VALIDATORS_ARCHIVAL"),
    VALUE("prefix", L(prefix), "PREFIX"),
    VALUE("tracked-shards", L(tracked_shards), "TRACKED_SHARDS"),
    FLAG("archival-nodes", L(archival_nodes)),
    FLAG("fixed-shards", L(fixed_shards)),
    /* clap's aliases (older neards' spellings), as neard's LocalnetCmd has them */
    {.name = "v", .alias_of = "validators", .flags = NU_S_HIDDEN},
    {.name = "n", .alias_of = "non-validators", .flags = NU_S_HIDDEN},
};

static int cmd_localnet(int argc, char **argv, const char *home, bool sim_control)
{
    static const char usage[] = "neard localnet [OPTIONS]";
    struct sim_localnet_opts o = {
        .home = home, .shards = 1, .validators = 4, .prefix = "node", .tracked_shards = "all"};
    if (wants_help(argc, argv)) {
        printf(
            "Sets up local configuration with all necessary files (validator key, node key, "
            "genesis and config)\n\nUsage: %s\n\nOptions:\n"
            "  -s, --shards <SHARDS>  [default: 1]\n  -v, --validators <VALIDATORS>  [default: 4]\n"
            "      --non-validators-archival <N>  [default: 0]\n"
            "      --non-validators-rpc <N>  [default: 0]\n"
            "  -n, --non-validators <N>  [default: 0]\n      --prefix <PREFIX>  [default: node]\n"
            "      --tracked-shards <TRACKED_SHARDS>  [default: all]\n"
            "      --archival-nodes  (older neard) every node is archival\n"
            "      --fixed-shards    (older neard) shard_layout V1 with fixed shards shard0..\n",
            usage);
        return 0;
    }
    (void)sim_control;
    int rc = parse_opts(argc, argv, 1, localnet_opts,
                        sizeof(localnet_opts) / sizeof(localnet_opts[0]), &o, usage, false, NULL);
    if (rc)
        return rc;
    char err[NU_ERRMSG_MAX] = "";
    if (sim_localnet(&o, err) < 0) {
        sim_print_error(err);
        return 1;
    }
    return 0;
}

struct run_args {
    struct sim_run_opts o;
    const char *ignored;
    bool disable_rpc;
};

#define R(f) NU_FIELD(struct run_args, f)

static int set_min_peers(const struct nu_setting *s, void *obj, const char *v, char *msg,
                         size_t msgsz)
{
    ((struct run_args *)obj)->o.has_min_peers = true;
    return nu_setting_store(s, obj, v, msg, msgsz);
}

static const struct nu_setting run_opts[] = {
    FLAG("archive", R(o.archive)),
    VALUE("boot-nodes", R(o.boot_nodes), "BOOT_NODES"),
    NUMBER("min-peers", R(o.min_peers), "MIN_PEERS", .set = set_min_peers),
    VALUE("network-addr", R(o.network_addr), "NETWORK_ADDR"),
    VALUE("rpc-addr", R(o.rpc_addr), "RPC_ADDR"),
    VALUE("rpc-prometheus-addr", R(ignored), "RPC_PROMETHEUS_ADDR"),
    VALUE("telemetry-url", R(ignored), "TELEMETRY_URL"),
    VALUE("produce-empty-blocks", R(ignored), "PRODUCE_EMPTY_BLOCKS"),
    VALUE("connect-to-reliable-peers-on-startup", R(ignored), "BOOL"),
    VALUE("max-gas-burnt-view", R(ignored), "MAX_GAS_BURNT_VIEW"),
    FLAG("disable-rpc", R(disable_rpc)),
};

static int cmd_run(int argc, char **argv, const char *home, bool sim_control)
{
    static const char usage[] = "neard run [OPTIONS]";
    struct run_args a = {.o = {.home = home, .sim_control = sim_control}};
    if (wants_help(argc, argv)) {
        printf("Runs NEAR node\n\nUsage: %s\n\nOptions:\n      --archive\n"
               "      --boot-nodes <BOOT_NODES>\n      --min-peers <MIN_PEERS>\n"
               "      --network-addr <NETWORK_ADDR>\n      --rpc-addr <RPC_ADDR>\n",
               usage);
        return 0;
    }
    int rc = parse_opts(argc, argv, 1, run_opts, sizeof(run_opts) / sizeof(run_opts[0]), &a, usage,
                        false, NULL);
    if (rc)
        return rc;
    if (a.disable_rpc)
        a.o.rpc_addr = ""; /* --disable-rpc: no HTTP server */
    return sim_node_run(&a.o);
}

static const struct cli_cmd commands[] = {
    {"init", cmd_init, "Initializes NEAR configuration"},
    {"run", cmd_run, "Runs NEAR node"},
    {"localnet", cmd_localnet, "Sets up local configuration with all necessary files"},
};

static bool is_command(const char *s)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(s, commands[i].name) == 0)
            return true;
    return false;
}

static void print_help(FILE *f)
{
    fprintf(f, "neard-sim: offline simulator of neard (NEAR Protocol Node)\n\n"
               "Usage: neard [OPTIONS] <COMMAND>\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(
        f, "\nOptions:\n      --home <HOME>          Directory for config and data\n"
           "      --verbose [<TARGET>]   Ignored (deprecated in neard)\n"
           "      --unsafe-fast-startup  Ignored\n"
           "      --sim-control          Enable failure injection (POST /sim/control)\n"
           "  -h, --help                 Print help\n  -V, --version              Print version\n");
}

static void default_home(char *out, size_t outsz)
{
    const char *env = getenv("NEAR_HOME");
    const char *h = getenv("HOME");
    if (env && env[0])
        snprintf(out, outsz, "%s", env);
    else
        snprintf(out, outsz, "%s/.near", h && h[0] ? h : ".");
}

struct globals {
    const char *home, *verbose, *color;
    bool fast_startup, sim_control, help, version;
};

#define G(f) NU_FIELD(struct globals, f)

static const struct nu_setting global_opts[] = {
    VALUE("home", G(home), "HOME"),
    {.name = "verbose", .type = NU_T_STR, G(verbose), .flags = NU_S_OPTVALUE, .metavar = "TARGET"},
    FLAG("unsafe-fast-startup", G(fast_startup)),
    FLAG("sim-control", G(sim_control)),
    VALUE("color", G(color), "COLOR"),
    {.name = "help", .short_name = 'h', .type = NU_T_BOOL, G(help)},
    {.name = "version", .short_name = 'V', .type = NU_T_BOOL, G(version)},
};

int main(int argc, char **argv)
{
    static const char usage[] = "neard [OPTIONS] <COMMAND>";
    struct globals g = {0};
    int next = 1;
    int rc = parse_opts(argc, argv, 1, global_opts, sizeof(global_opts) / sizeof(global_opts[0]),
                        &g, usage, true, &next);
    if (rc)
        return rc;
    if (g.version) {
        printf("neard (release %s) (build %s) (rustc %s) (protocol %u) (db %d)\n", sim_release(),
               SIM_BUILD, SIM_RUSTC, sim_protocol(), SIM_DB_VERSION);
        return 0;
    }
    if (g.help) {
        print_help(stdout);
        return 0;
    }
    if (next >= argc) {
        print_help(stderr);
        return 2;
    }
    char home_buf[PATH_MAX];
    const char *home = g.home;
    if (home == NULL) {
        default_home(home_buf, sizeof(home_buf));
        home = home_buf;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[next], commands[i].name) == 0)
            return commands[i].fn(argc - next, argv + next, home, g.sim_control);
    return usage_error(usage, "unrecognized subcommand '%s'", argv[next]);
}
