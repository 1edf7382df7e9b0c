/* Helpers shared by the subcommands: error lines, signals, setting hooks,
 * which nodes a command acts on. */
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
#include "supctl.h"

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

/* ---- which nodes ---- */

/* Appends the node homes behind one path: a localnet root expands (to the
 * nodes of a localnet the Python nearup runs there too, from l); a path
 * that holds no node is appended as it is when any is set, else the
 * result is node_homes_expand's error. */
static int add_expanded(const char *home, const struct node_legacy *l, bool any,
                        char (*out)[PATH_MAX], size_t *n, char *errbuf)
{
    size_t got = 0, before = *n;
    if (*n >= NODE_MAX_HOMES)
        return 0;
    int rc = node_homes_expand(home, out + *n, NODE_MAX_HOMES - *n, &got, errbuf);
    *n += rc == 0 ? got : 0;
    if (rc != 0 && l != NULL)
        node_legacy_homes(l, home, out, NODE_MAX_HOMES, n);
    if (*n > before)
        return 0;
    if (any)
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

static int from_home_flag(const char *cmd, const struct cli_homes_sel *sel,
                          const struct node_legacy *l, char (*homes)[PATH_MAX], size_t *n)
{
    char abs[PATH_MAX], err[NU_ERRMSG_MAX];
    if (node_abspath(sel->home, abs, sizeof(abs), err) != 0) {
        cli_error(cmd, "%s", err);
        return 2;
    }
    if (add_expanded(abs, l, sel->any_home, homes, n, err) != 0) {
        cli_error(cmd, "no node in %s: %s; pass a node home or a localnet root", sel->home, err);
        return 1;
    }
    return 0;
}

static int from_registry(const char *cmd, const struct cli_homes_sel *sel,
                         const struct node_legacy *l, char (*homes)[PATH_MAX], size_t *n,
                         size_t *native)
{
    static char reg[NODE_MAX_HOMES][PATH_MAX];
    char err[NU_ERRMSG_MAX];
    size_t nreg = 0;
    if (node_registry_list(reg, NODE_MAX_HOMES, &nreg, err) != 0) {
        cli_error(cmd, "cannot read the node registry: %s", err);
        return 1;
    }
    for (size_t i = 0; i < nreg; i++) {
        if (sel->all || sel->pick != CLI_HOMES_RUNNING || node_running(reg[i]))
            (void)!add_expanded(reg[i], NULL, true, homes, n, NULL);
    }
    dedupe(homes, n);
    *native = *n;
    if (l != NULL)
        node_legacy_homes(l, NULL, homes, NODE_MAX_HOMES, n);
    return 0;
}

int cli_list_homes(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                   size_t *n, size_t *native)
{
    struct node_legacy *l = NULL;
    *n = *native = 0;
    if (sel->home != NULL && sel->all)
        return cli_usage(cmd, "--home and --all exclude each other");
    if (sel->python && node_legacy_load(&l, NULL) != 0)
        l = NULL; /* an unreadable file of the Python nearup's does not stop nearup's */
    int rc = sel->home != NULL ? from_home_flag(cmd, sel, l, homes, n)
                               : from_registry(cmd, sel, l, homes, n, native);
    if (sel->home != NULL)
        *native = *n;
    node_legacy_free(l);
    return rc;
}

int cli_homes_ambiguous(const char *cmd, const char *what, char (*homes)[PATH_MAX], size_t n,
                        bool has_all)
{
    cli_error(cmd, "%zu nodes are %s (%s, %s%s); pass --home DIR%s", n, what, homes[0], homes[1],
              n > 2 ? ", ..." : "", has_all ? " or --all" : "");
    return 2;
}

/* True when the homes are the nodes of one localnet: node0, node1, ...
 * of one root. */
static bool one_localnet(char (*homes)[PATH_MAX], size_t n)
{
    const char *slash0 = strrchr(homes[0], '/');
    for (size_t i = 0; i < n; i++) {
        const char *slash = strrchr(homes[i], '/');
        uint64_t k;
        if (slash == NULL || slash0 == NULL || slash - homes[i] != slash0 - homes[0] ||
            strncmp(homes[i], homes[0], (size_t)(slash0 - homes[0])) != 0 ||
            strncmp(slash + 1, "node", 4) != 0 || nu_parse_uint(slash + 5, 1u << 20, &k) != 0)
            return false;
    }
    return true;
}

/* Whether the pick takes these n nodes without --home: the running nodes
 * of one localnet stop together, and so do the Python nearup's alone, as
 * its stop did; one registered node is one. */
static bool pick_takes(const struct cli_homes_sel *sel, char (*homes)[PATH_MAX], size_t n,
                       size_t native)
{
    if (sel->home != NULL || sel->all || n <= 1 || sel->pick == CLI_HOMES_REGISTERED)
        return true;
    return sel->pick == CLI_HOMES_RUNNING &&
           (native == 0 || (native == n && one_localnet(homes, n)));
}

int cli_select_homes(const char *cmd, const struct cli_homes_sel *sel, char (*homes)[PATH_MAX],
                     size_t *n)
{
    size_t native = 0;
    int rc = cli_list_homes(cmd, sel, homes, n, &native);
    if (rc != 0)
        return rc;
    if (sel->pick == CLI_HOMES_ONE && *n == 0) {
        cli_error(cmd, "no nodes registered; start one with `nearup run NETWORK`");
        return 1;
    }
    if (!pick_takes(sel, homes, *n, native))
        return cli_homes_ambiguous(cmd, sel->pick == CLI_HOMES_RUNNING ? "running" : "registered",
                                   homes, *n, sel->has_all);
    return 0;
}

int cli_stop_node(const char *cmd, const char *home, unsigned timeout_s, struct node_stop_result *r)
{
    struct node_stop_result own;
    char err[NU_ERRMSG_MAX];
    if (r == NULL)
        r = &own;
    int rc = node_stop_ex(home, timeout_s, r, err);
    if (r->killed)
        fprintf(stderr,
                "nearup %s: warning: neard (pid %ld) of %s did not stop in time after SIGTERM; "
                "killed it with SIGKILL\n",
                cmd, (long)r->neard_pid, home);
    if (rc < 0) {
        cli_error(cmd, "%s: %s", home, err);
        return 1;
    }
    return 0;
}
