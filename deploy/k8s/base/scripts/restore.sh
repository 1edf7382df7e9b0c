#!/bin/sh
# The init container of every node pod (RPC nodes and the snapshotter).
#
# A node whose volume holds data is left alone. A node without data gets the
# latest snapshot of STORE before neard first starts, so a new pod serves in
# minutes instead of syncing for hours:
#   - a home that neard has initialised (config.json there, data/ empty):
#     `nearup snapshot restore --from STORE --home HOME`;
#   - a volume with no home yet: `nearup run NETWORK --from-snapshot STORE`,
#     which initialises the home through neard's own init, restores, starts
#     neard once and returns when it answers /status; the node is then
#     stopped again and the node container starts it for good. (nearup has
#     no command that only initialises a home.)
# With VERIFY_WITH, either restore first checks the snapshot's block hash
# against those reference RPCs (--verify-with, --verify-quorum).
#
# Settings (environment; the pod takes them from the ConfigMap nearup-env,
# S3 credentials from the Secret nearup-snapshot-credentials):
#   NETWORK          chain id: mainnet, testnet, ... (required)
#   STORE            snapshot store: s3://bucket/prefix, https://..., /path (required)
#   NEAR_HOME        the node's home (default /data/near)
#   S3_ENDPOINT      an S3-compatible endpoint instead of AWS
#   VERIFY_WITH      reference RPC URLs, separated by spaces or commas
#   VERIFY_QUORUM    how many of them must agree (default: nearup's, a majority)
#   VERIFY_KEY       ed25519:PK: the snapshot must be signed by this key (--verify-key)
#   RESTORE_PARALLEL transfers at once (default: nearup's)
#   RESTORE_EMPTY_STORE  fail (default): a store without any snapshot is an
#                    error; sync: the node starts without data and syncs from
#                    the network (the first snapshotter of a new store)
#   NEARD_VERSION, NEARD_BINARY, RELEASE_URL  which neard a new home gets
#                    (--neard-version, --binary-path, --release-url)
#   RPC_ADDR, NETWORK_ADDR  neard's addresses while it starts once (default
#                    0.0.0.0:3030, 0.0.0.0:24567)
#   READY_TIMEOUT    seconds neard may take to answer after a restore (default 3600)
#   STOP_TIMEOUT     seconds neard has to stop after SIGTERM (default 60)
#   NEARUP           the nearup program (default nearup, from PATH)
#
# Exit status: 0 when the node has data or was left to sync, else non-zero
# (the pod then stays in Init and the kubelet retries with backoff).
set -eu
set -f # no globbing: URLs and paths are taken as they are written

prog=restore.sh
say() { printf '%s: %s\n' "$prog" "$*"; }
die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}
# A URL as it may be shown: userinfo (user:password@) replaced by ***.
shown() { printf '%s' "$1" | sed 's#^\([a-zA-Z0-9+.-]*://\)[^/?\#]*@#\1***@#'; }

nearup=${NEARUP:-nearup}
home=${NEAR_HOME:-/data/near}
network=${NETWORK:-}
store=${STORE:-}
[ -n "$network" ] || die "NETWORK is not set; set it in the ConfigMap nearup-env (mainnet, testnet, ...)"
[ -n "$store" ] || die "STORE is not set; set it in the ConfigMap nearup-env (s3://bucket/prefix, https://..., /path)"
case ${RESTORE_EMPTY_STORE:-fail} in
fail | sync) ;;
*) die "RESTORE_EMPTY_STORE is '${RESTORE_EMPTY_STORE}'; use fail or sync" ;;
esac

data=$home/data
if [ -d "$data" ] && [ -n "$(ls -A "$data")" ]; then
    say "$data already holds data; not restoring"
    exit 0
fi

# Only the snapshotter of a new store starts without a snapshot.
if [ "${RESTORE_EMPTY_STORE:-fail}" = sync ]; then
    list=$("$nearup" snapshot list --from "$store" ${S3_ENDPOINT:+--s3-endpoint "$S3_ENDPOINT"} --json)
    if [ "$list" = "[]" ]; then
        say "store $(shown "$store") has no snapshot yet; the node syncs from the network"
        exit 0
    fi
fi

# The flags both ways of restoring take.
verify=
for url in $(printf '%s' "${VERIFY_WITH:-}" | tr ',' ' '); do
    verify="$verify --verify-with $url"
done
if [ -n "${VERIFY_QUORUM:-}" ]; then
    [ -n "$verify" ] || die "VERIFY_QUORUM is set but VERIFY_WITH names no reference RPC"
    verify="$verify --verify-quorum $VERIFY_QUORUM"
fi
[ -z "${VERIFY_KEY:-}" ] || verify="$verify --verify-key $VERIFY_KEY"

if [ -f "$home/config.json" ]; then
    say "restoring the latest snapshot of $(shown "$store") into $home"
    # $verify is split into words on purpose (URLs hold no spaces).
    # shellcheck disable=SC2086
    "$nearup" snapshot restore --from "$store" --home "$home" \
        ${S3_ENDPOINT:+--s3-endpoint "$S3_ENDPOINT"} \
        ${RESTORE_PARALLEL:+--parallel "$RESTORE_PARALLEL"} $verify ||
        die "nearup snapshot restore failed (exit $?); see its error above; $data is left as it was"
    say "restored; the node container starts neard on it"
    exit 0
fi

say "$home has no home yet: nearup run initialises it and restores $(shown "$store"), starts neard once, then stops it"
mkdir -p "$home"
# shellcheck disable=SC2086
"$nearup" run "$network" --home "$home" --from-snapshot "$store" $verify \
    ${S3_ENDPOINT:+--s3-endpoint "$S3_ENDPOINT"} \
    ${NEARD_VERSION:+--neard-version "$NEARD_VERSION"} \
    ${NEARD_BINARY:+--binary-path "$NEARD_BINARY"} \
    ${RELEASE_URL:+--release-url "$RELEASE_URL"} \
    --rpc-addr "${RPC_ADDR:-0.0.0.0:3030}" --network-addr "${NETWORK_ADDR:-0.0.0.0:24567}" \
    --restart no --stop-timeout "${STOP_TIMEOUT:-60}" --ready-timeout "${READY_TIMEOUT:-3600}" ||
    {
        rc=$?
        "$nearup" stop --home "$home" >&2 || true
        die "nearup run --from-snapshot failed (exit $rc); see its error above"
    }
"$nearup" stop --home "$home" --timeout "${STOP_TIMEOUT:-60}"
say "restored; the node container starts neard on it"
