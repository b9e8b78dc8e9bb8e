#!/usr/bin/env bash
# The project's test command: a private virtual environment with the package and its test
# extras and Debian's Chromium, then the whole suite (FerretDB, the MongoDB-wire server, is built on
# first use).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
# The market-data service's status page is tested in headless Chromium from Debian's packages
# (tests/service/test_status_page.py).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
exec .venv/bin/python -m pytest "$@"
