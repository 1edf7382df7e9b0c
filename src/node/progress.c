/* Download progress bar on a terminal (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "progress.h"

#define REDRAW_NS 100000000ull /* 10 redraws per second are plenty */
#define DEFAULT_WIDTH 80
#define BAR_MIN 10 /* narrower than this, the bar is dropped */
#define NS 1000000000ull

void node_progress_init(struct node_progress *p, const char *label, int fd, bool tty,
                        const volatile sig_atomic_t *cancel)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
    p->fd = fd;
    p->tty = tty;
    p->cancel = cancel;
}

void node_format_bytes(uint64_t n, char *out, size_t outsz)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, outsz, "%llu B", (unsigned long long)n);
    else
        snprintf(out, outsz, "%.1f %s", v, units[u]);
}

static void format_eta(uint64_t secs, char *out, size_t outsz)
{
    if (secs >= 100 * 3600)
        snprintf(out, outsz, "ETA --:--");
    else if (secs >= 3600)
        snprintf(out, outsz, "ETA %llu:%02llu:%02llu", (unsigned long long)(secs / 3600),
                 (unsigned long long)(secs / 60 % 60), (unsigned long long)(secs % 60));
    else
        snprintf(out, outsz, "ETA %llu:%02llu", (unsigned long long)(secs / 60),
                 (unsigned long long)(secs % 60));
}

/* "[#####.....] 50%" in width columns (including the brackets). */
static void format_bar(uint64_t done, uint64_t total, unsigned width, char *out, size_t outsz)
{
    unsigned inner = width - 2;
    unsigned fill = (unsigned)((double)inner * (double)done / (double)total);
    size_t k = 0;
    if (fill > inner)
        fill = inner;
    out[k++] = '[';
    for (unsigned i = 0; i < inner && k + 2 < outsz; i++)
        out[k++] = i < fill ? '#' : '.';
    out[k++] = ']';
    out[k] = '\0';
}

void node_progress_line(const char *label, uint64_t done, uint64_t total, uint64_t base,
                        uint64_t elapsed_ns, unsigned width, char *out, size_t outsz)
{
    char sdone[32], stotal[32], srate[32], eta[24] = "", bar[NODE_PROGRESS_LINE_MAX] = "";
    char pct[8] = "";
    uint64_t fresh = done > base ? done - base : 0;
    double rate = elapsed_ns ? (double)fresh * (double)NS / (double)elapsed_ns : 0.0;
    node_format_bytes(done, sdone, sizeof(sdone));
    node_format_bytes((uint64_t)rate, srate, sizeof(srate));
    if (total > 0) {
        node_format_bytes(total, stotal, sizeof(stotal));
        snprintf(pct, sizeof(pct), "%3u%%", (unsigned)(done >= total ? 100 : done * 100 / total));
        if (done >= total)
            format_eta(0, eta, sizeof(eta));
        else if (rate > 0.0)
            format_eta((uint64_t)((double)(total - done) / rate), eta, sizeof(eta));
        else
            format_eta(UINT64_MAX, eta, sizeof(eta));
    } else {
        snprintf(stotal, sizeof(stotal), "?");
    }
    /* the bar takes what is left of the line after the text */
    int text =
        snprintf(NULL, 0, "%s  %s / %s  %s  %s/s  %s", label, sdone, stotal, pct, srate, eta);
    int room = (int)width - text - 2;
    if (room > (int)sizeof(bar) - 1)
        room = (int)sizeof(bar) - 1;
    if (total > 0 && room >= BAR_MIN) {
        format_bar(done, total, (unsigned)(room > 40 ? 40 : room), bar, sizeof(bar));
        snprintf(out, outsz, "%s  %s / %s  %s %s  %s/s  %s", label, sdone, stotal, bar, pct, srate,
                 eta);
    } else {
        snprintf(out, outsz, "%s  %s / %s  %s  %s/s  %s", label, sdone, stotal, pct, srate, eta);
    }
    if (width > 0 && strlen(out) >= width)
        out[width - 1] = '\0';
}

static unsigned term_width(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return DEFAULT_WIDTH;
}

static void draw(struct node_progress *p, uint64_t done, uint64_t total, uint64_t now)
{
    char line[NODE_PROGRESS_LINE_MAX];
    char buf[NODE_PROGRESS_LINE_MAX + 8];
    node_progress_line(p->label, done, total, p->start_done, now - p->start_ns, term_width(p->fd),
                       line, sizeof(line));
    /* \r and erase-to-end-of-line redraw in place */
    int n = snprintf(buf, sizeof(buf), "\r%s\033[K", line);
    if (n > 0 && nu_write_all(p->fd, buf, (size_t)n) < 0)
        p->tty = false; /* a terminal that went away: stop drawing */
    p->drawn = true;
}

int node_progress_update(void *ud, uint64_t done, uint64_t total)
{
    struct node_progress *p = ud;
    if (p->cancel && *p->cancel)
        return 1;
    if (!p->tty)
        return 0;
    uint64_t now = nu_mono_ns();
    if (p->start_ns == 0) {
        p->start_ns = now;
        p->start_done = done;
    }
    bool finished = total > 0 && done >= total;
    if (finished ? p->drew_end : (p->drawn && now - p->last_draw_ns < REDRAW_NS))
        return 0;
    p->drew_end = finished;
    p->last_draw_ns = now;
    draw(p, done, total, now);
    return 0;
}

void node_progress_finish(struct node_progress *p)
{
    if (p->tty && p->drawn && nu_write_all(p->fd, "\n", 1) < 0)
        p->tty = false;
    p->drawn = false;
    p->drew_end = false;
}
