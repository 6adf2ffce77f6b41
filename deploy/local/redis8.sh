#!/usr/bin/env bash
# redis8.sh - make sure a Redis >= 8.0 server (with the built-in vector sets,
# VADD/VSIM) is available, and print the directory holding redis-server and
# redis-cli on stdout (progress goes to stderr).
#
# Order: a redis-server >= 8.0 on PATH; else the cache
# ${LYCEUM_CACHE:-/var/cache/lyceum}/redis-8.0.2/bin; else build it there from
# Debian's upstream source (redis_8.0.2.orig.tar.gz from trixie, fetched with a
# private apt configuration that leaves the system's apt sources alone).
#
# Usage: deploy/local/redis8.sh            -> prints e.g. /var/cache/lyceum/redis-8.0.2/bin
set -euo pipefail

readonly REDIS_VERSION="8.0.2"
readonly REDIS_SUITE="trixie"
readonly CACHE_ROOT="${LYCEUM_CACHE:-/var/cache/lyceum}"
readonly DEST="${CACHE_ROOT}/redis-${REDIS_VERSION}"
readonly BUILD_PACKAGES="build-essential pkg-config"

log() { echo "[redis8] $*" >&2; }
die() { echo "[redis8] ERROR: $*" >&2; exit 1; }

# Major version of a redis-server binary ("Redis server v=8.0.2 ..." -> 8).
server_major() {
  "$1" --version 2>/dev/null | sed -n 's/.* v=\([0-9]*\)\..*/\1/p'
}

# Prints the bin dir of a redis-server >= 8 on PATH that has a redis-cli next to
# it (or on PATH); returns 1 if there is none.
path_redis_dir() {
  local bin major
  bin="$(command -v redis-server 2>/dev/null)" || return 1
  major="$(server_major "$bin")"
  [[ -n "$major" && "$major" -ge 8 ]] || return 1
  [[ -x "$(dirname "$bin")/redis-cli" ]] || return 1
  dirname "$bin"
}

# First Debian archive URI the system's apt uses (not the security one), so the
# private configuration talks to the same mirror.
system_mirror() {
  local files=() uri
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  shopt -s nullglob
  files+=(/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  shopt -u nullglob
  uri="$( (cat "${files[@]}" 2>/dev/null || true) \
    | grep -v '^[[:space:]]*#' \
    | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# Installs the Debian packages the build needs, if any is missing.
ensure_build_packages() {
  local missing=() p
  for p in $BUILD_PACKAGES; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing build packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 -q update >&2 || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# Downloads redis_<version>.orig.tar.gz into dir $1 through a private apt config.
download_source() {
  local work="$1" mirror apt_dir
  mirror="$(system_mirror)"
  apt_dir="$work/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/src"
  echo "deb-src ${mirror} ${REDIS_SUITE} main" >"$apt_dir/sources.list"
  chmod -R a+rX "$work"                       # apt's _apt sandbox user must read/write
  chown -R _apt "$apt_dir/lists" "$work/src" 2>/dev/null || true
  local opts=(-q -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Get::List-Cleanup=0")
  log "apt-get update (private config: deb-src ${mirror} ${REDIS_SUITE} main)"
  timeout 300 apt-get "${opts[@]}" update >&2 || die "private apt-get update failed (mirror ${mirror})"
  log "apt-get source --download-only --tar-only redis (want ${REDIS_VERSION})"
  (cd "$work/src" && timeout 300 apt-get "${opts[@]}" source --download-only --tar-only redis >&2) \
    || die "apt-get source --download-only --tar-only redis failed"
  [[ -f "$work/src/redis_${REDIS_VERSION}.orig.tar.gz" ]] \
    || die "redis_${REDIS_VERSION}.orig.tar.gz not downloaded (got: $(ls "$work/src"))"
}

# Unpacks and builds the source in $1, installs into a staging dir, then moves
# it into place atomically so a half-done build never looks like a cache hit.
build_and_install() {
  local work="$1" src stage
  tar -xzf "$work/src/redis_${REDIS_VERSION}.orig.tar.gz" -C "$work/src"
  src="$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'redis*' | head -n1)"
  [[ -n "$src" && -f "$src/Makefile" ]] || die "no Makefile in the unpacked redis source"
  log "building in $src (make -j2 BUILD_TLS=no, about 80 s on 2 cores)"
  make -C "$src" -j2 BUILD_TLS=no >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; die "redis build failed (log tail above)"; }
  stage="${DEST}.tmp.$$"
  rm -rf "$stage"
  make -C "$src" install PREFIX="$stage" >>"$work/build.log" 2>&1 \
    || { tail -n 20 "$work/build.log" >&2; die "redis make install failed"; }
  rm -rf "$DEST"
  mv "$stage" "$DEST"
}

# Starts the server in $1 on a private unix socket and checks VADD/VSIM work.
verify_vector_sets() {
  local bin_dir="$1" tmp sock out
  tmp="$(mktemp -d)"
  sock="$tmp/redis.sock"
  "$bin_dir/redis-server" --port 0 --unixsocket "$sock" --save '' --appendonly no \
    --dir "$tmp" --daemonize yes --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" \
    || { rm -rf "$tmp"; die "could not start $bin_dir/redis-server for the VADD check"; }
  for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
  out="$("$bin_dir/redis-cli" -s "$sock" VADD lyceum:check VALUES 3 1 0 0 e1 2>&1 || true)"
  out+=" $("$bin_dir/redis-cli" -s "$sock" VSIM lyceum:check VALUES 3 1 0 0 2>&1 || true)"
  "$bin_dir/redis-cli" -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  rm -rf "$tmp"
  [[ "$out" == "1 e1" ]] || die "$bin_dir/redis-server does not support VADD/VSIM (got: $out)"
}

main() {
  local dir
  if dir="$(path_redis_dir)"; then
    log "using redis-server on PATH: $dir/redis-server ($("$dir/redis-server" --version | cut -d' ' -f3))"
  elif [[ -x "$DEST/bin/redis-server" && -x "$DEST/bin/redis-cli" ]]; then
    dir="$DEST/bin"
    log "using cached $dir/redis-server"
  else
    mkdir -p "$CACHE_ROOT" || die "cannot create cache dir $CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.redis-${REDIS_VERSION}.lock"
    flock -w 900 9 || die "timed out waiting for another redis8.sh build (lock $CACHE_ROOT)"
    if [[ ! -x "$DEST/bin/redis-server" ]]; then
      WORK="$(mktemp -d "${TMPDIR:-/tmp}/lyceum-redis-build.XXXXXX")"
      trap 'rm -rf "$WORK"' EXIT
      ensure_build_packages
      download_source "$WORK"
      build_and_install "$WORK"
      log "installed Redis ${REDIS_VERSION} into $DEST/bin"
    fi
    dir="$DEST/bin"
  fi
  verify_vector_sets "$dir"
  log "VADD/VSIM ok with $dir/redis-server"
  echo "$dir"
}

main "$@"
