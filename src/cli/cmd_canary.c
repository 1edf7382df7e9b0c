/* nearup canary --endpoint URL[,name=N]... [--reference URL] [--interval D] [--timeout D]
 *               [--account-id A] [--call CONTRACT:METHOD:ARGS_JSON]
 *               [--transfer-key FILE --transfer-to ACCOUNT --transfer-amount YOCTO]
 *               [--listen ADDR] [-c FILE] [--once [--json]]
 *
 * Synthetic checks of NEAR RPC endpoints (src/canary/canary.h,
 * docs/canary.md). With --once: one round, a report on stdout, exit 0 when
 * every check passed, 1 when one failed, 2 on a usage or configuration
 * error. Otherwise a daemon until SIGTERM or SIGINT (exit 0); SIGHUP reads
 * the file again and swaps in the new settings. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "canary.h"
#include "cmd.h"
#include "cn_config.h"
#include "cn_server.h"
#include "json.h"
#include "log.h"
#include "sigs.h"

#define CMD "canary"
#define REPORT_MAX (8u << 20)

struct args {
    struct cn_config cfg; /* the settings' fields: the table's offsets are shifted to here */
    const char *file;
    bool once, json, check;
};

static const struct nu_setting own_opts[] = {
    {.name = "config",
     .short_name = 'c',
     .type = NU_T_STR,
     NU_FIELD(struct args, file),
     .metavar = "FILE",
     .help = "INI file with the settings below in a [canary] section (flags win over it; "
             "endpoints add up); SIGHUP reads it again"},
    {.name = "once",
     .type = NU_T_BOOL,
     NU_FIELD(struct args, once),
     .help = "run every check once, print the report and exit: 0 all passed, 1 a check "
             "failed, 2 usage"},
    {.name = "json",
     .type = NU_T_BOOL,
     NU_FIELD(struct args, json),
     .help = "with --once: the report as one JSON object"},
    {.name = "check",
     .type = NU_T_BOOL,
     NU_FIELD(struct args, check),
     .help = "validate the settings (and the key file) and exit"},
};

#define NOWN CLI_NOPTS(own_opts)

const struct cli_doc cli_canary_doc = {
    .prog = CMD,
    .summary = "synthetic checks of RPC endpoints (freshness, final lag, views, transfers)",
    .usage = "nearup canary --endpoint URL[,name=NAME]... [--reference URL] [--account-id A]\n"
             "                     [--call CONTRACT:METHOD:ARGS_JSON] [--transfer-key FILE "
             "--transfer-to ACCOUNT\n"
             "                     --transfer-amount YOCTO] [--listen ADDR] [-c FILE] [--once "
             "[--json]]",
    .about = "Checks NEAR JSON-RPC endpoints every --interval: status freshness, final-block\n"
             "lag, view_account, a call_function view and a signed transfer timed until\n"
             "final. Serves nearup_canary_* metrics on --listen; --once prints one report\n"
             "for cron and CI. Settings come from defaults, then the file (-c), then\n"
             "NEARUP_CANARY_<SETTING> variables, then flags. See docs/canary.md.\n",
    .opts = own_opts,
    .nopts = NOWN,
    .settings = &cn_settings_table,
};

/* The own flags and every setting as a flag, the settings' fields moved
 * to where struct args keeps them. Caller frees. */
static struct nu_setting *flag_table(void)
{
    struct nu_setting *t = calloc(NOWN + cn_nsettings, sizeof(*t));
    if (t == NULL)
        return NULL;
    memcpy(t, own_opts, sizeof(own_opts));
    for (size_t i = 0; i < cn_nsettings; i++) {
        t[NOWN + i] = cn_settings[i];
        t[NOWN + i].off += offsetof(struct args, cfg);
    }
    return t;
}

static void print_errors(const struct nu_buf *errs)
{
    const char *p = errs->data ? errs->data : "";
    while (*p) {
        size_t n = strcspn(p, "\n");
        fprintf(stderr, "nearup %s: %.*s\n", CMD, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* Flags, then the file and the environment, then the flags again on top
 * (the first pass checks them and finds the file). 0, -1 after --help,
 * or 2. */
static int load(int argc, char **argv, struct args *a, const struct nu_setting *t)
{
    int rc = cli_parse_table(&cli_canary_doc, t, NOWN + cn_nsettings, argc, argv, a);
    if (rc != 0)
        return rc;
    struct nu_buf errs;
    nu_buf_init(&errs, 64 * 1024);
    if (cn_config_load(a->file, &a->cfg, &errs) != 0) {
        print_errors(&errs);
        nu_buf_release(&errs);
        return 2;
    }
    nu_buf_release(&errs);
    struct nu_args p = {.table = t, .n = NOWN + cn_nsettings, .obj = a};
    if (nu_args_parse(&p, argc, argv, 1) != NU_ARGS_OK) { /* flags were fine: file + flags */
        char what[NU_ERRMSG_MAX + 100];
        nu_args_describe(&p.err, what, sizeof(what));
        return cli_usage(CMD, "%s", what);
    }
    return 0;
}

static int check_args(const struct args *a, struct nu_keypair *key)
{
    char errbuf[NU_ERRMSG_MAX];
    if (a->json && !a->once)
        return cli_usage(CMD, "--json needs --once (the daemon reports on --listen /metrics)");
    if (cn_config_check(&a->cfg, errbuf) != 0)
        return cli_usage(CMD, "%s", errbuf);
    if (a->cfg.transfer_key[0] && nu_key_file_read(a->cfg.transfer_key, key, NULL, errbuf) != 0) {
        cli_error(CMD, "--transfer-key: %s", errbuf);
        return 2;
    }
    if (a->cfg.transfer_key[0] && key->account_id[0] == '\0') {
        cli_error(CMD, "--transfer-key: %s has no account_id", a->cfg.transfer_key);
        return 2;
    }
    return 0;
}

/* 0 to run, -1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct args *a, struct nu_keypair *key)
{
    struct nu_setting *t = flag_table();
    if (t == NULL) {
        cli_error(CMD, "out of memory");
        return 1;
    }
    memset(a, 0, sizeof(*a));
    int rc = load(argc, argv, a, t);
    free(t);
    if (rc == 0)
        rc = check_args(a, key);
    if (rc == 0)
        nu_log_set_level((enum nu_log_level)a->cfg.log_level);
    return rc;
}

/* ---- --once ---- */

struct once {
    uv_loop_t loop;
    struct nu_sigs sigs;
    struct cn_canary *cn;
    bool json, done;
    int rc;
};

static void print_text(const json_t *report)
{
    size_t i;
    const json_t *ep;
    json_array_foreach(json_object_get(report, "endpoints"), i, ep)
    {
        const char *check;
        const json_t *c;
        json_object_foreach((json_t *)json_object_get(ep, "checks"), check, c)
        {
            const char *err = json_string_value(json_object_get(c, "error"));
            printf("%s %s %s %.1fms%s%s\n", json_string_value(json_object_get(ep, "name")), check,
                   json_is_true(json_object_get(c, "ok")) ? "ok" : "FAIL",
                   json_real_value(json_object_get(c, "duration_ms")), err ? " " : "",
                   err ? err : "");
        }
    }
}

static int print_report(const struct once *o)
{
    json_t *report = cn_canary_report(o->cn);
    struct nu_buf b;
    nu_buf_init(&b, REPORT_MAX);
    int rc = report ? 0 : NU_ENOMEM;
    if (rc == 0 && o->json)
        rc = nu_json_dump_buf(report, &b, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    if (rc == 0 && o->json)
        printf("%s\n", b.data);
    else if (rc == 0)
        print_text(report);
    json_decref(report);
    nu_buf_release(&b);
    if (rc != 0)
        cli_error(CMD, "cannot build the report (out of memory)");
    return rc;
}

static void on_once_closed(void *ud)
{
    struct once *o = ud;
    nu_sigs_close(&o->sigs);
}

static void on_round(void *ud, struct cn_canary *cn)
{
    struct once *o = ud;
    o->done = true;
    o->rc = print_report(o) != 0 ? 1 : cn_canary_all_ok(cn) ? 0 : 1;
    cn_canary_close(cn, on_once_closed, o);
    o->cn = NULL;
}

static void on_once_signal(void *data, int signum)
{
    struct once *o = data;
    if (o->cn == NULL)
        return;
    nu_warn("interrupted before the checks finished", "signal", nu_sig_name(signum));
    o->rc = 1;
    cn_canary_close(o->cn, on_once_closed, o);
    o->cn = NULL;
}

static int run_once(const struct args *a, const struct nu_keypair *key)
{
    char errbuf[NU_ERRMSG_MAX];
    struct once o = {.json = a->json, .rc = 1};
    uv_loop_init(&o.loop);
    int rc = nu_sigs_start(&o.sigs, &o.loop, on_once_signal, &o, errbuf);
    if (rc == 0)
        rc = cn_canary_new(&o.loop, &a->cfg, key, on_round, &o, &o.cn, errbuf);
    if (rc != 0) {
        cli_error(CMD, "%s", errbuf);
        nu_sigs_close(&o.sigs);
    } else {
        cn_canary_start(o.cn, false);
    }
    uv_run(&o.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&o.loop) != 0) {
        cli_error(CMD, "event loop closed with handles still open");
        return 1;
    }
    return rc != 0 ? 1 : o.rc;
}

/* ---- the daemon ---- */

struct daemon {
    uv_loop_t loop;
    struct nu_sigs sigs; /* open until the server has closed */
    struct cn_server *srv;
    int argc;
    char **argv;
    bool stopping;
};

static void on_server_closed(void *ud)
{
    struct daemon *d = ud;
    nu_sigs_close(&d->sigs);
}

/* SIGHUP: the file and the flags again; a new configuration that does not
 * load leaves the running one as it was. */
static void reload(struct daemon *d)
{
    struct args *a = malloc(sizeof(*a));
    struct nu_keypair key = {0};
    char errbuf[NU_ERRMSG_MAX];
    int rc = a ? parse_args(d->argc, d->argv, a, &key) : 1;
    if (rc == 0 &&
        cn_server_reload(d->srv, &a->cfg, a->cfg.transfer_key[0] ? &key : NULL, errbuf) != 0) {
        nu_warn("reload refused; the running settings stay", "error", errbuf);
        rc = 1;
    }
    if (rc == 0)
        nu_info("reloaded", "file", a->file ? a->file : "-");
    else if (a != NULL)
        nu_warn("reload failed; the running settings stay");
    free(a);
    sodium_memzero(&key, sizeof(key)); /* the secret key */
}

static void on_signal(void *data, int signum)
{
    struct daemon *d = data;
    if (d->stopping) {
        nu_info("stopping; signal ignored", "signal", nu_sig_name(signum));
        return;
    }
    if (signum == SIGHUP) {
        reload(d);
        return;
    }
    nu_info("stopping", "signal", nu_sig_name(signum));
    d->stopping = true;
    cn_server_close(d->srv, on_server_closed, d);
    d->srv = NULL;
}

static void log_started(const struct args *a, const struct cn_server *srv)
{
    char listen[96] = "off", n[16];
    if (cn_server_port(srv) >= 0)
        snprintf(listen, sizeof(listen), "%s:%d", a->cfg.listen.host, cn_server_port(srv));
    snprintf(n, sizeof(n), "%zu", a->cfg.endpoints.n);
    nu_info("canary running", "listen", listen, "endpoints", n, "reference",
            a->cfg.reference[0] ? a->cfg.reference : "-");
}

static int run_daemon(const struct args *a, const struct nu_keypair *key, int argc, char **argv)
{
    char errbuf[NU_ERRMSG_MAX];
    struct daemon d = {.argc = argc, .argv = argv};
    uv_loop_init(&d.loop);
    int rc = nu_sigs_start(&d.sigs, &d.loop, on_signal, &d, errbuf);
    if (rc == 0)
        rc = cn_server_new(&d.loop, &a->cfg, key, &d.srv, errbuf);
    if (rc != 0) {
        cli_error(CMD, "%s; pick another address with --listen", errbuf);
        nu_sigs_close(&d.sigs);
    } else {
        log_started(a, d.srv);
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    if (rc == 0)
        nu_info("canary stopped");
    if (uv_loop_close(&d.loop) != 0) {
        cli_error(CMD, "event loop closed with handles still open");
        return 1;
    }
    return rc != 0 ? 1 : 0;
}

/* --check: what would run. */
static int print_check(const struct args *a)
{
    unsigned checks = cn_config_checks(&a->cfg);
    printf("configuration ok: %zu endpoint%s; checks", a->cfg.endpoints.n,
           a->cfg.endpoints.n == 1 ? "" : "s");
    for (int c = 0, n = 0; c < CN_NCHECKS; c++)
        if (checks & (1u << c))
            printf("%s %s", n++ ? "," : "", cn_check_name(c));
    printf("\n");
    return 0;
}

int cmd_canary(int argc, char **argv)
{
    struct args *a = malloc(sizeof(*a));
    struct nu_keypair key = {0};
    if (a == NULL) {
        cli_error(CMD, "out of memory");
        return 1;
    }
    int rc = parse_args(argc, argv, a, &key);
    const struct nu_keypair *k = a->cfg.transfer_key[0] ? &key : NULL;
    if (rc == 0 && a->check)
        rc = print_check(a);
    else if (rc == 0)
        rc = a->once ? run_once(a, k) : run_daemon(a, k, argc, argv);
    free(a);
    sodium_memzero(&key, sizeof(key)); /* the secret key */
    return rc < 0 ? 0 : rc;
}
