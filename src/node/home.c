/* Making and checking a neard home (see home.h). A new home is made by
 * neard's own `init` in a temporary dir beside it, then renamed into
 * place, so an interrupted init never leaves a half-made home. */
#include "home.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fs.h"
#include "httpc.h"
#include "network.h"
#include "proc.h"
#include "release.h"

#define INIT_TIMEOUT_MS (30 * 60 * 1000) /* genesis downloads can be slow */
#define INIT_OUTPUT_MAX (64u << 10)
#define INIT_TAIL_LINES 8
#define INIT_ARGS_MAX 24

/* ---- small file helpers ---- */

static int split_home(const char *home, char *parent, size_t psz, const char **base)
{
    const char *slash = strrchr(home, '/');
    if (slash == NULL || slash[1] == '\0')
        return NU_EINVAL;
    *base = slash + 1;
    int n = snprintf(parent, psz, "%.*s", slash == home ? 1 : (int)(slash - home), home);
    return n < 0 || (size_t)n >= psz ? NU_ETOOBIG : 0;
}

/* ---- neard init ---- */

struct init_args {
    char *argv[INIT_ARGS_MAX];
    size_t n;
    char genesis_url[NODE_URL_MAX];
    char config_url[NODE_URL_MAX];
};

static void push(struct init_args *a, const char *s)
{
    if (a->n + 1 < INIT_ARGS_MAX)
        a->argv[a->n++] = (char *)s;
    a->argv[a->n] = NULL;
}

/* 0 when url answers 2xx, NU_EHTTP (status in *status) or NU_ENET. */
static int url_exists(const char *url, long *status, char *errbuf)
{
    static const char *const range[] = {"Range: bytes=0-0", NULL};
    struct nu_httpc_opts o;
    struct nu_buf body;
    nu_httpc_opts_init(&o);
    o.headers = range;
    o.max_bytes = 4096;
    o.timeout_ms = 30000;
    nu_buf_init(&body, 4096);
    int rc = nu_http_get(url, &o, &body, status, errbuf);
    nu_buf_release(&body);
    return rc == NU_ETOOBIG ? 0 : rc; /* a server that ignores Range still has the file */
}

/* The first of files[] the bucket has under nearcore-deploy/<chain>/. */
static int pick_url(const struct node_home_opts *o, const char *chain, const char *const *files,
                    char *out, size_t outsz, char *errbuf)
{
    char first[NODE_URL_MAX] = "";
    for (size_t i = 0; files[i] != NULL; i++) {
        long status = 0;
        if (node_release_deploy_url(o->release_url, chain, files[i], out, outsz) < 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "release url too long");
        if (i == 0)
            snprintf(first, sizeof(first), "%s", out);
        char why[NU_ERRMSG_MAX];
        int rc = url_exists(out, &status, why);
        if (rc == 0)
            return 0;
        if (rc == NU_ENET)
            return nu_err_set(errbuf, NU_ENET, "cannot reach the release bucket: %s", why);
        if (status != 404 && status != 403)
            return nu_err_set(errbuf, rc, "%s", why);
    }
    return nu_err_set(errbuf, NU_EHTTP, "the release bucket has no %s (GET %s: not found)",
                      files[0], first);
}

static int download_args(const struct node_home_opts *o, const struct node_network *net,
                         struct init_args *a, char *errbuf)
{
    static const char *const genesis[] = {"genesis.json.xz", "genesis.json", NULL};
    static const char *const rpc[] = {"rpc/config.json", "config.json", NULL};
    static const char *const archival[] = {"archival/config.json", "rpc/config.json", "config.json",
                                           NULL};
    if (net->download_genesis) {
        int rc = pick_url(o, net->name, genesis, a->genesis_url, sizeof(a->genesis_url), errbuf);
        if (rc < 0)
            return rc;
        push(a, "--download-genesis");
        push(a, "--download-genesis-url");
        push(a, a->genesis_url);
    }
    if (net->download_config) {
        int rc = pick_url(o, net->name, o->archival ? archival : rpc, a->config_url,
                          sizeof(a->config_url), errbuf);
        if (rc < 0)
            return rc;
        push(a, "--download-config");
        push(a, o->archival && strstr(a->config_url, "/archival/") ? "archival" : "rpc");
        push(a, "--download-config-url");
        push(a, a->config_url);
    }
    return 0;
}

static int build_init_args(const struct node_home_opts *o, const char *dir, struct init_args *a,
                           char *errbuf)
{
    const struct node_network *net = node_network_find(o->network);
    memset(a, 0, sizeof(*a));
    push(a, o->neard);
    push(a, "--home");
    push(a, dir);
    push(a, "init");
    push(a, "--chain-id");
    push(a, o->network);
    if (o->account_id != NULL && o->account_id[0] != '\0') {
        push(a, "--account-id");
        push(a, o->account_id);
    }
    if (o->boot_nodes != NULL && o->boot_nodes[0] != '\0') {
        push(a, "--boot-nodes");
        push(a, o->boot_nodes);
    }
    return net != NULL ? download_args(o, net, a, errbuf) : 0;
}

/* The last lines of text, indented, into out. */
static void last_lines(const char *text, size_t len, unsigned n, char *out, size_t outsz)
{
    while (len > 0 && text[len - 1] == '\n')
        len--;
    size_t start = len;
    for (unsigned lines = 0; start > 0; start--) {
        if (text[start - 1] == '\n' && ++lines == n)
            break;
    }
    size_t o = 0;
    for (size_t i = start; i < len && o + 3 < outsz; i++) {
        if (i == start || text[i - 1] == '\n') {
            out[o++] = ' ';
            out[o++] = ' ';
        }
        out[o++] = text[i];
    }
    out[o] = '\0';
}

/* Runs neard init, its output in a temp file (read back on failure). */
static int run_init(struct init_args *a, const char *outpath, char *errbuf)
{
    int fd = open(outpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return nu_err_set(errbuf, NU_EIO, "create %s: %s", outpath, strerror(errno));
    struct nu_spawn_opts so;
    nu_spawn_opts_init(&so);
    so.stdout_fd = fd;
    so.stderr_fd = fd;
    pid_t pid;
    int st = 0;
    int rc = nu_proc_spawn(a->argv, &so, &pid, errbuf);
    close(fd);
    if (rc < 0)
        return rc;
    if (nu_proc_wait(pid, INIT_TIMEOUT_MS, &st) < 0) {
        rc = nu_proc_stop(pid, SIGKILL, 1000, &st);
        return nu_err_set(errbuf, NU_ETIMEDOUT, "neard init did not finish in %d minutes",
                          INIT_TIMEOUT_MS / 60000);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    char *text = NULL, tail[2048];
    size_t len = 0;
    if (nu_fs_read_file(outpath, INIT_OUTPUT_MAX * 16, &text, &len, NULL) < 0)
        len = 0;
    last_lines(text != NULL ? text : "", len, INIT_TAIL_LINES, tail, sizeof(tail));
    free(text);
    if (WIFSIGNALED(st))
        return nu_err_set(errbuf, NU_ECHILD, "neard init was killed by signal %d; its output:\n%s",
                          WTERMSIG(st), tail);
    return nu_err_set(errbuf, NU_ECHILD, "neard init failed (exit code %d); its output:\n%s",
                      WEXITSTATUS(st), tail);
}

/* Moves the entries of src missing from dst into it, config.json last
 * (its presence marks a complete home). */
static int merge_into(const char *src, const char *dst, char *errbuf)
{
    static const char *const order[] = {"genesis.json",    "node_key.json", "validator_key.json",
                                        "log_config.json", "config.json",   NULL};
    char from[PATH_MAX], to[PATH_MAX];
    for (size_t i = 0; order[i] != NULL; i++) {
        if (nu_fs_join(from, sizeof(from), src, order[i]) < 0 ||
            nu_fs_join(to, sizeof(to), dst, order[i]) < 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", dst);
        if (nu_fs_exists(from) && !nu_fs_exists(to) && rename(from, to) < 0)
            return nu_err_set(errbuf, NU_EIO, "rename %s: %s", from, strerror(errno));
    }
    return nu_fs_fsync_dir(dst, errbuf);
}

static int place_home(const char *tmp, const char *home, const char *parent, char *errbuf)
{
    if (rename(tmp, home) == 0)
        return nu_fs_fsync_dir(parent, errbuf);
    if (errno != ENOTEMPTY && errno != EEXIST)
        return nu_err_set(errbuf, NU_EIO, "rename %s to %s: %s", tmp, home, strerror(errno));
    /* A home dir with files but no config.json (keys put there by hand). */
    return merge_into(tmp, home, errbuf);
}

static int init_home(const struct node_home_opts *o, char *errbuf)
{
    char parent[PATH_MAX], tmp[PATH_MAX], out[PATH_MAX];
    const char *base;
    struct init_args a;
    if (split_home(o->home, parent, sizeof(parent), &base) < 0)
        return nu_err_set(errbuf, NU_EINVAL, "%s: not a usable home path", o->home);
    int rc = nu_fs_mkdir_p(parent, 0755, errbuf);
    if (rc == NU_EPERM)
        return nu_err_set(errbuf, NU_EPERM, "no permission to create %s; choose another --home",
                          o->home);
    if (rc < 0)
        return rc;
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.init-XXXXXX", parent, base) >= (int)sizeof(tmp))
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", o->home);
    if (mkdtemp(tmp) == NULL)
        return nu_err_set(errbuf, nu_err_from_errno(errno),
                          "no permission to create %s (%s); choose another --home", o->home,
                          strerror(errno));
    chmod(tmp, 0755); /* mkdtemp's 0700; a home is as neard would make it */
    if (snprintf(out, sizeof(out), "%s.out", tmp) >= (int)sizeof(out))
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", o->home);
    rc = build_init_args(o, tmp, &a, errbuf);
    if (rc == 0)
        rc = run_init(&a, out, errbuf);
    if (rc == 0 && o->archival)
        rc = node_home_set_archive(tmp, errbuf);
    if (rc == 0)
        rc = place_home(tmp, o->home, parent, errbuf);
    unlink(out);
    char ignored[NU_ERRMSG_MAX];
    int rm = nu_fs_rm_tree(tmp, ignored);
    (void)rm; /* leftovers of a merged init are harmless */
    return rc;
}

/* ---- existing homes ---- */

static int check_existing(const struct node_home_opts *o, char *errbuf)
{
    char chain[256], path[PATH_MAX];
    if (access(o->home, W_OK) < 0)
        return nu_err_set(errbuf, NU_EPERM,
                          "no permission to write %s (%s); run as its owner or "
                          "choose another --home",
                          o->home, strerror(errno));
    int rc = node_home_chain_id(o->home, chain, sizeof(chain), errbuf);
    if (rc == NU_ENOENT)
        return nu_err_set(errbuf, NU_ENOENT,
                          "%s has a config.json but no genesis.json; restore "
                          "it or choose another --home",
                          o->home);
    if (rc < 0)
        return rc;
    if (strcmp(chain, o->network) != 0)
        return nu_err_set(errbuf, NU_ESTATE,
                          "%s holds a node of chain %s, not %s; choose another --home (nothing "
                          "was changed)",
                          o->home, chain, o->network);
    if (strcmp(o->network, "mainnet") == 0 && !o->allow_mainnet_validator &&
        nu_fs_join(path, sizeof(path), o->home, "validator_key.json") == 0 && nu_fs_exists(path))
        return nu_err_set(errbuf, NU_EPERM,
                          "%s has a validator_key.json: running a mainnet "
                          "validator needs --allow-mainnet-validator",
                          o->home);
    return 0;
}

int node_home_reset_data(const char *home, char *errbuf)
{
    char data[PATH_MAX];
    if (nu_fs_join(data, sizeof(data), home, "data") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    return nu_fs_rm_tree(data, errbuf);
}

int node_home_prepare(const struct node_home_opts *o, char *errbuf)
{
    char cfg[PATH_MAX];
    bool validator = o->account_id != NULL && o->account_id[0] != '\0';
    if (strcmp(o->network, "mainnet") == 0 && validator && !o->allow_mainnet_validator)
        return nu_err_set(errbuf, NU_EPERM,
                          "--account-id on mainnet makes a validator; pass "
                          "--allow-mainnet-validator if that is what you want");
    if (nu_fs_join(cfg, sizeof(cfg), o->home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", o->home);
    if (nu_fs_is_dir(o->home) && access(o->home, R_OK | X_OK) < 0)
        return nu_err_set(errbuf, NU_EPERM,
                          "no permission to read %s (%s); run as its owner or "
                          "choose another --home",
                          o->home, strerror(errno));
    int rc = nu_fs_exists(cfg) ? check_existing(o, errbuf) : init_home(o, errbuf);
    if (rc == 0 && o->reset_data)
        rc = node_home_reset_data(o->home, errbuf);
    return rc;
}
