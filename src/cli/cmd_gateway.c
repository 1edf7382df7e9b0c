/* nearup gateway: the NEAR-aware JSON-RPC gateway (docs/gateway.md).
 *
 *   nearup gateway [-c FILE] [--upstream [NAME=]URL[,opts]]... [--SETTING VALUE]...
 *   nearup gateway -c FILE --dump-config | --check
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gw_config.h"
#include "gw_gateway.h"
#include "log.h"

struct args {
    const char *file;
    bool dump, check;
    struct gw_flag *flags; /* settings, --upstream, --method-cost: as given, in order */
    size_t nflags, maxflags;
};

/* Flags the config loader applies after the file and the environment. */
static int collect(const struct nu_setting *s, void *obj, const char *value, char *msg,
                   size_t msgsz)
{
    struct args *a = obj;
    if (a->nflags >= a->maxflags) {
        snprintf(msg, msgsz, "too many flags");
        return NU_EINVAL;
    }
    a->flags[a->nflags++] = (struct gw_flag){.name = s->name, .value = value};
    return 0;
}

static const struct nu_setting own_opts[] = {
    {.name = "config",
     .short_name = 'c',
     .type = NU_T_STR,
     NU_FIELD(struct args, file),
     .metavar = "FILE",
     .help = "INI file ([gateway], [health], [proxy], [limits], [ratelimit], [method_cost] and "
             "one [upstream NAME] section per upstream)"},
    {.name = "dump-config",
     .type = NU_T_BOOL,
     NU_FIELD(struct args, dump),
     .help = "print the effective configuration (loadable INI) and exit"},
    {.name = "check",
     .type = NU_T_BOOL,
     NU_FIELD(struct args, check),
     .help = "validate the configuration and exit"},
    {.name = "upstream",
     .type = NU_T_STR,
     .metavar = "[NAME=]URL[,archival][,zone=Z][,weight=N][,max_inflight=N]",
     .set = collect,
     .help = "an upstream neard (repeatable; with -c, added to the file's)"},
    {.name = "method-cost",
     .type = NU_T_STR,
     .metavar = "METHOD=N",
     .set = collect,
     .help = "rate-limit tokens one call of METHOD costs (repeatable; default 1)"},
};

#define NOWN CLI_NOPTS(own_opts)

const struct cli_doc cli_gateway_doc = {
    .prog = "gateway",
    .summary = "NEAR-aware JSON-RPC gateway in front of RPC nodes",
    .usage = "nearup gateway [-c FILE] [--upstream [NAME=]URL[,archival][,zone=Z][,weight=N]"
             "[,max_inflight=N]]...\n"
             "                      [--method-cost METHOD=N]... [--SETTING VALUE]... "
             "[--dump-config] [--check]",
    .about = "Runs a JSON-RPC gateway in front of neard RPC nodes: NEAR-aware health checks,\n"
             "archival routing, retries, load shedding, rate limits and per-method metrics.\n"
             "Settings come from defaults, then the INI file (-c), then\n"
             "NEARUP_GATEWAY_<SETTING> variables, then flags. SIGHUP reloads the file;\n"
             "SIGTERM/SIGINT drain and stop. See docs/gateway.md.\n",
    .opts = own_opts,
    .nopts = NOWN,
    .settings = &gw_settings_table,
};

/* The command line: the own flags, then every gateway setting as a flag
 * (collected, so the loader applies it after the file). */
static int parse_args(int argc, char **argv, struct args *a)
{
    struct nu_setting *t = calloc(NOWN + gw_nsettings, sizeof(*t));
    if (t == NULL) {
        cli_error("gateway", "out of memory");
        return 1;
    }
    memcpy(t, own_opts, sizeof(own_opts));
    for (size_t i = 0; i < gw_nsettings; i++) {
        t[NOWN + i] = gw_settings[i];
        t[NOWN + i].def = NULL;
        t[NOWN + i].set = collect;
    }
    int rc = cli_parse_table(&cli_gateway_doc, t, NOWN + gw_nsettings, argc, argv, a);
    free(t);
    return rc;
}

static void print_errors(const struct nu_buf *errs)
{
    const char *p = errs->data ? errs->data : "";
    while (*p) {
        size_t n = strcspn(p, "\n");
        cli_error("gateway", "%.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static int run(struct args *a)
{
    struct nu_buf errs;
    nu_buf_init(&errs, 64 * 1024);
    struct gw_config *cfg = NULL;
    char errbuf[NU_ERRMSG_MAX];
    int rc = 0;
    if (!a->dump && !a->check) {
        /* the gateway loads the file itself, once its signals are watched */
        if (gw_gateway_run(a->file, a->flags, a->nflags, &errs, errbuf) != 0) {
            if (errbuf[0])
                cli_error("gateway", "%s", errbuf);
            print_errors(&errs);
            rc = 1;
        }
        goto out;
    }
    if (gw_config_load(a->file, a->flags, a->nflags, &cfg, &errs) != 0) {
        print_errors(&errs);
        rc = 1;
        goto out;
    }
    if (a->dump) {
        struct nu_buf b;
        nu_buf_init(&b, 1 << 20);
        rc = gw_config_dump(cfg, &b) ? 1 : 0;
        if (!rc)
            fputs(b.data, stdout);
        nu_buf_release(&b);
        goto out;
    }
    printf("configuration ok: %zu upstreams\n", cfg->nups);
out:
    gw_config_unref(cfg);
    nu_buf_release(&errs);
    return rc;
}

int cmd_gateway(int argc, char **argv)
{
    struct args a = {.maxflags = (size_t)argc};
    a.flags = calloc((size_t)argc + 1, sizeof(*a.flags));
    if (!a.flags) {
        cli_error("gateway", "out of memory");
        return 1;
    }
    int rc = parse_args(argc, argv, &a);
    if (rc == 0)
        rc = run(&a);
    free(a.flags);
    return rc < 0 ? 0 : rc;
}
