/* The signals every nearup daemon answers (gateway, health, supervisor,
 * neard-sim): SIGHUP, SIGTERM and SIGINT, on a libuv loop.
 *
 * The rule they share: from the moment a daemon starts until it exits,
 * none of these signals may take its default action (which kills the
 * process and cuts whatever is in flight; logrotate's SIGHUP arriving
 * during a drain did exactly that).
 *
 *   - nu_sigs_start() is the first thing a daemon does, before loading
 *     config or binding. A signal that arrives before the loop runs is
 *     kept by libuv and handed to the callback by the first uv_run(), so
 *     "starting" needs no phase of its own: the daemon finishes starting,
 *     then acts on it.
 *   - The handles stay open through reloads and the whole drain; the
 *     daemon decides per phase what each signal does.
 *   - nu_sigs_close() is called only when the work is done; from then on
 *     until exit the three signals are ignored, not fatal. */
#ifndef NU_SIGS_H
#define NU_SIGS_H

#include <stdbool.h>
#include <uv.h>
#include "error.h"

#define NU_SIGS_N 3 /* SIGHUP, SIGTERM, SIGINT */

/* Runs on the loop thread, once per signal received. */
typedef void (*nu_sigs_fn)(void *data, int signum);

struct nu_sigs {
    uv_signal_t h[NU_SIGS_N];
    nu_sigs_fn fn;
    void *data;
    unsigned ninit; /* handles initialised (closed by nu_sigs_close) */
    bool closed;
};

/* Starts catching SIGHUP, SIGTERM and SIGINT on loop; fn(data, signum)
 * handles them. On failure errbuf says why; nu_sigs_close() still must
 * run (it closes what was set up). */
NU_WUR int nu_sigs_start(struct nu_sigs *s, uv_loop_t *loop, nu_sigs_fn fn, void *data,
                         char *errbuf);
/* Stops catching (the handles close on the next loop turn) and ignores
 * the three signals for the rest of the process. Safe to call twice and
 * after a failed start. */
void nu_sigs_close(struct nu_sigs *s);
/* "SIGHUP", "SIGTERM", "SIGINT"; "signal" for anything else. */
const char *nu_sig_name(int signum);

#endif
