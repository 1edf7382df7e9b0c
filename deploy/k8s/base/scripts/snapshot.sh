#!/bin/sh
# One scheduled snapshot: the CronJob near-snapshot runs this inside the
# snapshotter container (kubectl exec), where the node's data and its
# supervisor are. It refuses a node that is not up and synced (a snapshot
# of a syncing node would start every restored node behind), then runs
# `nearup snapshot create` (the node is down for about a second) and, when
# that succeeded, `nearup snapshot prune`. The exit status is the Job's.
#
# Settings (environment, from the ConfigMap nearup-env and the Secret
# nearup-snapshot-credentials): STORE (required), NEAR_HOME (default
# /data/near), S3_ENDPOINT, SNAPSHOT_KEEP (snapshots prune keeps, default 4),
# SIGN_KEY_FILE (a NEAR key file that signs the manifests; used when the
# file exists), STOP_TIMEOUT (default 60), NEARUP (default nearup).
set -eu
set -f

prog=snapshot.sh
nearup=${NEARUP:-nearup}
home=${NEAR_HOME:-/data/near}
store=${STORE:-}
die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}
[ -n "$store" ] || die "STORE is not set; set it in the ConfigMap nearup-env"

# nearup status exits 1 for a node that is down; its JSON says why.
st=$("$nearup" status --home "$home" --json || true)
state=$(printf '%s' "$st" | jq -r '.nodes[0].state // "unknown"')
syncing=$(printf '%s' "$st" | jq -r '.nodes[0].syncing')
[ "$state" = up ] || die "the node of $home is $state, not up; no snapshot taken"
[ "$syncing" = false ] || die "the node of $home is syncing (head $(printf '%s' "$st" | jq -r '.nodes[0].head')); no snapshot taken"

sign=
if [ -n "${SIGN_KEY_FILE:-}" ] && [ -f "$SIGN_KEY_FILE" ]; then
    sign=$SIGN_KEY_FILE
fi
"$nearup" snapshot create --home "$home" --to "$store" \
    ${S3_ENDPOINT:+--s3-endpoint "$S3_ENDPOINT"} ${sign:+--sign-key "$sign"} \
    --stop-timeout "${STOP_TIMEOUT:-60}"
"$nearup" snapshot prune --from "$store" --keep "${SNAPSHOT_KEEP:-4}" \
    ${S3_ENDPOINT:+--s3-endpoint "$S3_ENDPOINT"}
