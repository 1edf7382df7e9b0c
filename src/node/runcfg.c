/* run.json: how to run one home (struct node_run_config, see runcfg.h). */
#include "runcfg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "home.h"
#include "json.h"
#include "redact.h"
#include "state.h"

#define RUNCFG_FILE "run.json"

static const char *const policy_names[] = {
    [NODE_RESTART_ALWAYS] = "always",
    [NODE_RESTART_ON_FAILURE] = "on-failure",
    [NODE_RESTART_NO] = "no",
};

void node_runcfg_init(struct node_run_config *c)
{
    memset(c, 0, sizeof(*c));
    c->restart = NODE_RESTART_ALWAYS;
    c->log_max_size = 100u << 20;
    c->log_keep = 5;
    c->stop_timeout_s = NODE_DEFAULT_STOP_TIMEOUT_S;
}

static void free_list(char **list, size_t max)
{
    for (size_t i = 0; i < max && list[i] != NULL; i++) {
        free(list[i]);
        list[i] = NULL;
    }
}

void node_runcfg_release(struct node_run_config *c)
{
    if (c == NULL)
        return;
    free_list(c->args, NODE_MAX_ARGS);
    free_list(c->env, NODE_MAX_ENV);
}

int node_restart_policy_parse(const char *s, enum node_restart_policy *out)
{
    for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++) {
        if (s != NULL && strcmp(s, policy_names[i]) == 0) {
            *out = (enum node_restart_policy)i;
            return 0;
        }
    }
    return NU_EINVAL;
}

const char *node_restart_policy_name(enum node_restart_policy p)
{
    if ((unsigned)p >= sizeof(policy_names) / sizeof(policy_names[0]))
        return "always";
    return policy_names[p];
}

/* Copies an optional string field; a missing or null field leaves "". */
static int get_str(const json_t *o, const char *key, char *out, size_t outsz, const char *path,
                   char *errbuf)
{
    const char *s = NULL;
    int rc = nu_json_get_str(o, key, &s);
    if (rc == NU_ENOENT) {
        out[0] = '\0';
        return 0;
    }
    if (rc < 0 || strlen(s) >= outsz)
        return nu_err_set(errbuf, NU_EPARSE, "%s: field %s must be a string of at most %zu bytes",
                          path, key, outsz - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int get_list(const json_t *o, const char *key, char **list, size_t max, const char *path,
                    char *errbuf)
{
    json_t *arr = json_object_get(o, key);
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > max)
        return nu_err_set(errbuf, NU_EPARSE, "%s: %s must be an array of at most %zu strings", path,
                          key, max);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL)
            return nu_err_set(errbuf, NU_EPARSE, "%s: %s[%zu] must be a string", path, key, i);
        if ((list[i] = strdup(s)) == NULL)
            return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    }
    return 0;
}

static int get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out, const char *path,
                    char *errbuf)
{
    int64_t v;
    int rc = nu_json_get_int(o, key, &v);
    if (rc == NU_ENOENT)
        return 0;
    if (rc < 0 || v < 0 || (uint64_t)v > max)
        return nu_err_set(errbuf, NU_EPARSE, "%s: %s must be an integer from 0 to %llu", path, key,
                          (unsigned long long)max);
    *out = (uint64_t)v;
    return 0;
}

static int parse_numbers(const json_t *o, struct node_run_config *c, const char *path, char *errbuf)
{
    uint64_t keep = c->log_keep, stop = c->stop_timeout_s;
    const char *policy = NULL;
    int rc = get_uint(o, "log_max_size", UINT64_MAX >> 1, &c->log_max_size, path, errbuf);
    if (rc == 0)
        rc = get_uint(o, "log_keep", 1000, &keep, path, errbuf);
    if (rc == 0)
        rc = get_uint(o, "stop_timeout", 86400, &stop, path, errbuf);
    if (rc < 0)
        return rc;
    c->log_keep = (unsigned)keep;
    c->stop_timeout_s = (unsigned)stop;
    if (nu_json_get_str(o, "restart", &policy) == 0 &&
        node_restart_policy_parse(policy, &c->restart) < 0)
        return nu_err_set(errbuf, NU_EPARSE, "%s: restart must be always, on-failure or no", path);
    return 0;
}

static int parse_runcfg(const json_t *o, struct node_run_config *c, const char *path, char *errbuf)
{
    if (!json_is_object(o))
        return nu_err_set(errbuf, NU_EPARSE, "%s: not a JSON object", path);
    int rc = get_str(o, "network", c->network, sizeof(c->network), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "chain_id", c->chain_id, sizeof(c->chain_id), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "binary", c->binary, sizeof(c->binary), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "neard_version", c->neard_version, sizeof(c->neard_version), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "neard_commit", c->neard_commit, sizeof(c->neard_commit), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "neard_sha256", c->neard_sha256, sizeof(c->neard_sha256), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "release_url", c->release_url, sizeof(c->release_url), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "metrics_textfile_dir", c->metrics_textfile_dir,
                     sizeof(c->metrics_textfile_dir), path, errbuf);
    if (rc == 0)
        rc = get_str(o, "metrics_listen", c->metrics_listen, sizeof(c->metrics_listen), path,
                     errbuf);
    if (rc == 0)
        rc = get_list(o, "args", c->args, NODE_MAX_ARGS, path, errbuf);
    if (rc == 0)
        rc = get_list(o, "env", c->env, NODE_MAX_ENV, path, errbuf);
    if (rc == 0)
        rc = parse_numbers(o, c, path, errbuf);
    if (rc == 0 && c->binary[0] == '\0')
        rc = nu_err_set(errbuf, NU_EPARSE, "%s: binary is missing", path);
    return rc;
}

int node_runcfg_load(const char *home, struct node_run_config *c, char *errbuf)
{
    char path[PATH_MAX];
    json_t *root = NULL;
    node_runcfg_init(c);
    if (node_state_path(home, RUNCFG_FILE, path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_json_load_file(path, false, &root, errbuf);
    if (rc == 0)
        rc = parse_runcfg(root, c, path, errbuf);
    json_decref(root);
    if (rc < 0)
        node_runcfg_release(c);
    return rc;
}

static json_t *str_list(char *const *list, size_t max)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < max && list[i] != NULL; i++)
        json_array_append_new(arr, json_string(list[i]));
    return arr;
}

int node_runcfg_save(const char *home, const struct node_run_config *c, char *errbuf)
{
    char path[PATH_MAX], url[NODE_URL_MAX];
    if (node_state_path(home, RUNCFG_FILE, path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    /* run.json is readable by everyone: a bucket's credentials stay out */
    nu_redact(c->release_url, url, sizeof(url));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:I, s:i, s:i, s:s, s:s}", "network",
        c->network, "chain_id", c->chain_id, "binary", c->binary, "neard_version", c->neard_version,
        "neard_commit", c->neard_commit, "neard_sha256", c->neard_sha256, "release_url", url,
        "args", str_list(c->args, NODE_MAX_ARGS), "env", str_list(c->env, NODE_MAX_ENV), "restart",
        node_restart_policy_name(c->restart), "log_max_size", (json_int_t)c->log_max_size,
        "log_keep", (int)c->log_keep, "stop_timeout", (int)c->stop_timeout_s,
        "metrics_textfile_dir", c->metrics_textfile_dir, "metrics_listen", c->metrics_listen);
    if (o == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "%s: cannot build JSON", path);
    int rc = nu_json_write_file(path, o, 0644, true, errbuf);
    json_decref(o);
    return rc;
}

int node_runcfg_arg(const struct node_run_config *c, const char *flag, const char **value)
{
    for (size_t i = 0; i < NODE_MAX_ARGS && c->args[i] != NULL; i++) {
        size_t n = strlen(flag);
        if (value == NULL && strcmp(c->args[i], flag) == 0)
            return 0;
        if (value == NULL)
            continue;
        if (strcmp(c->args[i], flag) == 0 && c->args[i + 1] != NULL) {
            *value = c->args[i + 1];
            return 0;
        }
        if (strncmp(c->args[i], flag, n) == 0 && c->args[i][n] == '=') {
            *value = c->args[i] + n + 1;
            return 0;
        }
    }
    return NU_ENOENT;
}

/* "0.0.0.0:P" and "[::]:P" are not addresses one can connect to. */
static int loopback_addr(const char *addr, char *out, size_t outsz)
{
    int n;
    if (strncmp(addr, "0.0.0.0:", 8) == 0)
        n = snprintf(out, outsz, "127.0.0.1:%s", addr + 8);
    else if (strncmp(addr, "[::]:", 5) == 0)
        n = snprintf(out, outsz, "[::1]:%s", addr + 5);
    else
        n = snprintf(out, outsz, "%s", addr);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

int node_runcfg_rpc_addr(const char *home, const struct node_run_config *c, char *out, size_t outsz,
                         char *errbuf)
{
    const char *addr = NULL;
    if (c != NULL && node_runcfg_arg(c, "--disable-rpc", NULL) == 0)
        return nu_err_set(errbuf, NU_ENOENT, "rpc is disabled");
    if (c != NULL && node_runcfg_arg(c, "--rpc-addr", &addr) == 0) {
        if (loopback_addr(addr, out, outsz) < 0)
            return nu_err_set(errbuf, NU_ETOOBIG, "rpc address too long");
        return 0;
    }
    return node_home_rpc_addr(home, out, outsz, errbuf);
}

int node_metrics_listen_parse(const char *addr, struct nu_hostport *hp, char *errbuf)
{
    const char *why = NULL;
    char buf[NU_HOSTPORT_MAX + 16];
    struct sockaddr_storage sa;
    bool port_only = addr[0] != '\0' && strspn(addr, "0123456789") == strlen(addr);
    /* A bare port listens on loopback: metrics are not for the world by default. */
    int n = snprintf(buf, sizeof(buf), port_only ? "127.0.0.1:%s" : "%s", addr);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return nu_err_set(errbuf, NU_EINVAL, "metrics listen address %.64s...: too long", addr);
    if (nu_hostport_parse(buf, strlen(buf), 0, 0, hp, &why) != 0)
        return nu_err_set(errbuf, NU_EINVAL, "metrics listen address %s: %s", addr, why);
    if (strcmp(hp->host, "localhost") != 0 && nu_ip_sockaddr(hp->host, hp->port, &sa, NULL) < 0)
        return nu_err_set(errbuf, NU_EINVAL,
                          "metrics listen address %s: the host must be an IP address or localhost",
                          addr);
    return 0;
}
