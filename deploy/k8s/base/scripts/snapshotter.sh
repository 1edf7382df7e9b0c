#!/bin/sh
# The main process of the snapshotter pod.
#
# `nearup snapshot create` stops the node through its supervisor and starts
# it again, so the supervisor cannot be this container's main process (as
# `nearup run --foreground` is in the RPC pods): stopping it would end the
# container, and with it the create that kubectl exec started in it. So this
# script starts the node detached (`nearup run`, which returns once neard
# answers /status), then follows neard's log to stdout (kubectl logs) until
# SIGTERM, when it stops the node with `nearup stop`. If the supervisor gives
# up, neard's RPC port closes and the livenessProbe restarts the container.
#
# Settings (environment, from the ConfigMap nearup-env): NETWORK (required),
# NEAR_HOME (default /data/near), NEARD_VERSION, NEARD_BINARY, RELEASE_URL,
# RPC_ADDR (default 0.0.0.0:3030), NETWORK_ADDR (default 0.0.0.0:24567),
# METRICS_LISTEN (default 0.0.0.0:9480), STOP_TIMEOUT (default 60),
# READY_TIMEOUT (default 3600), NEARUP (default nearup).
set -eu
set -f

prog=snapshotter.sh
nearup=${NEARUP:-nearup}
home=${NEAR_HOME:-/data/near}
[ -n "${NETWORK:-}" ] || {
    echo "$prog: NETWORK is not set; set it in the ConfigMap nearup-env" >&2
    exit 1
}

follower=
stop() {
    trap '' TERM INT
    [ -z "$follower" ] || kill "$follower" 2>/dev/null || true
    "$nearup" stop --home "$home" --timeout "${STOP_TIMEOUT:-60}"
    exit 0
}
trap stop TERM INT

"$nearup" run "$NETWORK" --home "$home" \
    ${NEARD_VERSION:+--neard-version "$NEARD_VERSION"} \
    ${NEARD_BINARY:+--binary-path "$NEARD_BINARY"} \
    ${RELEASE_URL:+--release-url "$RELEASE_URL"} \
    --rpc-addr "${RPC_ADDR:-0.0.0.0:3030}" --network-addr "${NETWORK_ADDR:-0.0.0.0:24567}" \
    --metrics-listen "${METRICS_LISTEN:-0.0.0.0:9480}" \
    --stop-timeout "${STOP_TIMEOUT:-60}" --ready-timeout "${READY_TIMEOUT:-3600}"

# `nearup logs -f` follows neard.log across rotation; the wait returns when
# a signal arrives, so the trap runs at once.
while :; do
    "$nearup" logs --home "$home" -f -n 0 &
    follower=$!
    wait "$follower" || true
    follower=
    sleep 1
done
