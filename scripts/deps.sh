#!/bin/sh
# Installs the Debian packages listed in deps/debian-packages.txt that are
# missing: apt-get as root, sudo otherwise. Safe to run repeatedly.
set -eu
list="$(dirname "$0")/../deps/debian-packages.txt"
missing=""
# A line is a package, optionally followed by a command: when that command
# is already on PATH (from another package), the package is not needed
# ("kubernetes-client kubectl": an image with Google Cloud's kubectl keeps it;
# the two packages both own /usr/bin/kubectl).
# shellcheck disable=SC2013
for line in $(grep -v '^\s*#' "$list" | grep -v '^\s*$' | tr ' ' ':'); do
    pkg=${line%%:*}
    cmd=${line#"$pkg"}
    cmd=${cmd#:}
    if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done
# The test-only npm packages (never shipped), pinned by
# tools/s3rver/package-lock.json: s3rver, the S3-compatible server the
# snapshot tests start, @grafana/schema, the dashboard schema
# test_dashboards.py checks against, @cdktf/hcl2json, the HCL parser of the
# deploy/terraform tests, and kubernetes-models (+ its prometheus-operator
# CRDs), the API schemas the deploy/k8s tests validate against. Installed again when the lockfile is
# newer than the install (npm writes node_modules/.package-lock.json), so a
# package added to it reaches machines set up before. Needs node and npm.
npm_tools() {
    dir="$(dirname "$0")/../tools/s3rver"
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
    if ! command -v npm >/dev/null 2>&1; then
        # Debian's nodejs comes without npm (a NodeSource nodejs bundles it).
        if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends npm
    fi
    npm ci --prefix "$dir" --no-audit --no-fund
}
[ -z "$missing" ] && { npm_tools; exit 0; }
echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
npm_tools
