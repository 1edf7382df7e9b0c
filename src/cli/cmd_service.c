/* nearup service print|install|uninstall NETWORK: a systemd unit that runs
 * `nearup run NETWORK --foreground` as Type=notify; with --snapshot-to, the
 * snapshotter instead: a oneshot service that runs `nearup snapshot create`
 * and `snapshot prune`, and the timer that starts it. */
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
    /* both kinds of unit */
    const char *env_file;
    char abs_env_file[PATH_MAX];
    /* the snapshotter (--snapshot-to) */
    const char *store, *sign_key, *s3_endpoint, *metrics_dir;
    unsigned every_s, keep, run_timeout_s;
    char abs_store[PATH_MAX], abs_sign_key[PATH_MAX], abs_metrics_dir[PATH_MAX];
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

#define NO_CREDENTIALS "\"%s\": a unit file is readable by every user, so it gets no credentials; "
#define CREDENTIALS_ELSEWHERE                                                                      \
    "put them in an --environment-file FILE (AWS_ACCESS_KEY_ID=..., read by systemd) or the "      \
    "account's ~/.aws/credentials"

/* A `run` flag the unit passes on to `nearup run`, in the order given. */
static int pass_run(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz)
{
    struct svc_args *a = obj;
    char errbuf[NU_ERRMSG_MAX];
    if (strcmp(s->name, "release-url") == 0 && nu_redact_needed(value)) {
        snprintf(msg, msgsz,
                 NO_CREDENTIALS "fetch the binary first (nearup bin fetch VERSION --release-url "
                                "URL) and pass --neard-version VERSION",
                 value); /* cli_usage shows the URL redacted */
        return NU_EINVAL;
    }
    if (nu_redact_needed(value)) { /* --from-snapshot, --verify-with */
        snprintf(msg, msgsz, NO_CREDENTIALS CREDENTIALS_ELSEWHERE, value);
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

/* An absolute path (systemd runs units in /) into buf, the field set to
 * it; "" stays "" (--metrics-textfile-dir "": none). */
static int set_abspath(const char *value, char *buf, const char **field, char *msg, size_t msgsz)
{
    char errbuf[NU_ERRMSG_MAX];
    if (value[0] == '\0') {
        *field = "";
        return 0;
    }
    if (node_abspath(value, buf, PATH_MAX, errbuf) != 0) {
        snprintf(msg, msgsz, "%s", errbuf);
        return NU_EINVAL;
    }
    *field = buf;
    return 0;
}

static int set_path(const struct nu_setting *s, void *obj, const char *value, char *msg,
                    size_t msgsz)
{
    struct svc_args *a = obj;
    if (value[0] == '\0' && strcmp(s->name, "metrics-textfile-dir") != 0) {
        snprintf(msg, msgsz, "an empty path");
        return NU_EINVAL;
    }
    if (strcmp(s->name, "environment-file") == 0)
        return set_abspath(value, a->abs_env_file, &a->env_file, msg, msgsz);
    if (strcmp(s->name, "sign-key") == 0)
        return set_abspath(value, a->abs_sign_key, &a->sign_key, msg, msgsz);
    return set_abspath(value, a->abs_metrics_dir, &a->metrics_dir, msg, msgsz);
}

/* The store create writes to: a directory (made absolute), file:// or
 * s3://; never one with credentials, never a read-only http(s) one. */
static int set_store(const struct nu_setting *s, void *obj, const char *value, char *msg,
                     size_t msgsz)
{
    struct svc_args *a = obj;
    if (nu_redact_needed(value)) {
        snprintf(msg, msgsz, NO_CREDENTIALS CREDENTIALS_ELSEWHERE, value);
        return NU_EINVAL;
    }
    if (strncmp(value, "http://", 7) == 0 || strncmp(value, "https://", 8) == 0) {
        snprintf(msg, msgsz,
                 "\"%s\": an http(s) store is read-only; snapshots go to a directory, "
                 "file:///path or s3://bucket/prefix",
                 value);
        return NU_EINVAL;
    }
    if (strstr(value, "://") != NULL || value[0] == '\0') {
        a->store = value;
        return 0;
    }
    return set_abspath(value, a->abs_store, &a->store, msg, msgsz);
}

static int set_endpoint(const struct nu_setting *s, void *obj, const char *value, char *msg,
                        size_t msgsz)
{
    if (nu_redact_needed(value)) {
        snprintf(msg, msgsz, NO_CREDENTIALS CREDENTIALS_ELSEWHERE, value);
        return NU_EINVAL;
    }
    ((struct svc_args *)obj)->s3_endpoint = value;
    return 0;
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
     .help = "seconds neard has to stop (the supervisor's and systemd's TimeoutStopSec; with "
             "--snapshot-to: snapshot create's)"},
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
    RUN("from-snapshot", "STORE"),
    RUN("verify-with", "URL"),
    RUN("verify-quorum", "N"),
    RUN("verify-key", "ed25519:PK"),
    {.name = "environment-file",
     .type = NU_T_STR,
     O(env_file),
     .metavar = "FILE",
     .set = set_path,
     .help = "EnvironmentFile= of the unit: credentials (AWS_ACCESS_KEY_ID=...) never go in a "
             "unit; systemd reads this file, so it may be root's, mode 600"},
    {.name = "snapshot-to",
     .type = NU_T_STR,
     O(store),
     .metavar = "STORE",
     .set = set_store,
     .help = "the snapshotter instead of the node: a service that runs `nearup snapshot create "
             "--to STORE` (and prune) and a timer that starts it --every DURATION"},
    {.name = "every",
     .type = NU_T_SECONDS,
     O(every_s),
     .min = NODE_SNAP_EVERY_MIN_S,
     .max = NODE_SNAP_EVERY_MAX_S,
     .metavar = "DURATION",
     .help = "with --snapshot-to: how often (6h, 30m; a divisor of a day runs at fixed UTC "
             "times)"},
    {.name = "keep",
     .type = NU_T_UINT,
     O(keep),
     .min = 1,
     .max = 1000000,
     .help = "with --snapshot-to: then `nearup snapshot prune --keep N` (default: no prune)"},
    {.name = "sign-key",
     .type = NU_T_STR,
     O(sign_key),
     .metavar = "FILE",
     .set = set_path,
     .help = "with --snapshot-to: sign each manifest with this NEAR key file"},
    {.name = "s3-endpoint",
     .type = NU_T_STR,
     O(s3_endpoint),
     .metavar = "URL",
     .set = set_endpoint,
     .help = "an S3-compatible endpoint instead of AWS (the snapshotter's, or with "
             "--from-snapshot the node's)"},
    {.name = "metrics-textfile-dir",
     .type = NU_T_STR,
     O(metrics_dir),
     .metavar = "DIR",
     .set = set_path,
     .help = "with --snapshot-to: node_exporter's textfile dir the runs record their outcome in "
             "(default " NODE_SNAP_TEXTFILE_DIR " when it exists here; \"\": none)"},
    {.name = "run-timeout",
     .type = NU_T_SECONDS,
     O(run_timeout_s),
     .min = NODE_SNAP_EVERY_MIN_S,
     .max = NODE_SNAP_RUN_TIMEOUT_MAX_S,
     .help = "with --snapshot-to: a run that takes longer is stopped and fails (TimeoutStartSec; "
             "default " NU_TEXT(NODE_SNAP_RUN_TIMEOUT_S) " s)"},
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

/* What both kinds of unit need: the nearup executable, the account and
 * the home. */
struct unit_ctx {
    char self[PATH_MAX];
    char home[PATH_MAX];
    char run_user[64];
    bool no_textfile_dir; /* the snapshotter: the default metrics dir is not here */
};

static int resolve(const struct svc_args *a, struct unit_ctx *c)
{
    ssize_t n = readlink("/proc/self/exe", c->self, sizeof(c->self) - 1);
    if (n <= 0) {
        cli_error(CMD, "cannot find the nearup executable: %s", strerror(errno));
        return 1;
    }
    c->self[n] = '\0';
    const struct passwd *pw = a->user ? NULL : service_account(a);
    if (!a->user && pw == NULL) {
        cli_error(CMD, "unknown user '%s'; pass an existing --service-user",
                  a->run_user ? a->run_user : "(current)");
        return 1;
    }
    snprintf(c->run_user, sizeof(c->run_user), "%s", pw != NULL ? pw->pw_name : "");
    return resolve_home(a, pw, c->home, sizeof(c->home));
}

static int build_unit(const struct svc_args *a, struct nu_buf *unit)
{
    struct unit_ctx c;
    char errbuf[NU_ERRMSG_MAX];
    int rc = resolve(a, &c);
    if (rc != 0)
        return rc;
    struct node_service_opts o = {
        .nearup = c.self,
        .network = a->network,
        .home = c.home,
        .user = a->user,
        .run_user = a->user ? NULL : c.run_user,
        .run_args = a->run_args,
        .stop_timeout_s = a->stop_timeout_s,
        .environment_file = a->env_file,
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

/* dir/name into path; 1 (said) when it does not fit. */
static int join_unit(const char *dir, const char *name, char *path, size_t pathsz)
{
    if (nu_fs_join(path, pathsz, dir, name) != 0) {
        cli_error(CMD, "unit path too long under %s", dir);
        return 1;
    }
    return 0;
}

static int unit_path(const struct svc_args *a, char *name, size_t namesz, char *path, size_t pathsz)
{
    char dir[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    if (node_service_name(a->network, a->name, name, namesz, errbuf) != 0 ||
        node_service_dir(a->user, dir, sizeof(dir), errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    return join_unit(dir, name, path, pathsz);
}

static const char *systemctl_words(const struct svc_args *a)
{
    return a->user ? "systemctl --user" : "sudo systemctl";
}

static void print_reload_hint(const struct svc_args *a, bool reloaded)
{
    if (!reloaded)
        printf("systemd is not running here (or NEARUP_SYSTEMD_DIR is set): "
               "run `%s daemon-reload` on the target machine first\n",
               systemctl_words(a));
}

static void print_next_steps(const struct svc_args *a, const char *name, bool reloaded)
{
    const char *sc = systemctl_words(a);
    print_reload_hint(a, reloaded);
    printf("next: %s enable --now %s\n", sc, name);
    printf("then: %s status %s; nearup status --home <home>\n", sc, name);
    if (a->user)
        printf("to keep it running after you log out: loginctl enable-linger $USER\n");
}

/* Writes text to path atomically, making its directory. */
static int write_unit(const char *path, const struct nu_buf *text)
{
    char dir[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    int rc = nu_fs_mkdir_p(dir, 0755, errbuf);
    if (rc == 0)
        rc = nu_fs_write_atomic(path, text->data, text->len, 0644, errbuf);
    if (rc != 0) {
        cli_error(CMD, "cannot write %s: %s; run as root (or use --user)", path, errbuf);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* daemon-reload when systemd runs here: *reloaded says whether it did. */
static int reload(const struct svc_args *a, bool *reloaded)
{
    char errbuf[NU_ERRMSG_MAX];
    *reloaded = false;
    if (!node_service_systemd_running())
        return 0;
    if (systemctl(a->user, "daemon-reload", NULL, errbuf) != 0) {
        cli_error(CMD, "%s; run it yourself", errbuf);
        return 1;
    }
    *reloaded = true;
    return 0;
}

static int do_install(const struct svc_args *a, const struct nu_buf *unit)
{
    char name[NODE_SERVICE_NAME_MAX + 16], path[PATH_MAX];
    bool reloaded;
    int rc = unit_path(a, name, sizeof(name), path, sizeof(path));
    if (rc == 0)
        rc = write_unit(path, unit);
    if (rc == 0)
        rc = reload(a, &reloaded);
    if (rc == 0)
        print_next_steps(a, name, reloaded);
    return rc;
}

/* Removes the unit files that exist (n of them); 1 when none does or one
 * cannot be removed. */
static int remove_units(const char *const *names, const char *const *paths, size_t n)
{
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!nu_fs_exists(paths[i]))
            continue;
        if (unlink(paths[i]) != 0) {
            cli_error(CMD, "cannot remove %s: %s; run as root (or use --user)", paths[i],
                      strerror(errno));
            return 1;
        }
        printf("removed %s\n", paths[i]);
        removed++;
    }
    if (removed == 0) {
        cli_error(CMD, "%s is not installed (no %s)", names[0], paths[0]);
        return 1;
    }
    return 0;
}

static int finish_uninstall(const struct svc_args *a, bool systemd)
{
    bool reloaded;
    if (systemd)
        return reload(a, &reloaded);
    printf("systemd is not running here: stop the unit and run `systemctl%s daemon-reload` "
           "where it was installed\n",
           a->user ? " --user" : "");
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
    const char *names[] = {name}, *paths[] = {path};
    rc = remove_units(names, paths, 1);
    return rc != 0 ? rc : finish_uninstall(a, systemd);
}

/* ---- the snapshotter ---- */

struct snap_names {
    char dir[PATH_MAX];
    char service[NODE_SERVICE_NAME_MAX + 16], timer[NODE_SERVICE_NAME_MAX + 16];
    char service_path[PATH_MAX], timer_path[PATH_MAX];
};

static int snap_names(const struct svc_args *a, struct snap_names *n)
{
    char errbuf[NU_ERRMSG_MAX];
    if (node_snap_service_name(a->network, a->name, ".service", n->service, sizeof(n->service),
                               errbuf) != 0 ||
        node_snap_service_name(a->network, a->name, ".timer", n->timer, sizeof(n->timer), errbuf) !=
            0 ||
        node_service_dir(a->user, n->dir, sizeof(n->dir), errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    if (join_unit(n->dir, n->service, n->service_path, sizeof(n->service_path)) != 0 ||
        join_unit(n->dir, n->timer, n->timer_path, sizeof(n->timer_path)) != 0)
        return 1;
    return 0;
}

/* Flags of one kind of unit given for the other: 0, or the usage error. */
static int check_mode(const struct svc_args *a, enum svc_action action)
{
    const char *snap_only = a->every_s         ? "--every"
                            : a->keep          ? "--keep"
                            : a->sign_key      ? "--sign-key"
                            : a->metrics_dir   ? "--metrics-textfile-dir"
                            : a->run_timeout_s ? "--run-timeout"
                                               : NULL;
    if (a->store == NULL && snap_only != NULL)
        return cli_usage(CMD, "%s goes with --snapshot-to STORE (the snapshotter's units)",
                         snap_only);
    static const char *const restore_flags[] = {"--verify-with", "--verify-quorum", "--verify-key",
                                                NULL};
    bool restores = a->s3_endpoint != NULL; /* the node unit's --s3-endpoint is run's */
    for (size_t i = 0; i < a->nflags; i++)
        for (size_t j = 0; restore_flags[j] != NULL; j++)
            restores |= strcmp(a->flags[i], restore_flags[j]) == 0;
    bool from = false;
    for (size_t i = 0; i < a->nflags; i++)
        from |= strcmp(a->flags[i], "--from-snapshot") == 0;
    if (a->store == NULL && restores && !from)
        return cli_usage(CMD, "--verify-with, --verify-quorum, --verify-key and --s3-endpoint of "
                              "a node's unit go with --from-snapshot STORE");
    if (a->store == NULL || action == SVC_UNINSTALL)
        return 0;
    if (a->nflags > 0)
        return cli_usage(CMD,
                         "%s is a flag of `nearup run`: the snapshotter runs `nearup snapshot "
                         "create`; install the node's own unit without --snapshot-to",
                         a->flags[0]);
    if (a->every_s == 0)
        return cli_usage(CMD, "--snapshot-to needs --every DURATION (how often: 6h, 30m, ...)");
    return 0;
}

static int build_snap_units(const struct svc_args *a, const struct snap_names *n,
                            struct nu_buf *service, struct nu_buf *timer, char *node_unit,
                            size_t node_unitsz, struct unit_ctx *c)
{
    char errbuf[NU_ERRMSG_MAX];
    int rc = resolve(a, c);
    if (rc != 0)
        return rc;
    bool found = node_service_find(n->dir, c->home, node_unit, node_unitsz) == 0;
    /* Snapshots do not fail for want of a node_exporter nobody asked for:
     * the default dir only when it is there (a given one always). */
    const char *metrics = a->metrics_dir != NULL ? a->metrics_dir : NODE_SNAP_TEXTFILE_DIR;
    c->no_textfile_dir = a->metrics_dir == NULL && !nu_fs_is_dir(NODE_SNAP_TEXTFILE_DIR);
    if (c->no_textfile_dir)
        metrics = "";
    struct node_snap_service_opts o = {
        .nearup = c->self,
        .network = a->network,
        .home = c->home,
        .user = a->user,
        .run_user = a->user ? NULL : c->run_user,
        .store = a->store,
        .s3_endpoint = a->s3_endpoint,
        .sign_key = a->sign_key,
        .environment_file = a->env_file,
        .metrics_dir = metrics[0] != '\0' ? metrics : NULL,
        .node_unit = found ? node_unit : NULL,
        .every_s = a->every_s,
        .keep = a->keep,
        .run_timeout_s = a->run_timeout_s,
        .stop_timeout_s = a->stop_timeout_s,
    };
    if (!found)
        node_unit[0] = '\0';
    if (node_snap_service_unit(&o, service, errbuf) != 0 ||
        node_snap_timer_unit(&o, n->service, timer, errbuf) != 0) {
        cli_error(CMD, "%s", errbuf);
        return 1;
    }
    return 0;
}

#define NO_TEXTFILE_DIR                                                                            \
    NODE_SNAP_TEXTFILE_DIR                                                                         \
    " (node_exporter's textfile directory) is not here, so the runs "                              \
    "record no metrics; install prometheus-node-exporter and install again, or pass "              \
    "--metrics-textfile-dir DIR"

static void print_snap_next_steps(const struct svc_args *a, const struct snap_names *n,
                                  const struct unit_ctx *c, const char *node_unit, bool reloaded)
{
    const char *sc = systemctl_words(a);
    print_reload_hint(a, reloaded);
    printf("next: %s enable --now %s\n", sc, n->timer);
    printf("then: systemctl%s list-timers %s; journalctl%s -u %s\n", a->user ? " --user" : "",
           n->timer, a->user ? " --user" : "", n->service);
    printf("a snapshot now: %s start %s\n", sc, n->service);
    if (c->no_textfile_dir)
        printf("note: " NO_TEXTFILE_DIR "\n");
    if (node_unit[0] == '\0')
        printf("note: no nearup unit in %s runs %s: the runs stop and start its node through "
               "its supervisor\n",
               n->dir, c->home);
    else if (!a->user && strcmp(c->run_user, "root") != 0)
        printf("note: the runs stop and start %s with systemctl as %s: allow that with a polkit "
               "rule (docs/snapshots.md, \"Scheduled snapshots\")\n",
               node_unit, c->run_user);
}

static int snap_install(const struct svc_args *a, const struct snap_names *n,
                        const struct nu_buf *service, const struct nu_buf *timer,
                        const struct unit_ctx *c, const char *node_unit)
{
    bool reloaded;
    /* The service first: a timer whose service is missing cannot start. */
    int rc = write_unit(n->service_path, service);
    if (rc == 0)
        rc = write_unit(n->timer_path, timer);
    if (rc == 0)
        rc = reload(a, &reloaded);
    if (rc == 0)
        print_snap_next_steps(a, n, c, node_unit, reloaded);
    return rc;
}

/* The timer goes first: then no run starts while the files go. A run in
 * progress finishes (its files stay loaded in systemd until then). */
static int snap_uninstall(const struct svc_args *a, const struct snap_names *n)
{
    char errbuf[NU_ERRMSG_MAX];
    bool systemd = node_service_systemd_running();
    if (systemd && systemctl(a->user, "disable", n->timer, errbuf) == 0) {
        const char *clean[] = {"clean", "--what=state", n->timer, NULL}; /* Persistent='s stamp */
        printf("stopped and disabled %s\n", n->timer);
        (void)!node_systemctl(a->user, clean, NULL, 0, SYSTEMCTL_TIMEOUT_S, NULL);
    }
    const char *names[] = {n->service, n->timer};
    const char *paths[] = {n->service_path, n->timer_path};
    int rc = remove_units(names, paths, 2);
    return rc != 0 ? rc : finish_uninstall(a, systemd);
}

static int snapshotter(const struct svc_args *a, enum svc_action action)
{
    struct snap_names n;
    struct unit_ctx c;
    struct nu_buf service, timer;
    char node_unit[NODE_SERVICE_NAME_MAX + 16];
    int rc = snap_names(a, &n);
    if (rc != 0 || action == SVC_UNINSTALL)
        return rc != 0 ? rc : snap_uninstall(a, &n);
    nu_buf_init(&service, NODE_SERVICE_UNIT_MAX);
    nu_buf_init(&timer, NODE_SERVICE_UNIT_MAX);
    rc = build_snap_units(a, &n, &service, &timer, node_unit, sizeof(node_unit), &c);
    if (rc == 0 && action == SVC_PRINT) {
        printf("==> %s <==\n%s\n==> %s <==\n%s", n.service, service.data, n.timer, timer.data);
        if (c.no_textfile_dir)
            fprintf(stderr, "nearup service: note: " NO_TEXTFILE_DIR "\n");
    } else if (rc == 0)
        rc = snap_install(a, &n, &service, &timer, &c, node_unit);
    nu_buf_release(&service);
    nu_buf_release(&timer);
    return rc;
}

#define SVC_USAGE(verb)                                                                            \
    "nearup service " verb " NETWORK [--home DIR] [--user] [--name UNIT] [--service-user USER]\n"  \
    "                      [--stop-timeout SECONDS] [--environment-file FILE] [run flags]\n"       \
    "nearup service " verb " NETWORK --snapshot-to STORE --every DURATION [--keep N]\n"            \
    "                      [--sign-key FILE] [--s3-endpoint URL] [--metrics-textfile-dir DIR]\n"   \
    "                      [--run-timeout SECONDS] [--home DIR] [--user] [--name NAME] ..."
#define SVC_ABOUT                                                                                  \
    "The unit runs `nearup run NETWORK --foreground` as Type=notify; run flags given here\n"       \
    "(--binary-path, --neard-version, --release-url, --neard-sha256, --account-id,\n"              \
    "--boot-nodes, --archival, --rpc-addr, --network-addr, --restart, --log-max-size,\n"           \
    "--log-keep, --env, --allow-mainnet-validator, --from-snapshot, --verify-with,\n"              \
    "--verify-quorum, --verify-key, --s3-endpoint) are passed on.\n"                               \
    "With --snapshot-to: the snapshotter instead, nearup-snapshot-NETWORK.service "                \
    "(Type=oneshot:\n"                                                                             \
    "`nearup snapshot create`, then `nearup snapshot prune` with --keep) and\n"                    \
    "nearup-snapshot-NETWORK.timer, which starts it --every DURATION; uninstall removes both.\n"

static const struct cli_doc print_doc = {
    .prog = CMD,
    .summary = "print the unit (or the snapshotter's two)",
    .usage = SVC_USAGE("print"),
    .about = SVC_ABOUT,
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static const struct cli_doc install_doc = {
    .prog = CMD,
    .summary = "write the unit (or the snapshotter's two) and reload systemd",
    .usage = SVC_USAGE("install"),
    .about = SVC_ABOUT,
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static const struct cli_doc uninstall_doc = {
    .prog = CMD,
    .summary = "stop, disable and remove the unit (or the snapshotter's two)",
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
    if ((rc = check_mode(&a, action)) != 0)
        return rc;
    if (a.store != NULL)
        return snapshotter(&a, action);
    char msg[NU_ERRMSG_MAX];
    if (a.s3_endpoint != NULL && (add_run_arg(&a, "--s3-endpoint", msg, sizeof(msg)) != 0 ||
                                  add_run_arg(&a, a.s3_endpoint, msg, sizeof(msg)) != 0))
        return cli_usage(CMD, "%s", msg);
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
