/* systemd unit generation for `nearup service`, and the one systemctl
 * runner (for it and for `snapshot create`'s stop and start of a unit). */
#include "service.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "runcfg.h"

/* Characters an ExecStart= word may hold without quoting. */
static bool plain_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_-./:=,@+", c) != NULL;
}

int node_service_quote(struct nu_buf *out, const char *arg)
{
    bool quote = arg[0] == '\0';
    for (const char *p = arg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r')
            return NU_EINVAL;
        if (!plain_char(*p) && *p != '%' && *p != '$')
            quote = true;
    }
    int rc = quote ? nu_buf_putc(out, '"') : 0;
    for (const char *p = arg; rc == 0 && *p != '\0'; p++) {
        /* '%' starts a specifier and '$' a variable everywhere in the line;
         * '\\' and '"' are C-style escapes inside quotes. */
        if (*p == '%' || *p == '$')
            rc = nu_buf_putc(out, *p);
        else if (*p == '\\' || *p == '"')
            rc = nu_buf_putc(out, '\\');
        if (rc == 0)
            rc = nu_buf_putc(out, *p);
    }
    if (rc == 0 && quote)
        rc = nu_buf_putc(out, '"');
    return rc;
}

/* Description= is not split into words but still expands specifiers. */
static int put_text(struct nu_buf *out, const char *s)
{
    int rc = 0;
    for (const char *p = s; rc == 0 && *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r')
            return NU_EINVAL;
        if (*p == '%')
            rc = nu_buf_putc(out, '%');
        if (rc == 0)
            rc = nu_buf_putc(out, *p);
    }
    return rc;
}

static bool user_name_valid(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 64 || u[0] == '-')
        return false;
    for (const char *p = u; *p != '\0'; p++) {
        if (!plain_char(*p) || strchr("/:=,+", *p) != NULL)
            return false;
    }
    return true;
}

static int put_unit_section(struct nu_buf *out, const struct node_service_opts *o)
{
    int rc = nu_buf_puts(out, "[Unit]\nDescription=NEAR node ");
    if (rc == 0)
        rc = put_text(out, o->network);
    if (rc == 0)
        rc = nu_buf_puts(out, " in ");
    if (rc == 0)
        rc = put_text(out, o->home);
    if (rc == 0)
        rc = nu_buf_puts(out, " (nearup)\n");
    /* network-online.target exists only in the system manager. */
    if (rc == 0 && !o->user)
        rc = nu_buf_puts(out, "Wants=network-online.target\nAfter=network-online.target\n");
    return rc;
}

static int put_exec_start(struct nu_buf *out, const struct node_service_opts *o)
{
    const char *fixed[] = {"run", o->network, "--foreground", "--home", o->home};
    int rc = nu_buf_puts(out, "ExecStart=");
    if (rc == 0)
        rc = node_service_quote(out, o->nearup);
    for (size_t i = 0; rc == 0 && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        rc = nu_buf_putc(out, ' ');
        if (rc == 0)
            rc = node_service_quote(out, fixed[i]);
    }
    for (size_t i = 0; rc == 0 && o->run_args != NULL && o->run_args[i] != NULL; i++) {
        rc = nu_buf_putc(out, ' ');
        if (rc == 0)
            rc = node_service_quote(out, o->run_args[i]);
    }
    if (rc == 0)
        rc = nu_buf_putc(out, '\n');
    return rc;
}

/* The supervisor is the main process and the only one that talks to
 * systemd; KillMode=mixed sends SIGTERM to it alone so it stops neard in
 * order (neard may need most of the stop timeout to close RocksDB), and
 * only a process left after TimeoutStopSec gets SIGKILL. */
static int put_service_policy(struct nu_buf *out, const struct node_service_opts *o)
{
    unsigned stop = o->stop_timeout_s ? o->stop_timeout_s : NODE_DEFAULT_STOP_TIMEOUT_S;
    int rc = 0;
    if (!o->user)
        rc = nu_buf_printf(out, "User=%s\n", o->run_user);
    if (rc == 0)
        rc = nu_buf_printf(out,
                           "Restart=on-failure\n"
                           "RestartSec=%us\n"
                           "WatchdogSec=%us\n"
                           "TimeoutStartSec=%us\n"
                           "TimeoutStopSec=%us\n"
                           "KillMode=mixed\n"
                           "KillSignal=SIGTERM\n"
                           "LimitNOFILE=65535\n",
                           NODE_SERVICE_RESTART_S, NODE_SERVICE_WATCHDOG_S,
                           NODE_SERVICE_START_TIMEOUT_S, stop + NODE_SERVICE_STOP_MARGIN_S);
    return rc;
}

/* Hardening that neard tolerates: it needs to write its home, read /proc/sys for its sysctl checks,
 * and map executable memory for wasm, so no MemoryDenyWriteExecute. A user manager cannot set up
 * mount namespaces without privileges, so user units keep only NoNewPrivileges. */
static int put_hardening(struct nu_buf *out, const struct node_service_opts *o)
{
    int rc = nu_buf_puts(out, "NoNewPrivileges=yes\n");
    if (rc != 0 || o->user)
        return rc;
    rc = nu_buf_puts(out, "PrivateTmp=yes\n"
                          "ProtectSystem=full\n"
                          "ProtectKernelModules=yes\n"
                          "ProtectControlGroups=yes\n"
                          "RestrictSUIDSGID=yes\n"
                          "ReadWritePaths=");
    /* '-': a home that `run` has yet to create is not an error. */
    char path[4096 + 2];
    snprintf(path, sizeof(path), "-%s", o->home);
    if (rc == 0)
        rc = node_service_quote(out, path);
    if (rc == 0)
        rc = nu_buf_putc(out, '\n');
    return rc;
}

static int check_opts(const struct node_service_opts *o, char *errbuf)
{
    if (o->nearup == NULL || o->nearup[0] != '/')
        return nu_err_set(errbuf, NU_EINVAL, "the nearup path must be absolute");
    if (o->home == NULL || o->home[0] != '/')
        return nu_err_set(errbuf, NU_EINVAL, "the home must be an absolute path");
    if (o->network == NULL || o->network[0] == '\0' || o->network[0] == '-')
        return nu_err_set(errbuf, NU_EINVAL, "a network name is required");
    if (!o->user && (o->run_user == NULL || !user_name_valid(o->run_user)))
        return nu_err_set(errbuf, NU_EINVAL,
                          "invalid user name '%s' for User=", o->run_user ? o->run_user : "");
    return strlen(o->home) > 4096 ? nu_err_set(errbuf, NU_EINVAL, "home path too long") : 0;
}

int node_service_unit(const struct node_service_opts *o, struct nu_buf *out, char *errbuf)
{
    int rc = check_opts(o, errbuf);
    if (rc != 0)
        return rc;
    size_t start = out->len;
    rc = nu_buf_printf(out, "# Generated by nearup %s; regenerate with `nearup service install`.\n",
                       NU_VERSION);
    if (rc == 0)
        rc = put_unit_section(out, o);
    if (rc == 0)
        rc = nu_buf_puts(out, "\n[Service]\nType=notify\nNotifyAccess=main\n");
    if (rc == 0)
        rc = put_exec_start(out, o);
    if (rc == 0)
        rc = put_service_policy(out, o);
    if (rc == 0)
        rc = put_hardening(out, o);
    if (rc == 0)
        rc = nu_buf_printf(out, "\n[Install]\nWantedBy=%s\n",
                           o->user ? "default.target" : "multi-user.target");
    if (rc != 0) {
        out->len = start;
        out->data[start] = '\0';
        if (rc == NU_EINVAL)
            return nu_err_set(errbuf, rc, "a path or argument holds a newline");
        return nu_err_set(errbuf, rc, "unit text: %s", nu_strerror(rc));
    }
    return 0;
}

int node_service_name(const char *network, const char *name, char *out, size_t outsz, char *errbuf)
{
    const char *base = name != NULL ? name : network;
    int n = name != NULL ? snprintf(out, outsz, "%s.service", name)
                         : snprintf(out, outsz, "nearup-%s.service", network);
    if (n < 0 || (size_t)n >= outsz || n > NODE_SERVICE_NAME_MAX)
        return nu_err_set(errbuf, NU_EINVAL, "unit name for '%s' is too long", base);
    /* Unit names: [A-Za-z0-9:_.\\-], no '@' (that would make a template). */
    for (const char *p = base; *p != '\0'; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr(":_.-", *p) != NULL;
        if (!ok)
            return nu_err_set(errbuf, NU_EINVAL, "'%s' cannot be part of a unit name", base);
    }
    return base[0] == '\0' ? nu_err_set(errbuf, NU_EINVAL, "empty unit name") : 0;
}

int node_service_dir(bool user, char *out, size_t outsz, char *errbuf)
{
    const char *env = getenv("NEARUP_SYSTEMD_DIR");
    int n;
    if (env != NULL && env[0] != '\0') {
        n = snprintf(out, outsz, "%s", env);
    } else if (!user) {
        n = snprintf(out, outsz, "/etc/systemd/system");
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg != NULL && xdg[0] == '/')
            n = snprintf(out, outsz, "%s/systemd/user", xdg);
        else if (home != NULL && home[0] == '/')
            n = snprintf(out, outsz, "%s/.config/systemd/user", home);
        else
            return nu_err_set(errbuf, NU_EINVAL, "neither XDG_CONFIG_HOME nor HOME is set");
    }
    if (n < 0 || (size_t)n >= outsz)
        return nu_err_set(errbuf, NU_ETOOBIG, "unit directory path too long");
    return 0;
}

const char *node_service_systemctl(void)
{
    static const char *const paths[] = {"/usr/bin/systemctl", "/bin/systemctl"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    }
    return NULL;
}

/* sd_booted(3)'s test, without linking libsystemd for one lstat (nearup
 * loads no library it does not use at start-up; bench/RESULTS.md): systemd
 * is the init system when /run/systemd/system/ is a directory. */
static bool systemd_booted(void)
{
    struct stat st;
    return lstat("/run/systemd/system/", &st) == 0 && S_ISDIR(st.st_mode);
}

bool node_service_systemd_running(void)
{
    const char *env = getenv("NEARUP_SYSTEMD_DIR");
    return (env == NULL || env[0] == '\0') && systemd_booted() && node_service_systemctl() != NULL;
}

/* ---- running systemctl ---- */

/* "--user stop x.service": argv after the program, for messages. */
static void describe(char *const *argv, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (char *const *a = argv; *a != NULL && used < outsz; a++) {
        int k = snprintf(out + used, outsz - used, "%s%s", a == argv ? "" : " ", *a);
        used += k > 0 ? (size_t)k : 0;
    }
}

int node_systemctl(bool user, const char *const *args, char *out, size_t outsz, unsigned timeout_s,
                   char *errbuf)
{
    const char *bin = node_service_systemctl();
    char *argv[NODE_SYSTEMCTL_ARGS_MAX + 3], what[256], drop[1];
    size_t n = 0, len = 0;
    int status = 0;
    if (bin == NULL)
        return nu_err_set(errbuf, NU_ENOENT, "systemctl not found");
    argv[n++] = (char *)bin;
    if (user)
        argv[n++] = "--user";
    for (; *args != NULL && n < NODE_SYSTEMCTL_ARGS_MAX + 2; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    describe(argv + 1, what, sizeof(what));
    int rc = nu_proc_run(argv, (int)timeout_s * 1000, out != NULL ? out : drop,
                         out != NULL ? outsz : sizeof(drop), &len, &status, errbuf);
    while (out != NULL && len > 0 && isspace((unsigned char)out[len - 1]))
        out[--len] = '\0';
    if (rc == NU_ETIMEDOUT)
        return nu_err_set(errbuf, rc, "systemctl %s did not finish in %u s", what, timeout_s);
    if (rc < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        return rc;
    return nu_err_set(errbuf, NU_ECHILD, "systemctl %s failed (%s %d)", what,
                      WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
