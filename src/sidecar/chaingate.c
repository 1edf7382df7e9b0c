/* The home's chain check as /healthcheck sees it (see chaingate.h). */
#include "chaingate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const names[HC_GATE_NSTATES] = {"none", "pending", "ok", "mismatch",
                                                   "unreadable"};

const char *hc_gate_state_name(int st)
{
    return st >= 0 && st < HC_GATE_NSTATES ? names[st] : "unknown";
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reads the file again (its stat changed). */
static void reread(struct hc_chain_gate *g)
{
    char err[NU_ERRMSG_MAX];
    int rc = node_chain_load(g->home, &g->check, err);
    g->reason[0] = '\0';
    if (rc == NU_ENOENT) {
        g->state = HC_GATE_NONE;
        g->seen = false;
        return;
    }
    if (rc < 0) {
        g->state = HC_GATE_UNREADABLE;
        snprintf(g->reason, sizeof(g->reason), "chain check unknown: %.500s", err);
        return;
    }
    static const enum hc_gate_state of[] = {
        [NODE_CHAIN_PENDING] = HC_GATE_PENDING,
        [NODE_CHAIN_OK] = HC_GATE_OK,
        [NODE_CHAIN_MISMATCH] = HC_GATE_MISMATCH,
    };
    g->state = of[g->check.state];
    if (g->state != HC_GATE_OK)
        node_chain_describe(&g->check, g->reason, sizeof(g->reason));
}

bool hc_gate_refresh(struct hc_chain_gate *g)
{
    struct stat st;
    if (!g->on)
        return false;
    enum hc_gate_state was = g->state;
    char reason[sizeof(g->reason)];
    memcpy(reason, g->reason, sizeof(reason));
    if (stat(g->path, &st) < 0) {
        g->seen = false;
        if (errno == ENOENT) {
            g->state = HC_GATE_NONE;
            g->reason[0] = '\0';
        } else {
            g->state = HC_GATE_UNREADABLE;
            snprintf(g->reason, sizeof(g->reason), "chain check unknown: %.400s: %.100s", g->path,
                     strerror(errno));
        }
    } else if (!g->seen || !same_file(&st, &g->id) || g->state == HC_GATE_NONE) {
        g->seen = true;
        g->id = st;
        reread(g);
    }
    return was != g->state || strcmp(reason, g->reason) != 0;
}

int hc_gate_init(struct hc_chain_gate *g, const char *home, char *errbuf)
{
    memset(g, 0, sizeof(*g));
    if (home == NULL || home[0] == '\0')
        return 0;
    g->on = true;
    snprintf(g->home, sizeof(g->home), "%s", home);
    int rc = node_chain_path(home, g->path, sizeof(g->path), errbuf);
    if (rc == 0)
        (void)hc_gate_refresh(g);
    return rc;
}

bool hc_gate_blocks(const struct hc_chain_gate *g)
{
    return g->on && g->state != HC_GATE_NONE && g->state != HC_GATE_OK;
}

json_t *hc_gate_json(const struct hc_chain_gate *g)
{
    const struct node_chain_check *c = &g->check;
    if (g->state == HC_GATE_NONE)
        return json_null();
    if (g->state == HC_GATE_UNREADABLE)
        return json_pack("{s:s, s:s}", "state", "unreadable", "reason", g->reason);
    return json_pack("{s:s, s:s, s:I, s:s, s:o}", "state", hc_gate_state_name(g->state), "snapshot",
                     c->snapshot, "height", (json_int_t)c->height, "expected_hash",
                     c->expected_hash, "node_hash",
                     c->node_hash[0] != '\0' ? json_string(c->node_hash) : json_null());
}
