#!/usr/bin/env bash
# Builds Lyceum's libFuzzer targets and runs each one on its seed corpus.
#
#   bash tests/fuzz/run.sh [SECONDS] [TARGET...]   # default 15 s each, every target
#   bash tests/fuzz/run.sh --seeds                 # regenerate the binary seeds
#
# The build lives in build-fuzz/ next to the source tree, or $LYCEUM_FUZZ_BUILD
# (clang, -DLYCEUM_FUZZ=ON: ASan, UBSan and coverage on every library). Each
# target runs on a temporary copy of tests/fuzz/corpus/<target>/ (the
# committed corpus stays small) with its -max_len and dictionary, -timeout=5
# and -rss_limit_mb=2048, one target at a time. Per target it prints the
# executions, executions per second and coverage (cov: edges, ft: features).
# Exit status is non-zero when any target crashed, leaked, timed out or ran
# out of memory; the input that did it is kept under
# <build>/fuzz-artifacts/<target>/ and its path printed (reproduce with
# `<build>/tests/fuzz/fuzz_<target> <path>`); the full log is in
# <build>/fuzz-logs/<target>.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${LYCEUM_FUZZ_BUILD:-$root/build-fuzz}"

# target  max_len  dictionary (or -)
targets=(
  "chat_request     4096 json.dict"
  "feedback_request 1024 json.dict"
  "bus_frame        4096 -"
  "kafka_event      8192 -"
  "judge_output     4096 json.dict"
  "replay_file      4096 json.dict"
  "config           4096 yaml.dict"
  "meaning          2048 meaning.dict"
)

build_targets() {
  local hiredis
  # The same hiredis (1.x, with TLS) as every other build: deploy/local/redis8.sh.
  hiredis="$(bash "$root/deploy/local/redis8.sh" --hiredis)"
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    # -Werror stays off here: clang warns about the `{NULL}` ends of some config
    # tables (-Wmissing-field-initializers) that gcc accepts; see docs/fuzzing.md.
    CC="${CC:-clang}" cmake -S "$root" -B "$build" -G Ninja -DLYCEUM_FUZZ=ON \
      -DLYCEUM_TESTS=OFF -DLYCEUM_WERROR=OFF -DLYCEUM_HIREDIS_ROOT="$hiredis" >/dev/null
  else
    cmake -S "$root" -B "$build" -DLYCEUM_HIREDIS_ROOT="$hiredis" >/dev/null
  fi
  cmake --build "$build" --target lyceum_fuzz fuzz_make_seeds -- -j "$(nproc)"
}

if [[ "${1:-}" == "--seeds" ]]; then
  build_targets
  "$build/tests/fuzz/fuzz_make_seeds" "$here/corpus"
  echo "seeds written to $here/corpus/{bus_frame,kafka_event}"
  exit 0
fi

seconds="${1:-15}"
[[ $# -gt 0 ]] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS] [TARGET...] | --seeds" >&2
  exit 2
fi
wanted=("$@")

echo "== build ($build)"
build_targets

logs="$build/fuzz-logs"
artifacts="$build/fuzz-artifacts"
mkdir -p "$logs"
work="$(mktemp -d "${TMPDIR:-/tmp}/lyceum-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The value of "stat::<name>: N" in a log, or "?".
stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1 | grep . || echo "?"; }

failed=()
printf '\n%-17s %6s %12s %9s %7s %7s %6s  %s\n' target secs executions exec/s cov ft corpus result
for spec in "${targets[@]}"; do
  read -r name max_len dict <<<"$spec"
  if [[ ${#wanted[@]} -gt 0 && ! " ${wanted[*]} " == *" $name "* ]]; then
    continue
  fi
  corpus="$work/$name"
  mkdir -p "$corpus" "$artifacts/$name"
  cp -r "$here/corpus/$name/." "$corpus/"
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=5 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/$name/")
  [[ "$dict" != "-" ]] && args+=(-dict="$here/dict/$dict")
  log="$logs/$name.log"
  rc=0
  "$build/tests/fuzz/fuzz_$name" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?

  # The last status line: "#N  DONE  cov: C ft: F corp: K/..." (or the last pulse).
  status="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")"
  corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")"
  result=ok
  if [[ $rc -ne 0 ]]; then
    result="FAILED (exit $rc)"
    failed+=("$name")
  fi
  printf '%-17s %6s %12s %9s %7s %7s %6s  %s\n' "$name" "$seconds" \
    "$(stat "$log" number_of_executed_units)" "$(stat "$log" average_exec_per_sec)" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
  if [[ $rc -ne 0 ]]; then
    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:' "$log" |
      head -5 | sed 's/^/    /'
    grep -E 'Test unit written to|^artifact_prefix' "$log" | sed 's/^/    /' || true
    echo "    log: $log"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo
  echo "fuzzing FAILED: ${failed[*]}"
  exit 1
fi
echo
echo "fuzzing passed"
