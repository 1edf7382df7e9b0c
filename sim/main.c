/* neard-sim: command line in neard's shape (clap): global flags, then one
 * subcommand from the table below. Usage errors look like clap's and exit 2;
 * init errors look like anyhow's and exit 1; run panics like neard. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "../src/lib/fs.h"

enum opt_kind { FLAG, VALUE, OPT_VALUE, NUMBER };

struct cli_opt {
    const char *name; /* long name without dashes; "validators|v": also --v (a clap alias) */
    char short_name;  /* 0: none */
    enum opt_kind kind;
    void *dst;   /* bool*, const char**, or unsigned* (NUMBER) */
    bool *given; /* optional: set when present */
    const char *metavar;
};

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

static int parse_number(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 || v > UINT_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Length of the option's own name, before its aliases. */
static int canon_len(const char *name)
{
    return (int)strcspn(name, "|");
}

/* True when the long option word (len bytes, dashes removed) is the name
 * or one of the '|'-separated aliases in names. */
static bool long_name_matches(const char *names, const char *word, size_t len)
{
    for (const char *p = names;; p++) {
        size_t n = strcspn(p, "|");
        if (n == len && strncmp(p, word, len) == 0)
            return true;
        p += n;
        if (*p == '\0')
            return false;
    }
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *arg, size_t len)
{
    for (; opts->name; opts++) {
        if (arg[1] != '-' && len == 2 && opts->short_name == arg[1])
            return opts;
        if (arg[1] == '-' && long_name_matches(opts->name, arg + 2, len - 2))
            return opts;
    }
    return NULL;
}

static int set_value(const struct cli_opt *o, const char *val, const char *usage)
{
    if (o->kind == NUMBER) {
        if (parse_number(val, o->dst) < 0) {
            fprintf(stderr,
                    "error: invalid value '%s' for '--%.*s <%s>': invalid digit found in string"
                    "\n\nFor more information, try '--help'.\n",
                    val, canon_len(o->name), o->name, o->metavar);
            return 2;
        }
    } else {
        if (o->kind == VALUE && val[0] == '\0' && strcmp(o->name, "chain-id") == 0)
            return usage_error(
                usage, "a value is required for '--%s <CHAIN_ID>' but none was supplied", o->name);
        *(const char **)o->dst = val;
    }
    return 0;
}

/* The value of option o at argv[*i] (eq: text after '=' or NULL); advances
 * *i past a separate value word. 0 or exit code 2. */
static int take_value(const struct cli_opt *o, const char *eq, int argc, char **argv, int *i,
                      const char *usage)
{
    const char *val = eq ? eq + 1 : NULL;
    if (val == NULL && o->kind == OPT_VALUE) {
        /* clap num_args(0..=1): take the next word unless it is a flag or a command */
        if (*i + 1 < argc && argv[*i + 1][0] != '-' && !is_command(argv[*i + 1]))
            val = argv[++*i];
        *(const char **)o->dst = val ? val : "";
        return 0;
    }
    if (val == NULL) {
        if (*i + 1 >= argc) {
            char what[160];
            snprintf(what, sizeof(what), "--%.*s <%s>", canon_len(o->name), o->name, o->metavar);
            return usage_error(usage, "a value is required for '%s' but none was supplied", what);
        }
        val = argv[++*i];
    }
    return set_value(o, val, usage);
}

/* Parses argv[start..] against opts. Stops at the first non-option when
 * stop_at_positional (its index goes to *next). 0 or exit code 2. */
static int parse_opts(int argc, char **argv, int start, const struct cli_opt *opts,
                      const char *usage, bool stop_at_positional, int *next)
{
    int i = start;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') {
            if (stop_at_positional)
                break;
            return usage_error(usage, "unexpected argument '%s' found", arg);
        }
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        const struct cli_opt *o = find_opt(opts, arg, eq ? (size_t)(eq - arg) : strlen(arg));
        if (o == NULL)
            return usage_error(usage, "unexpected argument '%s' found", arg);
        if (o->given)
            *o->given = true;
        if (o->kind == FLAG && eq)
            return usage_error(usage, "unexpected value for '%s'", arg);
        if (o->kind == FLAG) {
            *(bool *)o->dst = true;
            continue;
        }
        int rc = take_value(o, eq, argc, argv, &i, usage);
        if (rc)
            return rc;
    }
    if (next)
        *next = i;
    return 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int cmd_init(int argc, char **argv, const char *home, bool sim_control)
{
    static const char usage[] = "neard init [OPTIONS]";
    struct sim_init_opts o = {.home = home, .num_shards = 1};
    const char *download_config = NULL;
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
    const struct cli_opt opts[] = {
        {"chain-id", 0, VALUE, &o.chain_id, NULL, "CHAIN_ID"},
        {"account-id", 0, VALUE, &o.account_id, NULL, "ACCOUNT_ID"},
        {"boot-nodes", 0, VALUE, &o.boot_nodes, NULL, "BOOT_NODES"},
        {"genesis", 0, VALUE, &o.genesis, NULL, "GENESIS"},
        {"download-genesis", 0, FLAG, &o.download_genesis, NULL, NULL},
        {"download-genesis-url", 0, VALUE, &o.download_genesis_url, NULL, "DOWNLOAD_GENESIS_URL"},
        {"download-records-url", 0, VALUE, &(const char *){NULL}, NULL, "DOWNLOAD_RECORDS_URL"},
        {"download-config", 0, OPT_VALUE, &download_config, NULL, "DOWNLOAD_CONFIG"},
        {"download-config-url", 0, VALUE, &o.download_config_url, NULL, "DOWNLOAD_CONFIG_URL"},
        {"fast", 0, FLAG, &o.fast, NULL, NULL},
        {"num-shards", 0, NUMBER, &o.num_shards, NULL, "NUM_SHARDS"},
        {"test-seed", 0, VALUE, &o.test_seed, NULL, "TEST_SEED"},
        {"max-gas-burnt-view", 0, VALUE, &(const char *){NULL}, NULL, "MAX_GAS_BURNT_VIEW"},
        {NULL, 0, FLAG, NULL, NULL, NULL},
    };
    (void)sim_control;
    int rc = parse_opts(argc, argv, 1, opts, usage, false, NULL);
    if (rc)
        return rc;
    if (download_config != NULL)
        o.download_config = download_config[0] ? download_config : "validator";
    /* Checked before init_configs in neard, so without its context. */
    if ((o.download_genesis || o.download_genesis_url) && o.genesis) {
        fputs("Error: Please give either --genesis or --download-genesis, not both.\n", stderr);
        return 1;
    }
    if (o.download_config && strcmp(o.download_config, "validator") != 0 &&
        strcmp(o.download_config, "rpc") != 0 && strcmp(o.download_config, "archival") != 0) {
        fprintf(stderr,
                "Error: invalid download config type '%s', expected one of validator, "
                "rpc, archival\n",
                o.download_config);
        return 1;
    }
    char err[NU_ERRMSG_MAX] = "";
    if (sim_init(&o, err) < 0) {
        sim_err_context(err, "Failed to initialize configs");
        sim_print_error(err);
        return 1;
    }
    return 0;
}

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
    const struct cli_opt opts[] = {
        {"shards", 's', NUMBER, &o.shards, NULL, "SHARDS"},
        {"validators|v", 'v', NUMBER, &o.validators, NULL, "VALIDATORS"},
        {"non-validators|n", 'n', NUMBER, &o.non_validators, NULL, "NON_VALIDATORS"},
        {"non-validators-rpc", 0, NUMBER, &o.rpc, NULL, "NON_VALIDATORS_RPC"},
        {"non-validators-archival", 0, NUMBER, &o.archival, NULL, "NON_VALIDATORS_ARCHIVAL"},
        {"prefix", 0, VALUE, &o.prefix, NULL, "PREFIX"},
        {"tracked-shards", 0, VALUE, &o.tracked_shards, NULL, "TRACKED_SHARDS"},
        {"archival-nodes", 0, FLAG, &o.archival_nodes, NULL, NULL},
        {"fixed-shards", 0, FLAG, &o.fixed_shards, NULL, NULL},
        {NULL, 0, FLAG, NULL, NULL, NULL},
    };
    (void)sim_control;
    int rc = parse_opts(argc, argv, 1, opts, usage, false, NULL);
    if (rc)
        return rc;
    char err[NU_ERRMSG_MAX] = "";
    if (sim_localnet(&o, err) < 0) {
        sim_print_error(err);
        return 1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv, const char *home, bool sim_control)
{
    static const char usage[] = "neard run [OPTIONS]";
    struct sim_run_opts o = {.home = home, .sim_control = sim_control};
    const char *ignored = NULL;
    bool ignored_flag = false;
    if (wants_help(argc, argv)) {
        printf("Runs NEAR node\n\nUsage: %s\n\nOptions:\n      --archive\n"
               "      --boot-nodes <BOOT_NODES>\n      --min-peers <MIN_PEERS>\n"
               "      --network-addr <NETWORK_ADDR>\n      --rpc-addr <RPC_ADDR>\n",
               usage);
        return 0;
    }
    const struct cli_opt opts[] = {
        {"archive", 0, FLAG, &o.archive, NULL, NULL},
        {"boot-nodes", 0, VALUE, &o.boot_nodes, NULL, "BOOT_NODES"},
        {"min-peers", 0, NUMBER, &o.min_peers, &o.has_min_peers, "MIN_PEERS"},
        {"network-addr", 0, VALUE, &o.network_addr, NULL, "NETWORK_ADDR"},
        {"rpc-addr", 0, VALUE, &o.rpc_addr, NULL, "RPC_ADDR"},
        {"rpc-prometheus-addr", 0, VALUE, &ignored, NULL, "RPC_PROMETHEUS_ADDR"},
        {"telemetry-url", 0, VALUE, &ignored, NULL, "TELEMETRY_URL"},
        {"produce-empty-blocks", 0, VALUE, &ignored, NULL, "PRODUCE_EMPTY_BLOCKS"},
        {"connect-to-reliable-peers-on-startup", 0, VALUE, &ignored, NULL, "BOOL"},
        {"max-gas-burnt-view", 0, VALUE, &ignored, NULL, "MAX_GAS_BURNT_VIEW"},
        {"disable-rpc", 0, FLAG, &ignored_flag, NULL, NULL},
        {NULL, 0, FLAG, NULL, NULL, NULL},
    };
    int rc = parse_opts(argc, argv, 1, opts, usage, false, NULL);
    if (rc)
        return rc;
    if (ignored_flag)
        o.rpc_addr = ""; /* --disable-rpc: no HTTP server */
    return sim_node_run(&o);
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

int main(int argc, char **argv)
{
    static const char usage[] = "neard [OPTIONS] <COMMAND>";
    const char *home = NULL, *verbose = NULL, *color = NULL;
    bool fast_startup = false, sim_control = false, help = false, version = false;
    const struct cli_opt globals[] = {
        {"home", 0, VALUE, &home, NULL, "HOME"},
        {"verbose", 0, OPT_VALUE, &verbose, NULL, "TARGET"},
        {"unsafe-fast-startup", 0, FLAG, &fast_startup, NULL, NULL},
        {"sim-control", 0, FLAG, &sim_control, NULL, NULL},
        {"color", 0, VALUE, &color, NULL, "COLOR"},
        {"help", 'h', FLAG, &help, NULL, NULL},
        {"version", 'V', FLAG, &version, NULL, NULL},
        {NULL, 0, FLAG, NULL, NULL, NULL},
    };
    int next = 1;
    int rc = parse_opts(argc, argv, 1, globals, usage, true, &next);
    if (rc)
        return rc;
    if (version) {
        printf("neard (release %s) (build %s) (rustc %s) (protocol %d) (db %d)\n", sim_release(),
               SIM_BUILD, SIM_RUSTC, SIM_PROTOCOL, SIM_DB_VERSION);
        return 0;
    }
    if (help) {
        print_help(stdout);
        return 0;
    }
    if (next >= argc) {
        print_help(stderr);
        return 2;
    }
    char home_buf[PATH_MAX];
    if (home == NULL) {
        default_home(home_buf, sizeof(home_buf));
        home = home_buf;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[next], commands[i].name) == 0)
            return commands[i].fn(argc - next, argv + next, home, sim_control);
    return usage_error(usage, "unrecognized subcommand '%s'", argv[next]);
}
