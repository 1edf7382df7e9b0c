/* Helpers shared by the subcommands: error lines, signals, setting hooks,
 * which nodes a command acts on. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "error.h"
#include "redact.h"
#include "runcfg.h"
#include "state.h"

volatile sig_atomic_t cli_cancelled;

#define CLI_ERROR_MAX 4096

static void error_line(const char *cmd, const char *tail, const char *fmt, va_list ap)
{
    char text[CLI_ERROR_MAX], clean[CLI_ERROR_MAX];
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    if (n < 0)
        text[0] = '\0';
    nu_redact(text, clean, sizeof(clean));
    fprintf(stderr, "nearup %s: %s%s\n", cmd, clean, tail);
}

/* The one error line of a command; URLs in it lose their credentials. */
void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line(cmd, "", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *prog, const char *fmt, ...)
{
    char tail[128];
    snprintf(tail, sizeof(tail), "; see 'nearup %s --help'", prog);
    va_list ap;
    va_start(ap, fmt);
    error_line(prog, tail, fmt, ap);
    va_end(ap);
    return 2;
}

static void on_signal(int sig)
{
    (void)sig;
    cli_cancelled = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_set_restart(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz)
{
    enum node_restart_policy *p = (void *)((char *)obj + s->off);
    if (node_restart_policy_parse(value, p) == 0)
        return 0;
    snprintf(msg, msgsz, "\"%s\" is not one of %s", value, s->choices);
    return NU_EINVAL;
}

int cli_set_env(const struct nu_setting *s, void *obj, const char *value, char *msg, size_t msgsz)
{
    if (value[0] == '=' || strchr(value, '=') == NULL) {
        snprintf(msg, msgsz, "\"%s\" is not KEY=VALUE", value);
        return NU_EINVAL;
    }
    return nu_setting_store(s, obj, value, msg, msgsz);
}

/* ---- which nodes ---- */

/* Appends the node homes behind one path (a localnet root expands); a
 * path that holds no node is appended as it is when any is set. */
static int add_expanded(const char *home, bool any, char (*out)[PATH_MAX], size_t *n, char *errbuf)
{
    size_t got = 0;
    if (*n >= NODE_MAX_HOMES)
        return 0;
    int rc = node_homes_expand(home, out + *n, NODE_MAX_HOMES - *n, &got, errbuf);
    if (rc == 0)
        *n += got;
    else if (any)
        snprintf(out[(*n)++], PATH_MAX, "%s", home);
    return any ? 0 : rc;
}

/* A home registered both alone and under its localnet root appears once. */
static void dedupe(char (*homes)[PATH_MAX], size_t *n)
{
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        bool seen = false;
        for (size_t j = 0; j < out && !seen; j++)
            seen = strcmp(homes[j], homes[i]) == 0;
        if (!seen && out != i)
            memcpy(homes[out], homes[i], strnlen(homes[i], PATH_MAX - 1) + 1);
        out += !seen;
    }
    *n = out;
}

static int from_home_flag(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                          size_t *n)
{
    char abs[PATH_MAX], err[NU_ERRMSG_MAX];
    if (node_abspath(sel->home, abs, sizeof(abs), err) != 0) {
        cli_error(cmd, "%s", err);
        return 2;
    }
    if (add_expanded(abs, sel->any_home, homes, n, err) != 0) {
        cli_error(cmd, "no node in %s: %s; pass a node home or a localnet root", sel->home, err);
        return 1;
    }
    return 0;
}

/* Two or more nodes where the pick takes one: which, and what to pass. */
static int too_many(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                    size_t n)
{
    cli_error(cmd, "%zu nodes are %s (%s, %s%s); pass --home DIR%s", n,
              sel->pick == CLI_HOMES_RUNNING ? "running" : "registered", homes[0], homes[1],
              n > 2 ? ", ..." : "", sel->has_all ? " or --all" : "");
    return 2;
}

int cli_select_homes(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                     size_t *n)
{
    static char reg[NODE_MAX_HOMES][PATH_MAX];
    char err[NU_ERRMSG_MAX];
    size_t nreg = 0;
    *n = 0;
    if (sel->home != NULL && sel->all)
        return cli_usage(cmd, "--home and --all exclude each other");
    if (sel->home != NULL)
        return from_home_flag(cmd, sel, homes, n);
    if (node_registry_list(reg, NODE_MAX_HOMES, &nreg, err) != 0) {
        cli_error(cmd, "cannot read the node registry: %s", err);
        return 1;
    }
    for (size_t i = 0; i < nreg; i++) {
        if (sel->all || sel->pick != CLI_HOMES_RUNNING || node_running(reg[i]))
            (void)!add_expanded(reg[i], true, homes, n, NULL);
    }
    dedupe(homes, n);
    if (sel->pick == CLI_HOMES_ONE && *n == 0) {
        cli_error(cmd, "no nodes registered; start one with `nearup run NETWORK`");
        return 1;
    }
    if (sel->pick != CLI_HOMES_REGISTERED && !sel->all && *n > 1)
        return too_many(cmd, sel, homes, *n);
    return 0;
}
