#!/usr/bin/env bash
# Runs the Python tests (pytest) in Lyceum's cached virtual environment.
# CTest calls it with LYCEUM_BUILD_DIR set; the servers must be up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(bash "$here/../../deploy/local/pyenv.sh")"
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .
