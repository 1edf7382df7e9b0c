/* `nearup health --wait`: the sidecar's checks (the same probes, the same
 * judge through hc_classify, the same chain gate with a home) run until
 * `rise` OK checks in a row, or until a total deadline, with no listener.
 * A rollout uses it to hold the next step until a node is as healthy as
 * its /healthcheck would say. Internal to src/sidecar and its command. */
#ifndef HC_WAIT_H
#define HC_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include "sidecar.h"

#define HC_WAIT_STATE_MAX 16

struct hc_wait_result {
    bool ok;                            /* rise OK checks in a row came before the deadline */
    unsigned checks;                    /* check rounds completed */
    unsigned in_row;                    /* OK checks in a row at the end */
    struct hc_check last;               /* the last check ("down", no check yet, before one) */
    char state[HC_WAIT_STATE_MAX];      /* hc_state_name of it, or "unverified" */
    char reason[2 * HC_REASON_MAX + 4]; /* its reason ("" when ok) */
};

/* Called after each check whose state differs from the one before. */
typedef void (*hc_wait_progress_fn)(void *ud, const struct hc_wait_result *r);

/* Checks o's node every o->interval_ms until o->rise OK checks in a row
 * (r->ok) or total_ms have passed (!r->ok, r says the last state and why).
 * Runs its own loop and blocks the caller. 0 once it has run; a negative
 * code when it could not start (a bad URL, no TLS), errbuf saying why. */
NU_WUR int hc_wait_run(const struct hc_opts *o, uint64_t total_ms, hc_wait_progress_fn progress,
                       void *ud, struct hc_wait_result *r, char *errbuf);

#endif
