#!/usr/bin/env bash
# redis8.sh - make sure Redis 8 (with the built-in vector sets, VADD/VSIM, and
# TLS) and the TLS-capable hiredis from the same source tree are built, and
# print where they are on stdout (progress goes to stderr).
#
# Both come from one build of Debian's upstream source (redis_8.0.2.orig.tar.gz
# from trixie, fetched with a private apt configuration that leaves the
# system's apt sources alone), made once with BUILD_TLS=yes into the cache
# ${LYCEUM_CACHE:-/var/cache/lyceum}/redis-8.0.2-tls:
#
#   bin/       redis-server, redis-cli (what deploy/local/servers.sh and the
#              tests run; the TLS test starts its own server from here)
#   hiredis/   the hiredis 1.x of the Redis source (deps/hiredis): static
#              lib/libhiredis.a and lib/libhiredis_ssl.a, headers under
#              include/hiredis/. Lyceum links it when the build is configured
#              with LYCEUM_HIREDIS_ROOT set to this directory (rediss://);
#              Debian 12's libhiredis-dev is 0.14, without TLS.
#
# A redis-server on PATH is not used: it may lack TLS, and the hiredis has to
# be built from the source anyway. The cache key ends in -tls so that the
# older TLS-less cache (redis-8.0.2) is never taken for this one.
#
# Usage: deploy/local/redis8.sh            -> prints e.g. /var/cache/lyceum/redis-8.0.2-tls/bin
#        deploy/local/redis8.sh --hiredis  -> prints e.g. /var/cache/lyceum/redis-8.0.2-tls/hiredis
set -euo pipefail

readonly REDIS_VERSION="8.0.2"
readonly REDIS_SUITE="trixie"
readonly CACHE_ROOT="${LYCEUM_CACHE:-/var/cache/lyceum}"
readonly DEST="${CACHE_ROOT}/redis-${REDIS_VERSION}-tls"
readonly BUILD_PACKAGES="build-essential pkg-config libssl-dev"

log() { echo "[redis8] $*" >&2; }
die() { echo "[redis8] ERROR: $*" >&2; exit 1; }

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

# Builds the source's deps/hiredis again, on its own, into $2/hiredis: static
# libraries with TLS, position-independent (hiredis always adds -fPIC) and
# without the link-time optimisation Redis may use for its own objects, so
# that gcc and clang (the fuzz build) both link them.
build_hiredis() {
  local src="$1" stage="$2" hi="$1/deps/hiredis" version h
  log "building hiredis (deps/hiredis, USE_SSL=1, static)"
  make -C "$hi" clean >>"$work_log" 2>&1 || true
  make -C "$hi" -j2 static USE_SSL=1 OPTIMIZATION=-O2 >>"$work_log" 2>&1 \
    || { tail -n 30 "$work_log" >&2; die "hiredis build failed (log tail above)"; }
  [[ -f "$hi/libhiredis.a" && -f "$hi/libhiredis_ssl.a" ]] \
    || die "the hiredis build made no libhiredis.a / libhiredis_ssl.a"
  mkdir -p "$stage/hiredis/lib" "$stage/hiredis/include/hiredis"
  install -m 0644 "$hi/libhiredis.a" "$hi/libhiredis_ssl.a" "$stage/hiredis/lib/"
  for h in hiredis.h hiredis_ssl.h async.h read.h sds.h alloc.h sockcompat.h; do
    [[ -f "$hi/$h" ]] && install -m 0644 "$hi/$h" "$stage/hiredis/include/hiredis/"
  done
  version="$(awk '/#define HIREDIS_(MAJOR|MINOR|PATCH) /{v = v (v ? "." : "") $3} END {print v}' \
    "$hi/hiredis.h")"
  echo "hiredis ${version} from redis_${REDIS_VERSION} (deps/hiredis), USE_SSL=1" \
    >"$stage/hiredis/VERSION"
  log "hiredis ${version} built"
}

# Unpacks and builds the source in $1, installs into a staging dir, then moves
# it into place atomically so a half-done build never looks like a cache hit.
build_and_install() {
  local work="$1" src stage work_log
  work_log="$work/build.log"
  tar -xzf "$work/src/redis_${REDIS_VERSION}.orig.tar.gz" -C "$work/src"
  src="$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'redis*' | head -n1)"
  [[ -n "$src" && -f "$src/Makefile" ]] || die "no Makefile in the unpacked redis source"
  log "building in $src (make -j2 BUILD_TLS=yes, about 3 min on 2 cores)"
  make -C "$src" -j2 BUILD_TLS=yes >"$work_log" 2>&1 \
    || { tail -n 40 "$work_log" >&2; die "redis build failed (log tail above)"; }
  stage="${DEST}.tmp.$$"
  rm -rf "$stage"
  make -C "$src" install PREFIX="$stage" >>"$work_log" 2>&1 \
    || { tail -n 20 "$work_log" >&2; die "redis make install failed"; }
  build_hiredis "$src" "$stage"
  rm -rf "$DEST"
  mv "$stage" "$DEST"
}

# True when the cache holds a complete build.
is_cached() {
  [[ -x "$DEST/bin/redis-server" && -x "$DEST/bin/redis-cli" &&
     -f "$DEST/hiredis/lib/libhiredis.a" && -f "$DEST/hiredis/lib/libhiredis_ssl.a" &&
     -f "$DEST/hiredis/include/hiredis/hiredis_ssl.h" ]]
}

# Starts the server in $1 on a private unix socket and checks VADD/VSIM work,
# and that the build has TLS (redis-cli lists its --tls options only then).
verify_server() {
  local bin_dir="$1" tmp sock out
  # Read the whole help first: grep -q stops reading at the first match, and
  # under pipefail the SIGPIPE that redis-cli then gets would fail the check.
  out="$("$bin_dir/redis-cli" --help 2>&1 || true)"
  grep -q -- '--tls' <<<"$out" \
    || die "$bin_dir/redis-cli was built without TLS (BUILD_TLS=yes expected)"
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
  local mode=server
  case "${1:-}" in
    "") ;;
    --hiredis) mode=hiredis ;;
    *) die "usage: redis8.sh [--hiredis]" ;;
  esac
  if is_cached; then
    log "using cached $DEST"
  else
    mkdir -p "$CACHE_ROOT" || die "cannot create cache dir $CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.redis-${REDIS_VERSION}-tls.lock"
    flock -w 900 9 || die "timed out waiting for another redis8.sh build (lock $CACHE_ROOT)"
    if ! is_cached; then
      WORK="$(mktemp -d "${TMPDIR:-/tmp}/lyceum-redis-build.XXXXXX")"
      trap 'rm -rf "$WORK"' EXIT
      ensure_build_packages
      download_source "$WORK"
      build_and_install "$WORK"
      log "installed Redis ${REDIS_VERSION} (TLS) into $DEST/bin and hiredis into $DEST/hiredis"
      verify_server "$DEST/bin"
    fi
  fi
  if [[ "$mode" == hiredis ]]; then
    echo "$DEST/hiredis"
    return 0
  fi
  verify_server "$DEST/bin"
  log "VADD/VSIM and TLS ok with $DEST/bin/redis-server"
  echo "$DEST/bin"
}

main "$@"
