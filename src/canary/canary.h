/* nearup canary: synthetic checks of NEAR JSON-RPC endpoints.
 *
 * A round runs every configured check against every endpoint:
 *
 *   status         JSON-RPC status answers, the node is not syncing and its
 *                  latest block is at most max_block_age old (the one NEAR
 *                  health judge, src/health)
 *   final_lag      block {"finality":"final"}: this endpoint's final height
 *                  against the reference's (or the endpoints' highest), at
 *                  most max_lag blocks behind
 *   view_account   query view_account (finality final) of account_id: the
 *                  account exists and its amount is a u128
 *   call_function  query call_function of the --call view: the result's
 *                  bytes decode (the legacy "error" result fails)
 *   transfer       a Transfer signed with the key file, sent with
 *                  broadcast_tx_commit, then tx with wait_until FINAL: it
 *                  executes and becomes final (timed to both)
 *
 * The checks of every endpoint run at once, each on its own connection
 * with --timeout per request, so a hung endpoint fails its checks in time
 * and delays no other endpoint's. Transfers are the exception: they share
 * the key's nonce, so they run one endpoint after another. Nothing checked
 * is pinned to a release: fields neard adds, drops or changes at an
 * upgrade (protocol_version, version.build) are reported, never judged.
 *
 * Results go to the metrics registry (nearup_canary_*, see cn_metrics in
 * canary.c) as each check ends, and to the round's report (cn_report.h).
 * Everything runs on one loop; library code here never prints. */
#ifndef CANARY_H
#define CANARY_H

#include <stdbool.h>
#include <uv.h>
#include <jansson.h>
#include "cn_config.h"
#include "keys.h"
#include "metrics.h"

enum cn_check {
    CN_STATUS,
    CN_FINAL_LAG,
    CN_VIEW_ACCOUNT,
    CN_CALL_FUNCTION,
    CN_TRANSFER,
    CN_NCHECKS
};

/* "status", "final_lag", "view_account", "call_function", "transfer". */
const char *cn_check_name(int check);

struct cn_canary;
typedef void (*cn_round_fn)(void *ud, struct cn_canary *cn);
typedef void (*cn_closed_fn)(void *ud);

/* Sets up the checks of cfg (copied) on loop; key signs the transfers
 * (NULL without cfg->transfer_key). Nothing runs until cn_canary_start.
 * round_done is called after every round. On failure *out is NULL; run
 * the loop to release what was set up. */
NU_WUR int cn_canary_new(uv_loop_t *loop, const struct cn_config *cfg, const struct nu_keypair *key,
                         cn_round_fn round_done, void *ud, struct cn_canary **out, char *errbuf);
/* The first round at once; with repeat, one every interval after (a
 * round still running when the next is due is not doubled). */
void cn_canary_start(struct cn_canary *cn, bool repeat);
/* Runs a round now unless one is running (SIGHUP). */
void cn_canary_run_now(struct cn_canary *cn);
/* The registry of cn's metrics (owned by cn). */
struct nu_metrics *cn_canary_metrics(struct cn_canary *cn);
/* The last round as the --once --json report (a new reference), and
 * whether every check in it passed. */
json_t *cn_canary_report(const struct cn_canary *cn);
bool cn_canary_all_ok(const struct cn_canary *cn);
/* Cancels what is in flight; frees cn once every handle is closed, then
 * calls done (may be NULL). */
void cn_canary_close(struct cn_canary *cn, cn_closed_fn done, void *ud);

#endif
