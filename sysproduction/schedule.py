"""Run a command every day at a fixed time: the scheduler of the daily price update in containers.

    python -m sysproduction.schedule --at 22:30 --tz UTC --days Mon,Tue,Wed,Thu,Fri \\
        --ops-port 9102 -- python -m sysproduction.update_historical_prices

One small loop instead of cron or an extra scheduler image (deploy/compose.yaml, docs/deployment.md):
it waits for the next run time (tz-aware, `--days` are local weekdays of `--tz`), runs the command
as a child process with the same environment, logs its exit code and waits again. A run never
overlaps the next one: a run still going at the next time simply delays it. `--run-at-start` also
runs once at start-up; `--max-runs N` stops after N runs (exit code = the last run's).

`--ops-port` serves `/health` (always 200, with the schedule's state as JSON) and `/ready` (200 while
the last run succeeded or none has run yet, 503 naming the exit code once a run failed) on
`--ops-host` (127.0.0.1), so a container health check shows a failed update. SIGINT/SIGTERM are
passed on to a running child (which stops at its own safe point), then the scheduler exits
130/143; `--timeout` bounds one run (SIGTERM, then SIGKILL after `--grace` seconds).

The configuration (`IBFUTURES_*` variables, private_config.yaml) is loaded and checked at start-up,
so a mistake fails at once (exit 2) rather than at the first run hours later.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import subprocess
import threading
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sysdata.config.configdata import Config
from sysdata.config.schema import WEEKDAYS
from sysproduction.script_runner import run_script, stop_point, stop_requested

log = logging.getLogger("schedule")

POLL_SECONDS = 0.2  # how often waits look for a stop request


def next_run(now: dt.datetime, at: dt.time, tz: str, days: Sequence[str] = WEEKDAYS) -> dt.datetime:
    """The first moment strictly after `now` that is `at` local time in `tz` on one of `days` (UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be tz-aware")
    zone = zoneinfo.ZoneInfo(tz)
    local_now = now.astimezone(zone)
    for offset in range(8):
        day = local_now.date() + dt.timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        candidate = dt.datetime.combine(day, at, tzinfo=zone)
        if candidate > local_now:
            return candidate.astimezone(dt.UTC)
    raise ValueError(f"no run day in {list(days)}")


@dataclass
class ScheduleState:
    """What /health and /ready report."""

    command: list[str]
    runs: int = 0
    running_since: dt.datetime | None = None
    last_start: dt.datetime | None = None
    last_end: dt.datetime | None = None
    last_exit_code: int | None = None
    next_run: dt.datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            values = {
                "command": self.command,
                "runs": self.runs,
                "running_since": self.running_since,
                "last_start": self.last_start,
                "last_end": self.last_end,
                "last_exit_code": self.last_exit_code,
                "next_run": self.next_run,
            }
        return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in values.items()}

    def not_ready_reason(self) -> str | None:
        with self.lock:
            if self.last_exit_code in (None, 0):
                return None
            return f"last run exited {self.last_exit_code} at {self.last_end:%Y-%m-%dT%H:%M:%SZ}"


def start_status_server(state: ScheduleState, host: str, port: int) -> ThreadingHTTPServer:
    """/health and /ready on a daemon thread (stdlib only; the scheduler has no event loop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/health":
                self._send(200, {"status": "ok", **state.as_dict()})
            elif self.path == "/ready":
                reason = state.not_ready_reason()
                self._send(200 if reason is None else 503, {"ready": reason is None, "reason": reason})
            else:
                self._send(404, {"error": f"no such path {self.path!r}; try /health or /ready"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            log.debug("status request: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="schedule-status", daemon=True).start()
    return server


def wait_until(moment: dt.datetime) -> None:
    """Sleep until `moment` (tz-aware), stopping at once when a stop is requested."""
    while True:
        stop_point()
        remaining = (moment - dt.datetime.now(dt.UTC)).total_seconds()
        if remaining <= 0:
            return
        time.sleep(min(remaining, POLL_SECONDS))


def run_once(command: list[str], state: ScheduleState, timeout: float, grace: float) -> int:
    """Run `command` to its end (bounded by `timeout`); a stop request is passed on to it."""
    started = dt.datetime.now(dt.UTC)
    with state.lock:
        state.running_since = state.last_start = started
    log.info("run %d: starting %s", state.runs + 1, " ".join(command))
    child = subprocess.Popen(command)
    deadline = time.monotonic() + timeout
    forwarded = False
    while child.poll() is None:
        if stop_requested() and not forwarded:
            log.warning("passing the stop on to the running child (pid %d)", child.pid)
            child.send_signal(signal.SIGTERM)
            forwarded, deadline = True, time.monotonic() + grace
        elif time.monotonic() > deadline:
            if not forwarded:
                log.error("run exceeded %.0f s: sending SIGTERM", timeout)
                child.send_signal(signal.SIGTERM)
                forwarded, deadline = True, time.monotonic() + grace
            else:
                log.error("child still running %.0f s after SIGTERM: killing it", grace)
                child.kill()
                child.wait(timeout=grace)
                break
        time.sleep(POLL_SECONDS)
    code = child.returncode if child.returncode is not None else -signal.SIGKILL
    code = 128 - code if code < 0 else code  # killed by a signal: shell convention
    ended = dt.datetime.now(dt.UTC)
    with state.lock:
        state.runs += 1
        state.running_since = None
        state.last_end, state.last_exit_code = ended, code
    level = logging.INFO if code == 0 else logging.ERROR
    log.log(level, "run %d: exit code %d after %.1f s", state.runs, code, (ended - started).total_seconds())
    return code


def _time_of_day(text: str) -> dt.time:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return dt.time(hours, minutes)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HH:MM, got {text!r}") from None


def _days(text: str) -> tuple[str, ...]:
    days = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [d for d in days if d not in WEEKDAYS]
    if bad or not days:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {','.join(WEEKDAYS)}, got {text!r}")
    return days


def _zone(text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise argparse.ArgumentTypeError(f"expected an IANA time zone such as UTC, got {text!r}") from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", type=_time_of_day, required=True, help="local time of day, HH:MM")
    parser.add_argument("--tz", type=_zone, default="UTC", help="IANA zone of --at and --days (default UTC)")
    parser.add_argument(
        "--days", type=_days, default=WEEKDAYS, help="run days, e.g. Mon,Tue,Wed,Thu,Fri (default every day)"
    )
    parser.add_argument("--run-at-start", action="store_true", help="also run once at start-up")
    parser.add_argument("--max-runs", type=int, default=0, help="stop after this many runs (0 = never)")
    parser.add_argument("--timeout", type=float, default=6 * 3600.0, help="seconds one run may take (default 6 h)")
    parser.add_argument("--grace", type=float, default=60.0, help="seconds between SIGTERM and SIGKILL (default 60)")
    parser.add_argument("--ops-port", type=int, default=None, help="serve /health and /ready on this port")
    parser.add_argument("--ops-host", default="127.0.0.1", help="address of that server (default 127.0.0.1)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    state = ScheduleState(command=list(command))

    def body(config: Config) -> int:
        server = start_status_server(state, args.ops_host, args.ops_port) if args.ops_port is not None else None
        if server is not None:
            log.info("health on http://%s:%d (/health, /ready)", *server.server_address[:2])
        try:
            code = 0
            if args.run_at_start:
                code = run_once(command, state, args.timeout, args.grace)
            while not (args.max_runs and state.runs >= args.max_runs):
                stop_point()
                moment = next_run(dt.datetime.now(dt.UTC), args.at, args.tz, args.days)
                with state.lock:
                    state.next_run = moment
                log.info("next run at %s (%s %s)", moment.isoformat(), args.at.strftime("%H:%M"), args.tz)
                wait_until(moment)
                code = run_once(command, state, args.timeout, args.grace)
                stop_point()
            return code
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()

    return run_script("schedule", body, safe_points=True)


if __name__ == "__main__":
    raise SystemExit(main())
