"""`python -m ibsim` as a standalone server, driven by the documented quickstart script."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ibsim.admin import send_command

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def test_standalone_server_and_quickstart(tmp_path):
    port, admin = _free_port(), _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ibsim",
            "--port",
            str(port),
            "--admin-port",
            str(admin),
            "--start",
            "2025-03-04T15:00:00Z",
            "--speed",
            "1",
            "--seed",
            "3",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_port(port)
        result = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "ibsim_quickstart.py"), "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        out = result.stdout
        assert "accounts: ['DU123456']" in out
        assert "ESH5" in out and "ESM5" in out
        assert "daily bars" in out
        assert "bought 1 ESH5" in out and "commission" in out
        assert "position: ESH5 1" in out
        status = send_command(admin, {"cmd": "status"})
        assert status["ok"] and status["stats"]["fills"] == 1
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert server.returncode == 130, output[-3000:]  # Ctrl-C: "interrupted", as every production tool
    assert "interrupted (SIGINT)" in output
    assert "connection from 127.0.0.1" in output  # each connection is logged
    assert "ibsim stopped" in output


def test_bad_start_argument_is_a_clear_error():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "ibsim", "--start", "yesterday"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "--start 'yesterday' is not an ISO-8601 time" in result.stderr
