"""The price-update service run as compose runs it: entry point, scheduler, IBFUTURES_* config.

The container is replaced by a process with the service's resolved compose environment, the
gateway by ibsim on loopback and MongoDB by the embedded SQLite store; everything else (the
entry point, the scheduler, the environment layer, the update job) is what the image runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from ibsim import PacingRules
from tests.connection import ACCOUNT, sims_fixture  # noqa: F401 - fixtures
from tests.deploy.compose_support import (
    ENTRYPOINT,
    REPO_ROOT,
    example_variables,
    interpolate,
    load_compose,
    resolved_environment,
)

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)


def test_price_update_service_updates_prices_from_the_gateway(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    service = load_compose()["services"]["price-update"]
    env = resolved_environment(service, example_variables())
    env.pop("IBFUTURES_MONGO_HOST")  # no MongoDB here: the embedded SQLite store
    env.update(
        IBFUTURES_IB_IPADDRESS="127.0.0.1",
        IBFUTURES_IB_PORT=str(sim.port),
        IBFUTURES_IB_PACING_SCALE="0.01",
        IBFUTURES_BROKER_ACCOUNT=ACCOUNT,
        IBFUTURES_DATA_FOLDER=str(tmp_path / "data"),
    )
    command = [interpolate(str(part), example_variables()) for part in service["command"]]
    command[command.index("--ops-port") + 1] = "0"  # 9102 may be taken on this machine
    split = command.index("--")
    command = [*command[:split], "--run-at-start", "--max-runs", "1", *command[split:], "SP500"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # the image's `python`
    (bin_dir / "python").chmod(0o755)
    (tmp_path / "config").mkdir()
    process_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IBFUTURES_")},
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO_ROOT),
        "PYSYS_PRIVATE_CONFIG_DIR": str(tmp_path / "config"),
    }
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *command], env=process_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stored = sorted(Path(tmp_path / "data" / "prices").rglob("*.parquet"))
    assert stored, "no prices stored"
    assert all("SP500" in str(path) for path in stored)
    assert "errors               0" in result.stdout
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(entry["logger"] == "schedule" and "exit code 0" in entry["message"] for entry in logs)
    assert {entry["logger"] for entry in logs} >= {"schedule", "update_historical_prices"}
