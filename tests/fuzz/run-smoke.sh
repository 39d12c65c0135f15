#!/usr/bin/env bash
# Fuzz smoke run: builds the libFuzzer targets (the "fuzz" preset, or the
# build directory given) and runs each tests/fuzz/fuzz_* target for a short
# time on its seeds (tests/fuzz/seeds/<target>/), reporting executions and
# exiting non-zero if any target crashes, leaks or times out. New inputs and
# crash artifacts go to a temporary directory (kept on failure).
#
# Usage: tests/fuzz/run-smoke.sh [--build-dir DIR] [--seconds N] [--no-build]
#                                [--jobs N] [TARGET...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-fuzz"
seconds=20
do_build=1
jobs=2
only=()

while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "run-smoke: unknown option $1" >&2; exit 2 ;;
    *) only+=("$1"); shift ;;
    esac
done

if [ "$do_build" = 1 ]; then
    if [ "$build" = "$root/build-fuzz" ]; then
        (cd "$root" && cmake --preset fuzz >/dev/null)
    else
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
            -DPROCSNIFF_FUZZ=ON -DPROCSNIFF_SANITIZE=ON >/dev/null
    fi
    targets=$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')
    # shellcheck disable=SC2086
    cmake --build "$build" -j "$jobs" --target $targets
fi

work=$(mktemp -d /tmp/procsniff-fuzz.XXXXXX)
status=0
printf '%-14s %10s %8s %s\n' target execs secs result
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    name=$(basename "$bin")
    if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then
        continue
    fi
    mkdir -p "$work/$name/corpus"
    seeds=()
    [ -d "$here/seeds/$name" ] && seeds=("$here/seeds/$name")
    log="$work/$name/log"
    start=$(date +%s)
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$name/" \
        "$work/$name/corpus" "${seeds[@]}" >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log)"
        status=1
    fi
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    printf '%-14s %10s %8s %s\n' "$name" "${execs:-?}" "$secs" "$result"
done

if [ "$status" = 0 ]; then
    rm -rf "$work"
else
    echo "run-smoke: artifacts kept in $work" >&2
fi
exit "$status"
