#!/usr/bin/env bash
# The main job: nightly price seeding. Installs the package into .venv on first use, then seeds
# every configured instrument (arguments are passed on, e.g. `./scripts/seed.sh SP500 --frequencies D,H`).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/python -m sysproduction.seed_price_data_from_IB "$@"
