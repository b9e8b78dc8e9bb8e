#!/usr/bin/env bash
# The project's test command: a private virtual environment with the package and its test
# extras, then the whole suite (FerretDB, the MongoDB-wire server, is built on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
exec .venv/bin/python -m pytest "$@"
