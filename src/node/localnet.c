/* Local multi-node networks: generation through neard, address binding. */
#include "localnet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "hostport.h"
#include "json.h"
#include "proc.h"

#define GENERATE_TIMEOUT_MS 120000
#define OUTPUT_TAIL 400 /* bytes of neard's output quoted in an error */
#define ADDR_MAX 320
#define BOOT_NODES_MAX 16384

int node_localnet_nodes(const char *root, char (*out)[PATH_MAX], size_t max, size_t *n,
                        char *errbuf)
{
    struct stat sb;
    *n = 0;
    if (stat(root, &sb) != 0)
        return errno == ENOENT ? 0 : nu_err_set(errbuf, NU_EIO, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return nu_err_set(errbuf, NU_EINVAL, "%s is not a directory", root);
    for (size_t i = 0; i < max; i++) {
        char cfg[PATH_MAX];
        int len = snprintf(out[i], PATH_MAX, "%s/node%zu", root, i);
        if (len < 0 || len >= PATH_MAX || nu_fs_join(cfg, sizeof(cfg), out[i], "config.json") != 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", root);
        if (!nu_fs_exists(cfg))
            break;
        *n = i + 1;
    }
    return 0;
}

/* The last bytes of what neard printed, on one line, for an error. */
static void output_tail(int fd, char *out, size_t outsz)
{
    char buf[OUTPUT_TAIL + 1];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > OUTPUT_TAIL ? end - OUTPUT_TAIL : 0;
    ssize_t got = pread(fd, buf, OUTPUT_TAIL, from);
    size_t len = got > 0 ? (size_t)got : 0;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        buf[i] = buf[i] == '\n' ? ' ' : buf[i];
    snprintf(out, outsz, "%s", buf);
}

static int run_neard_localnet(const struct node_localnet_opts *o, const char *dir, int outfd,
                              char *errbuf)
{
    char v[16], r[16], a[16], sh[16];
    snprintf(v, sizeof(v), "%u", o->validators);
    snprintf(r, sizeof(r), "%u", o->rpc);
    snprintf(a, sizeof(a), "%u", o->archival);
    snprintf(sh, sizeof(sh), "%u", o->shards);
    char *argv[20] = {(char *)o->neard, /* 16 words at most, then NULL */
                      "--home",
                      (char *)dir,
                      "localnet",
                      "-v",
                      v,
                      "--non-validators-rpc",
                      r,
                      "--non-validators-archival",
                      a};
    size_t n = 10;
    if (o->shards > 0) {
        argv[n++] = "--shards";
        argv[n++] = sh;
    }
    if (o->tracked_shards != NULL) {
        argv[n++] = "--tracked-shards";
        argv[n++] = (char *)o->tracked_shards;
    }
    if (o->archival_nodes)
        argv[n++] = "--archival-nodes";
    if (o->fixed_shards)
        argv[n++] = "--fixed-shards";
    struct nu_spawn_opts so;
    nu_spawn_opts_init(&so);
    so.stdout_fd = so.stderr_fd = outfd;
    pid_t pid;
    int status = 0;
    int rc = nu_proc_spawn(argv, &so, &pid, errbuf);
    if (rc != 0)
        return rc;
    if (nu_proc_wait(pid, GENERATE_TIMEOUT_MS, &status) != 0) {
        (void)!nu_proc_stop(pid, SIGKILL, 1000, &status);
        return nu_err_set(errbuf, NU_ETIMEDOUT, "%s localnet did not finish in %d s", o->neard,
                          GENERATE_TIMEOUT_MS / 1000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char tail[OUTPUT_TAIL + 1];
        output_tail(outfd, tail, sizeof(tail));
        return nu_err_set(errbuf, NU_ECHILD, "%s localnet failed (%s %d): %s", o->neard,
                          WIFEXITED(status) ? "exit" : "signal",
                          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
    }
    return 0;
}

/* Puts the finished tree at root: root may be absent or an empty dir. */
static int install_tree(const char *tmp, const char *root, const char *parent, char *errbuf)
{
    if (rmdir(root) != 0 && errno != ENOENT)
        return nu_err_set(errbuf, NU_EEXIST, "%s exists and is not an empty localnet root: %s",
                          root, strerror(errno));
    if (rename(tmp, root) != 0)
        return nu_err_set(errbuf, NU_EIO, "rename %s to %s: %s", tmp, root, strerror(errno));
    return nu_fs_fsync_dir(parent, errbuf);
}

int node_localnet_generate(const struct node_localnet_opts *o, char *errbuf)
{
    char parent[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", o->root);
    snprintf(base, sizeof(base), "%s", o->root);
    int len = snprintf(tmp, sizeof(tmp), "%s/.%s.nearup-XXXXXX", dirname(parent), basename(base));
    if (len < 0 || (size_t)len >= sizeof(tmp))
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", o->root);
    int rc = nu_fs_mkdir_p(parent, 0755, errbuf);
    if (rc != 0)
        return rc;
    if (mkdtemp(tmp) == NULL)
        return nu_err_set(errbuf, NU_EIO, "cannot create a directory in %s: %s", parent,
                          strerror(errno));
    /* neard's output goes to an anonymous file: quoted on failure, gone after. */
    int outfd = open(parent, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (outfd < 0)
        outfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    rc = run_neard_localnet(o, tmp, outfd, errbuf);
    if (outfd >= 0)
        close(outfd);
    if (rc == 0)
        rc = install_tree(tmp, o->root, parent, errbuf);
    if (rc != 0) {
        char ignored[NU_ERRMSG_MAX];
        (void)!nu_fs_rm_tree(tmp, ignored);
    }
    return rc;
}

/* "host:port" with host replaced. */
static int with_host(const char *addr, const char *host, char *out, size_t outsz)
{
    struct nu_hostport hp;
    const char *why;
    if (nu_hostport_parse(addr, strlen(addr), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0)
        return NU_EINVAL;
    return nu_hostport_format(host, hp.port, out, outsz);
}

/* Sets a string field to value when it differs; *changed records it. */
static int set_str(json_t *cfg, const char *path, const char *value, bool *changed)
{
    const char *old = NULL;
    if (nu_json_get_str(cfg, path, &old) == 0 && strcmp(old, value) == 0)
        return 0;
    *changed = true;
    return nu_json_set(cfg, path, json_string(value));
}

static int bind_listen_addr(json_t *cfg, const char *path, const char *host, bool *changed)
{
    const char *old;
    char addr[ADDR_MAX];
    if (nu_json_get_str(cfg, path, &old) != 0)
        return 0; /* no such listener (e.g. no rpc section) */
    int rc = with_host(old, host, addr, sizeof(addr));
    return rc == 0 ? set_str(cfg, path, addr, changed) : rc;
}

/* "pk@host:port,pk@host:port" with every host 127.0.0.1. */
static int bind_boot_nodes(json_t *cfg, bool *changed)
{
    const char *old;
    if (nu_json_get_str(cfg, "network.boot_nodes", &old) != 0 || old[0] == '\0')
        return 0;
    struct nu_buf b;
    nu_buf_init(&b, BOOT_NODES_MAX);
    int rc = 0;
    for (const char *p = old; rc == 0 && *p != '\0';) {
        size_t len = strcspn(p, ",");
        char entry[ADDR_MAX], addr[ADDR_MAX];
        const char *at = memchr(p, '@', len);
        if (at == NULL || len >= sizeof(entry)) {
            rc = NU_EINVAL;
            break;
        }
        snprintf(entry, sizeof(entry), "%.*s", (int)len, p);
        rc = with_host(entry + (at - p) + 1, "127.0.0.1", addr, sizeof(addr));
        if (rc == 0)
            rc = nu_buf_printf(&b, "%s%.*s@%s", b.len ? "," : "", (int)(at - p), p, addr);
        p += len + (p[len] == ',');
    }
    if (rc == 0)
        rc = set_str(cfg, "network.boot_nodes", b.data ? b.data : "", changed);
    nu_buf_release(&b);
    return rc;
}

static int set_fast(json_t *cfg, bool *changed)
{
    uint64_t min = 0, max = 0;
    if (nu_json_get_duration_ms(cfg, "consensus.min_block_production_delay", &min) == 0 &&
        nu_json_get_duration_ms(cfg, "consensus.max_block_production_delay", &max) == 0 &&
        min == NODE_LOCALNET_FAST_MIN_MS && max == NODE_LOCALNET_FAST_MAX_MS)
        return 0;
    *changed = true;
    int rc = nu_json_set(cfg, "consensus.min_block_production_delay",
                         nu_json_duration(NODE_LOCALNET_FAST_MIN_MS));
    if (rc == 0)
        rc = nu_json_set(cfg, "consensus.max_block_production_delay",
                         nu_json_duration(NODE_LOCALNET_FAST_MAX_MS));
    return rc;
}

int node_localnet_config(const char *home, bool public_addrs, bool fast, char *errbuf)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    json_t *cfg = NULL;
    bool changed = false;
    const char *host = public_addrs ? "0.0.0.0" : "127.0.0.1";
    int rc = nu_fs_join(path, sizeof(path), home, "config.json");
    if (rc == 0)
        rc = nu_fs_read_file(path, NU_JSON_FILE_MAX, &text, &len, errbuf);
    if (rc == 0)
        rc = nu_json_parse(path, text, len, true, &cfg, errbuf);
    if (rc != 0)
        goto out;
    rc = bind_listen_addr(cfg, "rpc.addr", host, &changed);
    if (rc == 0)
        rc = bind_listen_addr(cfg, "network.addr", host, &changed);
    if (rc == 0)
        rc = bind_boot_nodes(cfg, &changed);
    if (rc == 0 && fast)
        rc = set_fast(cfg, &changed);
    if (rc != 0) {
        rc = nu_err_set(errbuf, rc, "%s: cannot rewrite addresses: %s", path, nu_strerror(rc));
        goto out;
    }
    if (changed)
        rc = nu_json_write_file(path, cfg, 0644, len > 0 && text[len - 1] == '\n', errbuf);
out:
    json_decref(cfg);
    free(text);
    return rc;
}

static bool genesis_has_validator(const char *home, const char *account)
{
    char path[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    json_t *g = NULL;
    bool found = false;
    if (nu_fs_join(path, sizeof(path), home, "genesis.json") != 0 ||
        nu_json_load_file(path, false, &g, errbuf) != 0)
        return false;
    json_t *vals = json_object_get(g, "validators"), *v;
    size_t i;
    json_array_foreach(vals, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "account_id"));
        found = found || (id != NULL && strcmp(id, account) == 0);
    }
    json_decref(g);
    return found;
}

const char *node_localnet_role(const char *home)
{
    char path[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    json_t *j = NULL;
    bool archive = false;
    const char *role = "rpc";
    if (nu_fs_join(path, sizeof(path), home, "config.json") == 0 &&
        nu_json_load_file(path, true, &j, errbuf) == 0 &&
        nu_json_get_bool(j, "archive", &archive) == 0 && archive)
        role = "archival";
    json_decref(j);
    j = NULL;
    const char *account;
    if (!archive && nu_fs_join(path, sizeof(path), home, "validator_key.json") == 0 &&
        nu_json_load_file(path, false, &j, errbuf) == 0 &&
        nu_json_get_str(j, "account_id", &account) == 0 && genesis_has_validator(home, account))
        role = "validator";
    json_decref(j);
    return role;
}

int node_reset_data(const char *home, char *errbuf)
{
    static const char *const dirs[] = {"data", "cold-data"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char path[PATH_MAX];
        if (nu_fs_join(path, sizeof(path), home, dirs[i]) != 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
        int rc = nu_fs_rm_tree(path, errbuf);
        if (rc != 0)
            return rc;
    }
    return 0;
}
