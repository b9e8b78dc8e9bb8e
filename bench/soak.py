"""Soak: a stack-handler process against ibsim through weeks of simulated time, faults included.

    python bench/soak.py                       # 30 simulated trading days (about 10 minutes)
    python bench/soak.py --days 3 --step 0.04  # the short version CI runs (tests/ops/test_soak.py)

One process plays production: a connection with a client id from the SQLite lease store, the
stack handler's order cycle every simulated hour while the market is open (a market order, a
limit order placed, modified the next hour and cancelled the hour after), the daily price update
(`update_historical_prices`, SP500) once per simulated day, quote streams on three contracts,
and `/health`, `/ready`, `/metrics` served on its own event loop and scraped throughout.

The gateway is `python -m ibsim` in a process of its own, driven through its admin channel: its
clock jumps an hour per step (and over closed markets), a daily restart inside IB's North
American reset window, one 1100→1101 (Tuesday) and one 1100→1102 (Thursday) a week, data-farm
notices every day, rejected orders, delayed and missing commission reports.

At the end it prints: orders sent vs IB executions vs fills stored (lost, duplicated), orders
left in an unknown state, reconnects, stream gaps longer than the gateway's down time plus the
reconnect delay while the market was open, RSS and open file descriptors after warm-up (the
first simulated day) and at the end, event-loop lag p99, and ERROR log lines.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import faulthandler
import gc
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402
from ib_async import util  # noqa: E402

from ibsim.admin import send_command  # noqa: E402
from sysbrokers.IB.contract_resolution import parse_trading_hours, zone_of  # noqa: E402
from sysbrokers.IB.ib_connection import connectionIB  # noqa: E402
from sysbrokers.IB.ib_errors import IBError  # noqa: E402
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData  # noqa: E402
from sysbrokers.IB.ib_orders_data import orderCannotBeModified  # noqa: E402
from sysbrokers.IB.order_checks import OrderRefused  # noqa: E402
from sysbrokers.IB.reset_windows import window_at  # noqa: E402
from sysdata.config.configdata import load_config  # noqa: E402
from sysdata.data_blob import dataBlob  # noqa: E402
from sysdata.production.process_metrics import scrape_values  # noqa: E402
from sysobjects.orders import brokerOrder, orderStatus  # noqa: E402
from sysproduction.example_stack_handler import front_contract  # noqa: E402
from sysproduction.ops_http import start_ops_server  # noqa: E402
from sysproduction.update_historical_prices import update_historical_prices  # noqa: E402

UTC = dt.UTC
ACCOUNT = "DU123456"
MONDAY = dt.datetime(2025, 3, 3, 0, 30, tzinfo=UTC)
STREAMED = ("SP500", "US10", "GOLD")
RECONNECT = {"initial_delay": 0.1, "max_delay": 0.5, "multiplier": 2.0, "jitter": 0.1, "max_attempts": None}
Sessions = list[tuple[dt.datetime, dt.datetime]]


@dataclasses.dataclass
class SoakOptions:
    days: int = 30  # simulated trading days (SP500 sessions visited)
    step: float = 0.12  # real seconds per simulated hour (the event loop runs meanwhile)
    down: float = 1.0  # real seconds the gateway is away on its daily restart
    speed: float = 20.0  # simulated seconds per real second between the hourly jumps
    start: dt.datetime = MONDAY
    workdir: Path | None = None
    # True: the day's faults hit as the hour's orders go out (an order can be lost with the socket)
    faults_mid_order: bool = False
    log: Callable[[str], None] = print


@dataclasses.dataclass
class SoakResult:
    simulated_days: int = 0
    first_day: str = ""
    last_day: str = ""
    steps: int = 0
    real_seconds: float = 0.0
    orders_sent: int = 0
    orders_placed_metric: float = 0.0
    refused: int = 0
    not_sent: int = 0
    ib_executions: int = 0
    fills_stored: int = 0
    fills_distinct: int = 0
    fills_without_commission: int = 0
    orders_unknown: int = 0
    orders_active_at_end: int = 0
    restarts: int = 0
    rolls: int = 0
    connectivity_losses: int = 0
    reconnects: float = 0.0
    scrapes: int = 0
    stream_quotes: int = 0
    stream_errors: list[str] = dataclasses.field(default_factory=list)
    max_gap_open: float = 0.0
    gap_limit: float = 0.0
    long_gaps: int = 0
    price_updates: int = 0
    price_errors: list[str] = dataclasses.field(default_factory=list)
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    fds_start: int = 0
    fds_end: int = 0
    loop_lag_p99_ms: float = 0.0
    error_logs: list[str] = dataclasses.field(default_factory=list)
    memory_growth: list[str] = dataclasses.field(default_factory=list)  # with --tracemalloc
    rss_by_day: list[float] = dataclasses.field(default_factory=list)  # MB at the start of each trading day
    held: dict[str, int] = dataclasses.field(default_factory=dict)  # objects kept per order at the end

    @property
    def lost(self) -> int:
        return max(0, self.ib_executions - self.fills_distinct)

    @property
    def duplicated(self) -> int:
        return self.fills_stored - self.fills_distinct

    def error_kinds(self) -> collections.Counter:
        """ERROR lines by logger and the first words of the message (order ids and times left out)."""
        return collections.Counter(re.sub(r"\d+", "N", line)[:70] for line in self.error_logs)

    @property
    def rss_growth(self) -> float:
        return (self.rss_end_mb - self.rss_start_mb) / self.rss_start_mb if self.rss_start_mb else 0.0

    def report(self) -> str:
        return "\n".join(
            [
                f"simulated trading days   {self.simulated_days} ({self.first_day} .. {self.last_day}), "
                f"{self.steps} hourly steps in {self.real_seconds:.0f} s",
                f"orders sent              {self.orders_sent} (metric placed {self.orders_placed_metric:.0f}; "
                f"refused before sending {self.refused}, not sent while disconnected {self.not_sent})",
                f"IB executions            {self.ib_executions}",
                f"fills stored             {self.fills_stored} ({self.fills_distinct} distinct; "
                f"{self.fills_without_commission} without commission)",
                f"lost / duplicated fills  {self.lost} / {self.duplicated}",
                f"orders unknown state     {self.orders_unknown} (active at end {self.orders_active_at_end})",
                f"gateway restarts         {self.restarts}, connectivity losses {self.connectivity_losses}, "
                f"reconnects {self.reconnects:.0f}",
                f"stream quotes            {self.stream_quotes}; errors {len(self.stream_errors)}; "
                f"contract rolls {self.rolls}",
                f"stream gaps > {self.gap_limit:.2f} s    {self.long_gaps} (longest while open {self.max_gap_open:.2f} s)",
                f"price updates            {self.price_updates}; errors {len(self.price_errors)}",
                f"RSS after warm-up / end  {self.rss_start_mb:.1f} / {self.rss_end_mb:.1f} MB "
                f"({100 * self.rss_growth:+.1f} %)",
                f"open fds warm-up / end   {self.fds_start} / {self.fds_end}",
                f"RSS by trading day (MB)  {' '.join(f'{mb:.0f}' for mb in self.rss_by_day)}",
                f"held at the end          {', '.join(f'{k} {v}' for k, v in self.held.items())}",
                f"event-loop lag p99       {self.loop_lag_p99_ms:.1f} ms",
                f"/metrics scrapes         {self.scrapes}",
                f"ERROR log lines          {len(self.error_logs)}",
                *[f"  {count} x {line}" for line, count in self.error_kinds().most_common(10)],
                *(["memory growth after warm-up (tracemalloc):"] if self.memory_growth else []),
                *[f"  {line}" for line in self.memory_growth],
            ]
        )


# ------------------------------------------------------------------------------------ gateway
class Gateway:
    """`python -m ibsim` in its own process, with the admin channel for clock and faults."""

    def __init__(self, options: SoakOptions, workdir: Path) -> None:
        self.log_path = workdir / "ibsim.log"
        self._log = self.log_path.open("w")
        command = [
            sys.executable,
            "-m",
            "ibsim",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--account",
            ACCOUNT,
            "--start",
            options.start.isoformat(),
            "--speed",
            str(options.speed),
            "--pacing-scale",
            "0.01",
            "--tick-interval",
            "0.05",
            "--state-file",
            str(workdir / "ibsim.state.json"),
        ]
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log, cwd=workdir)
        self.port, self.admin_port = self._ports()
        self.speed = options.speed
        self._anchor: tuple[dt.datetime, float] = (options.start, time.monotonic())
        self.command({"cmd": "status"})

    def _ports(self) -> tuple[int, int]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            if "listening on 127.0.0.1:" in text and "admin channel on 127.0.0.1:" in text:
                port = int(text.split("listening on 127.0.0.1:")[1].split()[0])
                admin = int(text.split("admin channel on 127.0.0.1:")[1].split()[0])
                return port, admin
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"ibsim did not start:\n{self.log_path.read_text()[-2000:]}")

    def command(self, command: dict) -> dict:
        reply = send_command(self.admin_port, command)
        if not reply.get("ok"):
            raise RuntimeError(f"ibsim admin {command}: {reply}")
        self._anchor = (dt.datetime.fromisoformat(reply["simulated_time"]), time.monotonic())
        return reply

    def now(self) -> dt.datetime:
        """The gateway's clock, estimated from the last admin answer (no round trip)."""
        moment, at = self._anchor
        return moment + dt.timedelta(seconds=(time.monotonic() - at) * self.speed)

    def stop(self) -> int:
        self.process.terminate()
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log.close()
        return code


# ------------------------------------------------------------------------------------ helpers
class ErrorLogCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()[:200]}")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def is_open(sessions: Sessions, moment: dt.datetime) -> bool:
    return any(start <= moment < end for start, end in sessions)


def next_open(sessions: Sessions, moment: dt.datetime) -> dt.datetime | None:
    later = [start for start, _ in sessions if start > moment]
    return min(later) if later else None


def within_one_session(sessions: Sessions, first: dt.datetime, second: dt.datetime) -> bool:
    return any(start <= first and second < end for start, end in sessions)


@dataclasses.dataclass
class Stream:
    """One quote stream's figures, kept as they come (constant memory: RSS measures the layer)."""

    code: str
    gap_limit: float
    sessions: Sessions = dataclasses.field(default_factory=list)
    last_bid: float | None = None
    quotes: int = 0
    max_gap_open: float = 0.0
    long_gaps: int = 0
    _last: tuple[float, dt.datetime] | None = None

    def arrived(self, real: float, simulated: dt.datetime) -> None:
        self.quotes += 1
        if self._last is not None and within_one_session(self.sessions, self._last[1], simulated):
            gap = real - self._last[0]  # both quotes in one trading session: the market was open between
            self.max_gap_open = max(self.max_gap_open, gap)
            self.long_gaps += gap > self.gap_limit
        self._last = (real, simulated)


async def consume(prices: ibFuturesContractPriceData, contract, stream: Stream, gateway: Gateway, errors: list) -> None:
    try:
        async for quote in prices.stream_quotes(contract):
            stream.arrived(time.monotonic(), gateway.now())
            stream.last_bid = quote.bid
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # reported, not fatal: the soak goes on
        errors.append(f"{stream.code}: {type(exc).__name__}: {exc}")


async def watch_lag(histogram: collections.Counter, interval: float = 0.02) -> None:
    """How late a 20 ms timer fires, in whole milliseconds (a histogram: constant memory)."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(interval)
        histogram[int(1000 * (loop.time() - before - interval))] += 1


async def scrape(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        return scrape_values(await response.text())


def percentile(histogram: collections.Counter, q: float) -> float:
    total = sum(histogram.values())
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= q * total:
            return float(value)
    return 0.0


# ------------------------------------------------------------------------------------ the run
def run_soak(options: SoakOptions) -> SoakResult:
    with contextlib.ExitStack() as stack:
        workdir = options.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        return _run(options, workdir, stack)


def _run(options: SoakOptions, workdir: Path, stack: contextlib.ExitStack) -> SoakResult:
    result = SoakResult(gap_limit=options.down + RECONNECT["max_delay"] + 1.0)
    errors = ErrorLogCounter()
    logging.getLogger().addHandler(errors)
    stack.callback(logging.getLogger().removeHandler, errors)
    gateway = Gateway(options, workdir)
    stack.callback(gateway.stop)
    private = workdir / "private"
    private.mkdir(exist_ok=True)
    config = load_config(
        private_dir=private,
        overrides={
            "ib_gateway": "external",
            "ib_port": gateway.port,
            "broker_account": ACCOUNT,
            "data_folder": str(workdir / "data"),
            "ib_pacing_scale": 0.01,
            "ib_reconnect": RECONNECT,
            "ib_connect_timeout": 5,
            "ops_http_port": 0,
            "stream_stale_seconds": 30,
        },
    )
    conn = connectionIB(config, clock=gateway.now)  # client id from the SQLite lease store
    stack.callback(conn.close_connection)
    data = dataBlob("soak", config=config, ib_conn=conn)
    stack.callback(data.close)
    server = start_ops_server(conn, config, "soak")
    stack.callback(server.stop)
    orders = data.broker_orders
    prices = ibFuturesContractPriceData(conn)
    loop = util.getLoop()

    def refresh_clock() -> None:
        # The gateway's clock jumps: tell the connection (it measures the offset once per connection).
        offset = (gateway.now() - dt.datetime.now(UTC)).total_seconds()
        conn._clock_offset = offset  # noqa: SLF001

    contracts = {code: front_contract(orders, code) for code in STREAMED}
    streams = {code: Stream(code, result.gap_limit) for code in STREAMED}
    lags: collections.Counter = collections.Counter()
    tasks = [
        loop.create_task(consume(prices, contracts[c], streams[c], gateway, result.stream_errors)) for c in STREAMED
    ]
    tasks.append(loop.create_task(watch_lag(lags)))
    es = contracts["SP500"]
    tick = orders.ib_client.ib_get_min_tick_size(es)

    def refresh_sessions() -> None:
        # Asked afresh: the layer's contract cache keeps the hours IB gave when it first resolved
        # the contract, which cover about a week.
        for code, stream in streams.items():
            found = orders.ib_client.resolve(contracts[code]).contract
            details = orders.ib_client.run_request(lambda c=found: conn.ib.reqContractDetailsAsync(c), "hours")
            stream.sessions = parse_trading_hours(details[0].tradingHours, zone_of(details[0]))

    def roll() -> None:
        """A new front contract (a week before expiry): trade it and stream it instead."""
        nonlocal es, tick
        for index, code in enumerate(STREAMED):
            front = front_contract(orders, code)
            if front.key == contracts[code].key:
                continue
            tasks[index].cancel()
            finished.append(streams[code])
            contracts[code], streams[code] = front, Stream(code, result.gap_limit)
            tasks[index] = loop.create_task(consume(prices, front, streams[code], gateway, result.stream_errors))
            result.rolls += 1
        es = contracts["SP500"]
        tick = orders.ib_client.ib_get_min_tick_size(es)

    finished: list[Stream] = []
    baseline: list[tracemalloc.Snapshot] = []
    refresh_sessions()
    resting: list[tuple[int, Any]] = []  # (step placed, control)
    days_seen: list[dt.date] = []
    done_today: set[tuple[dt.date, str]] = set()
    cycle = 0
    started = time.monotonic()
    sign = 1

    def place(order: brokerOrder):
        try:
            control = orders.put_order_on_stack(order)
        except OrderRefused:
            result.refused += 1
            return None
        except ConnectionError:  # IBNotConnected: never sent, stored as rejected
            result.not_sent += 1
            return None
        result.orders_sent += 1
        return control

    def once(now: dt.datetime, what: str) -> bool:
        key = (now.date(), what)
        if key in done_today:
            return False
        done_today.add(key)
        return True

    def inject_faults(now: dt.datetime) -> None:
        """The day's faults, by the gateway's clock (each once per simulated day)."""
        window = window_at(now, config.ib_reset_windows)
        if window is not None and window.region == "north_america" and once(now, "restart"):
            gateway.command({"cmd": "restart", "down": options.down})
            result.restarts += 1
        if now.hour == 14 and now.weekday() in (1, 3) and once(now, "1100"):
            restore = "1101" if now.weekday() == 1 else "1102"
            gateway.command({"cmd": "connectivity_lost", "restore": restore, "after": 0.5})
            result.connectivity_losses += 1
        if now.hour == 10 and once(now, "farm broken"):
            gateway.command({"cmd": "farm", "code": 2103, "farm": "usfarm"})
        if now.hour == 11 and once(now, "farm ok"):
            gateway.command({"cmd": "farm", "code": 2104, "farm": "usfarm"})
        if cycle % 7 == 0:
            gateway.command({"cmd": "reject", "count": 1})
        if cycle % 5 == 0:
            gateway.command({"cmd": "drop_commission", "count": 1})
        if cycle % 9 == 0:
            gateway.command({"cmd": "commission_delay", "seconds": 1.0})
        elif cycle % 9 == 1:
            gateway.command({"cmd": "commission_delay", "seconds": None})

    while len(days_seen) <= options.days:  # until the day after the last full one begins
        now = gateway.now()
        es_sessions = streams["SP500"].sessions
        if is_open(es_sessions, now):
            trade_date = (now + dt.timedelta(hours=2)).date()  # CME: the evening session is the next day's
            if trade_date not in days_seen:
                days_seen.append(trade_date)
                gc.collect()
                result.rss_by_day.append(round(rss_mb(), 1))
                if len(days_seen) == 2:  # warm-up over: the baseline
                    result.rss_start_mb, result.fds_start = rss_mb(), open_fds()
                    if tracemalloc.is_tracing():
                        baseline.append(tracemalloc.take_snapshot())
            cycle += 1
            if options.faults_mid_order:
                inject_faults(now)
            # --- the stack handler's hour: a market order; limit orders placed, modified, cancelled
            place(brokerOrder.from_contract(es, sign, strategy_name="soak", account=ACCOUNT))
            sign = -sign
            for placed, control in list(resting):
                age = cycle - placed
                try:
                    if age == 1 and orders.check_order_can_be_modified_given_control_object(control):
                        orders.modify_limit_price_given_control_object(control, control.order.limit_price - 4 * tick)
                    elif age >= 2:
                        if control.order.active:
                            orders.cancel_order_on_stack(control.order)
                        resting.remove((placed, control))
                except (orderCannotBeModified, IBError, ConnectionError):
                    resting.remove((placed, control))
            bid = streams["SP500"].last_bid
            if bid:
                far = round(bid * 0.97 / tick) * tick
                order = brokerOrder.from_contract(
                    es, 1, order_type="LMT", limit_price=far, strategy_name="soak", account=ACCOUNT
                )
                control = place(order)
                if control is not None:
                    resting.append((cycle, control))
        # --- the daily price update, in the evening maintenance break
        if now.hour >= 21 and once(now, "prices"):
            try:
                summary = update_historical_prices(data, ["SP500"])
                result.price_updates += 1
                result.price_errors += [f"{key}: {message}" for key, message in summary.errors]
            except Exception as exc:  # reported, not fatal
                result.price_errors.append(f"{type(exc).__name__}: {exc}")
            roll()
            refresh_sessions()
        # --- let the process run for a simulated hour (faults half way), scraping its own /metrics
        conn.sleep(options.step / 2)
        if is_open(es_sessions, now) and not options.faults_mid_order:
            inject_faults(now)
        conn.sleep(options.step / 2)
        if result.steps % 10 == 0:
            values = loop.run_until_complete(scrape(server.url))
            result.scrapes += 1
            result.reconnects = values.get(("ibfutures_reconnects_total", ()), 0.0)
        result.steps += 1
        target = now + dt.timedelta(hours=1)
        if not is_open(es_sessions, target):
            opening = next_open(es_sessions, target)
            if opening is None:
                refresh_sessions()
                opening = next_open(streams["SP500"].sessions, target) or target
            target = opening + dt.timedelta(minutes=30)
        gap = (target - gateway.now()).total_seconds()
        if gap > 0:
            gateway.command({"cmd": "advance", "seconds": gap})
        refresh_clock()
        if result.steps % 24 == 0:
            options.log(
                f"  {gateway.now():%a %Y-%m-%d %H:%M} UTC: {len(days_seen)} trading days, {result.orders_sent} orders"
            )

    # --- wind down: working orders cancelled, late commissions in, then count
    gateway.command({"cmd": "commission_delay", "seconds": None})
    for _, control in resting:
        with contextlib.suppress(Exception):
            if control.order.active:
                orders.cancel_order_on_stack(control.order)
    conn.sleep(1.5)  # cancellations confirmed, delayed commission reports in
    report = orders.reconcile()
    result.orders_unknown = len(report.orders_unknown_to_ib)
    stored = orders.order_store.list_orders()
    result.orders_active_at_end = sum(
        1 for o in stored if o.status in (orderStatus.SUBMITTED, orderStatus.PARTIALLY_FILLED)
    )
    exec_ids = [fill.exec_id for o in stored for fill in o.fills]
    result.fills_stored, result.fills_distinct = len(exec_ids), len(set(exec_ids))
    result.fills_without_commission = len(orders.order_store.fills_without_commission())
    result.ib_executions = int(gateway.command({"cmd": "status"})["stats"].get("fills", 0))
    values = loop.run_until_complete(scrape(server.url))
    result.scrapes += 1
    result.reconnects = values.get(("ibfutures_reconnects_total", ()), 0.0)
    result.orders_placed_metric = values.get(("ibfutures_orders_total", (("event", "placed"),)), 0.0)
    for task in tasks:
        task.cancel()
    conn.sleep(0.2)
    for stream in [*finished, *streams.values()]:
        result.stream_quotes += stream.quotes
        result.max_gap_open = max(result.max_gap_open, stream.max_gap_open)
        result.long_gaps += stream.long_gaps
    result.loop_lag_p99_ms = percentile(lags, 0.99)
    gc.collect()
    result.rss_end_mb, result.fds_end = rss_mb(), open_fds()
    wrapper = conn.ib.wrapper
    result.held = {
        "ib_async trades": len(wrapper.trades),
        "ib_async fills": len(wrapper.fills),
        "order controls": len(orders._controls),  # noqa: SLF001 - what the layer keeps per order
    }
    if baseline:
        growth = tracemalloc.take_snapshot().compare_to(baseline[0], "lineno")
        result.memory_growth = [str(stat) for stat in growth[:12]]
    result.simulated_days = len(days_seen) - 1  # complete trading days
    result.first_day, result.last_day = str(days_seen[0]), str(days_seen[-2])
    result.real_seconds = time.monotonic() - started
    result.error_logs = list(errors.lines)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30, help="simulated trading days (default 30)")
    parser.add_argument("--step", type=float, default=0.12, help="real seconds per simulated hour (default 0.12)")
    parser.add_argument("--down", type=float, default=1.0, help="gateway down time on restarts, s (default 1)")
    parser.add_argument("--faults-mid-order", action="store_true", help="inject faults as the hour's orders go out")
    parser.add_argument("--tracemalloc", action="store_true", help="print where memory grew after warm-up")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the gateway log and stores here")
    parser.add_argument("--log-level", default="ERROR", help="log level of this process (default ERROR)")
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: every thread's stack on stderr
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (the gateway process) on SIGTERM
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    if args.tracemalloc:
        tracemalloc.start(8)
    options = SoakOptions(
        days=args.days, step=args.step, down=args.down, workdir=args.workdir, faults_mid_order=args.faults_mid_order
    )
    result = run_soak(options)
    print(result.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
