"""The simulator with ib_insync 0.9.86 (negotiating version 176).

ib_insync and ib_async both install a module called `eventkit` (different versions), so
ib_insync lives in a private folder and runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

INSYNC_VERSION = "0.9.86"


@pytest.fixture(scope="session")
def insync_path() -> Path:
    target = Path(os.environ.get("IB_INSYNC_DIR", Path.home() / ".cache" / "ibfutures" / f"ib_insync-{INSYNC_VERSION}"))
    if not (target / "ib_insync").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                f"ib_insync=={INSYNC_VERSION}",
            ],
            check=True,
        )
    return target


def test_ib_insync_end_to_end(sim, insync_path):
    script = Path(__file__).with_name("insync_client.py")
    env = dict(os.environ, PYTHONPATH=str(insync_path))
    result = subprocess.run(
        [sys.executable, str(script), str(sim.port)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["server_version"] == 176
    assert out["accounts"] == ["DU123456"]
    assert "20250620" in out["months"]
    assert out["local_symbol"] == "ESM5"
    assert out["daily_bars"] > 150 and out["daily_ok"]
    assert out["minute_bars"] >= 59
    assert out["bid"] < out["ask"]
    assert out["snapshot_close"] > 0
    assert out["status"] == "Filled"
    [(shares, price, commission)] = out["fills"]
    assert shares == 1 and price > 0 and commission > 0
    assert ["ESM5", 1.0] in out["positions"]
    assert "Traceback" not in result.stderr
