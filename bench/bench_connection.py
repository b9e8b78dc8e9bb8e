"""Connection benchmarks against an in-process ibsim (run on demand, not a test).

    python bench/bench_connection.py                    # 30 connects each way, 3 restarts
    python bench/bench_connection.py --connects 100 --restarts 5 --down 1.5

1. connect-to-ready: `connectionIB(...)` (explicit id, and the config form with a SQLite client-id
   store) against raw `ib_async.IB.connect` on the same gateway, measured in the same run.
   Target: connectionIB <= 1.2x raw.
2. restart recovery: a market-data stream and keepUpToDate 1-min bars are live; the gateway
   restarts (down `--down` s); measured from the gateway accepting again to both streams
   delivering updates through their original handles. Target <= 2 s with the reconnect policy shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from ib_async import IB, Future  # noqa: E402

from ibsim import IBSim, PacingRules, SimConfig, Timing  # noqa: E402
from sysbrokers.IB.ib_connection import connectionIB  # noqa: E402
from sysdata.config.configdata import load_config  # noqa: E402

ACCOUNT = "DU123456"
OPEN_MARKET = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)  # CME equity futures trading (as the tests)
# The same fast gateway timing as the tests: ticks every 50 ms, keepUpToDate bars every 0.3 s.
TIMING = Timing(tick_interval=0.05, keep_up_to_date_interval=0.3, farm_notice_delay=0.01)
RECONNECT = {"initial_delay": 0.25, "max_delay": 1.0, "multiplier": 2.0, "jitter": 0.2, "max_attempts": None}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_raw_connects(port: int, count: int, first_id: int) -> list[float]:
    samples = []
    for i in range(count):
        ib = IB()
        started = time.perf_counter()
        ib.connect("127.0.0.1", port, clientId=first_id + i, timeout=10, account=ACCOUNT)
        samples.append(time.perf_counter() - started)
        ib.disconnect()
    return samples


def time_conn_connects(config, count: int, first_id: int | None) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        conn = connectionIB(config) if first_id is None else connectionIB(first_id + i, config=config)
        samples.append(time.perf_counter() - started)
        conn.close_connection()
    return samples


def time_restart_recovery(sim: IBSim, config, down: float, client_id: int) -> tuple[float, float]:
    """(seconds from gateway back to both streams flowing, seconds from restart to flowing)."""
    conn = connectionIB(client_id, config=config)
    try:
        [es] = conn.ib.qualifyContracts(Future("ES", "202506", "CME"))
        ticks = conn.supervisor.subscribe_market_data(es)
        bars = conn.supervisor.subscribe_bars(es, bar_size="1 min", duration="1 D")
        if not conn.wait_until(lambda: ticks.updates > 0 and bars.updates > 0, 5):
            raise RuntimeError("streams did not start")
        before = (ticks.updates, bars.updates)
        reconnects = conn.get_stats()["reconnects"]
        restarted = time.perf_counter()
        sim.faults.daily_restart(down_seconds=down)
        conn.wait_until(lambda: not sim.status()["accepting"], 2)
        back_at = None
        deadline = time.perf_counter() + down + 30
        while time.perf_counter() < deadline:
            if back_at is None and sim.status()["accepting"]:
                back_at = time.perf_counter()
            if conn.get_stats()["reconnects"] > reconnects:
                # counts reset on the new ticker/bars objects: new updates arrive through the handles
                if ticks.updates > before[0] and bars.updates > before[1] and ticks.ticker.bid == ticks.ticker.bid:
                    flowing = time.perf_counter()
                    return flowing - back_at, flowing - restarted
            conn.sleep(0.005)
        raise RuntimeError("streams did not resume")
    finally:
        conn.close_connection()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connects", type=int, default=30)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--down", type=float, default=1.5, help="seconds the gateway stays down per restart")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)

    sim = IBSim(
        SimConfig(port=0, start=OPEN_MARKET, pacing=PacingRules(enabled=False), timing=TIMING)
    ).start_in_thread()
    tmp = Path(tempfile.mkdtemp(prefix="bench_connection_"))
    (tmp / "private").mkdir()
    config = load_config(
        private_dir=tmp / "private",
        overrides={
            "ib_port": sim.port,
            "broker_account": ACCOUNT,
            "ib_reconnect": RECONNECT,
            "sqlite_path": str(tmp / "metadata.sqlite"),
            "ib_idoffset": 5000,
        },
    )
    try:
        time_raw_connects(sim.port, 3, 9000)  # warm-up: imports, first sockets
        time_conn_connects(config, 3, 9100)
        raw = time_raw_connects(sim.port, args.connects, 1000)
        conn = time_conn_connects(config, args.connects, 2000)
        stored = time_conn_connects(config, args.connects, None)
        recovery = [time_restart_recovery(sim, config, args.down, 3000 + i) for i in range(args.restarts)]
    finally:
        sim.stop_in_thread()

    base = statistics.median(raw)
    print(
        f"command: python bench/bench_connection.py --connects {args.connects} --restarts {args.restarts} "
        f"--down {args.down}"
    )
    print(
        f"ibsim timing: ticks every {TIMING.tick_interval}s, keepUpToDate bars every "
        f"{TIMING.keep_up_to_date_interval}s; reconnect policy {RECONNECT}"
    )
    print()
    print(f"{'connect-to-ready':44} {'median ms':>10} {'p90 ms':>9} {'ratio':>7}")
    for label, samples in (
        ("raw ib_async IB.connect (baseline)", raw),
        ("connectionIB(client_id, config=...)", conn),
        ("connectionIB(config) + SQLite client-id store", stored),
    ):
        median = statistics.median(samples)
        print(f"{label:44} {median * 1000:10.1f} {percentile(samples, 0.9) * 1000:9.1f} {median / base:6.2f}x")
    print()
    back = [r[0] for r in recovery]
    total = [r[1] for r in recovery]
    print(
        f"{'restart recovery (' + str(args.restarts) + ' runs, down ' + str(args.down) + ' s)':44} "
        f"{'median s':>10} {'max s':>9}"
    )
    print(f"{'gateway back -> both streams flowing':44} {statistics.median(back):10.2f} {max(back):9.2f}")
    print(f"{'restart -> both streams flowing':44} {statistics.median(total):10.2f} {max(total):9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
