/* nearup service print|install|uninstall NETWORK: a systemd unit that runs
 * `nearup run NETWORK --foreground` as Type=notify. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "fs.h"
#include "proc.h"
#include "redact.h"
#include "service.h"
#include "state.h"

#define CMD "service"
#define RUN_ARGS_MAX 64

/* `run` flags a unit passes through to `nearup run`. */
static const struct run_flag {
    const char *name;
    bool has_value;
} run_flags[] = {
    {"--account-id", true},
    {"--boot-nodes", true},
    {"--binary-path", true},
    {"--neard-version", true},
    {"--neard-sha256", true},
    {"--release-url", true},
    {"--archival", false},
    {"--rpc-addr", true},
    {"--restart", true},
    {"--log-max-size", true},
    {"--log-keep", true},
    {"--env", true},
    {"--allow-mainnet-validator", false},
};
#define NRUN_FLAGS (sizeof(run_flags) / sizeof(run_flags[0]))
#define RUN_FLAG_BASE 1000

enum { OPT_HOME = 'H', OPT_USER = 'u', OPT_NAME = 'N', OPT_SVC_USER = 'U', OPT_STOP = 'T' };

struct svc_args {
    const char *action;
    const char *network;
    const char *home;
    const char *name;
    const char *run_user;
    bool user;
    unsigned stop_timeout_s;
    const char *run_args[RUN_ARGS_MAX + 1];
    size_t nrun;
    char abs_binary[PATH_MAX]; /* --binary-path made absolute (systemd runs in /) */
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: nearup service print|install|uninstall NETWORK [--home DIR] [--user]\n"
        "                      [--name UNIT] [--service-user USER] [--stop-timeout SECONDS]\n"
        "                      [run flags: --binary-path P, --neard-version V, --release-url U,\n"
        "                       --neard-sha256 H, --account-id A, --boot-nodes L, --archival,\n"
        "                       --rpc-addr A, --network-addr A, --restart R, --log-max-size S,\n"
        "                       --log-keep N, --env K=V, --allow-mainnet-validator]\n");
}

static int add_run_arg(struct svc_args *a, const char *s)
{
    if (a->nrun >= RUN_ARGS_MAX) {
        cli_error(CMD, "too many run flags (at most %d)", RUN_ARGS_MAX);
        return 2;
    }
    a->run_args[a->nrun++] = s;
    a->run_args[a->nrun] = NULL;
    return 0;
}

static int add_run_flag(struct svc_args *a, const struct run_flag *f, const char *val)
{
    int rc = add_run_arg(a, f->name);
    if (rc != 0 || !f->has_value)
        return rc;
    if (strcmp(f->name, "--release-url") == 0 && nu_redact_needed(val)) {
        cli_error(CMD,
                  "--release-url %s: a unit file is readable by every user, so it gets no "
                  "credentials; fetch the binary first (nearup bin fetch VERSION --release-url "
                  "URL) and pass --neard-version VERSION",
                  val); /* cli_error shows the URL redacted */
        return 2;
    }
    if (strcmp(f->name, "--binary-path") == 0) {
        char errbuf[NU_ERRMSG_MAX];
        if (node_abspath(val, a->abs_binary, sizeof(a->abs_binary), errbuf) != 0) {
            cli_error(CMD, "--binary-path: %s", errbuf);
            return 2;
        }
        val = a->abs_binary;
    }
    return add_run_arg(a, val);
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* getopt's table: own options, then every pass-through run flag. */
static void build_options(struct option *opts)
{
    static const struct option own[] = {
        {"home", required_argument, NULL, OPT_HOME},
        {"user", no_argument, NULL, OPT_USER},
        {"name", required_argument, NULL, OPT_NAME},
        {"service-user", required_argument, NULL, OPT_SVC_USER},
        {"stop-timeout", required_argument, NULL, OPT_STOP},
        {"help", no_argument, NULL, 'h'},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        opts[n++] = own[i];
    for (size_t i = 0; i < NRUN_FLAGS; i++) {
        opts[n++] = (struct option){run_flags[i].name + 2,
                                    run_flags[i].has_value ? required_argument : no_argument, NULL,
                                    RUN_FLAG_BASE + (int)i};
    }
    opts[n] = (struct option){0};
}

/* One parsed option: 0, 2 (usage error) or -1 (help printed). */
static int handle_opt(int c, char **argv, struct svc_args *a)
{
    switch (c) {
    case OPT_HOME:
        a->home = optarg;
        return 0;
    case OPT_USER:
        a->user = true;
        return 0;
    case OPT_NAME:
        a->name = optarg;
        return 0;
    case OPT_SVC_USER:
        a->run_user = optarg;
        return 0;
    case OPT_STOP:
        if (parse_uint(optarg, 86400, &a->stop_timeout_s) != 0) {
            cli_error(CMD, "--stop-timeout wants seconds (0..86400), not '%s'", optarg);
            return 2;
        }
        /* The supervisor's stop timeout and TimeoutStopSec must agree. */
        return add_run_arg(a, "--stop-timeout") == 0 ? add_run_arg(a, optarg) : 2;
    case 'h':
        usage(stdout);
        return -1;
    case ':':
        cli_error(CMD, "%s needs a value; see 'nearup service --help'", argv[optind - 1]);
        return 2;
    case '?':
        cli_error(CMD, "unknown option '%s'; see 'nearup service --help'", argv[optind - 1]);
        return 2;
    }
    return add_run_flag(a, &run_flags[c - RUN_FLAG_BASE], optarg);
}

static int parse_args(int argc, char **argv, struct svc_args *a)
{
    struct option opts[NRUN_FLAGS + 7];
    build_options(opts);
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        rc = handle_opt(c, argv, a);
    if (rc != 0)
        return rc;
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    a->action = argv[optind];
    a->network = argv[optind + 1];
    return 0;
}

/* The account a system unit runs as: whoever asked, also through sudo. */
static const struct passwd *service_account(const struct svc_args *a)
{
    if (a->run_user != NULL)
        return getpwnam(a->run_user);
    const char *sudo_user = getenv("SUDO_USER");
    if (geteuid() == 0 && sudo_user != NULL && sudo_user[0] != '\0')
        return getpwnam(sudo_user);
    return getpwuid(geteuid());
}

/* The node home: --home made absolute, else ~/.near/<network> of the
 * account the unit runs as (not root's, under sudo). */
static int resolve_home(const struct svc_args *a, const struct passwd *pw, char *out, size_t outsz)
{
    char errbuf[NU_ERRMSG_MAX], dflt[PATH_MAX];
    const char *home = a->home;
    if (home == NULL) {
        int n = pw != NULL ? snprintf(dflt, sizeof(dflt), "%s/.near/%s", pw->pw_dir, a->network)
                           : snprintf(dflt, sizeof(dflt), "~/.near/%s", a->network);
        if (n < 0 || (size_t)n >= sizeof(dflt)) {
            cli_error(CMD, "default home path too long; pass --home DIR");
            return 1;
        }
        home = dflt;
    }
    if (node_abspath(home, out, outsz, errbuf) != 0) {
        cli_error(CMD, "home: %s", errbuf);
        return 1;
    }
    return 0;
}

static int build_unit(const struct svc_args *a, struct nu_buf *unit)
{
    char self[PATH_MAX], home[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        cli_error(CMD, "cannot find the nearup executable: %s", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    const struct passwd *pw = a->user ? NULL : service_account(a);
    if (!a->user && pw == NULL) {
        cli_error(CMD, "unknown user '%s'; pass an existing --service-user",
                  a->run_user ? a->run_user : "(current)");
        return 1;
    }
    int rc = resolve_home(a, pw, home, sizeof(home));
    if (rc != 0)
        return rc;
    struct node_service_opts o = {
        .nearup = self,
        .network = a->network,
        .home = home,
        .user = a->user,
        .run_user = pw ? pw->pw_name : NULL,
        .run_args = a->run_args,
        .stop_timeout_s = a->stop_timeout_s,
    };
    if (node_service_unit(&o, unit, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    return 0;
}

/* systemctl [--user] <verb> [unit]; only called when systemd runs. */
static int systemctl(bool user, const char *verb, const char *unit)
{
    const char *bin = node_service_systemctl();
    if (bin == NULL)
        return -1;
    char *argv[6];
    int n = 0, status = 0;
    argv[n++] = (char *)bin;
    if (user)
        argv[n++] = "--user";
    argv[n++] = (char *)verb;
    if (unit != NULL) {
        argv[n++] = "--now";
        argv[n++] = (char *)unit;
    }
    argv[n] = NULL;
    struct nu_spawn_opts so;
    nu_spawn_opts_init(&so);
    pid_t pid;
    char errbuf[NU_ERRMSG_MAX];
    if (nu_proc_spawn(argv, &so, &pid, errbuf) != 0 || nu_proc_wait(pid, 60000, &status) != 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int unit_path(const struct svc_args *a, char *name, size_t namesz, char *path, size_t pathsz)
{
    char dir[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    if (node_service_name(a->network, a->name, name, namesz, errbuf) != 0 ||
        node_service_dir(a->user, dir, sizeof(dir), errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    if (nu_fs_join(path, pathsz, dir, name) != 0) {
        cli_error(CMD, "unit path too long under %s", dir);
        return 1;
    }
    return 0;
}

static void print_next_steps(const struct svc_args *a, const char *name, bool reloaded)
{
    const char *sc = a->user ? "systemctl --user" : "sudo systemctl";
    if (!reloaded)
        printf("systemd is not running here (or NEARUP_SYSTEMD_DIR is set): "
               "run `%s daemon-reload` on the target machine first\n",
               sc);
    printf("next: %s enable --now %s\n", sc, name);
    printf("then: %s status %s; nearup status --home <home>\n", sc, name);
    if (a->user)
        printf("to keep it running after you log out: loginctl enable-linger $USER\n");
}

static int do_install(const struct svc_args *a, const struct nu_buf *unit)
{
    char name[NODE_SERVICE_NAME_MAX + 16], path[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    int rc = unit_path(a, name, sizeof(name), path, sizeof(path));
    if (rc != 0)
        return rc;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rc = nu_fs_mkdir_p(path, 0755, errbuf);
    *slash = '/';
    if (rc == 0)
        rc = nu_fs_write_atomic(path, unit->data, unit->len, 0644, errbuf);
    if (rc != 0) {
        cli_error(CMD, "cannot write %s: %s; run as root (or use --user)", path, errbuf);
        return 1;
    }
    printf("wrote %s\n", path);
    bool reloaded = false;
    if (node_service_systemd_running()) {
        if (systemctl(a->user, "daemon-reload", NULL) != 0) {
            cli_error(CMD, "systemctl daemon-reload failed; run it yourself");
            return 1;
        }
        reloaded = true;
    }
    print_next_steps(a, name, reloaded);
    return 0;
}

static int do_uninstall(const struct svc_args *a)
{
    char name[NODE_SERVICE_NAME_MAX + 16], path[PATH_MAX];
    int rc = unit_path(a, name, sizeof(name), path, sizeof(path));
    if (rc != 0)
        return rc;
    if (!nu_fs_exists(path)) {
        cli_error(CMD, "%s is not installed (no %s)", name, path);
        return 1;
    }
    bool systemd = node_service_systemd_running();
    /* Stopping through systemd lets the supervisor stop neard cleanly; a
     * unit that was never enabled makes disable fail, which is fine. */
    if (systemd && systemctl(a->user, "disable", name) == 0)
        printf("stopped and disabled %s\n", name);
    if (unlink(path) != 0) {
        cli_error(CMD, "cannot remove %s: %s; run as root (or use --user)", path, strerror(errno));
        return 1;
    }
    printf("removed %s\n", path);
    if (systemd && systemctl(a->user, "daemon-reload", NULL) != 0) {
        cli_error(CMD, "systemctl daemon-reload failed; run it yourself");
        return 1;
    }
    if (!systemd)
        printf("systemd is not running here: stop the unit and run `systemctl%s daemon-reload` "
               "where it was installed\n",
               a->user ? " --user" : "");
    return 0;
}

int cmd_service(int argc, char **argv)
{
    struct svc_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    bool print = strcmp(a.action, "print") == 0, install = strcmp(a.action, "install") == 0;
    if (strcmp(a.action, "uninstall") == 0)
        return do_uninstall(&a);
    if (!print && !install) {
        cli_error(CMD, "unknown action '%s'; use print, install or uninstall", a.action);
        return 2;
    }
    struct nu_buf unit;
    nu_buf_init(&unit, NODE_SERVICE_UNIT_MAX);
    rc = build_unit(&a, &unit);
    if (rc == 0 && print)
        fputs(unit.data, stdout);
    else if (rc == 0)
        rc = do_install(&a, &unit);
    nu_buf_release(&unit);
    return rc;
}
