#!/usr/bin/env bash
# Runs Lyceum's test suite from a fresh machine: installs what is missing,
# builds out of tree, starts real Redis 8 and Kafka on loopback, runs every
# CTest (unit tests in parallel, integration tests one at a time, since some
# stop and restart the broker), and stops the servers again.
#
#   bash tests/run.sh             # build/ with the default flags
#   LYCEUM_SANITIZE=1 bash tests/run.sh   # build-asan/ with ASan and UBSan
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
servers="$root/deploy/local/servers.sh"

build_dir="$root/build"
cmake_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${LYCEUM_SANITIZE:-0}" == 1 ]]; then
  build_dir="$root/build-asan"
  cmake_flags+=(-DLYCEUM_SANITIZE=ON)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi

bash "$root/deploy/local/deps.sh"

# Redis over TLS (rediss://) needs hiredis 1.x: the one built from the Redis
# source with the server (deploy/local/redis8.sh, cached after the first run).
hiredis_root="$(bash "$root/deploy/local/redis8.sh" --hiredis)"
cmake_flags+=(-DLYCEUM_HIREDIS_ROOT="$hiredis_root")

echo "== build ($build_dir)"
cmake -S "$root" -B "$build_dir" -G Ninja "${cmake_flags[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

echo "== servers"
stop_servers() { bash "$servers" down >"$build_dir/servers-down.log" 2>&1 || true; }
trap stop_servers EXIT
bash "$servers" up
eval "$(bash "$servers" env)"

echo "== tests"
# Integration tests are RUN_SERIAL (some stop and restart the broker), so one
# run gives parallel unit tests and CTest's own summary as its last line.
# A test that fails is run once more: the integration tests time real Kafka
# consumer groups and broker restarts, which a loaded machine (a sanitizer
# build) can push past their waits. A test that fails twice fails the run.
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --repeat until-pass:2
