/* systemd's notify protocol, spoken directly: one datagram per message
 * ("READY=1\nSTATUS=...") on an AF_UNIX SOCK_DGRAM socket to
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name.
 *
 * DESIGN.md chose libsystemd's sd_notify. The supervisor does not link it:
 * libsystemd maps libcap, libgcrypt, libgpg-error, liblzma and liblz4 too,
 * about 0.7 MB of RSS in a process whose target is 4 MB (measured with a
 * program linking libuv, jansson and libzstd: 2128 KiB VmRSS, 2800 KiB
 * with libsystemd and one sd_notify). The protocol is this small: the
 * sender's credentials come from the kernel, nothing is read back.
 *
 * The watchdog is on when WATCHDOG_USEC is a positive number and
 * WATCHDOG_PID, if set, is this process (sd_watchdog_enabled's rules);
 * keep-alives go every WATCHDOG_USEC/3. */
#include "settings.h"
#include "sup-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOTIFY_MSG_MAX 512

/* "/run/systemd/notify" or "@name" into s->notify_sa; false when unusable
 * (unset, relative, too long, or another transport such as vsock:). */
static bool notify_address(struct sup *s, const char *path)
{
    size_t len = path != NULL ? strlen(path) : 0;
    struct sockaddr_un *sa = &s->notify_sa;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (len < 2 || len >= sizeof(sa->sun_path) || (path[0] != '/' && path[0] != '@'))
        return false;
    memcpy(sa->sun_path, path, len);
    if (path[0] == '@') {
        sa->sun_path[0] = '\0'; /* abstract: the name is exactly len bytes */
        s->notify_salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        s->notify_salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return true;
}

static uint64_t watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    uint64_t v, p;
    if (usec == NULL || nu_parse_uint(usec, UINT64_MAX, &v) != 0 || v == 0)
        return 0;
    if (pid != NULL && pid[0] != '\0' &&
        (nu_parse_uint(pid, UINT64_MAX, &p) != 0 || p != (uint64_t)getpid()))
        return 0; /* meant for another process (our parent's manager) */
    return v;
}

void sup_notify_init(struct sup *s)
{
    s->notify_fd = -1;
    s->notify_salen = 0;
    s->watchdog_ms = 0;
    if (!s->notify || !notify_address(s, getenv("NOTIFY_SOCKET")))
        return;
    uint64_t usec = watchdog_usec();
    if (usec > 0)
        s->watchdog_ms = usec / 3000 > 0 ? usec / 3000 : 1;
}

void sup_notify(struct sup *s, const char *fmt, ...)
{
    char msg[NOTIFY_MSG_MAX];
    va_list ap;
    if (s->notify_salen == 0)
        return;
    if (s->notify_fd < 0)
        s->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->notify_fd < 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    /* Best effort, as sd_notify: a manager that is gone must not stop neard. */
    ssize_t w = sendto(s->notify_fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&s->notify_sa,
                       s->notify_salen);
    (void)w;
}

void sup_notify_close(struct sup *s)
{
    if (s->notify_fd >= 0)
        close(s->notify_fd);
    s->notify_fd = -1;
}
