#!/bin/sh
# Runs every built libFuzzer target for a few seconds on a copy of its seed
# corpus. Usage: fuzz.sh BUILD_DIR SECONDS
set -eu
build=$1
secs=$2
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for target in "$build"/fuzz/fuzz_*; do
    [ -f "$target" ] && [ -x "$target" ] || continue
    name=$(basename "$target")
    work="$root/fuzz/corpus-run/$name"
    mkdir -p "$work"
    [ -d "$root/fuzz/corpus/$name" ] && cp -n "$root/fuzz/corpus/$name"/* "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${secs}s"
    if ! "$target" -max_total_time="$secs" -print_final_stats=1 "$work" >"$build/$name.log" 2>&1; then
        echo "fuzz: $name FAILED (see $build/$name.log)"
        tail -n 30 "$build/$name.log"
        status=1
    else
        grep -E 'stat::number_of_executed_units' "$build/$name.log" || true
    fi
done
exit $status
