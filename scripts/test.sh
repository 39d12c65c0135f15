#!/usr/bin/env bash
# Sets up and runs procsniff's whole test suite, as root on Debian 12:
#   1. installs the build and test packages (scripts/install-deps.sh);
#   2. Release build with warnings as errors, then every ctest: unit, dissector,
#      corpus against tshark, live capture in network namespaces, bench smoke;
#   3. ASan+UBSan build, then the unit, dissector, corpus and live tests again;
#   4. clang libFuzzer build, then a short run of every fuzz target.
# Every step is bounded in time; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "release build"
cmake --preset release -DPROCSNIFF_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

step "release tests"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 900)

step "ASan+UBSan build"
cmake --preset asan -DPROCSNIFF_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"

step "ASan+UBSan tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 1800 -LE 'bench')

step "fuzz smoke"
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"$jobs"
(cd build-fuzz && ctest --output-on-failure -R '^fuzz_' --timeout 900)

step "all test stages passed"
