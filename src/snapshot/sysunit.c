/* A node run by systemd (`nearup service`: the supervisor is the main
 * process of a unit) must be stopped and started through systemctl: a
 * supervisor stopped behind systemd's back leaves the unit dead, and one
 * started by `snapshot create` would run outside it. The unit is the one
 * whose cgroup holds the supervisor, and only if systemd confirms the
 * supervisor is that unit's MainPID (a detached supervisor started from a
 * cron job sits in cron.service's cgroup, and cron must not be stopped). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "state.h"
#include "sysunit.h"

#define CGROUP_MAX 8192
#define SYSTEMCTL_OUT_MAX 256

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

static const char *systemctl_path(void)
{
    static const char *const paths[] = {"/usr/bin/systemctl", "/bin/systemctl"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    }
    return NULL;
}

/* Runs systemctl [--user] ARGS...; stdout (bounded) into out when given. */
static int systemctl(bool user, const char *a1, const char *a2, const char *a3, const char *a4,
                     char *out, size_t outsz, unsigned timeout_s, char *errbuf)
{
    const char *bin = systemctl_path();
    char *argv[8];
    int n = 0, fds[2] = {-1, -1}, status = 0;
    if (bin == NULL)
        return nu_err_set(errbuf, NU_ENOENT, "systemctl not found");
    argv[n++] = (char *)bin;
    if (user)
        argv[n++] = "--user";
    for (const char *a[] = {a1, a2, a3, a4}, **p = a; p < a + 4; p++) {
        if (*p != NULL)
            argv[n++] = (char *)*p;
    }
    argv[n] = NULL;
    struct nu_spawn_opts so;
    nu_spawn_opts_init(&so);
    if (out != NULL && pipe2(fds, O_CLOEXEC) < 0)
        return nu_err_set(errbuf, NU_EIO, "pipe: %s", strerror(errno));
    so.stdout_fd = fds[1];
    pid_t pid;
    int rc = nu_proc_spawn(argv, &so, &pid, errbuf);
    if (fds[1] >= 0)
        close(fds[1]);
    if (rc == 0 && out != NULL) {
        ssize_t got = read(fds[0], out, outsz - 1);
        out[got > 0 ? got : 0] = '\0';
    }
    if (fds[0] >= 0)
        close(fds[0]);
    if (rc == 0 && nu_proc_wait(pid, (int)timeout_s * 1000, &status) < 0)
        rc = nu_err_set(errbuf, NU_ETIMEDOUT, "systemctl %s %s did not finish", a1, a2 ? a2 : "");
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = nu_err_set(errbuf, NU_ECHILD, "systemctl %s%s %s failed", user ? "--user " : "", a1,
                        a2 ? a2 : "");
    return rc;
}

int snap_systemd_unit(const char *home, struct snap_unit *u)
{
    struct node_pidfile pf;
    char path[64], mainpid[SYSTEMCTL_OUT_MAX], *text = NULL;
    size_t len;
    memset(u, 0, sizeof(*u));
    if (!node_pidfile_alive(home, NODE_SUPERVISOR_PID, &pf))
        return NU_ENOENT;
    snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pf.pid);
    if (nu_fs_read_file(path, CGROUP_MAX, &text, &len, NULL) < 0)
        return NU_ENOENT;
    int rc = snap_cgroup_unit(text, u->name, sizeof(u->name), &u->user);
    free(text);
    if (rc == 0)
        rc = systemctl(u->user, "show", "-p", "MainPID", "--value", mainpid, sizeof(mainpid), 10,
                       NULL);
    if (rc == 0 && strtol(mainpid, NULL, 10) != (long)pf.pid)
        rc = NU_ENOENT;
    return rc;
}

int snap_unit_stop(const struct snap_unit *u, unsigned timeout_s, char *errbuf)
{
    return systemctl(u->user, "stop", u->name, NULL, NULL, NULL, 0, timeout_s, errbuf);
}

int snap_unit_start(const struct snap_unit *u, unsigned timeout_s, char *errbuf)
{
    return systemctl(u->user, "start", u->name, NULL, NULL, NULL, 0, timeout_s, errbuf);
}
