/* Reading and editing the files of an existing neard home (see home.h):
 * genesis.json's chain_id, config.json's rpc address, and field edits of
 * config.json that keep everything else as it was. Apart from home.c so
 * that nearup-supervisor, which needs the rpc address and the
 * expected_shutdown edit, links no HTTP client. */
#include "home.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "json.h"

#define GENESIS_HEAD_MAX (64u << 10) /* chain_id is near the top of genesis.json */

/* The string value after "chain_id": in text, into out. */
static int scan_chain_id(const char *text, char *out, size_t outsz)
{
    const char *p = strstr(text, "\"chain_id\"");
    if (p == NULL)
        return NU_ENOENT;
    p += 10;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
        p++;
    if (*p++ != '"')
        return NU_EPARSE;
    const char *end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= outsz || memchr(p, '\\', (size_t)(end - p)))
        return NU_EPARSE;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

int node_home_chain_id(const char *home, char *out, size_t outsz, char *errbuf)
{
    char path[PATH_MAX], head[GENESIS_HEAD_MAX + 1];
    if (nu_fs_join(path, sizeof(path), home, "genesis.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    /* Public genesis files are hundreds of MB: read the head, not the file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nu_err_set(errbuf, nu_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, head, GENESIS_HEAD_MAX);
    close(fd);
    if (n < 0)
        return nu_err_set(errbuf, NU_EIO, "read %s: %s", path, strerror(errno));
    head[n] = '\0';
    int rc = scan_chain_id(head, out, outsz);
    if (rc < 0)
        return nu_err_set(errbuf, NU_EPARSE, "%s: no chain_id near the top of the file", path);
    return 0;
}

int node_home_rpc_addr(const char *home, char *out, size_t outsz, char *errbuf)
{
    char path[PATH_MAX];
    json_t *cfg = NULL;
    const char *addr = NULL;
    if (nu_fs_join(path, sizeof(path), home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_json_load_file(path, true, &cfg, errbuf);
    if (rc == 0 && nu_json_get_str(cfg, "rpc.addr", &addr) < 0)
        rc = nu_err_set(errbuf, NU_ENOENT, "%s: no rpc.addr", path);
    int n = 0;
    if (rc == 0 && strncmp(addr, "0.0.0.0:", 8) == 0)
        n = snprintf(out, outsz, "127.0.0.1:%s", addr + 8);
    else if (rc == 0 && strncmp(addr, "[::]:", 5) == 0)
        n = snprintf(out, outsz, "[::1]:%s", addr + 5);
    else if (rc == 0)
        n = snprintf(out, outsz, "%s", addr);
    if (rc == 0 && (n < 0 || (size_t)n >= outsz))
        rc = nu_err_set(errbuf, NU_ETOOBIG, "%s: rpc.addr too long", path);
    json_decref(cfg);
    return rc;
}

/* Loads config.json, lets edit change it, writes it back atomically with
 * every other field in its order and the file's mode and final newline. */
static int edit_config(const char *home, int (*edit)(json_t *cfg, void *arg), void *arg,
                       char *errbuf)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    json_t *cfg = NULL;
    struct stat st;
    if (nu_fs_join(path, sizeof(path), home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_fs_read_file(path, NU_JSON_FILE_MAX, &text, &len, errbuf);
    if (rc == 0)
        rc = nu_json_parse(path, text, len, true, &cfg, errbuf);
    if (rc == 0 && !json_is_object(cfg))
        rc = nu_err_set(errbuf, NU_EPARSE, "%s: not a JSON object", path);
    if (rc == 0)
        rc = edit(cfg, arg);
    if (rc > 0) /* nothing to change */
        rc = 0;
    else if (rc == 0)
        rc = nu_json_write_file(path, cfg, stat(path, &st) == 0 ? st.st_mode & 07777 : 0644,
                                len > 0 && text[len - 1] == '\n', errbuf);
    free(text);
    json_decref(cfg);
    return rc;
}

static int edit_shutdown(json_t *cfg, void *arg)
{
    int64_t h = *(int64_t *)arg;
    if (h < 0)
        return json_object_del(cfg, "expected_shutdown") == 0 ? 0 : 1;
    return json_object_set_new(cfg, "expected_shutdown", json_integer(h)) == 0 ? 0 : NU_ENOMEM;
}

int node_home_set_expected_shutdown(const char *home, int64_t height, char *errbuf)
{
    return edit_config(home, edit_shutdown, &height, errbuf);
}

int node_home_expected_shutdown(const char *home, int64_t *height, char *errbuf)
{
    char path[PATH_MAX];
    json_t *cfg = NULL;
    if (nu_fs_join(path, sizeof(path), home, "config.json") < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_json_load_file(path, true, &cfg, errbuf);
    if (rc == 0 && nu_json_get_int(cfg, "expected_shutdown", height) < 0)
        rc = nu_err_set(errbuf, NU_ENOENT, "%s: no expected_shutdown", path);
    json_decref(cfg);
    return rc;
}

static int edit_archive(json_t *cfg, void *arg)
{
    return json_object_set_new(cfg, "archive", json_true()) == 0 ? 0 : NU_ENOMEM;
}

int node_home_set_archive(const char *home, char *errbuf)
{
    return edit_config(home, edit_archive, NULL, errbuf);
}
