/* NEAR's release bucket: version lookup and binary URLs (see release.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "buf.h"
#include "httpc.h"
#include "network.h"
#include "redact.h"
#include "release.h"

/* latest_release / latest_deploy / neard.sha256 are a line each. */
#define SMALL_GET_MAX 4096
#define SMALL_GET_TIMEOUT_MS 30000

int node_os_arch(char *out, size_t outsz)
{
    struct utsname u;
    if (uname(&u) != 0)
        return NU_EIO;
    if ((size_t)snprintf(out, outsz, "%s-%s", u.sysname, u.machine) >= outsz)
        return NU_ETOOBIG;
    return 0;
}

/* Names from the bucket end up in cache paths and URLs: a release or commit
 * is 1..127 chars of [A-Za-z0-9._+-], not starting with '.' or '-'. */
bool node_release_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= NODE_VERSION_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '+' && c != '-')
            return false;
    }
    return true;
}

/* base without trailing slashes, so BASE/ and BASE give the same URLs. */
static int base_len(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return (int)n;
}

int node_release_deploy_url(const char *base_url, const char *chain, const char *file, char *out,
                            size_t outsz)
{
    if (!base_url)
        base_url = NODE_DEFAULT_RELEASE_URL;
    int n = snprintf(out, outsz, "%.*s/nearcore-deploy/%s/%s", base_len(base_url), base_url, chain,
                     file);
    return n < 0 || (size_t)n >= outsz ? NU_ETOOBIG : 0;
}

static int get_small(const char *url, struct nu_buf *body, char *errbuf)
{
    struct nu_httpc_opts o;
    nu_httpc_opts_init(&o);
    o.max_bytes = SMALL_GET_MAX;
    o.timeout_ms = SMALL_GET_TIMEOUT_MS;
    long status = 0;
    int err = nu_httpc_global_init();
    if (err)
        return nu_err_set(errbuf, err, "cannot initialise the HTTP client");
    err = nu_http_get(url, &o, body, &status, errbuf);
    nu_httpc_global_cleanup();
    return err;
}

/* One line of a small text object, trimmed, checked as a release name. */
static int get_name(const char *url, const char *what, char *out, char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, SMALL_GET_MAX);
    char msg[NU_ERRMSG_MAX];
    int err = get_small(url, &b, msg);
    if (err == NU_ENET) {
        err = nu_err_set(errbuf, err, "cannot reach the release bucket: %s", msg);
        goto out;
    }
    if (err) {
        err = nu_err_set(errbuf, err, "cannot read %s from the release bucket: %s", what, msg);
        goto out;
    }
    char *s = b.data;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    if (!node_release_name_valid(s)) {
        err =
            nu_err_set(errbuf, NU_EPARSE, "GET %s: %s is not a valid name: '%.40s'", url, what, s);
        goto out;
    }
    snprintf(out, NODE_VERSION_MAX, "%s", s);
out:
    nu_buf_release(&b);
    return err;
}

static int binary_urls(const char *base, struct node_release *r)
{
    int bl = base_len(base);
    int n;
    if (r->commit[0])
        n = snprintf(r->binary_url, sizeof(r->binary_url), "%.*s/nearcore/%s/%s/%s/neard", bl, base,
                     r->os_arch, r->version, r->commit);
    else
        n = snprintf(r->binary_url, sizeof(r->binary_url), "%.*s/nearcore/%s/%s/neard", bl, base,
                     r->os_arch, r->version);
    if (n < 0 || (size_t)n >= sizeof(r->binary_url))
        return NU_ETOOBIG;
    n = snprintf(r->sha256_url, sizeof(r->sha256_url), "%s.sha256", r->binary_url);
    return n < 0 || (size_t)n >= sizeof(r->sha256_url) ? NU_ETOOBIG : 0;
}

static int resolve_latest(const char *base, const char *deploy_chain, struct node_release *out,
                          char *errbuf)
{
    char url[NODE_URL_MAX];
    if (node_release_deploy_url(base, deploy_chain, "latest_release", url, sizeof(url)) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "release url too long");
    int err = get_name(url, "latest_release", out->version, errbuf);
    if (err)
        return err;
    if (node_release_deploy_url(base, deploy_chain, "latest_deploy", url, sizeof(url)) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "release url too long");
    return get_name(url, "latest_deploy", out->commit, errbuf);
}

/* A base URL read back from run.json lost its credentials when it was
 * stored (runcfg.c): asking the bucket with "***" as the user is pointless. */
static int check_base(const char *base, char *errbuf)
{
    if (nu_redact_was_redacted(base))
        return nu_err_set(errbuf, NU_EINVAL,
                          "release url %s was stored without its credentials; pass --release-url "
                          "with them again",
                          base);
    return 0;
}

int node_release_build(const char *base_url, const char *version, const char *commit,
                       struct node_release *out, char *errbuf)
{
    const char *base = base_url ? base_url : NODE_DEFAULT_RELEASE_URL;
    memset(out, 0, sizeof(*out));
    if (check_base(base, errbuf) != 0)
        return NU_EINVAL;
    if (node_os_arch(out->os_arch, sizeof(out->os_arch)) != 0)
        return nu_err_set(errbuf, NU_EIO, "cannot tell this machine's os and architecture");
    if (!node_release_name_valid(version))
        return nu_err_set(errbuf, NU_EINVAL, "invalid neard version '%s'", version ? version : "");
    if (commit && commit[0] && !node_release_name_valid(commit))
        return nu_err_set(errbuf, NU_EINVAL, "invalid neard commit '%s'", commit);
    snprintf(out->version, sizeof(out->version), "%s", version);
    snprintf(out->commit, sizeof(out->commit), "%s", commit ? commit : "");
    if (binary_urls(base, out) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "release url too long: %s", base);
    return 0;
}

int node_release_resolve(const char *base_url, const char *chain, const char *version,
                         struct node_release *out, char *errbuf)
{
    const char *base = base_url ? base_url : NODE_DEFAULT_RELEASE_URL;
    if (version)
        return node_release_build(base_url, version, NULL, out, errbuf);
    memset(out, 0, sizeof(*out));
    if (check_base(base, errbuf) != 0)
        return NU_EINVAL;
    if (node_os_arch(out->os_arch, sizeof(out->os_arch)) != 0)
        return nu_err_set(errbuf, NU_EIO, "cannot tell this machine's os and architecture");
    const char *deploy = node_network_deploy_chain(chain ? chain : "testnet");
    int err = resolve_latest(base, deploy, out, errbuf);
    if (err)
        return err;
    if (binary_urls(base, out) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "release url too long: %s", base);
    return 0;
}

int node_sha256_parse(const char *text, char out[NODE_SHA256_HEX])
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    for (int i = 0; i < NODE_SHA256_HEX - 1; i++) {
        if (!isxdigit((unsigned char)p[i]))
            return NU_EPARSE;
        out[i] = (char)tolower((unsigned char)p[i]);
    }
    out[NODE_SHA256_HEX - 1] = '\0';
    /* sha256sum puts "  name" (or " *name" in binary mode) after the hash */
    char end = p[NODE_SHA256_HEX - 1];
    return end == '\0' || isspace((unsigned char)end) ? 0 : NU_EPARSE;
}

int node_release_fetch_sha256(const struct node_release *r, char out[NODE_SHA256_HEX], char *errbuf)
{
    struct nu_buf b;
    nu_buf_init(&b, SMALL_GET_MAX);
    char msg[NU_ERRMSG_MAX];
    int err = get_small(r->sha256_url, &b, msg);
    if (err == NU_ENET)
        err = nu_err_set(errbuf, err, "cannot reach the release bucket: %s", msg);
    else if (err == NU_EHTTP && strstr(msg, "HTTP 404"))
        err = nu_err_set(errbuf, err, "no neard %s for %s in the release bucket: %s", r->version,
                         r->os_arch, msg);
    else if (err == NU_EHTTP)
        err = nu_err_set(errbuf, err, "cannot read the checksum of neard %s: %s", r->version, msg);
    else if (err)
        err = nu_err_set(errbuf, err, "cannot read neard.sha256: %s", msg);
    else if (node_sha256_parse(b.data, out) != 0)
        err = nu_err_set(errbuf, NU_EPARSE, "GET %s: not in sha256sum format", r->sha256_url);
    nu_buf_release(&b);
    return err;
}
