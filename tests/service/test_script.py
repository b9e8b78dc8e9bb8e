"""`python -m sysproduction.market_data_service` as a real process (with an in-process ibsim):
it serves /health and an SSE stream over loopback, and SIGTERM stops it cleanly (exit 143)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from sysproduction import script_runner
from sysproduction.mds import sse

ROOT = Path(__file__).resolve().parents[2]


def test_the_service_runs_serves_and_stops_on_sigterm(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "private_config.yaml").write_text(f"data_folder: {tmp_path / 'data'}\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYSYS_PRIVATE_CONFIG_DIR=str(private))
    args = ["--sim-start", "2025-03-04T15:00:00+00:00", "--sim-speed", "20", "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sysproduction.market_data_service", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # "market data on http://127.0.0.1:PORT (...)"
        assert line.startswith("market data on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split()[3]
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            health = json.loads(response.read())
        assert health["state"] == "connected" and health["process"] == "market_data_service"
        with urllib.request.urlopen(url + "/quotes?instrument=SP500", timeout=10) as stream:
            text = b""
            while text.count(b"event: quote") < 3:
                text += stream.read1(4096)
        quotes = [e for e in sse.parse(text.decode()) if e.get("event") == "quote"]
        assert len(quotes) >= 3 and json.loads(quotes[0]["data"])["local_symbol"].startswith("ES")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == script_runner.EXIT_SIGTERM == 143, stderr
    assert "Traceback" not in stderr


def test_binding_beyond_loopback_without_a_token_is_a_configuration_error(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "private_config.yaml").write_text(f"data_folder: {tmp_path / 'data'}\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYSYS_PRIVATE_CONFIG_DIR=str(private))
    result = subprocess.run(
        [sys.executable, "-m", "sysproduction.market_data_service", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == script_runner.EXIT_CONFIG == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "market_data_service_token" in lines[0] and "0.0.0.0" in lines[0], result.stderr
