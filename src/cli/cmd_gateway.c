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

static const char usage_text[] =
    "usage: nearup gateway [-c FILE] [--upstream [NAME=]URL[,archival][,zone=Z][,weight=N]"
    "[,max_inflight=N]]...\n"
    "                      [--method-cost METHOD=N]... [--SETTING VALUE]... [--dump-config] "
    "[--check]\n"
    "\n"
    "Runs a JSON-RPC gateway in front of neard RPC nodes: NEAR-aware health checks, archival\n"
    "routing, retries, load shedding, rate limits and per-method metrics. Settings come from\n"
    "defaults, then the INI file (-c), then NEARUP_GATEWAY_<SETTING> variables, then flags.\n"
    "SIGHUP reloads the file; SIGTERM/SIGINT drain and stop. See docs/gateway.md.\n"
    "\n"
    "  -c, --config FILE      INI file ([gateway], [health], [proxy], [limits], [ratelimit],\n"
    "                         [method_cost] and one [upstream NAME] section per upstream)\n"
    "  --dump-config          print the effective configuration (loadable INI) and exit\n"
    "  --check                validate the configuration and exit\n"
    "\nsettings (also valid as NAME = VALUE in the file):\n";

struct args {
    const char *file;
    bool dump, check;
    struct gw_flag *flags;
    size_t nflags;
};

/* Splits "--name=value" or "--name value"; returns the args consumed, 0 on error. */
static int take_flag(int argc, char **argv, int i, struct args *a)
{
    const char *arg = argv[i] + 2, *eq = strchr(arg, '=');
    static char names[256][64];
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n == 0 || n >= sizeof(names[0]) || a->nflags >= 256) {
        cli_error("gateway", "bad option %s; see nearup gateway --help", argv[i]);
        return 0;
    }
    memcpy(names[a->nflags], arg, n);
    names[a->nflags][n] = '\0';
    if (!gw_config_is_flag(names[a->nflags])) {
        cli_error("gateway", "unknown option --%s; see nearup gateway --help", names[a->nflags]);
        return 0;
    }
    if (!eq && i + 1 >= argc) {
        cli_error("gateway", "option --%s needs a value", names[a->nflags]);
        return 0;
    }
    a->flags[a->nflags].name = names[a->nflags];
    a->flags[a->nflags].value = eq ? eq + 1 : argv[i + 1];
    a->nflags++;
    return eq ? 1 : 2;
}

static int print_help(void)
{
    struct nu_buf b;
    nu_buf_init(&b, 1 << 20);
    int err = gw_config_help(&b);
    fputs(usage_text, stdout);
    if (!err)
        fputs(b.data, stdout);
    nu_buf_release(&b);
    return err ? 1 : 0;
}

/* 0 when parsed, else the exit code (help: 0 after printing, usage: 2). */
static int parse_args(int argc, char **argv, struct args *a, bool *done)
{
    for (int i = 1; i < argc;) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            *done = true;
            return print_help();
        }
        if (!strcmp(s, "-c") || !strcmp(s, "--config")) {
            if (i + 1 >= argc) {
                cli_error("gateway", "%s needs a file", s);
                return 2;
            }
            a->file = argv[i + 1];
            i += 2;
        } else if (!strncmp(s, "--config=", 9)) {
            a->file = s + 9;
            i++;
        } else if (!strcmp(s, "--dump-config") || !strcmp(s, "--check")) {
            a->dump = a->dump || s[2] == 'd';
            a->check = a->check || s[2] == 'c';
            i++;
        } else if (!strncmp(s, "--", 2)) {
            int used = take_flag(argc, argv, i, a);
            if (!used)
                return 2;
            i += used;
        } else {
            cli_error("gateway", "unexpected argument '%s'; see nearup gateway --help", s);
            return 2;
        }
    }
    return 0;
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
    struct args a = {0};
    a.flags = calloc((size_t)argc + 1, sizeof(*a.flags));
    if (!a.flags) {
        cli_error("gateway", "out of memory");
        return 1;
    }
    bool done = false;
    int rc = parse_args(argc, argv, &a, &done);
    if (rc == 0 && !done)
        rc = run(&a);
    free(a.flags);
    return rc;
}
