/* The progress line of a snapshot transfer (progress_snap.c). */
#ifndef SNAP_PROGRESS_SNAP_H
#define SNAP_PROGRESS_SNAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Byte counters the workers bump and the caller's thread draws: "label
 * [####....] 45% 1.2 GiB / 2.6 GiB 310 MiB/s ETA 0:04" on a terminal. */
struct snap_progress {
    atomic_uint_fast64_t done;  /* bytes */
    atomic_uint_fast64_t total; /* bytes */
    uint64_t base;              /* bytes already done at the start (excluded from the rate) */
    char label[64];
    int fd;
    bool tty;
    uint64_t start_ns, last_draw_ns;
    bool drawn;
};

void snap_progress_init(struct snap_progress *p, const char *label, int fd, bool tty,
                        uint64_t total);
/* Redraws at most every 200 ms (force: now). No-op without a terminal. */
void snap_progress_draw(struct snap_progress *p, bool force);
/* Draws the last state and ends the line. */
void snap_progress_finish(struct snap_progress *p);

#endif
