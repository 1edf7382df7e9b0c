/* HAProxy agent-check server (`agent-check agent-port N` on a server line).
 *
 * HAProxy connects, may send an `agent-send` string, and reads one line of
 * words: a weight ("75%"), an admin state (ready, drain, maint), a health
 * state (up, down, fail, stopped), and a description after '#'. HAProxy
 * only sees the '#' at the start of a word: "down #syncing", not
 * "down#syncing" (that is one unknown word, reported as an agent error).
 * This server answers every connection with the line its reply callback
 * gives, half-closes, and closes once HAProxy does (or after
 * HC_AGENT_LINGER_MS). Input is read and discarded: closing a socket with
 * unread input would reset it and could destroy the reply in flight.
 *
 * The server knows nothing about NEAR; sidecar.c decides the words. All
 * calls on the loop's thread. */
#ifndef HC_AGENT_H
#define HC_AGENT_H

#include <stddef.h>
#include <uv.h>
#include "error.h"

#define HC_AGENT_LINE_MAX 160   /* one reply line, "\n" included */
#define HC_AGENT_REASON_MAX 100 /* longer descriptions are cut */
#define HC_AGENT_MAX_CONNS 256  /* further connections are closed at once */
#define HC_AGENT_LINGER_MS 2000 /* a peer that never closes is closed after this */

enum hc_agent_kind {
    HC_AGENT_SILENT, /* no verdict yet: close without a line (HAProxy ignores it) */
    HC_AGENT_UP,     /* "up ready NN%" */
    HC_AGENT_DRAIN,  /* "up drain #reason": alive, but no new traffic */
    HC_AGENT_DOWN,   /* "down #reason" */
};

struct hc_agent_reply {
    enum hc_agent_kind kind;
    unsigned weight_pct; /* HC_AGENT_UP: 0..100 */
    const char *reason;  /* DRAIN/DOWN; control characters become spaces */
};

/* Formats r as one agent line ending in "\n" into out (outsz >= 2).
 * Returns its length; 0 for HC_AGENT_SILENT. */
size_t hc_agent_format(const struct hc_agent_reply *r, char *out, size_t outsz);

/* Fills *r with the current answer; called once per accepted connection. */
typedef void (*hc_agent_reply_fn)(void *ud, struct hc_agent_reply *r);
typedef void (*hc_agent_closed_fn)(void *ud);

struct hc_agent;

/* Listens on host:port (numeric address; port 0: ephemeral). On failure
 * *out is NULL and errbuf says why. fn and ud must outlive the server. */
NU_WUR int hc_agent_new(uv_loop_t *loop, const char *host, int port, hc_agent_reply_fn fn, void *ud,
                        struct hc_agent **out, char *errbuf);
/* The port actually bound. */
int hc_agent_port(const struct hc_agent *a);
/* Stops listening, closes open connections, frees a and then calls done
 * (may be NULL). Accepts NULL (done is then called at once). */
void hc_agent_close(struct hc_agent *a, hc_agent_closed_fn done, void *ud);

#endif
