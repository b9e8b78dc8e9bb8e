"""How fast ibsim serves ib_async: bars/s, ticks/s and connect-to-ready time.

    python bench/bench_ibsim.py [--contracts 60] [--seconds 5]

The gateway runs as its own process (`python -m ibsim`), as users run it, so the client and the
server do not share a GIL. Each figure is printed beside a baseline measured in the same run:
- bars/s: ib_async decoding the very same historicalData messages from memory (no socket, no
  simulator) is the ceiling of what any gateway can deliver to this client;
- connect-to-ready: the bare protocol (socket, handshake, startApi, nextValidId +
  managedAccounts) against the same gateway, versus `IB.connect` with its start-up sync.
Targets (issue #2): >= 50,000 bars/s and >= 20,000 ticks/s delivered to ib_async.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

from ib_async import IB, Future
from ib_async.decoder import Decoder
from ib_async.wrapper import Wrapper

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = [
    ("ES", "CME"),
    ("NQ", "CME"),
    ("MES", "CME"),
    ("ZN", "CBOT"),
    ("ZF", "CBOT"),
    ("ZT", "CBOT"),
    ("ZB", "CBOT"),
    ("UB", "CBOT"),
    ("GC", "COMEX"),
    ("SI", "COMEX"),
    ("HG", "COMEX"),
    ("CL", "NYMEX"),
    ("NG", "NYMEX"),
    ("ZC", "CBOT"),
    ("ZS", "CBOT"),
    ("ZW", "CBOT"),
    ("HE", "CME"),
    ("EUR", "CME"),
    ("JPY", "CME"),
    ("GBP", "CME"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(port: int, speed: float, tick_interval: float) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ibsim",
            "--port",
            str(port),
            "--no-pacing",
            "--start",
            "2025-03-04T15:00:00Z",
            "--speed",
            str(speed),
            "--tick-interval",
            str(tick_interval),
            "--log-level",
            "WARNING",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("ibsim did not start")


def raw_ready(port: int, client_id: int) -> float:
    """Seconds from TCP connect to nextValidId + managedAccounts, speaking the bare protocol."""
    started = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    versions = b"v157..178"
    sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
    buf = b""
    seen: set[str] = set()
    sent_start = False
    while not {"9", "15"} <= seen:
        buf += sock.recv(65536)
        while len(buf) >= 4:
            (size,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + size:
                break
            fields = buf[4 : 4 + size].split(b"\0")
            buf = buf[4 + size :]
            if not sent_start:
                body = b"71\x002\x00" + str(client_id).encode() + b"\x00\x00"
                sock.sendall(struct.pack(">I", len(body)) + body)
                sent_start = True
            else:
                seen.add(fields[0].decode())
    elapsed = time.perf_counter() - started
    sock.close()
    return elapsed


def bench_connect(port: int, rounds: int) -> tuple[float, float]:
    raw = [raw_ready(port, 500 + i) for i in range(rounds)]
    full = []
    for i in range(rounds):
        ib = IB()
        started = time.perf_counter()
        ib.connect("127.0.0.1", port, clientId=600 + i, timeout=10)
        full.append(time.perf_counter() - started)
        ib.disconnect()
        time.sleep(0.05)
    return statistics.median(raw), statistics.median(full)


class _CountingWrapper(Wrapper):
    def __init__(self):
        super().__init__(IB())
        self.bars = 0

    def historicalData(self, reqId, bar):  # noqa: N802 - ib_async's name
        self.bars += 1


def bench_bars(ib: IB, contracts: list) -> tuple[int, float, list[list[str]]]:
    """Many historical requests of several bar sizes; returns (bars, seconds, raw messages)."""
    captured: list[list[str]] = []
    decoder_handler = ib.client.decoder.handlers[17]

    def capture(fields):
        captured.append(list(fields))
        decoder_handler(fields)

    ib.client.decoder.handlers[17] = capture
    plan = []
    for c in contracts:
        plan.append((c, "", "1 D", "1 min"))
        plan.append((c, "", "1800 S", "1 secs"))
        plan.append((c, "", "1 W", "5 mins"))
        plan.append((c, "", "1 Y", "1 day"))
    total = 0
    started = time.perf_counter()
    for c, end, duration, size in plan:
        bars = ib.reqHistoricalData(c, end, duration, size, "TRADES", False, 2, timeout=60)
        total += len(bars)
    elapsed = time.perf_counter() - started
    ib.client.decoder.handlers[17] = decoder_handler
    return total, elapsed, captured


def decode_ceiling(messages: list[list[str]]) -> float:
    """Bars per second ib_async decodes the same messages at, from memory."""
    wrapper = _CountingWrapper()
    decoder = Decoder(wrapper, 178)
    started = time.perf_counter()
    for fields in messages:
        decoder.handlers[17](fields)
    elapsed = time.perf_counter() - started
    return wrapper.bars / elapsed


def bench_ticks(ib: IB, contracts: list, seconds: float) -> tuple[int, float]:
    count = 0

    def on_pending(tickers):
        nonlocal count
        count += sum(len(t.ticks) for t in tickers)

    for c in contracts:
        ib.reqMktData(c, "", False, False)
    ib.sleep(1.0)  # let every subscription start
    ib.pendingTickersEvent += on_pending
    started = time.perf_counter()
    ib.sleep(seconds)
    elapsed = time.perf_counter() - started
    ib.pendingTickersEvent -= on_pending
    for c in contracts:
        ib.cancelMktData(c)
    return count, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=60, help="streamed contracts (default 60)")
    parser.add_argument("--seconds", type=float, default=5.0, help="tick streaming time (default 5)")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated clock speed (default 60)")
    parser.add_argument("--tick-interval", type=float, default=0.02, help="gateway tick loop (default 0.02 s)")
    parser.add_argument("--rounds", type=int, default=15, help="connects measured (default 15)")
    args = parser.parse_args()

    port = free_port()
    gateway = start_gateway(port, args.speed, args.tick_interval)
    try:
        raw_s, full_s = bench_connect(port, args.rounds)
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        contracts = []
        for symbol, exchange in PRODUCTS:
            details = ib.reqContractDetails(Future(symbol, exchange=exchange))
            contracts.extend(d.contract for d in details[:3])
        streamed = contracts[: args.contracts]
        bars, bars_s, messages = bench_bars(ib, contracts[:: max(1, len(contracts) // 20)][:20])
        ceiling = decode_ceiling(messages)
        ticks, ticks_s = bench_ticks(ib, streamed, args.seconds)
        ib.disconnect()
    finally:
        gateway.terminate()
        gateway.wait(10)

    bar_rate = bars / bars_s
    tick_rate = ticks / ticks_s
    print(f"ibsim benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"{'measure':<34}{'ibsim':>14}{'baseline':>14}{'ratio':>8}   target")
    print(
        f"{'historical bars/s to ib_async':<34}{bar_rate:>14,.0f}{ceiling:>14,.0f}{bar_rate / ceiling:>8.2f}"
        f"   >= 50,000 bars/s   (baseline: ib_async decoding the same messages from memory)"
    )
    print(
        f"{'ticks/s to ib_async':<34}{tick_rate:>14,.0f}{'':>14}{'':>8}   >= 20,000 ticks/s"
        f"   ({len(streamed)} contracts, speed {args.speed:g})"
    )
    print(
        f"{'connect-to-ready (ms, median)':<34}{full_s * 1000:>14.1f}{raw_s * 1000:>14.1f}"
        f"{full_s / raw_s:>8.2f}   (baseline: bare handshake + startApi)"
    )
    print(f"bars: {bars:,} in {bars_s:.2f}s over {len(messages)} requests; ticks: {ticks:,} in {ticks_s:.2f}s")
    ok = bar_rate >= 50_000 and tick_rate >= 20_000
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
