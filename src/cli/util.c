/* Helpers shared by the subcommands: error lines, signals, setting hooks. */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "fs.h"
#include "legacy.h"
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

void cli_hint(const char *fmt, ...)
{
    char text[CLI_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "nearup: hint: %s\n", n < 0 ? "" : text);
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

int cli_set_refused(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz)
{
    snprintf(msg, msgsz, "%s", s->help);
    return NU_EINVAL;
}

int cli_refuse_python_node(const char *cmd)
{
    struct node_legacy *l;
    char pids[256];
    if (node_legacy_load(&l, NULL) != 0)
        return 0; /* unreadable: as if there were none */
    size_t n = node_legacy_running(l, pids, sizeof(pids));
    if (n > 0)
        cli_error(cmd,
                  "the Python nearup's neard is running (pid%s %s, in %s); stop it first with "
                  "'nearup stop'",
                  n > 1 ? "s" : "", pids, l->pidfile);
    node_legacy_free(l);
    return n > 0;
}

int cli_binary_path(const char *arg, char *out, size_t outsz, char *errbuf)
{
    char path[PATH_MAX];
    int rc = node_abspath(arg, path, sizeof(path), errbuf);
    if (rc == 0 && nu_fs_is_dir(path) && nu_fs_join(out, outsz, path, "neard") != 0)
        rc = nu_err_set(errbuf, NU_ETOOBIG, "%s/neard: path too long", path);
    else if (rc == 0 && !nu_fs_is_dir(path))
        snprintf(out, outsz, "%s", path);
    return rc;
}

int cli_prompt(const char *question, char *answer, size_t size)
{
    if (!isatty(STDIN_FILENO))
        return NU_ESTATE;
    fprintf(stderr, "%s", question);
    fflush(stderr);
    if (fgets(answer, (int)size, stdin) == NULL)
        return NU_EIO;
    size_t len = strcspn(answer, "\n");
    while (len > 0 && isspace((unsigned char)answer[len - 1]))
        len--;
    size_t skip = 0;
    while (skip < len && isspace((unsigned char)answer[skip]))
        skip++;
    memmove(answer, answer + skip, len - skip);
    answer[len - skip] = '\0';
    return 0;
}
