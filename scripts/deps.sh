#!/bin/sh
# Installs the Debian packages listed in deps/debian-packages.txt that are
# missing: apt-get as root, sudo otherwise. Safe to run repeatedly.
set -eu
list="$(dirname "$0")/../deps/debian-packages.txt"
missing=""
for pkg in $(grep -v '^\s*#' "$list" | grep -v '^\s*$'); do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
