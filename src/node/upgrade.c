/* Pending upgrades: upgrade.json and the signals that start them. */
#include "upgrade.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "home.h"
#include "json.h"
#include "sha256.h"
#include "state.h"
#include "runcfg.h"

#define UPGRADE_FILE "upgrade.json"

int node_upgrade_write(const char *home, const struct node_upgrade *u, char *errbuf)
{
    char path[PATH_MAX];
    if (node_state_path(home, UPGRADE_FILE, path, sizeof(path)) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I}", "version", u->version, "commit", u->commit,
                          "sha256", u->sha256, "binary", u->binary, "at_height",
                          u->at_height >= 0 ? json_integer(u->at_height) : json_null(), "jitter_s",
                          (json_int_t)u->jitter_s);
    if (o == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "%s: cannot build JSON", path);
    int rc = nu_json_write_file(path, o, 0644, true, errbuf);
    json_decref(o);
    return rc;
}

static void copy_str(const json_t *o, const char *key, char *out, size_t outsz)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(out, outsz, "%s", v != NULL ? v : "");
}

int node_upgrade_read(const char *home, struct node_upgrade *u, char *errbuf)
{
    char path[PATH_MAX];
    json_t *o = NULL;
    memset(u, 0, sizeof(*u));
    u->at_height = -1;
    if (node_state_path(home, UPGRADE_FILE, path, sizeof(path)) != 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    int rc = nu_json_load_file(path, false, &o, errbuf);
    if (rc != 0)
        return rc;
    copy_str(o, "version", u->version, sizeof(u->version));
    copy_str(o, "commit", u->commit, sizeof(u->commit));
    copy_str(o, "sha256", u->sha256, sizeof(u->sha256));
    copy_str(o, "binary", u->binary, sizeof(u->binary));
    int64_t v;
    if (nu_json_get_int(o, "at_height", &v) == 0 && v >= 0)
        u->at_height = v;
    if (nu_json_get_int(o, "jitter_s", &v) == 0 && v > 0)
        u->jitter_s = v > NODE_UPGRADE_JITTER_MAX_S ? NODE_UPGRADE_JITTER_MAX_S : (unsigned)v;
    json_decref(o);
    if (u->binary[0] == '\0')
        return nu_err_set(errbuf, NU_EPARSE, "%s: binary is missing", path);
    return 0;
}

/* SIGHUP to the process a pid file names, if it is still that process. */
static int hup(const char *home, const char *pidfile, char *errbuf)
{
    struct node_pidfile pf;
    if (!node_pidfile_alive(home, pidfile, &pf))
        return nu_err_set(errbuf, NU_ESTATE, "%s: no live process in %s", home, pidfile);
    if (kill(pf.pid, SIGHUP) != 0)
        return nu_err_set(errbuf, NU_EPERM, "SIGHUP to pid %ld: %s", (long)pf.pid, strerror(errno));
    return 0;
}

/* Takes back a half-made schedule so no upgrade fires unexpectedly. */
static void undo(const char *home, bool shutdown_set)
{
    char ignored[NU_ERRMSG_MAX];
    node_pidfile_remove(home, UPGRADE_FILE);
    if (shutdown_set)
        (void)!node_home_set_expected_shutdown(home, -1, ignored);
}

int node_upgrade_schedule(const char *home, const struct node_upgrade *u, char *errbuf)
{
    struct node_pidfile sup;
    if (!node_pidfile_alive(home, NODE_SUPERVISOR_PID, &sup))
        return nu_err_set(errbuf, NU_ESTATE, "%s: no supervisor is running it", home);
    int rc = node_upgrade_write(home, u, errbuf);
    if (rc != 0)
        return rc;
    if (u->at_height < 0) {
        rc = hup(home, NODE_SUPERVISOR_PID, errbuf);
        if (rc != 0)
            undo(home, false);
        return rc;
    }
    rc = node_home_set_expected_shutdown(home, u->at_height, errbuf);
    if (rc != 0) {
        undo(home, false);
        return rc;
    }
    /* neard may be between restarts; the next one reads expected_shutdown
     * from config.json at start, so only a live neard needs the signal. */
    struct node_pidfile pf;
    if (node_pidfile_alive(home, NODE_NEARD_PID, &pf) &&
        (rc = hup(home, NODE_NEARD_PID, errbuf)) != 0) {
        undo(home, true);
        return rc;
    }
    /* The supervisor only waits, but its metrics show the pending height
     * now rather than at their next rewrite; a supervisor gone meanwhile
     * is no error of the upgrade's. */
    (void)hup(home, NODE_SUPERVISOR_PID, NULL);
    return 0;
}

int node_upgrade_apply_stopped(const char *home, const struct node_upgrade *u, char *errbuf)
{
    struct node_run_config c;
    int rc = node_runcfg_load(home, &c, errbuf);
    if (rc != 0)
        return rc;
    snprintf(c.binary, sizeof(c.binary), "%s", u->binary);
    snprintf(c.neard_version, sizeof(c.neard_version), "%s", u->version);
    snprintf(c.neard_commit, sizeof(c.neard_commit), "%s", u->commit);
    snprintf(c.neard_sha256, sizeof(c.neard_sha256), "%s", u->sha256);
    rc = node_runcfg_save(home, &c, errbuf);
    node_runcfg_release(&c);
    if (rc == 0)
        rc = node_home_set_expected_shutdown(home, -1, errbuf);
    if (rc == 0)
        node_pidfile_remove(home, UPGRADE_FILE);
    return rc;
}

/* The binary upgrade.json names still is the one that was verified. */
static int check_binary(const struct node_upgrade *u, char *errbuf)
{
    char sha[NU_SHA256_HEX], why[NU_ERRMSG_MAX];
    struct stat st;
    /* A FIFO or device would block or never end the hash. */
    if (stat(u->binary, &st) == 0 && !S_ISREG(st.st_mode))
        return nu_err_set(errbuf, NU_EVERIFY, "staged binary %s is not a regular file", u->binary);
    if (nu_sha256_file(u->binary, sha, why) != 0)
        return nu_err_set(errbuf, NU_EVERIFY, "staged binary %s cannot be read: %s", u->binary,
                          why);
    if (strcasecmp(sha, u->sha256) != 0)
        return nu_err_set(errbuf, NU_EVERIFY,
                          "staged binary %s has sha256 %s, upgrade.json says %s", u->binary, sha,
                          u->sha256);
    return 0;
}

/* With a height, neard stops there only if config.json says so. */
static int check_shutdown(const char *home, const struct node_upgrade *u, char *errbuf)
{
    char why[NU_ERRMSG_MAX];
    int64_t h = -1;
    if (u->at_height < 0)
        return 0;
    int rc = node_home_expected_shutdown(home, &h, why);
    if (rc == NU_ENOENT)
        return nu_err_set(errbuf, NU_ESTATE,
                          "staged for height %lld but config.json has no expected_shutdown",
                          (long long)u->at_height);
    if (rc != 0)
        return nu_err_set(errbuf, rc, "%s", why);
    if (h != u->at_height)
        return nu_err_set(errbuf, NU_ESTATE,
                          "staged for height %lld but config.json's expected_shutdown is %lld",
                          (long long)u->at_height, (long long)h);
    return 0;
}

int node_upgrade_check(const char *home, const struct node_upgrade_want *want,
                       struct node_upgrade *u, char *errbuf)
{
    char why[NU_ERRMSG_MAX];
    errbuf[0] = '\0';
    int rc = node_upgrade_read(home, u, why);
    if (rc == NU_ENOENT)
        return nu_err_set(errbuf, NU_ENOENT, "no upgrade is staged");
    if (rc != 0)
        return nu_err_set(errbuf, rc, "%s", why);
    if (want->version != NULL && strcmp(want->version, u->version) != 0)
        return nu_err_set(errbuf, NU_ESTATE, "staged neard %s, not %s", u->version, want->version);
    if (want->at_height >= 0 && want->at_height != u->at_height) {
        if (u->at_height < 0)
            return nu_err_set(errbuf, NU_ESTATE, "staged to switch now, not at height %lld",
                              (long long)want->at_height);
        return nu_err_set(errbuf, NU_ESTATE, "staged at height %lld, not %lld",
                          (long long)u->at_height, (long long)want->at_height);
    }
    rc = check_binary(u, errbuf);
    if (rc == 0)
        rc = check_shutdown(home, u, errbuf);
    return rc;
}
