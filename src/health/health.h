/* The one NEAR health judge: what a neard `status` reply says, how healthy
 * that makes the node, and the rise/fall hysteresis that turns checks into
 * the verdict served. Used by the gateway (every upstream), the health
 * sidecar (`nearup health`), the supervisor's readiness probe and
 * `nearup status`. Pure code: no I/O, no clocks (callers pass the time).
 *
 * One check is judged, first match wins:
 *
 *   DOWN     no status result (the caller's transport error, a malformed
 *            reply, a JSON-RPC error), or one without sync_info's
 *            latest_block_height, syncing and a valid latest_block_time
 *   SYNCING  sync_info.syncing is true
 *   STALE    the head block is older than stale_ms
 *   LAGGING  the node's head is more than max_lag blocks behind the
 *            reference head (when one is known)
 *   OK       otherwise
 *
 * The head's age is now - latest_block_time, and never below 0: the block
 * time is set by the block's producer, so a block "from the future" says
 * the producer's clock or ours is off, not that the node is fresher than
 * fresh; such a head counts as just produced. */
#ifndef HEALTH_H
#define HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"

#define HEALTH_REASON_MAX 256
#define HEALTH_CHAIN_MAX 128
#define HEALTH_VERSION_MAX 128
#define HEALTH_TIME_TEXT_MAX 65 /* what a reason shows of a bad latest_block_time */

/* Best first: the gateway's fail-open order and every served state. */
enum health_state {
    HEALTH_OK,
    HEALTH_LAGGING,
    HEALTH_STALE,
    HEALTH_SYNCING,
    HEALTH_UNKNOWN, /* no check yet */
    HEALTH_DOWN,
    HEALTH_NSTATES
};

/* "ok", "lagging", "stale", "syncing", "unknown", "down"; "unknown" for
 * anything out of range. */
const char *health_state_name(int st);

/* ---- the status reply (status.c) ---- */

/* The shape of the reply: neard's JSON-RPC `status` ({"result": {...}}),
 * or its GET /status (the result object itself). */
enum health_reply { HEALTH_REPLY_JSONRPC, HEALTH_REPLY_BARE };

/* What a status result says; a field it lacks (or has with another type)
 * is marked unknown. */
struct health_status {
    int64_t head;     /* sync_info.latest_block_height; -1 unknown */
    int64_t earliest; /* sync_info.earliest_block_height; -1 unknown */
    int64_t protocol; /* protocol_version (changes at an upgrade: never a check); -1 unknown */
    int syncing;      /* sync_info.syncing: 1 or 0; -1 unknown */
    bool has_time;    /* sync_info.latest_block_time is a string ... */
    bool time_ok;     /* ... and valid RFC 3339 (nu_parse_rfc3339_ms), then in block_time_ms */
    int64_t block_time_ms;
    char time_text[HEALTH_TIME_TEXT_MAX]; /* the string, cut short, for messages */
    char chain_id[HEALTH_CHAIN_MAX];      /* "" unknown */
    char version[HEALTH_VERSION_MAX];     /* version.version; "" unknown */
    char build[HEALTH_VERSION_MAX];       /* version.build; "" unknown */
};

/* Parses a status reply of the given shape into *st. 0 when it holds a
 * status result (whatever fields it lacks); NU_EPARSE otherwise, with
 * errbuf (NU_ERRMSG_MAX) saying "malformed status reply: ...", "status
 * answered with JSON-RPC error NAME", "status reply has no result object"
 * or "status reply is not an object". */
NU_WUR int health_status_parse(const char *body, size_t len, enum health_reply form,
                               struct health_status *st, char *errbuf);

/* Reads a status result object already parsed (the "result" of a
 * JSON-RPC reply, or GET /status's body) into *st, as health_status_parse
 * does. */
void health_status_read(const json_t *result, struct health_status *st);

/* 0 when st has what a check needs (head, syncing, a valid block time);
 * NU_EPARSE otherwise, errbuf naming what is missing or bad. */
NU_WUR int health_status_judgeable(const struct health_status *st, char *errbuf);

/* ---- one check (judge.c) ---- */

struct health_limits {
    uint64_t max_lag;  /* blocks */
    uint64_t stale_ms; /* age of the head block */
};

struct health_check {
    enum health_state state;
    char reason[HEALTH_REASON_MAX]; /* why, for anything but OK ("" for OK) */
    int64_t head;                   /* -1 when DOWN */
    int64_t lag;                    /* blocks behind the reference, >= 0; -1 unknown */
    int64_t age_ms;                 /* the head's age, >= 0; -1 unknown */
};

/* A check that got no status result; reason is the caller's (transport
 * failure, parse error). */
void health_check_down(struct health_check *c, const char *reason);

/* Judges st (a parsed result; not judgeable means DOWN) at wall-clock
 * now_ms against ref_head (-1: no reference, the lag rule is off). */
void health_classify(const struct health_status *st, int64_t ref_head, int64_t now_ms,
                     const struct health_limits *lim, struct health_check *c);

/* now_ms - block_time_ms, never below 0 (see the top of this file). */
int64_t health_head_age_ms(int64_t block_time_ms, int64_t now_ms);

/* The reference head of a fleet: the second-highest of heads (one node
 * running ahead cannot fail the others), the highest when only one is
 * known, -1 when none is; entries below 0 are unknown. */
int64_t health_fleet_reference(const int64_t *heads, size_t n);

/* ---- hysteresis (judge.c) ---- */

/* The verdict served, after rise/fall: a healthy node turns unhealthy
 * after `fall` failed checks in a row, an unhealthy one healthy after
 * `rise` OK checks in a row; the first check is taken as is. */
struct health_verdict {
    bool known;                     /* a check has been applied */
    bool healthy;                   /* served as OK */
    enum health_state state;        /* HEALTH_OK when healthy, HEALTH_UNKNOWN until known,
                                       else the latest failing state */
    char reason[HEALTH_REASON_MAX]; /* the latest failing reason while unhealthy, else "" */
    unsigned successes, failures;   /* consecutive OK / failed checks */
};

void health_verdict_init(struct health_verdict *v);
/* Feeds one check in; returns the state served now. */
enum health_state health_verdict_apply(struct health_verdict *v, const struct health_check *c,
                                       unsigned rise, unsigned fall);
/* Taken out from outside (the gateway's passive failures on real
 * traffic): DOWN now, counters cleared, back after `rise` OK checks. */
void health_verdict_force_down(struct health_verdict *v, const char *reason);
/* Carries on from a state served before (a gateway upstream replaced on
 * reload keeps its state): HEALTH_UNKNOWN is the same as init. */
void health_verdict_resume(struct health_verdict *v, enum health_state served);

#endif
