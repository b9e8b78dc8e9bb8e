"""How fast ibsim serves ib_async: bars/s, ticks/s and connect-to-ready time.

    python bench/bench_ibsim.py [--contracts 60] [--seconds 5]

The gateway runs as its own process (`python -m ibsim`), as users run it, so the client and the
server do not share a GIL. Each figure is printed beside a baseline measured in the same run:
- bars/s: ib_async decoding the very same historicalData messages from memory (no socket, no
  simulator) is the ceiling of what any gateway can deliver to this client;
- connect-to-ready: the bare protocol (socket, handshake, startApi, nextValidId +
  managedAccounts) against the same gateway, versus `IB.connect` with its start-up sync.
Bars are requested 8 at a time (and once one at a time, for the latency-bound figure).
Targets (issue #2): >= 50,000 bars/s and >= 20,000 ticks/s delivered to ib_async.
"""

from __future__ import annotations

import argparse
import os
import signal
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


def start_gateway(port: int, speed: float, tick_interval: float, profile: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    proc = subprocess.Popen(
        [
            sys.executable,
            *profiler,
            "-m",
            "ibsim",
            "--port",
            str(port),
            "--no-pacing",
            "--no-rate-limit",  # the benchmark sends as fast as it can, ib_async's throttle off
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


def bench_bars(ib: IB, contracts: list, in_flight: int) -> tuple[int, float, list[list[str]]]:
    """Many historical requests of several bar sizes, `in_flight` at a time.

    Returns (bars, seconds, raw messages received)."""
    import asyncio

    captured: list[list[str]] = []
    decoder_handler = ib.client.decoder.handlers[17]

    def capture(fields):
        captured.append(list(fields))
        decoder_handler(fields)

    ib.client.decoder.handlers[17] = capture
    # ib_async throttles itself to 45 requests/s; switch that off to measure the gateway.
    throttle = ib.client.MaxRequests
    ib.client.MaxRequests = 0
    plan = []
    for c in contracts:
        plan.append((c, "", "1 D", "1 min"))
        plan.append((c, "", "1800 S", "1 secs"))
        plan.append((c, "", "1 W", "5 mins"))
        plan.append((c, "", "1 Y", "1 day"))

    async def run() -> int:
        total = 0
        for i in range(0, len(plan), in_flight):
            batch = plan[i : i + in_flight]
            results = await asyncio.gather(
                *(ib.reqHistoricalDataAsync(c, e, d, s, "TRADES", False, 2, timeout=60) for c, e, d, s in batch)
            )
            total += sum(len(r) for r in results)
        return total

    started = time.perf_counter()
    total = ib.run(run())
    elapsed = time.perf_counter() - started
    ib.client.decoder.handlers[17] = decoder_handler
    ib.client.MaxRequests = throttle
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


def bench_ticks(ib: IB, contracts: list, seconds: float) -> tuple[int, float, list[list[str]]]:
    """Stream `contracts` for `seconds`; returns (ticks, seconds, a sample of raw tick messages)."""
    count = 0
    sample: list[list[str]] = []
    handlers = ib.client.decoder.handlers
    originals = {i: handlers[i] for i in (1, 2, 45, 46)}

    def capturing(msg_id):
        def handle(fields):
            if len(sample) < 50_000:
                sample.append(list(fields))
            originals[msg_id](fields)

        return handle

    def on_pending(tickers):
        nonlocal count
        count += sum(len(t.ticks) for t in tickers)

    for c in contracts:
        ib.reqMktData(c, "", False, False)
    ib.sleep(1.0)  # let every subscription start
    for msg_id in originals:
        handlers[msg_id] = capturing(msg_id)
    ib.pendingTickersEvent += on_pending
    started = time.perf_counter()
    ib.sleep(seconds)
    elapsed = time.perf_counter() - started
    ib.pendingTickersEvent -= on_pending
    handlers.update(originals)
    for c in contracts:
        ib.cancelMktData(c)
    return count, elapsed, sample


def tick_decode_ceiling(ib: IB, messages: list[list[str]]) -> float:
    """Tick messages per second ib_async's decoder and wrapper handle from memory."""
    decoder = ib.client.decoder
    started = time.perf_counter()
    for fields in messages:
        decoder.interpret(fields)
    return len(messages) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100, help="streamed contracts (default 100)")
    parser.add_argument("--seconds", type=float, default=5.0, help="tick streaming time (default 5)")
    parser.add_argument("--speed", type=float, default=120.0, help="simulated clock speed (default 120)")
    parser.add_argument("--tick-interval", type=float, default=0.01, help="gateway tick loop (default 0.01 s)")
    parser.add_argument("--rounds", type=int, default=15, help="connects measured (default 15)")
    parser.add_argument("--profile", help="write a cProfile of the gateway process to this file")
    args = parser.parse_args()

    port = free_port()
    gateway = start_gateway(port, args.speed, args.tick_interval, args.profile)
    try:
        raw_s, full_s = bench_connect(port, args.rounds)
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        contracts = []
        for symbol, exchange in PRODUCTS:
            details = ib.reqContractDetails(Future(symbol, exchange=exchange))
            contracts.extend(d.contract for d in details[:5])
        streamed = contracts[: args.contracts]
        # Two disjoint sets of 20 contracts, so that both runs find the gateway's caches cold.
        serial_bars, serial_s, _ = bench_bars(ib, contracts[0::3][:20], in_flight=1)
        bars, bars_s, messages = bench_bars(ib, contracts[1::3][:20], in_flight=8)
        ceiling = decode_ceiling(messages)
        ticks, ticks_s, tick_messages = bench_ticks(ib, streamed, args.seconds)
        tick_ceiling = tick_decode_ceiling(ib, tick_messages)
        ib.disconnect()
    finally:
        gateway.send_signal(signal.SIGINT)
        gateway.wait(30)

    bar_rate = bars / bars_s
    tick_rate = ticks / ticks_s
    print(f"ibsim benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"{'measure':<34}{'ibsim':>14}{'baseline':>14}{'ratio':>8}   target")
    print(
        f"{'historical bars/s to ib_async':<34}{bar_rate:>14,.0f}{ceiling:>14,.0f}{bar_rate / ceiling:>8.2f}"
        f"   >= 50,000 bars/s   (baseline: ib_async decoding the same messages from memory)"
    )
    print(f"{'  (one request at a time)':<34}{serial_bars / serial_s:>14,.0f}")
    print(
        f"{'ticks/s to ib_async':<34}{tick_rate:>14,.0f}{tick_ceiling:>14,.0f}{tick_rate / tick_ceiling:>8.2f}"
        f"   >= 20,000 ticks/s   ({len(streamed)} contracts, speed {args.speed:g}; baseline: decoding from memory)"
    )
    print(
        f"{'connect-to-ready (ms, median)':<34}{full_s * 1000:>14.1f}{raw_s * 1000:>14.1f}"
        f"{full_s / raw_s:>8.2f}   (baseline: bare handshake + startApi)"
    )
    print(
        f"bars: {bars:,} in {bars_s:.2f}s over {len(messages)} requests, 8 in flight; "
        f"ticks: {ticks:,} in {ticks_s:.2f}s"
    )
    ok = bar_rate >= 50_000 and tick_rate >= 20_000
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
