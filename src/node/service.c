/* systemd unit generation for `nearup service`, and the one systemctl
 * runner (for it and for `snapshot create`'s stop and start of a unit). */
#include "service.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "redact.h"
#include "runcfg.h"
#include "settings.h"

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

/* EnvironmentFile=: where credentials go (S3 keys for --from-snapshot or
 * a snapshot store), read by systemd itself, so the file may be root's
 * and 0600; never '-': a missing file must fail the start. */
static int put_environment_file(struct nu_buf *out, const char *path)
{
    if (path == NULL)
        return 0;
    int rc = nu_buf_puts(out, "EnvironmentFile=");
    if (rc == 0)
        rc = node_service_quote(out, path);
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
        rc = put_environment_file(out, o->environment_file);
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
 * mount namespaces without privileges, so user units keep only NoNewPrivileges. rw: the paths
 * written (NULL-terminated; the first is the home). */
static int put_hardening(struct nu_buf *out, bool user, const char *const *rw)
{
    int rc = nu_buf_puts(out, "NoNewPrivileges=yes\n");
    if (rc != 0 || user)
        return rc;
    rc = nu_buf_puts(out, "PrivateTmp=yes\n"
                          "ProtectSystem=full\n"
                          "ProtectKernelModules=yes\n"
                          "ProtectControlGroups=yes\n"
                          "RestrictSUIDSGID=yes\n"
                          "ReadWritePaths=");
    for (size_t i = 0; rc == 0 && rw[i] != NULL; i++) {
        /* '-': a home that `run` has yet to create is not an error. */
        char path[4096 + 2];
        snprintf(path, sizeof(path), "-%s", rw[i]);
        if (i > 0)
            rc = nu_buf_putc(out, ' ');
        if (rc == 0)
            rc = node_service_quote(out, path);
    }
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
    if (o->environment_file != NULL && o->environment_file[0] != '/')
        return nu_err_set(errbuf, NU_EINVAL, "the environment file must be an absolute path");
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
    const char *rw[] = {o->home, NULL};
    if (rc == 0)
        rc = put_hardening(out, o->user, rw);
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

static int unit_name(const char *prefix, const char *network, const char *name, const char *suffix,
                     char *out, size_t outsz, char *errbuf)
{
    const char *base = name != NULL ? name : network;
    int n = name != NULL ? snprintf(out, outsz, "%s%s", name, suffix)
                         : snprintf(out, outsz, "%s%s%s", prefix, network, suffix);
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

int node_service_name(const char *network, const char *name, char *out, size_t outsz, char *errbuf)
{
    return unit_name("nearup-", network, name, ".service", out, outsz, errbuf);
}

int node_snap_service_name(const char *network, const char *name, const char *suffix, char *out,
                           size_t outsz, char *errbuf)
{
    return unit_name("nearup-snapshot-", network, name, suffix, out, outsz, errbuf);
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

/* ---- the snapshotter: a oneshot service and its timer ---- */

/* "6h", "90m", "15m" for a unit file (systemd reads m as minutes). */
static void span(unsigned s, char *out, size_t outsz)
{
    nu_format_ms((uint64_t)s * 1000u, out, outsz);
}

/* ExecStart=NEARUP WORD... with every word quoted. */
static int put_exec(struct nu_buf *out, const char *nearup, const char *const *words)
{
    int rc = nu_buf_puts(out, "ExecStart=");
    if (rc == 0)
        rc = node_service_quote(out, nearup);
    for (size_t i = 0; rc == 0 && words[i] != NULL; i++) {
        rc = nu_buf_putc(out, ' ');
        if (rc == 0)
            rc = node_service_quote(out, words[i]);
    }
    return rc == 0 ? nu_buf_putc(out, '\n') : rc;
}

#define SNAP_WORDS_MAX 24

static void add(const char **w, size_t *n, const char *a, const char *b)
{
    w[(*n)++] = a;
    if (b != NULL)
        w[(*n)++] = b;
    w[*n] = NULL;
}

/* `snapshot create` then, with a keep, `snapshot prune`: systemd runs the
 * ExecStart= lines of a oneshot in order and stops at the first that
 * fails, so a failed create is never followed by a prune. */
static int put_snap_execs(struct nu_buf *out, const struct node_snap_service_opts *o)
{
    const char *w[SNAP_WORDS_MAX + 1];
    char every[16], keep[16], stop[16];
    size_t n = 0;
    snprintf(every, sizeof(every), "%u", o->every_s);
    snprintf(keep, sizeof(keep), "%u", o->keep);
    snprintf(stop, sizeof(stop), "%u", o->stop_timeout_s);
    add(w, &n, "snapshot", "create");
    add(w, &n, "--home", o->home);
    add(w, &n, "--to", o->store);
    if (o->s3_endpoint != NULL)
        add(w, &n, "--s3-endpoint", o->s3_endpoint);
    if (o->sign_key != NULL)
        add(w, &n, "--sign-key", o->sign_key);
    if (o->stop_timeout_s != 0)
        add(w, &n, "--stop-timeout", stop);
    if (o->metrics_dir != NULL) {
        add(w, &n, "--metrics-textfile-dir", o->metrics_dir);
        add(w, &n, "--expect-every", every);
    }
    add(w, &n, "--log-result", NULL);
    int rc = put_exec(out, o->nearup, w);
    if (rc != 0 || o->keep == 0)
        return rc;
    n = 0;
    add(w, &n, "snapshot", "prune");
    add(w, &n, "--from", o->store);
    add(w, &n, "--keep", keep);
    if (o->s3_endpoint != NULL)
        add(w, &n, "--s3-endpoint", o->s3_endpoint);
    if (o->metrics_dir != NULL) {
        add(w, &n, "--home", o->home);
        add(w, &n, "--metrics-textfile-dir", o->metrics_dir);
    }
    add(w, &n, "--log-result", NULL);
    return put_exec(out, o->nearup, w);
}

/* After= (and Wants=) the node's own unit: at boot the run waits until
 * the node is up, and create stops and starts it through systemctl. */
static int put_snap_unit_section(struct nu_buf *out, const struct node_snap_service_opts *o)
{
    char every[16];
    span(o->every_s, every, sizeof(every));
    int rc = nu_buf_puts(out, "[Unit]\nDescription=nearup snapshots of NEAR node ");
    if (rc == 0)
        rc = put_text(out, o->network);
    if (rc == 0)
        rc = nu_buf_puts(out, " in ");
    if (rc == 0)
        rc = put_text(out, o->home);
    if (rc == 0)
        rc = nu_buf_puts(out, " to ");
    if (rc == 0)
        rc = put_text(out, o->store);
    if (rc == 0)
        rc = nu_buf_printf(out, " every %s\n", every);
    const char *net = o->user ? "" : "network-online.target";
    const char *sep = o->user || o->node_unit == NULL ? "" : " ";
    const char *node = o->node_unit != NULL ? o->node_unit : "";
    if (rc == 0 && (net[0] != '\0' || node[0] != '\0'))
        rc = nu_buf_printf(out, "Wants=%s%s%s\nAfter=%s%s%s\n", net, sep, node, net, sep, node);
    return rc;
}

/* A local store is written too: ReadWritePaths= for ProtectSystem=. */
static const char *local_store(const char *store)
{
    if (strncmp(store, "file://", 7) == 0)
        return store + 7;
    return store[0] == '/' ? store : NULL;
}

static int put_snap_service(struct nu_buf *out, const struct node_snap_service_opts *o)
{
    char timeout[16];
    span(o->run_timeout_s ? o->run_timeout_s : NODE_SNAP_RUN_TIMEOUT_S, timeout, sizeof(timeout));
    int rc = nu_buf_puts(out, "\n[Service]\nType=oneshot\n");
    if (rc == 0)
        rc = put_snap_execs(out, o);
    if (rc == 0 && !o->user)
        rc = nu_buf_printf(out, "User=%s\n", o->run_user);
    if (rc == 0)
        rc = put_environment_file(out, o->environment_file);
    /* A run slower than the timeout is stopped (SIGTERM: create cancels,
     * starts the node again if it stopped it) and the unit fails. */
    if (rc == 0)
        rc = nu_buf_printf(out,
                           "TimeoutStartSec=%s\n"
                           "Nice=%d\n"
                           "IOSchedulingClass=best-effort\n"
                           "IOSchedulingPriority=7\n",
                           timeout, NODE_SNAP_NICE);
    const char *rw[4] = {o->home, NULL, NULL, NULL};
    size_t n = 1;
    if (local_store(o->store) != NULL)
        rw[n++] = local_store(o->store);
    if (o->metrics_dir != NULL)
        rw[n++] = o->metrics_dir;
    if (rc == 0)
        rc = put_hardening(out, o->user, rw);
    return rc;
}

static bool abs_or_null(const char *p)
{
    return p == NULL || p[0] == '/';
}

static int check_snap_opts(const struct node_snap_service_opts *o, char *errbuf)
{
    struct node_service_opts base = {.nearup = o->nearup,
                                     .network = o->network,
                                     .home = o->home,
                                     .user = o->user,
                                     .run_user = o->run_user,
                                     .environment_file = o->environment_file};
    int rc = check_opts(&base, errbuf);
    if (rc != 0)
        return rc;
    if (o->every_s < NODE_SNAP_EVERY_MIN_S || o->every_s > NODE_SNAP_EVERY_MAX_S)
        return nu_err_set(errbuf, NU_EINVAL, "interval %u s out of range [%u, %u] s", o->every_s,
                          NODE_SNAP_EVERY_MIN_S, NODE_SNAP_EVERY_MAX_S);
    if (o->store == NULL || o->store[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL, "a store is required");
    if (nu_redact_needed(o->store) || (o->s3_endpoint && nu_redact_needed(o->s3_endpoint)))
        return nu_err_set(errbuf, NU_EINVAL, "a unit file gets no credentials");
    if (!abs_or_null(o->sign_key) || !abs_or_null(o->metrics_dir))
        return nu_err_set(errbuf, NU_EINVAL, "the sign key and metrics dir must be absolute");
    if (o->store[0] != '/' && strstr(o->store, "://") == NULL)
        return nu_err_set(errbuf, NU_EINVAL, "a directory store must be an absolute path");
    return 0;
}

static int unit_end(struct nu_buf *out, size_t start, int rc, char *errbuf)
{
    if (rc == 0)
        return 0;
    out->len = start;
    out->data[start] = '\0';
    if (rc == NU_EINVAL)
        return nu_err_set(errbuf, rc, "a path or argument holds a newline");
    return nu_err_set(errbuf, rc, "unit text: %s", nu_strerror(rc));
}

int node_snap_service_unit(const struct node_snap_service_opts *o, struct nu_buf *out, char *errbuf)
{
    int rc = check_snap_opts(o, errbuf);
    if (rc != 0)
        return rc;
    size_t start = out->len;
    rc = nu_buf_printf(out, "# Generated by nearup %s; regenerate with `nearup service install`.\n",
                       NU_VERSION);
    if (rc == 0)
        rc = put_snap_unit_section(out, o);
    if (rc == 0)
        rc = put_snap_service(out, o);
    return unit_end(out, start, rc, errbuf);
}

int node_snap_timer_unit(const struct node_snap_service_opts *o, const char *service,
                         struct nu_buf *out, char *errbuf)
{
    char every[16];
    int rc = check_snap_opts(o, errbuf);
    if (rc != 0)
        return rc;
    span(o->every_s, every, sizeof(every));
    size_t start = out->len;
    rc = nu_buf_printf(out,
                       "# Generated by nearup %s; regenerate with `nearup service install`.\n"
                       "[Unit]\nDescription=Start %s every %s\n\n[Timer]\n",
                       NU_VERSION, service, every);
    if (rc == 0)
        rc = node_snap_schedule(o->every_s, out);
    if (rc == 0)
        rc = nu_buf_puts(out, "\n[Install]\nWantedBy=timers.target\n");
    return unit_end(out, start, rc, errbuf);
}

/* ---- the schedule ---- */

static unsigned gcd(unsigned a, unsigned b)
{
    while (b != 0) {
        unsigned t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Every d seconds from midnight UTC, d a whole number of minutes that
 * divides a day. Runs repeat the same minutes every p hours (p = lcm(d,
 * 1 h) / 1 h, which divides 24): one OnCalendar= line per hour offset h0
 * in [0, p) that has runs, "H0/P:M1,M2:00" (hours h0, h0+p, ...). */
static int put_calendar(unsigned d, struct nu_buf *out)
{
    if (d % 3600 == 0 && d < 86400)
        return nu_buf_printf(out, "OnCalendar=*-*-* 00/%u:00:00 UTC\n", d / 3600);
    if (d == 86400)
        return nu_buf_puts(out, "OnCalendar=*-*-* 00:00:00 UTC\n");
    if (3600 % d == 0)
        return nu_buf_printf(out, "OnCalendar=*-*-* *:00/%u:00 UTC\n", d / 60);
    unsigned p = d / gcd(d, 3600); /* lcm(d, 3600) / 3600 */
    int rc = 0;
    for (unsigned h0 = 0; rc == 0 && h0 < p; h0++) {
        bool any = false;
        for (unsigned t = 0; rc == 0 && t < p * 3600; t += d) {
            if (t / 3600 != h0)
                continue;
            if (!any)
                rc = nu_buf_printf(out, "OnCalendar=*-*-* %02u/%u:", h0, p);
            if (rc == 0)
                rc = nu_buf_printf(out, "%s%02u", any ? "," : "", t % 3600 / 60);
            any = true;
        }
        if (rc == 0 && any)
            rc = nu_buf_puts(out, ":00 UTC\n");
    }
    return rc;
}

int node_snap_schedule(unsigned every_s, struct nu_buf *out)
{
    char every[16], boot[16], delay[16];
    unsigned d = every_s / 10 < NODE_SNAP_DELAY_MAX_S ? every_s / 10 : NODE_SNAP_DELAY_MAX_S;
    span(every_s, every, sizeof(every));
    span(NODE_SNAP_BOOT_S, boot, sizeof(boot));
    span(d, delay, sizeof(delay));
    int rc;
    if (every_s > 0 && every_s % 60 == 0 && 86400 % every_s == 0) {
        rc = put_calendar(every_s, out);
        if (rc == 0)
            rc = nu_buf_puts(out, "Persistent=true\n");
    } else {
        rc = nu_buf_printf(out, "OnBootSec=%s\nOnUnitInactiveSec=%s\n", boot, every);
    }
    if (rc == 0)
        rc = nu_buf_printf(out, "RandomizedDelaySec=%s\nFixedRandomDelay=yes\nAccuracySec=1s\n",
                           delay);
    return rc;
}

/* ---- the node's own unit ---- */

/* The text is a unit nearup wrote to run home: an ExecStart= line with
 * " run " and then " --foreground --home <home quoted>" ending a word. */
static bool runs_home(const char *text, const char *needle)
{
    if (strncmp(text, "# Generated by nearup ", 22) != 0)
        return false;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
        if (strncmp(line, "ExecStart=", 10) == 0) {
            const char *at = memmem(line, len, needle, strlen(needle));
            const char *run = memmem(line, len, " run ", 5);
            const char *after = at != NULL ? at + strlen(needle) : NULL;
            if (run != NULL && at != NULL && run < at && (after == line + len || *after == ' '))
                return true;
        }
        line = eol != NULL ? eol + 1 : NULL;
    }
    return false;
}

static bool unit_file_runs(const char *dir, const char *name, const char *needle)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    struct stat st;
    if (nu_fs_join(path, sizeof(path), dir, name) != 0 || stat(path, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return false;
    bool yes = nu_fs_read_file(path, NODE_SERVICE_UNIT_MAX, &text, &len, NULL) == 0 &&
               runs_home(text, needle);
    free(text);
    return yes;
}

int node_service_find(const char *dir, const char *home, char *out, size_t outsz)
{
    struct nu_buf needle;
    DIR *d = NULL;
    int rc = NU_ENOENT;
    nu_buf_init(&needle, 4 * PATH_MAX);
    if (nu_buf_puts(&needle, " --foreground --home ") != 0 ||
        node_service_quote(&needle, home) != 0 || nu_fs_opendir(dir, &d, NULL) != 0 || d == NULL)
        goto out; /* no such dir (NU_ENOENT): no unit */
    struct dirent *de;
    for (size_t seen = 0; (de = readdir(d)) != NULL && seen < NODE_SERVICE_SCAN_MAX; seen++) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n <= 8 || strcmp(de->d_name + n - 8, ".service") != 0 ||
            n >= outsz || (rc == 0 && strcmp(de->d_name, out) >= 0))
            continue;
        if (unit_file_runs(dir, de->d_name, needle.data)) {
            memcpy(out, de->d_name, n + 1);
            rc = 0;
        }
    }
out:
    if (d != NULL)
        closedir(d);
    nu_buf_release(&needle);
    return rc;
}
