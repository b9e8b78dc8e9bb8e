"""Order benchmarks against ibsim in a separate process (run on demand, not a test).

    python bench/bench_orders.py                       # 200 round trips each way, 150-order burst
    python bench/bench_orders.py --round-trips 500 --burst 300

1. place-to-filled round trip (paced at `--rate` per second, under ib_async's own 45 msgs/s) of a 1-lot ES market order: `ibOrdersData.put_order_on_stack` +
   `wait_for_order(..., "filled")` (checks, order store writes, fills recorded) against raw
   `ib_async` `placeOrder` + `trade.filledEvent` on the same gateway, interleaved one for one.
   Target: layer p50 <= 1.10x raw p50.
2. sustained throughput: a burst of market orders through the layer as fast as it accepts them;
   ib_async paces its outgoing messages at 45 per second, inside IB's limit of 50 msgs/s.
   Reported: orders per second from the first placement to the last fill, and the most
   messages written to the socket in any one-second window.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from ib_async import IB, MarketOrder  # noqa: E402

from sysbrokers.IB.ib_connection import connectionIB  # noqa: E402
from sysbrokers.IB.ib_orders_data import ibOrdersData  # noqa: E402
from sysdata.config.configdata import load_config  # noqa: E402
from sysobjects.orders import brokerOrder, orderStatus  # noqa: E402

ACCOUNT = "DU123456"
OPEN_MARKET = "2025-03-04T15:00:00Z"  # CME equity futures trading (as the tests)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gateway(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "ibsim", "--port", str(port), "--start", OPEN_MARKET, "--no-pacing"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("ibsim did not start")


async def raw_round_trip(ib: IB, contract, action: str) -> float:
    started = time.perf_counter()
    trade = ib.placeOrder(contract, MarketOrder(action, 1, account=ACCOUNT))
    if trade.orderStatus.status != "Filled":
        await trade.filledEvent
    return time.perf_counter() - started


def layer_round_trip(orders: ibOrdersData, trade: int) -> float:
    started = time.perf_counter()
    control = orders.put_order_on_stack(brokerOrder("SP500", "202506", trade, strategy_name="bench"))
    if not orders.wait_for_order(control, "filled", timeout=10):
        raise RuntimeError(f"not filled: {control.order}")
    return time.perf_counter() - started


def bench_round_trips(
    conn: connectionIB, orders: ibOrdersData, raw: IB, count: int, rate: float
) -> dict[str, list[float]]:
    contract = orders.ib_client.resolve(brokerOrder("SP500", "202506", 1).futures_contract).contract
    [raw_contract] = raw.qualifyContracts(contract)
    samples: dict[str, list[float]] = {"raw ib_async": [], "ibOrdersData": []}
    for warm_up in range(5):  # first orders pay for the contract lookup and the first reconciliation
        layer_round_trip(orders, 1 if warm_up % 2 else -1)
        conn.run_sync(raw_round_trip(raw, raw_contract, "BUY" if warm_up % 2 else "SELL"))
    period = 1.0 / rate
    for i in range(count):
        buy = i % 2 == 0
        started = time.perf_counter()
        samples["raw ib_async"].append(conn.run_sync(raw_round_trip(raw, raw_contract, "BUY" if buy else "SELL")))
        samples["ibOrdersData"].append(layer_round_trip(orders, 1 if buy else -1))
        # Stay under ib_async's 45 msgs/s per client (else it queues, and the latency is its pacing),
        # and let the commission reports and account updates that follow a fill in, unmeasured.
        conn.sleep(max(0.0, period - (time.perf_counter() - started)))
    return samples


def bench_burst(conn: connectionIB, orders: ibOrdersData, count: int) -> tuple[float, float, int]:
    """(seconds to accept all, orders per second to the last fill, most messages sent in any 1 s)."""
    wire = conn.ib.client.conn
    sent: list[float] = []
    send = wire.sendMsg

    def timed_send(message: bytes) -> None:  # every message as it goes onto the socket
        sent.append(time.monotonic())
        send(message)

    wire.sendMsg = timed_send
    try:
        started = time.perf_counter()
        controls = [
            orders.put_order_on_stack(brokerOrder("SP500", "202506", 1 if i % 2 == 0 else -1, strategy_name="burst"))
            for i in range(count)
        ]
        accepted = time.perf_counter() - started
        if not conn.wait_until(lambda: all(c.order.status == orderStatus.FILLED for c in controls), timeout=count):
            raise RuntimeError("burst orders not all filled")
        total = time.perf_counter() - started
    finally:
        del wire.sendMsg
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    return accepted, count / total, busiest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--burst", type=int, default=150)
    parser.add_argument("--rate", type=float, default=20.0, help="round trips per second of each kind")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    port = free_port()
    gateway = start_gateway(port)
    folder = Path(tempfile.mkdtemp(prefix="bench-orders-"))
    (folder / "private").mkdir()
    config = load_config(
        private_dir=folder / "private",
        overrides={"ib_port": port, "broker_account": ACCOUNT, "sqlite_path": str(folder / "metadata.sqlite")},
    )
    conn = connectionIB(1, ib_ipaddress="127.0.0.1", ib_port=port, account=ACCOUNT, config=config)
    raw = IB()
    try:
        raw.connect("127.0.0.1", port, clientId=2, timeout=10, account=ACCOUNT)
        orders = ibOrdersData(conn)
        samples = bench_round_trips(conn, orders, raw, args.round_trips, args.rate)
        print(f"place-to-filled round trip, 1-lot ES market order, {args.round_trips} each (ms):")
        p50 = {}
        for name, values in samples.items():
            ms = [v * 1000 for v in values]
            p50[name] = statistics.median(ms)
            print(f"  {name:14} p50 {p50[name]:6.2f}  p99 {percentile(ms, 0.99):6.2f}  mean {statistics.mean(ms):6.2f}")
        ratio = p50["ibOrdersData"] / p50["raw ib_async"]
        print(f"  layer / raw at p50: {ratio:.2f}x (target <= 1.10x)")
        accepted, rate, busiest = bench_burst(conn, orders, args.burst)
        print(
            f"burst of {args.burst} orders: accepted by the layer in {accepted:.2f} s; "
            f"{rate:.1f} orders/s sustained to the last fill; at most {busiest} messages sent in any second "
            "(IB's limit: 50 msgs/s)"
        )
        orders.close()
    finally:
        raw.disconnect()
        conn.close_connection()
        gateway.terminate()
        gateway.wait(10)
    asyncio.set_event_loop(None)


if __name__ == "__main__":
    main()
