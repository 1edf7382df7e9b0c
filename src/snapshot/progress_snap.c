/* Progress of a pool of workers on a terminal: the same one-line bar as
 * binary downloads (node_progress_line), fed from atomic byte counters. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "progress.h"
#include "progress_snap.h"

#define REDRAW_NS 200000000ull
#define DEFAULT_WIDTH 80

void snap_progress_init(struct snap_progress *p, const char *label, int fd, bool tty,
                        uint64_t total)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->label, sizeof(p->label), "%s", label);
    p->fd = fd;
    p->tty = tty;
    atomic_store(&p->total, total);
    p->start_ns = nu_mono_ns();
}

static unsigned term_width(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return DEFAULT_WIDTH;
}

void snap_progress_draw(struct snap_progress *p, bool force)
{
    char line[NODE_PROGRESS_LINE_MAX + 4];
    if (!p->tty)
        return;
    uint64_t now = nu_mono_ns();
    if (!force && p->drawn && now - p->last_draw_ns < REDRAW_NS)
        return;
    p->last_draw_ns = now;
    p->drawn = true;
    line[0] = '\r';
    node_progress_line(p->label, atomic_load(&p->done), atomic_load(&p->total), p->base,
                       now - p->start_ns, term_width(p->fd) - 1, line + 1, sizeof(line) - 1);
    size_t len = strlen(line);
    /* Clear what a longer previous line left behind. */
    snprintf(line + len, sizeof(line) - len, "\033[K");
    if (nu_write_all(p->fd, line, strlen(line)) < 0)
        p->tty = false;
}

void snap_progress_finish(struct snap_progress *p)
{
    if (!p->tty)
        return;
    snap_progress_draw(p, true);
    if (nu_write_all(p->fd, "\n", 1) < 0)
        p->tty = false;
}
