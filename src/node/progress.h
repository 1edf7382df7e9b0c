/* A one-line download progress bar (bytes, bar, percent, rate, ETA) on a
 * terminal. It draws only when its fd is a terminal, so logs and pipes get
 * nothing; callers print a plain result line themselves. The callback fits
 * nu_httpc_opts.progress and can cancel a transfer through a flag set by a
 * signal handler. */
#ifndef NODE_PROGRESS_H
#define NODE_PROGRESS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define NODE_PROGRESS_LABEL_MAX 64
#define NODE_PROGRESS_LINE_MAX 256

struct node_progress {
    char label[NODE_PROGRESS_LABEL_MAX];
    int fd;                              /* where to draw (stderr) */
    bool tty;                            /* draw at all */
    const volatile sig_atomic_t *cancel; /* non-zero aborts the transfer; may be NULL */
    uint64_t start_ns;                   /* first callback of this transfer */
    uint64_t start_done;                 /* bytes present then (a resumed .part) */
    uint64_t last_draw_ns;
    bool drawn;
    bool drew_end; /* the 100% line is drawn once */
};

/* label names the download ("neard 2.5.0"); tty false never draws. */
void node_progress_init(struct node_progress *p, const char *label, int fd, bool tty,
                        const volatile sig_atomic_t *cancel);
/* nu_httpc_progress_fn: ud is a struct node_progress. Redraws at most every
 * 100 ms and on completion; returns non-zero once *cancel is set. */
int node_progress_update(void *ud, uint64_t done, uint64_t total);
/* Ends the line (a newline after a drawn bar). */
void node_progress_finish(struct node_progress *p);
/* "1.5 MiB" style size into out. */
void node_format_bytes(uint64_t n, char *out, size_t outsz);
/* The line drawn for these numbers (no \r), at most width columns; for tests
 * and callers that print their own. elapsed_ns is time since the start,
 * base the bytes already present at the start (excluded from the rate). */
void node_progress_line(const char *label, uint64_t done, uint64_t total, uint64_t base,
                        uint64_t elapsed_ns, unsigned width, char *out, size_t outsz);

#endif
