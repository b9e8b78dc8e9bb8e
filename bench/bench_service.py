"""Market-data service benchmark (issue 12): SSE fan-out throughput, latency against raw ib_async,
memory per reader, and the same with slow readers attached.

    python bench/bench_service.py              # 100 readers on 10 contracts, 20 s per phase
    python bench/bench_service.py --quick      # a short run (4 s per phase)

Everything runs as separate processes on this machine, over loopback, as in production:

* ibsim (`python -m ibsim`, market-data updates every --tick-interval s, clock at --start);
* the service (`python -m sysproduction.market_data_service`), one IB connection;
* a raw ib_async subscriber (this file with --raw-subscriber): its own connection to the same
  gateway, `reqMktData` on the same 10 contracts, stamping every ticker update;
* the readers (this process): --readers SSE readers (aiohttp), spread evenly over the contracts,
  stamping every chunk they receive.

Latency: the gateway sends each update to both connections in the same round, so the same quote
(contract, bid, ask, last and sizes) reaches the raw subscriber and, through the service, every
reader. Reader time minus raw time for the same quote is the service's extra latency (HTTP, SSE,
fan-out, the reader's own loop); both stamps are `time.perf_counter()` (CLOCK_MONOTONIC, one
clock for every process). Target: p50 within 2 ms of raw. Memory per reader: the service's RSS
growth from one reader per contract to all readers, divided by the added readers. Phase 2 adds
--slow stalled readers (they request a stream and never read) and measures the others again.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

INSTRUMENTS = ("SP500", "NASDAQ", "US10", "GOLD", "CRUDE_W", "EUR", "CORN", "SOFR", "BUND", "EUROSTX")
FIELDS = ("bid", "ask", "last", "bid_size", "ask_size", "last_size")
START = "2025-03-04T15:00:00+00:00"
MAGNIFIERS: dict[str, float] = {}


# ----------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def start_ibsim(port: int, tick_interval: float, speed: float) -> subprocess.Popen:
    args = ["--port", str(port), "--start", START, "--speed", str(speed), "--tick-interval", str(tick_interval)]
    process = subprocess.Popen(
        [sys.executable, "-m", "ibsim", *args, "--no-rate-limit", "--log-level", "WARNING"],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return process
        time.sleep(0.1)
    raise RuntimeError("ibsim did not start listening")


def start_service(ib_port: int, folder: Path, queue: int) -> tuple[subprocess.Popen, str]:
    private = folder / "private"
    private.mkdir(parents=True, exist_ok=True)
    (private / "private_config.yaml").write_text(
        f"data_folder: {folder / 'data'}\nib_gateway: external\nib_port: {ib_port}\nbroker_account: DU123456\n"
        f"log_level: WARNING\nmarket_data_service_queue: {queue}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "sysproduction.market_data_service", "--port", "0"],
        env={**env(), "PYSYS_PRIVATE_CONFIG_DIR": str(private)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line.startswith("market data on "):
        raise RuntimeError(f"the service did not start: {line}{process.stderr.read()}")
    return process, line.split()[3]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("ibfutures_mds_") and "{" not in line:
            name, value = line.split()
            values[name] = float(value)
    return values


# --------------------------------------------------------------------------- raw baseline
def raw_subscriber(port: int, con_ids: list[int], seconds: float, out: Path) -> None:
    """A raw ib_async subscriber: every ticker update stamped with perf_counter, written at the end."""
    from ib_async import IB, Contract

    ib = IB()
    ib.connect("127.0.0.1", port, clientId=977, timeout=20)
    records: list[list] = []
    symbols: dict[int, str] = {}

    def on_update(ticker) -> None:
        t = time.perf_counter()
        records.append(
            [
                t,
                symbols[ticker.contract.conId],
                ticker.bid,
                ticker.ask,
                ticker.last,
                ticker.bidSize,
                ticker.askSize,
                ticker.lastSize,
            ]
        )

    for con_id in con_ids:
        [contract] = ib.qualifyContracts(Contract(conId=con_id))
        symbols[con_id] = contract.localSymbol
        ib.reqMktData(contract, "", False, False).updateEvent += on_update
    print("subscribed", flush=True)
    ib.sleep(seconds)
    ib.disconnect()
    out.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")


def quote_key(symbol: str, values: list, magnifier: float = 1.0) -> tuple:
    """A quote as both sides see it: IB's prices (the service divides them by the instrument's
    price magnifier, the raw subscriber does not) and sizes."""
    prices = [None if v is None or v != v or v == -1 else round(float(v) * magnifier, 4) for v in values[:3]]
    sizes = [None if v is None or v != v or v == -1 else round(float(v), 4) for v in values[3:]]
    return (symbol, *prices, *sizes)


def magnifiers() -> dict[str, float]:
    from sysbrokers.IB.ib_instrument_config import load_futures_config

    config = load_futures_config()
    return {code: float(config.get(code).ib_data.price_magnifier or 1) for code in INSTRUMENTS}


def raw_seen(path: Path) -> dict[tuple, list[float]]:
    """When the raw subscriber saw each quote (a quote can recur: every time, in order)."""
    seen: dict[tuple, list[float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        t, symbol, *values = json.loads(line)
        seen.setdefault(quote_key(symbol, values), []).append(t)
    return seen


# -------------------------------------------------------------------------------- readers
class Reader:
    """One SSE reader: keeps (perf_counter, chunk) pairs and parses them after the run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.chunks: list[tuple[float, bytes]] = []
        self.recording = False
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        """A minimal real SSE client: HTTP/1.0 over asyncio streams (no chunked framing to undo),
        so that the readers' own cost stays small next to the service's."""
        host, port = self.url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
        path = "/" + self.url.split("//", 1)[1].split("/", 1)[1]
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        try:
            await reader.readuntil(b"\r\n\r\n")  # the response head
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                if self.recording:
                    self.chunks.append((time.perf_counter(), chunk))
        finally:
            writer.close()

    def quotes(self) -> list[tuple[float, tuple]]:
        """(receive time, quote key) of every complete quote event received while recording."""
        out = []
        buffer = b""
        for t, chunk in self.chunks:
            buffer += chunk
            *blocks, buffer = buffer.split(b"\n\n")
            for block in blocks:
                if b"event: quote" not in block:
                    continue
                data = json.loads(block.split(b"data: ", 1)[1])
                magnifier = MAGNIFIERS.get(data["instrument_code"], 1.0)
                out.append((t, quote_key(data["local_symbol"], [data[f] for f in FIELDS], magnifier)))
        return out


def stalled(port: int, contract: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /quotes?contract={contract} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def phase_figures(readers: list[Reader], raw: dict[tuple, list[float]], seconds: float) -> dict:
    deltas: list[float] = []
    events = unmatched = 0
    for reader in readers:
        for t, key in reader.quotes():
            events += 1
            times = raw.get(key)
            # The raw subscriber's sighting of the same quote nearest the reader's (a quote can
            # recur; when the raw process was scheduled later than the reader, the delta is < 0).
            nearest = None
            if times:
                index = bisect.bisect_right(times, t)
                near = [times[i] for i in (index - 1, index) if 0 <= i < len(times)]
                nearest = min(near, key=lambda r: abs(t - r))
            if nearest is None or abs(t - nearest) > 1.0:
                unmatched += 1
            else:
                deltas.append((t - nearest) * 1000)
    return {
        "events": events,
        "events_per_second": events / seconds,
        "matched": len(deltas),
        "unmatched": unmatched,
        "p50_ms": percentile(deltas, 0.50),
        "p99_ms": percentile(deltas, 0.99),
        "mean_ms": statistics.fmean(deltas) if deltas else float("nan"),
    }


async def run_readers(url: str, contracts: list[str], args, service_pid: int, port: int) -> dict:
    per = args.readers // len(contracts)
    figures: dict = {}
    if True:  # one block, as the readers' lifetime
        readers: list[Reader] = []

        def add(contract: str) -> None:
            reader = Reader(f"{url}/quotes?contract={contract}")
            reader.task = asyncio.ensure_future(reader.run())
            readers.append(reader)

        for contract in contracts:
            add(contract)
        await asyncio.sleep(2.0)
        base = rss_kb(service_pid)
        for contract in contracts:
            for _ in range(per - 1):
                add(contract)
        await asyncio.sleep(3.0)
        grown = rss_kb(service_pid)
        figures["rss_kb_one_per_contract"] = base
        figures["rss_kb_all_readers"] = grown
        figures["kb_per_reader"] = (grown - base) / max(1, len(readers) - len(contracts))
        figures["readers"] = len(readers)

        before = scrape(url)
        for reader in readers:
            reader.recording = True
        await asyncio.sleep(args.seconds)
        for reader in readers:
            reader.recording = False
        figures["phase1_readers"] = list(readers)
        after1 = scrape(url)

        slow = [stalled(port, contracts[i % len(contracts)]) for i in range(args.slow)]
        await asyncio.sleep(1.0)  # their buffers fill
        for reader in readers:
            reader.chunks_phase1 = reader.chunks
            reader.chunks = []
            reader.recording = True
        await asyncio.sleep(args.seconds)
        for reader in readers:
            reader.recording = False
        after2 = scrape(url)
        figures["slow_dropped"] = after2.get("ibfutures_mds_events_dropped_total", 0) - after1.get(
            "ibfutures_mds_events_dropped_total", 0
        )
        figures["slow_disconnects"] = after2.get("ibfutures_mds_slow_reader_disconnects_total", 0)
        figures["published"] = (after1.get("ibfutures_mds_events_published_total", 0), before)
        figures["rss_kb_with_slow"] = rss_kb(service_pid)
        for sock in slow:
            sock.close()
        for reader in readers:
            reader.task.cancel()
        await asyncio.gather(*(r.task for r in readers), return_exceptions=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 s phases (a smoke run)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--slow", type=int, default=10, help="stalled readers in phase 2")
    parser.add_argument("--tick-interval", type=float, default=0.05, help="ibsim's market-data interval")
    parser.add_argument(
        "--speed", type=float, default=20.0, help="ibsim's clock speed (quotes move ~once a simulated second)"
    )
    parser.add_argument("--queue", type=int, default=64, help="market_data_service_queue (per reader)")
    parser.add_argument(
        "--raw-subscriber", nargs=4, metavar=("PORT", "CONIDS", "SECONDS", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.raw_subscriber:
        port, con_ids, seconds, out = args.raw_subscriber
        raw_subscriber(int(port), [int(c) for c in con_ids.split(",")], float(seconds), Path(out))
        return 0
    if args.quick:
        args.seconds = min(args.seconds, 4.0)
    MAGNIFIERS.update(magnifiers())

    with tempfile.TemporaryDirectory(prefix="bench_service_") as tmp:
        folder = Path(tmp)
        ib_port = free_port()
        sim = start_ibsim(ib_port, args.tick_interval, args.speed)
        service = raw = None
        try:
            service, url = start_service(ib_port, folder, args.queue)
            service_port = int(url.rsplit(":", 1)[1])
            contracts, con_ids = [], []
            for code in INSTRUMENTS:
                chain = get_json(f"{url}/chain?instrument={code}")
                front = chain["front_month"]["contract"]
                contracts.append(front)
                con_ids.append(next(e["con_id"] for e in chain["expiries"] if e["contract"] == front))
            total = 2 + 3 + 2 * args.seconds + 1 + 6
            raw_out = folder / "raw.jsonl"
            raw = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--raw-subscriber",
                    str(ib_port),
                    ",".join(map(str, con_ids)),
                    str(total),
                    str(raw_out),
                ],
                env=env(),
                stdout=subprocess.PIPE,
                text=True,
            )
            assert raw.stdout.readline().startswith("subscribed")
            figures = asyncio.run(run_readers(url, contracts, args, service.pid, service_port))
            raw.wait(total + 30)
            first_seen = raw_seen(raw_out)
        finally:
            for process in (raw, service, sim):
                if process is not None:
                    stop(process)

    readers = figures["phase1_readers"]
    for reader in readers:
        reader.chunks, reader.chunks_phase2 = reader.chunks_phase1, reader.chunks
    one = phase_figures(readers, first_seen, args.seconds)
    for reader in readers:
        reader.chunks = reader.chunks_phase2
    two = phase_figures(readers, first_seen, args.seconds)

    load = os.getloadavg()
    print(
        f"market-data service: {figures['readers']} SSE readers on {len(INSTRUMENTS)} contracts, "
        f"ibsim ticks every {args.tick_interval * 1000:g} ms at speed {args.speed:g}, {args.seconds:g} s per phase, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f}"
    )
    print(f"{'':34}{'events/s':>10}{'matched':>9}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, f in (("readers alone", one), (f"with {args.slow} stalled readers", two)):
        print(
            f"{name:34}{f['events_per_second']:>10.0f}{f['matched']:>9}{f['p50_ms']:>9.2f}{f['p99_ms']:>9.2f}{f['mean_ms']:>9.2f}"
        )
    print("(latency = reader receive - raw ib_async subscriber receive of the same quote; target p50 <= 2 ms)")
    print(f"unmatched quotes: {one['unmatched']} / {one['events']} and {two['unmatched']} / {two['events']}")
    print(
        f"service RSS: {figures['rss_kb_one_per_contract'] / 1024:.1f} MiB with one reader per contract, "
        f"{figures['rss_kb_all_readers'] / 1024:.1f} MiB with {figures['readers']}: "
        f"{figures['kb_per_reader']:.1f} KiB per reader; {figures['rss_kb_with_slow'] / 1024:.1f} MiB with the stalled readers"
    )
    print(
        f"stalled readers: {figures['slow_dropped']:.0f} events dropped from their queues (drop_oldest), "
        f"{figures['slow_disconnects']:.0f} disconnected"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
