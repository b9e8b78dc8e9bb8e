"""examples/async_strategy.py (docs/async.md) runs as written against its embedded ibsim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_async_strategy_example_streams_reads_positions_and_trades():
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "async_strategy.py"), "--target", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("trading SP500/")
    assert out.count("bought 1 SP500/") == 2
    assert "quote 1: " in out and "position 0" in out
    assert out.rstrip().endswith("position 2")
