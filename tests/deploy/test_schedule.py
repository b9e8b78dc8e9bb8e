"""sysproduction.schedule: run times, runs, /ready after a failed run, stops, configuration errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sysproduction import schedule
from sysproduction.schedule import ScheduleState, next_run, run_once, start_status_server

REPO_ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("now", "time_of_day", "tz", "days", "expected"),
    [
        # later today, or tomorrow once passed (exactly now counts as passed)
        ("2025-03-04T10:00:00+00:00", "22:30", "UTC", None, "2025-03-04T22:30:00+00:00"),
        ("2025-03-04T22:30:00+00:00", "22:30", "UTC", None, "2025-03-05T22:30:00+00:00"),
        # Friday evening: weekdays only -> Monday
        ("2025-03-07T23:00:00+00:00", "22:30", "UTC", "Mon,Tue,Wed,Thu,Fri", "2025-03-10T22:30:00+00:00"),
        # local days of the zone: 01:00 UTC Tuesday is still Monday 21:00 in New York
        ("2025-03-11T01:00:00+00:00", "21:30", "America/New_York", "Mon", "2025-03-11T01:30:00+00:00"),
        ("2025-03-11T02:00:00+00:00", "21:30", "America/New_York", "Mon", "2025-03-18T01:30:00+00:00"),
        # across the US DST change (9 March 2025): 17:30 local is 22:30 UTC before, 21:30 after
        ("2025-03-07T12:00:00+00:00", "17:30", "America/New_York", None, "2025-03-07T22:30:00+00:00"),
        ("2025-03-10T12:00:00+00:00", "17:30", "America/New_York", None, "2025-03-10T21:30:00+00:00"),
    ],
)
def test_next_run(now, time_of_day, tz, days, expected):
    weekdays = tuple(days.split(",")) if days else schedule.WEEKDAYS
    result = next_run(at(now), dt.time.fromisoformat(time_of_day), tz, weekdays)
    assert result == at(expected) and result.tzinfo is UTC


def test_next_run_refuses_a_naive_time():
    with pytest.raises(ValueError, match="tz-aware"):
        next_run(dt.datetime(2025, 3, 4), dt.time(22, 30), "UTC")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ready_turns_503_after_a_failed_run_and_back_after_a_good_one():
    state = ScheduleState(command=[])
    server = start_status_server(state, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get(base + "/ready") == (200, {"ready": True, "reason": None})
        assert run_once([sys.executable, "-c", "raise SystemExit(6)"], state, timeout=30, grace=5) == 6
        status, body = get(base + "/ready")
        assert status == 503 and body["reason"].startswith("last run exited 6 at ")
        status, health = get(base + "/health")
        assert status == 200 and (health["runs"], health["last_exit_code"]) == (1, 6)
        assert run_once([sys.executable, "-c", "pass"], state, timeout=30, grace=5) == 0
        assert get(base + "/ready")[0] == 200
        assert get(base + "/nothing")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_over_its_timeout_is_stopped():
    state = ScheduleState(command=[])
    started = time.monotonic()
    code = run_once([sys.executable, "-c", "import time; time.sleep(60)"], state, timeout=0.5, grace=5)
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - started < 10


def scheduler_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBFUTURES_")}
    return {**env, "PYTHONPATH": str(REPO_ROOT), "PYSYS_PRIVATE_CONFIG_DIR": str(tmp_path), **extra}


def test_run_at_start_and_max_runs_return_the_last_exit_code(tmp_path):
    marker = tmp_path / "ran"
    child = f"open({str(marker)!r}, 'a').write('x'); raise SystemExit(3)"
    result = subprocess.run(
        [sys.executable, "-m", "sysproduction.schedule", "--at", "00:00", "--run-at-start", "--max-runs", "1"]
        + ["--", sys.executable, "-c", child],
        env=scheduler_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert marker.read_text() == "x"
    assert "run 1: exit code 3" in result.stderr


def test_sigterm_is_passed_on_to_the_running_child(tmp_path):
    marker = tmp_path / "child_stopped"
    child = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'w').write('term'), sys.exit(143)))\n"
        "print('child up', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "sysproduction.schedule", "--at", "00:00", "--run-at-start"]
        + ["--", sys.executable, "-c", child],
        env=scheduler_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "child up"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 143, stderr
    assert time.monotonic() - started < 15
    assert marker.read_text() == "term"
    assert "interrupted (SIGTERM)" in stderr and "run 1: exit code 143" in stderr


def test_a_configuration_error_stops_it_at_start_naming_the_variable(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sysproduction.schedule", "--at", "00:00", "--", "true"],
        env=scheduler_env(tmp_path, IBFUTURES_LOG_LEVEL="LOUD"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "environment variable IBFUTURES_LOG_LEVEL: key 'log_level'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "25:00", "--", "true"], "expected HH:MM"),
        (["--at", "10:00", "--days", "Mon,Funday", "--", "true"], "comma-separated list"),
        (["--at", "10:00", "--tz", "Mars/Olympus", "--", "true"], "IANA time zone"),
        (["--at", "10:00"], "no command given"),
    ],
)
def test_bad_command_lines_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        schedule.main(args)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
