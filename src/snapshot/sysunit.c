/* A node run by systemd (`nearup service`: the supervisor is the main
 * process of a unit) must be stopped and started through systemctl: a
 * supervisor stopped behind systemd's back leaves the unit dead, and one
 * started by `snapshot create` would run outside it. The unit is the one
 * whose cgroup holds the supervisor, and only if systemd confirms the
 * supervisor is that unit's MainPID (a detached supervisor started from a
 * cron job sits in cron.service's cgroup, and cron must not be stopped). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "service.h"
#include "settings.h"
#include "state.h"
#include "sysunit.h"

#define CGROUP_MAX 8192
#define SYSTEMCTL_OUT_MAX 256
#define SHOW_TIMEOUT_S 10

int snap_cgroup_unit(const char *cgroup, char *unit, size_t unitsz, bool *user)
{
    const char *best = NULL;
    size_t best_len = 0;
    /* The last "*.service" path component that is not a user manager. */
    for (const char *p = cgroup; *p != '\0';) {
        size_t len = strcspn(p, "/\n");
        if (len > 8 && strncmp(p + len - 8, ".service", 8) == 0 && strncmp(p, "user@", 5) != 0) {
            best = p;
            best_len = len;
        }
        p += len;
        if (*p != '\0')
            p++;
    }
    if (best == NULL || best_len >= unitsz)
        return NU_ENOENT;
    memcpy(unit, best, best_len);
    unit[best_len] = '\0';
    *user = strstr(cgroup, "/user@") != NULL;
    return 0;
}

int snap_systemd_unit(const char *home, struct snap_unit *u)
{
    struct node_pidfile pf;
    char path[64], mainpid[SYSTEMCTL_OUT_MAX], *text = NULL;
    size_t len;
    uint64_t pid = 0;
    memset(u, 0, sizeof(*u));
    if (!node_service_systemd_running() || !node_pidfile_alive(home, NODE_SUPERVISOR_PID, &pf))
        return NU_ENOENT;
    snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pf.pid);
    if (nu_fs_read_file(path, CGROUP_MAX, &text, &len, NULL) < 0)
        return NU_ENOENT;
    int rc = snap_cgroup_unit(text, u->name, sizeof(u->name), &u->user);
    free(text);
    const char *show[] = {"show", "-p", "MainPID", "--value", u->name, NULL};
    if (rc == 0)
        rc = node_systemctl(u->user, show, mainpid, sizeof(mainpid), SHOW_TIMEOUT_S, NULL);
    if (rc == 0 && (nu_parse_uint(mainpid, UINT64_MAX, &pid) != 0 || pid != (uint64_t)pf.pid))
        rc = NU_ENOENT;
    return rc;
}

int snap_unit_stop(const struct snap_unit *u, unsigned timeout_s, char *errbuf)
{
    const char *args[] = {"stop", u->name, NULL};
    return node_systemctl(u->user, args, NULL, 0, timeout_s, errbuf);
}

int snap_unit_start(const struct snap_unit *u, unsigned timeout_s, char *errbuf)
{
    const char *args[] = {"start", u->name, NULL};
    return node_systemctl(u->user, args, NULL, 0, timeout_s, errbuf);
}
