#!/usr/bin/env bash
# Makes sure a Python virtual environment with Lyceum's Python test and
# analytics packages exists, in a cache outside the clone keyed by the
# requirements file's hash, and prints its directory.
#
#   venv="$(bash deploy/local/pyenv.sh)" && "$venv/bin/python" -m pytest ...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
requirements="$root/tests/python/requirements.txt"
cache="${LYCEUM_CACHE:-/var/cache/lyceum}"
key="$(sha256sum "$requirements" | cut -c1-12)"
venv="$cache/venv-$key"

if [[ ! -x "$venv/bin/python" || ! -f "$venv/.complete" ]]; then
  echo "pyenv: creating $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$venv/.complete"
fi
echo "$venv"
