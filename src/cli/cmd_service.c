/* nearup service print|install|uninstall NETWORK: a systemd unit that runs
 * `nearup run NETWORK --foreground` as Type=notify. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fs.h"
#include "redact.h"
#include "service.h"
#include "state.h"

#define CMD "service"
#define RUN_ARGS_MAX 64
#define RUN_FLAG_MAX 48 /* "--" and the longest run flag */
#define SYSTEMCTL_TIMEOUT_S 60

enum svc_action { SVC_PRINT, SVC_INSTALL, SVC_UNINSTALL };

struct svc_args {
    const char *network;
    const char *home;
    const char *name;
    const char *run_user;
    bool user;
    unsigned stop_timeout_s;
    const char *run_args[RUN_ARGS_MAX + 1];
    size_t nrun;
    char abs_binary[PATH_MAX];              /* --binary-path made absolute (systemd runs in /) */
    char flags[RUN_ARGS_MAX][RUN_FLAG_MAX]; /* "--name" of each pass-through flag */
    size_t nflags;
};

static int add_run_arg(struct svc_args *a, const char *s, char *msg, size_t msgsz)
{
    if (a->nrun >= RUN_ARGS_MAX) {
        snprintf(msg, msgsz, "too many run flags (at most %d)", RUN_ARGS_MAX);
        return NU_EINVAL;
    }
    a->run_args[a->nrun++] = s;
    a->run_args[a->nrun] = NULL;
    return 0;
}

/* A `run` flag the unit passes on to `nearup run`, in the order given. */
static int pass_run(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz)
{
    struct svc_args *a = obj;
    char errbuf[NU_ERRMSG_MAX];
    if (strcmp(s->name, "release-url") == 0 && nu_redact_needed(value)) {
        snprintf(msg, msgsz,
                 "\"%s\": a unit file is readable by every user, so it gets no credentials; "
                 "fetch the binary first (nearup bin fetch VERSION --release-url URL) and pass "
                 "--neard-version VERSION",
                 value); /* cli_usage shows the URL redacted */
        return NU_EINVAL;
    }
    if (strcmp(s->name, "binary-path") == 0) {
        if (node_abspath(value, a->abs_binary, sizeof(a->abs_binary), errbuf) != 0) {
            snprintf(msg, msgsz, "%s", errbuf);
            return NU_EINVAL;
        }
        value = a->abs_binary;
    }
    if (a->nflags >= RUN_ARGS_MAX) {
        snprintf(msg, msgsz, "too many run flags (at most %d)", RUN_ARGS_MAX);
        return NU_EINVAL;
    }
    char *flag = a->flags[a->nflags++];
    snprintf(flag, RUN_FLAG_MAX, "--%s", s->name);
    int rc = add_run_arg(a, flag, msg, msgsz);
    if (rc == 0 && s->type != NU_T_BOOL)
        rc = add_run_arg(a, value, msg, msgsz);
    return rc;
}

/* The supervisor's stop timeout and TimeoutStopSec must agree: both. */
static int set_stop_timeout(const struct nu_setting *s, void *obj, const char *value, char *msg,
                            size_t msgsz)
{
    int rc = nu_setting_store(s, obj, value, msg, msgsz);
    if (rc == 0 && (rc = add_run_arg(obj, "--stop-timeout", msg, msgsz)) == 0)
        rc = add_run_arg(obj, value, msg, msgsz);
    return rc;
}

#define O(field) NU_FIELD(struct svc_args, field)
#define RUN(flag, meta)                                                                            \
    {                                                                                              \
        .name = flag, .type = NU_T_STR, .metavar = meta, .set = pass_run,                          \
        .help = "passed to nearup run (see nearup run --help)"                                     \
    }
#define RUN_BOOL(flag)                                                                             \
    {                                                                                              \
        .name = flag, .type = NU_T_BOOL, .set = pass_run,                                          \
        .help = "passed to nearup run (see nearup run --help)"                                     \
    }

static const struct nu_setting opts[] = {
    {.name = "home",
     .type = NU_T_STR,
     O(home),
     .metavar = "DIR",
     .help = "the node's home (default ~/.near/NETWORK of the account the unit runs as)"},
    {.name = "user",
     .type = NU_T_BOOL,
     O(user),
     .help = "a user unit (systemctl --user) instead of a system one"},
    {.name = "name",
     .type = NU_T_STR,
     O(name),
     .metavar = "UNIT",
     .help = "the unit's name (default nearup-NETWORK)"},
    {.name = "service-user",
     .type = NU_T_STR,
     O(run_user),
     .metavar = "USER",
     .help = "the account a system unit runs as (default: whoever runs this, also under sudo)"},
    {.name = "stop-timeout",
     .type = NU_T_SECONDS,
     O(stop_timeout_s),
     .max = 86400,
     .set = set_stop_timeout,
     .help = "seconds neard has to stop (the supervisor's and systemd's TimeoutStopSec)"},
    RUN("account-id", "A"),
    RUN("boot-nodes", "LIST"),
    RUN("binary-path", "PATH"),
    RUN("neard-version", "VER"),
    RUN("neard-sha256", "HEX"),
    RUN("release-url", "URL"),
    RUN_BOOL("archival"),
    RUN("rpc-addr", "ADDR"),
    RUN("network-addr", "ADDR"),
    RUN("restart", "POLICY"),
    RUN("log-max-size", "SIZE"),
    RUN("log-keep", "N"),
    RUN("env", "KEY=VAL"),
    RUN_BOOL("allow-mainnet-validator"),
};

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

/* systemctl [--user] <verb> [--now unit]; only called when systemd runs. */
static int systemctl(bool user, const char *verb, const char *unit, char *errbuf)
{
    const char *args[] = {verb, unit != NULL ? "--now" : NULL, unit, NULL};
    return node_systemctl(user, args, NULL, 0, SYSTEMCTL_TIMEOUT_S, errbuf);
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
        if (systemctl(a->user, "daemon-reload", NULL, errbuf) != 0) {
            cli_error(CMD, "%s; run it yourself", errbuf);
            return 1;
        }
        reloaded = true;
    }
    print_next_steps(a, name, reloaded);
    return 0;
}

static int do_uninstall(const struct svc_args *a)
{
    char name[NODE_SERVICE_NAME_MAX + 16], path[PATH_MAX], errbuf[NU_ERRMSG_MAX];
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
    if (systemd && systemctl(a->user, "disable", name, errbuf) == 0)
        printf("stopped and disabled %s\n", name);
    if (unlink(path) != 0) {
        cli_error(CMD, "cannot remove %s: %s; run as root (or use --user)", path, strerror(errno));
        return 1;
    }
    printf("removed %s\n", path);
    if (systemd && systemctl(a->user, "daemon-reload", NULL, errbuf) != 0) {
        cli_error(CMD, "%s; run it yourself", errbuf);
        return 1;
    }
    if (!systemd)
        printf("systemd is not running here: stop the unit and run `systemctl%s daemon-reload` "
               "where it was installed\n",
               a->user ? " --user" : "");
    return 0;
}

#define SVC_USAGE(verb)                                                                            \
    "nearup service " verb " NETWORK [--home DIR] [--user] [--name UNIT] [--service-user USER]\n"  \
    "                      [--stop-timeout SECONDS] [run flags]"
#define SVC_ABOUT                                                                                  \
    "The unit runs `nearup run NETWORK --foreground` as Type=notify; run flags given here\n"       \
    "(--binary-path, --neard-version, --release-url, --neard-sha256, --account-id,\n"              \
    "--boot-nodes, --archival, --rpc-addr, --network-addr, --restart, --log-max-size,\n"           \
    "--log-keep, --env, --allow-mainnet-validator) are passed on.\n"

static const struct cli_doc print_doc = {
    .prog = CMD,
    .summary = "print the unit",
    .usage = SVC_USAGE("print"),
    .about = SVC_ABOUT,
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static const struct cli_doc install_doc = {
    .prog = CMD,
    .summary = "write the unit and reload systemd",
    .usage = SVC_USAGE("install"),
    .about = SVC_ABOUT,
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static const struct cli_doc uninstall_doc = {
    .prog = CMD,
    .summary = "stop, disable and remove the unit",
    .usage = SVC_USAGE("uninstall"),
    .about = SVC_ABOUT,
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static int service(const struct cli_doc *doc, enum svc_action action, int argc, char **argv)
{
    struct svc_args a;
    char *network = NULL;
    size_t npos = 0;
    memset(&a, 0, sizeof(a));
    int rc = cli_parse(doc, argc, argv, &a, &network, 1, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos == 0)
        return cli_usage(CMD, "which NETWORK? (mainnet, testnet, betanet, localnet or a chain id)");
    a.network = network;
    if (action == SVC_UNINSTALL)
        return do_uninstall(&a);
    struct nu_buf unit;
    nu_buf_init(&unit, NODE_SERVICE_UNIT_MAX);
    rc = build_unit(&a, &unit);
    if (rc == 0 && action == SVC_PRINT)
        fputs(unit.data, stdout);
    else if (rc == 0)
        rc = do_install(&a, &unit);
    nu_buf_release(&unit);
    return rc;
}

static int svc_print(int argc, char **argv)
{
    return service(&print_doc, SVC_PRINT, argc, argv);
}

static int svc_install(int argc, char **argv)
{
    return service(&install_doc, SVC_INSTALL, argc, argv);
}

static int svc_uninstall(int argc, char **argv)
{
    return service(&uninstall_doc, SVC_UNINSTALL, argc, argv);
}

static const struct cli_cmd subs[] = {
    {"print", svc_print, 0, &print_doc},
    {"install", svc_install, 0, &install_doc},
    {"uninstall", svc_uninstall, 0, &uninstall_doc},
};

const struct cli_doc cli_service_doc = {
    .prog = CMD,
    .summary = "install, uninstall or print a systemd unit",
    .subs = subs,
    .nsubs = CLI_NOPTS(subs),
};
