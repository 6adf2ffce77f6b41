#!/usr/bin/env bash
# check.sh - the offline checks of Lyceum's deployment files (no Docker
# engine, no Kubernetes cluster needed):
#
#   1. docker-compose accepts docker-compose.yml, alone and with
#      docker-compose.models.yml (`docker-compose config`);
#   2. every overlay of deploy/k8s renders (`kubectl kustomize`);
#   3. the rendered manifests validate strictly against the Kubernetes
#      ${K8S_VERSION} JSON schemas (kubeconform -strict: unknown fields and
#      kinds without a schema fail);
#   4. the copies Kustomize needs below deploy/k8s are identical to their
#      sources (cluster files, topic list);
#   5. when a build tree is there ($LYCEUM_BUILD_DIR, else build/), every
#      shared library the binaries link comes from a package of the
#      Dockerfile's runtime stage (a tree configured without
#      LYCEUM_HIREDIS_ROOT is not the image's build: skipped, with a note).
#
#   bash deploy/check.sh                  run every check (what CI runs)
#   bash deploy/check.sh render OVERLAY   print the rendered manifests of
#                                         deploy/k8s/overlays/OVERLAY
#   bash deploy/check.sh libraries        check 5 only (the agreement test runs it)
#   bash deploy/check.sh tools            install the tools only
#
# Tools, installed when missing and cached outside the clone
# ($LYCEUM_CACHE/tools, default /var/cache/lyceum/tools):
#   docker-compose   Debian package (the list in deploy/local/deps.sh)
#   kustomize        `kubectl kustomize` when kubectl has Kustomize v5, else
#                    built from the Go module proxy (sigs.k8s.io/kustomize)
#   kubeconform      built from the Go module proxy (github.com/yannh/kubeconform)
#   JSON schemas     from the PyPI package kubernetes-validate, which ships
#                    them; unpacked with their references made file-relative
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly CACHE="${LYCEUM_CACHE:-/var/cache/lyceum}/tools"
readonly KUSTOMIZE_VERSION=v5.5.0
readonly KUBECONFORM_VERSION=v0.7.0
readonly SCHEMAS_PACKAGE=kubernetes-validate==1.32.0
readonly K8S_VERSION=1.32.0
readonly SCHEMA_DIR="$CACHE/k8s-schemas-$K8S_VERSION"

log() { echo "[check] $*" >&2; }
die() { echo "[check] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools ----

# Builds a Go tool at a fixed version into $CACHE/<name>-<version>/.
go_tool() {
  local name="$1" module="$2" version="$3" dir="$CACHE/$1-$3"
  if [[ ! -x "$dir/$name" ]]; then
    command -v go >/dev/null || die "$name is missing and Go is not installed to build it"
    log "building $module@$version (Go module proxy) into $dir"
    mkdir -p "$dir"
    (cd "$(mktemp -d)" && GOBIN="$dir" GOFLAGS=-mod=mod go install "$module@$version") >&2 \
      || die "go install $module@$version failed"
  fi
  echo "$dir/$name"
}

# The command that renders a kustomization: kubectl's own Kustomize when it
# is v5, else a kustomize binary of our own.
kustomize_cmd() {
  if command -v kubectl >/dev/null &&
     kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v5'; then
    echo "kubectl kustomize"
  else
    go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
  fi
}

# Unpacks the strict Kubernetes JSON schemas from the kubernetes-validate
# wheel. Its schemas name their definitions by an absolute /api/ URL under
# an $id of kubernetes.io; the copy drops the $id and makes the references
# relative, so a validator resolves them to the file beside.
install_schemas() {
  [[ -f "$SCHEMA_DIR/.complete" ]] && return 0
  local tmp
  tmp="$(mktemp -d)"
  log "fetching the Kubernetes $K8S_VERSION JSON schemas ($SCHEMAS_PACKAGE, PyPI)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$tmp" "$SCHEMAS_PACKAGE" >&2 || die "pip download $SCHEMAS_PACKAGE failed"
  rm -rf "$SCHEMA_DIR"
  mkdir -p "$SCHEMA_DIR"
  python3 - "$tmp" "$SCHEMA_DIR" "v$K8S_VERSION-local-strict" <<'EOF' || die "unpacking the schemas failed"
import glob, json, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
out = os.path.join(sys.argv[2], sys.argv[3])
prefix = "kubernetes_validate/kubernetes-json-schema/%s/" % sys.argv[3]
os.makedirs(out, exist_ok=True)
count = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if not (name.startswith(prefix) and name.endswith(".json")):
            continue
        schema = json.loads(z.read(name))
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
        with open(os.path.join(out, name[len(prefix):]), "w") as f:
            f.write(text)
        count += 1
if count < 100:
    sys.exit("only %d schemas in %s" % (count, wheel))
EOF
  rm -rf "$tmp"
  touch "$SCHEMA_DIR/.complete"
}

install_tools() {
  bash "$ROOT/deploy/local/deps.sh"
  command -v docker-compose >/dev/null || die "docker-compose is missing after deploy/local/deps.sh"
  KUSTOMIZE="$(kustomize_cmd)"
  KUBECONFORM="$(go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")"
  install_schemas
}

# --------------------------------------------------------------- checks ----

FAILED=0
fail() { echo "[check] FAIL: $*" >&2; FAILED=$((FAILED + 1)); }
pass() { echo "[check] ok: $*" >&2; }

check_compose() {
  local out
  if out="$(cd "$ROOT" && docker-compose -f docker-compose.yml config -q 2>&1)"; then
    pass "docker-compose config: docker-compose.yml"
  else
    fail "docker-compose config: docker-compose.yml: $out"
  fi
  # The models file demands a key; any value does for the check.
  if out="$(cd "$ROOT" && OPENAI_API_KEY=check docker-compose -f docker-compose.yml \
              -f docker-compose.models.yml config -q 2>&1)"; then
    pass "docker-compose config: docker-compose.yml + docker-compose.models.yml"
  else
    fail "docker-compose config: with docker-compose.models.yml: $out"
  fi
}

render() {
  # shellcheck disable=SC2086 # KUSTOMIZE may be "kubectl kustomize"
  $KUSTOMIZE "$ROOT/deploy/k8s/overlays/$1"
}

check_overlays() {
  local dir name out rendered
  rendered="$(mktemp -d)"
  for dir in "$ROOT"/deploy/k8s/overlays/*/; do
    name="$(basename "$dir")"
    if ! render "$name" >"$rendered/$name.yaml" 2>"$rendered/$name.err"; then
      fail "kustomize overlays/$name: $(cat "$rendered/$name.err")"
      continue
    fi
    pass "kustomize overlays/$name ($(grep -c '^kind:' "$rendered/$name.yaml") resources)"
    if out="$("$KUBECONFORM" -strict -summary -kubernetes-version "$K8S_VERSION" \
                -schema-location "$SCHEMA_DIR/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
                "$rendered/$name.yaml" 2>&1)"; then
      pass "kubeconform -strict overlays/$name: ${out##*$'\n'}"
    else
      fail "kubeconform -strict overlays/$name:"$'\n'"$out"
    fi
  done
  rm -rf "$rendered"
}

check_copies() {
  local pair src copy
  for pair in deploy/compose/lyceum.yaml:deploy/k8s/base/lyceum.yaml \
              deploy/compose/lyceum-models.yaml:deploy/k8s/overlays/managed/lyceum.yaml \
              deploy/kafka-topics.txt:deploy/k8s/base/kafka-topics.txt; do
    src="${pair%%:*}" copy="${pair##*:}"
    if cmp -s "$ROOT/$src" "$ROOT/$copy"; then
      pass "$copy is a copy of $src"
    else
      fail "$copy differs from $src (copy it: cp $src $copy)"
    fi
  done
}

# The packages the Dockerfile's runtime stage installs.
runtime_packages() {
  awk '/^FROM .* AS run/ {run = 1}
       run && /apt-get install/ {take = 1}
       take {print}
       take && /rm -rf \/var\/lib\/apt\/lists/ {exit}' "$ROOT/deploy/Dockerfile" |
    tr -s '[:space:]' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vE '^(apt-get|install|rm|update|y|no-install-recommends|DEBIAN_FRONTEND.*)$' | sort -u
}

check_runtime_libraries() {
  local build="${LYCEUM_BUILD_DIR:-$ROOT/build}" bin lib path pkg missing=0 wanted
  local -a bins=()
  for bin in "$build"/services/*/lyceum "$build"/services/*/lyceum-*; do
    [[ -x "$bin" && -f "$bin" ]] && bins+=("$bin")
  done
  if [[ ${#bins[@]} -eq 0 ]]; then
    log "skipped: runtime libraries (no binaries under $build/services; build first)"
    return 0
  fi
  # The image links the TLS-capable hiredis statically (LYCEUM_HIREDIS_ROOT);
  # a build on Debian's hiredis 0.14 links other libraries than it ships.
  if ! grep -qE '^LYCEUM_HIREDIS_ROOT:[A-Z]+=.+' "$build/CMakeCache.txt" 2>/dev/null; then
    log "skipped: runtime libraries ($build was configured without LYCEUM_HIREDIS_ROOT, unlike the image; see deploy/local/redis8.sh --hiredis)"
    return 0
  fi
  wanted="$(runtime_packages)"
  for lib in $(objdump -p "${bins[@]}" 2>/dev/null | awk '/NEEDED/ {print $2}' | sort -u); do
    case "$lib" in
      libasan.so* | libubsan.so* | liblsan.so* | libtsan.so*) continue ;; # a sanitizer build's runtime
    esac
    path="$(ldconfig -p | awk -v l="$lib" '$1 == l && !found {print $NF; found = 1}')"
    [[ -n "$path" ]] || { fail "runtime library $lib: not found on this machine"; continue; }
    pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)"
    pkg="${pkg%%$'\n'*}" pkg="${pkg%%:*}"
    case "$pkg" in
      libc6 | libgcc-s1) continue ;; # in every Debian image
    esac
    if [[ -z "$pkg" ]] || ! grep -qx "$pkg" <<<"$wanted"; then
      fail "runtime library $lib (package ${pkg:-unknown}) is not installed by deploy/Dockerfile's run stage"
      missing=1
    fi
  done
  [[ $missing -eq 0 ]] &&
    pass "deploy/Dockerfile's run stage has every library of ${#bins[@]} binaries"
  return 0
}

main() {
  case "${1:-all}" in
    tools)
      install_tools ;;
    libraries)
      check_runtime_libraries
      [[ $FAILED -eq 0 ]] || die "the Dockerfile's runtime stage lacks libraries" ;;
    render)
      [[ -n "${2:-}" && -d "$ROOT/deploy/k8s/overlays/${2:-}" ]] ||
        die "usage: check.sh render OVERLAY (one of: $(ls "$ROOT/deploy/k8s/overlays"))"
      KUSTOMIZE="$(kustomize_cmd)"
      render "$2" ;;
    all)
      install_tools
      log "tools: docker-compose $(docker-compose version --short 2>/dev/null), kustomize: $KUSTOMIZE, kubeconform $KUBECONFORM_VERSION, schemas $SCHEMA_DIR"
      check_compose
      check_overlays
      check_copies
      check_runtime_libraries
      if [[ $FAILED -ne 0 ]]; then
        die "$FAILED deployment checks failed"
      fi
      log "every deployment check passed" ;;
    *)
      die "usage: check.sh [all|render OVERLAY|libraries|tools]" ;;
  esac
}

main "$@"
