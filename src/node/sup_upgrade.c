/* Applying a pending upgrade (upgrade.json, written by `nearup upgrade`
 * after the new binary is verified in the cache): wait a random delay in
 * [0, jitter_s] so several nodes do not restart at once, switch run.json to
 * the new binary, remove expected_shutdown from config.json (neard stopped
 * itself there), delete upgrade.json and start the new neard. Before any
 * of that, the new binary's sha256 is checked (sup_verify.c). */
#include "sup-int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "home.h"
#include "json.h"
#include "state.h"

#define JITTER_MAX_S 86400

struct upgrade {
    char version[NODE_VERSION_MAX];
    char commit[NODE_VERSION_MAX];
    char sha256[NODE_SHA256_HEX];
    char binary[PATH_MAX];
    bool immediate; /* at_height is null */
    unsigned jitter_s;
};

static void copy_str(const json_t *o, const char *key, char *out, size_t outsz)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(out, outsz, "%s", v != NULL ? v : "");
}

static int load_upgrade(struct sup *s, struct upgrade *u, char *errbuf)
{
    char path[PATH_MAX];
    json_t *o = NULL;
    memset(u, 0, sizeof(*u));
    if (node_state_path(s->home, "upgrade.json", path, sizeof(path)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "path too long");
    int rc = nu_json_load_file(path, false, &o, errbuf);
    if (rc < 0)
        return rc;
    copy_str(o, "version", u->version, sizeof(u->version));
    copy_str(o, "commit", u->commit, sizeof(u->commit));
    copy_str(o, "sha256", u->sha256, sizeof(u->sha256));
    copy_str(o, "binary", u->binary, sizeof(u->binary));
    json_t *h = json_object_get(o, "at_height");
    u->immediate = h == NULL || json_is_null(h);
    json_t *j = json_object_get(o, "jitter_s");
    if (json_is_integer(j) && json_integer_value(j) > 0)
        u->jitter_s =
            json_integer_value(j) > JITTER_MAX_S ? JITTER_MAX_S : (unsigned)json_integer_value(j);
    json_decref(o);
    if (u->binary[0] == '\0')
        return nu_err_set(errbuf, NU_EPARSE, "%s: binary is missing", path);
    return 0;
}

bool sup_upgrade_pending(struct sup *s, bool *immediate)
{
    struct upgrade u;
    if (load_upgrade(s, &u, NULL) < 0)
        return false;
    *immediate = u.immediate;
    return true;
}

static int apply(struct sup *s, struct upgrade *u, char *errbuf)
{
    snprintf(s->cfg.binary, sizeof(s->cfg.binary), "%s", u->binary);
    snprintf(s->cfg.neard_version, sizeof(s->cfg.neard_version), "%s", u->version);
    snprintf(s->cfg.neard_commit, sizeof(s->cfg.neard_commit), "%s", u->commit);
    snprintf(s->cfg.neard_sha256, sizeof(s->cfg.neard_sha256), "%s", u->sha256);
    int rc = node_runcfg_save(s->home, &s->cfg, errbuf);
    if (rc == 0)
        rc = node_home_set_expected_shutdown(s->home, -1, errbuf);
    if (rc == 0)
        node_pidfile_remove(s->home, "upgrade.json");
    return rc;
}

static void upgrade_failed(struct sup *s, const char *err)
{
    /* reason is 1024 bytes; a cut message beats none */
    snprintf(s->reason, sizeof(s->reason), "upgrade failed: %.1000s", err);
    sup_log(s, NU_LOG_ERROR, "upgrade failed", "error", err, NULL);
    sup_finish(s, SUP_GAVE_UP, 1);
}

/* The new binary does not match the sha256 `nearup upgrade` recorded. It
 * is never executed. Past an upgrade height the old release cannot go on
 * (neard stopped itself there, and would again at once): the supervisor
 * gives up and keeps upgrade.json, so that once the binary is fetched
 * again, `nearup run` starts the old neard, it stops at the height, and
 * the upgrade proceeds. An upgrade "now" is dropped and the running
 * release starts again. */
static void upgrade_refused(struct sup *s, const struct upgrade *u, const char *err)
{
    char why[sizeof(s->reason)];
    if (!u->immediate) {
        snprintf(why, sizeof(why),
                 "%s; neard stopped at its upgrade height and upgrade.json is kept: fetch the "
                 "binary again (nearup bin fetch %s) and start the node",
                 err, u->version[0] != '\0' ? u->version : "VERSION");
        upgrade_failed(s, why);
        return;
    }
    node_pidfile_remove(s->home, "upgrade.json");
    sup_log(s, NU_LOG_ERROR, "upgrade refused; starting the release that ran", "to", u->version,
            "error", err, NULL);
    sup_start_neard(s);
    snprintf(s->reason, sizeof(s->reason), "upgrade to %s refused: %s", u->version, err);
    sup_write_status(s);
}

static void upgrade_step(struct sup *s);

static void on_upgrade_checked(struct sup *s, int rc, const char *err)
{
    struct upgrade u;
    char msg[NU_ERRMSG_MAX];
    if (s->stop_requested)
        return;
    if (rc == 0) {
        upgrade_step(s); /* upgrade.json may have changed meanwhile: checked again */
        return;
    }
    if (load_upgrade(s, &u, msg) < 0)
        upgrade_failed(s, msg);
    else
        upgrade_refused(s, &u, err);
}

/* Checks the new binary (once; sup_verify.c), then switches run.json and
 * starts it. */
static void upgrade_step(struct sup *s)
{
    struct upgrade u;
    char err[NU_ERRMSG_MAX], from[NODE_VERSION_MAX];
    snprintf(from, sizeof(from), "%s", s->version);
    int rc = load_upgrade(s, &u, err);
    if (rc == 0 && access(u.binary, X_OK) < 0)
        rc = nu_err_set(err, NU_ENOENT, "%s is not an executable file", u.binary);
    if (rc == 0 && sup_verify_needed(s, u.binary, u.sha256)) {
        sup_verify_start(s, u.binary, u.sha256, on_upgrade_checked);
        return;
    }
    if (rc == 0)
        rc = apply(s, &u, err);
    if (rc < 0) {
        upgrade_failed(s, err);
        return;
    }
    snprintf(s->version, sizeof(s->version), "%s", u.version[0] != '\0' ? u.version : "unknown");
    sup_log(s, NU_LOG_INFO, "upgraded neard", "from", from, "to", s->version, "binary", u.binary,
            NULL);
    s->fast_crashes = 0;
    s->backoff_ms = 0;
    sup_start_neard(s);
}

static void on_jitter(uv_timer_t *t)
{
    upgrade_step(t->data);
}

void sup_upgrade_begin(struct sup *s)
{
    struct upgrade u;
    char err[NU_ERRMSG_MAX], secs[32];
    uint32_t r = 0;
    if (load_upgrade(s, &u, err) < 0) {
        /* reason is 1024 bytes; a cut message beats none */
        snprintf(s->reason, sizeof(s->reason), "upgrade failed: %.1000s", err);
        sup_finish(s, SUP_GAVE_UP, 1);
        return;
    }
    if (uv_random(NULL, NULL, &r, sizeof(r), 0, NULL) < 0)
        r = (uint32_t)getpid() * 2654435761u;
    uint64_t delay_ms = u.jitter_s > 0 ? r % ((uint64_t)u.jitter_s * 1000u + 1) : 0;
    snprintf(secs, sizeof(secs), "%.1f", (double)delay_ms / 1000.0);
    sup_log(s, NU_LOG_INFO, "applying upgrade", "to", u.version, "delay_s", secs, NULL);
    sup_set_state(s, SUP_UPGRADING);
    sup_notify(s, "STATUS=upgrading neard to %s", u.version);
    uv_timer_start(&s->t_jitter, on_jitter, delay_ms, 0);
}
