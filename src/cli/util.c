/* Helpers shared by the subcommands: error lines, signals, setting hooks. */
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

int cli_list_homes(const char *cmd, const char *home, char (*homes)[PATH_MAX], size_t *n)
{
    char errbuf[NU_ERRMSG_MAX], abs[PATH_MAX];
    if (home == NULL) {
        if (node_registry_list(homes, NODE_MAX_HOMES, n, errbuf) != 0) {
            cli_error(cmd, "cannot read the node registry: %s", errbuf);
            return 1;
        }
        return 0;
    }
    if (node_abspath(home, abs, sizeof(abs), errbuf) != 0 ||
        node_homes_expand(abs, homes, NODE_MAX_HOMES, n, errbuf) != 0) {
        cli_error(cmd, "no node in %s: %s; pass a node home or a localnet root", home, errbuf);
        return 1;
    }
    return 0;
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
