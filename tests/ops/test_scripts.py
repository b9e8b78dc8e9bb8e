"""Production scripts stop cleanly on SIGINT/SIGTERM and fail with one clear line and a documented
exit code; run as real processes against ibsim over loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sysdata.production.process_metrics import scrape_values
from sysproduction import script_runner
from tests.connection import start_sim

ROOT = Path(__file__).resolve().parents[2]
OPEN = "2025-03-04T15:00:00+00:00"


def private_dir(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "private"
    folder.mkdir(exist_ok=True)
    data = tmp_path / "data"
    (folder / "private_config.yaml").write_text(f"data_folder: {data}\n{text}", encoding="utf-8")
    return folder


def env_for(folder: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYSYS_PRIVATE_CONFIG_DIR=str(folder))


def run(module: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=env_for(folder), capture_output=True, text=True, timeout=60
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_config_typo_is_one_line_with_file_key_and_line(tmp_path):
    folder = private_dir(tmp_path, 'ib_port: "4002"\n')
    result = run("sysproduction.clientids", folder, "list")
    assert result.returncode == script_runner.EXIT_CONFIG == 2
    line = one_line(result.stderr)
    assert "private_config.yaml:2" in line and "ib_port" in line


def test_an_unmanaged_account_is_one_line_and_exit_5(tmp_path):
    sim = start_sim()
    try:
        folder = private_dir(tmp_path, f"ib_gateway: external\nib_port: {sim.port}\nbroker_account: U9999999\n")
        result = run("sysproduction.example_stack_handler", folder)
    finally:
        sim.stop_in_thread()
    assert result.returncode == script_runner.EXIT_ACCOUNT_NOT_MANAGED == 5
    line = one_line(result.stderr)
    assert "U9999999" in line and "DU123456" in line


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_stack_handler_at_a_safe_point(tmp_path, signum):
    folder = private_dir(tmp_path, "")
    args = ["--sim-start", OPEN, "--cycles", "0", "--interval", "0.3", "--ops-port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sysproduction.example_stack_handler", *args],
        env=env_for(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if line.startswith("health and metrics on "):
                url = line.split()[4]
            if url and line.startswith("filled ") and "LMT" in line:  # one full cycle done
                break
        assert url, "".join(seen)
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:  # another process scrapes
            values = scrape_values(response.read().decode())
        assert values[("ibfutures_orders_total", (("event", "filled"),))] >= 2
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signum
    assert "interrupted" in err and "Traceback" not in err
    assert "orders stored today" not in out  # stopped before the end-of-run report


def test_failures_map_to_documented_exit_codes():
    from sysbrokers.IB.ib_errors import IBClientIdInUse, IBNoData

    assert script_runner.classify_failure(IBClientIdInUse(326, "in use"))[0] == 4
    assert script_runner.classify_failure(IBNoData(162, "none"))[0] == 6
    assert script_runner.classify_failure(RuntimeError("bug"))[0] == 1


def test_ibsim_cli_sigterm_exits_143_and_a_taken_port_is_one_line():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "ibsim", "--port", "0"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        line = ""
        deadline = time.monotonic() + 30
        while "listening on" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
        port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
        taken = subprocess.run(
            [sys.executable, "-m", "ibsim", "--port", str(port)], env=env, capture_output=True, text=True, timeout=30
        )
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143 and "interrupted (SIGTERM)" in err
    assert taken.returncode == 3
    assert one_line(taken.stderr).startswith(f"ibsim: cannot listen on 127.0.0.1:{port}")


def test_an_unreachable_gateway_is_one_line_and_exit_3_and_logs_can_be_json(tmp_path):
    settings = f"ib_gateway: external\nib_port: {free_port()}\nbroker_account: DU123456\nlog_format: json\n"
    folder = private_dir(tmp_path, settings + "log_level: DEBUG\n")
    result = run("sysproduction.example_stack_handler", folder)
    assert result.returncode == script_runner.EXIT_GATEWAY_UNREACHABLE == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    plain = [line for line in lines if not line.startswith("{")]
    assert plain == [line for line in plain if line.startswith("example_stack_handler: IB gateway not reachable")]
    assert len(plain) == 1
    assert {"time", "level", "logger", "message", "pid"} <= set(records[0])
    assert any(r["level"] == "DEBUG" and "Traceback" in r["message"] for r in records)
    assert not any(r["level"] == "ERROR" for r in records)  # ib_async's connect failure is not an ERROR
