/* `neard --version`: the release a binary reports, with a timeout so a
 * binary that hangs is not taken for neard. */
#include "neard_version.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

#define VERSION_OUT_MAX 4096
#define VERSION_TIMEOUT_MS 5000

static int parse_release(const char *text, char *out, size_t outsz)
{
    const char *p = strstr(text, "(release ");
    if (p == NULL)
        return NU_EPARSE;
    p += 9;
    const char *end = strchr(p, ')');
    if (end == NULL || end == p || (size_t)(end - p) >= outsz)
        return NU_EPARSE;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

int node_neard_version(const char *binary, char *out, size_t outsz, char *errbuf)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return nu_err_set(errbuf, NU_EIO, "pipe: %s", strerror(errno));
    char *argv[] = {(char *)binary, "--version", NULL};
    struct nu_spawn_opts o;
    nu_spawn_opts_init(&o);
    o.stdout_fd = fds[1];
    pid_t pid;
    int rc = nu_proc_spawn(argv, &o, &pid, errbuf);
    close(fds[1]);
    char text[VERSION_OUT_MAX];
    size_t len = 0;
    while (rc == 0 && len < sizeof(text) - 1) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, VERSION_TIMEOUT_MS) <= 0)
            break; /* a binary that hangs on --version is not neard */
        ssize_t r = read(fds[0], text + len, sizeof(text) - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fds[0]);
    text[len] = '\0';
    int st = 0;
    if (rc == 0 && nu_proc_stop(pid, SIGKILL, 0, &st) == 0 && len == 0)
        rc = nu_err_set(errbuf, NU_ECHILD, "%s --version printed nothing", binary);
    if (rc == 0 && parse_release(text, out, outsz) < 0)
        rc =
            nu_err_set(errbuf, NU_EPARSE, "%s --version: no \"(release X)\" in its output", binary);
    return rc;
}
