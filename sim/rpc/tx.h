/* Transactions on the simulated state: validation and effects
 * (tx_apply.c), shared with the tx methods (methods_tx.c). */
#ifndef SIM_RPC_TX_H
#define SIM_RPC_TX_H

#include "borsh.h"
#include "rpc.h"

/* Gas burnt by the transaction conversion and by its receipt (each), as a
 * transfer costs on mainnet; no refunds are simulated. */
#define SIM_TX_GAS 223182562500ull

struct tx_result {
    json_t *invalid;       /* InvalidTxError value when rejected (owned), else NULL */
    json_t *status;        /* receipt ExecutionStatus: {"SuccessValue":""} or {"Failure":...} */
    nu_u128 tokens_burnt; /* per outcome (transaction and receipt) */
};

/* Validates tx against the state like neard's verify_and_charge
 * (signature, signer, access key, nonce, balance) and, when valid, applies
 * its effects. res fields are owned by the caller (json_decref). */
void rpc_tx_apply(struct sim_rpc *rpc, const struct sim_tx *tx, struct tx_result *res);

/* neard's ActionView JSON for one action. */
json_t *rpc_action_view(const struct sim_action *a);

#endif
