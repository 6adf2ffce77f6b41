#!/usr/bin/env bash
# demo.sh - the main job in one command: installs what is missing, builds
# Lyceum, and runs `lyceum demo`: starts Redis, Kafka and the demo cluster
# (replay models over a generated data set: no API key needed), sends a
# workload through it and prints what happened. The cluster keeps running;
# the demo ends by printing the next commands (ask, status, down).
#
# Usage: bash deploy/local/demo.sh [lyceum demo options, e.g. -c CLUSTER.yaml]
# Works from any directory. Environment: LYCEUM_BUILD_DIR (default
# <repo>/build), LYCEUM_RUN_DIR (default /tmp/lyceum-run), see `lyceum --help`.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly BUILD_DIR="${LYCEUM_BUILD_DIR:-$ROOT/build}"

log() { echo "[demo] $*" >&2; }

log "checking dependencies (deploy/local/deps.sh)"
bash "$ROOT/deploy/local/deps.sh"

# The tool and every service binary (lyceum-<folder> for each services/<folder>).
targets=(lyceum)
for dir in "$ROOT"/services/*/; do
  name="$(basename "$dir")"
  [[ "$name" != cli && -f "$dir/CMakeLists.txt" ]] && targets+=("lyceum-$name")
done

# hiredis 1.x with TLS (rediss://), built from the Redis source with the server.
log "checking Redis 8 and hiredis (deploy/local/redis8.sh)"
hiredis_root="$(bash "$ROOT/deploy/local/redis8.sh" --hiredis)"

log "building ${targets[*]} in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DLYCEUM_HIREDIS_ROOT="$hiredis_root" >/dev/null
cmake --build "$BUILD_DIR" --target "${targets[@]}"

export LYCEUM_SOURCE_DIR="$ROOT"
exec "$BUILD_DIR/services/cli/lyceum" demo "$@"
