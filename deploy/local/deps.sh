#!/usr/bin/env bash
# deps.sh - install the Debian packages Lyceum needs to build and test, if any
# is missing. A ready machine does nothing (no apt-get update, no network).
# Java and Maven are skipped when `java` / `mvn` already work. libhiredis-dev
# (0.14, no TLS) serves builds without LYCEUM_HIREDIS_ROOT; libssl-dev links the
# TLS-capable hiredis that deploy/local/redis8.sh builds, openssl makes the
# certificates of the Redis TLS test.
set -euo pipefail

readonly PACKAGES="build-essential cmake pkg-config libzmq3-dev libczmq-dev libprotobuf-c-dev
  protobuf-c-compiler librdkafka-dev libhiredis-dev libssl-dev openssl check libcurl4-openssl-dev
  libmicrohttpd-dev libcjson-dev libyaml-dev libcsv-dev libxxhash-dev libsodium-dev clang
  clang-format libclang-rt-14-dev default-jre-headless maven docker-compose chromium fonts-dejavu-core"

# Packages that may be replaced by a command that works already.
declare -A COMMAND_FOR=([default-jre-headless]=java [maven]=mvn)

readonly APT_OPTS=(-q -o DPkg::Lock::Timeout=600)

log() { echo "[deps] $*" >&2; }
die() { echo "[deps] ERROR: $*" >&2; exit 1; }

is_installed() {
  dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'
}

# A package is satisfied if installed, or if its command already runs.
is_satisfied() {
  local pkg="$1" cmd="${COMMAND_FOR[$1]:-}"
  is_installed "$pkg" && return 0
  [[ -n "$cmd" ]] && "$cmd" -version >/dev/null 2>&1 && return 0
  return 1
}

missing_packages() {
  local pkg
  for pkg in $PACKAGES; do
    is_satisfied "$pkg" || echo "$pkg"
  done
}

install_packages() {
  [[ $EUID -eq 0 ]] || die "installing $* needs root (run with sudo)"
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  apt-get "${APT_OPTS[@]}" update || die "apt-get update failed"
  log "apt-get install $*"
  apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "$@" \
    || die "apt-get install failed for: $*"
}

main() {
  local missing
  mapfile -t missing < <(missing_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "all packages present"
    return 0
  fi
  install_packages "${missing[@]}"
  mapfile -t missing < <(missing_packages)
  [[ ${#missing[@]} -eq 0 ]] || die "still missing after install: ${missing[*]}"
  log "installed"
}

main "$@"
