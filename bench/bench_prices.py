"""Price download benchmarks (issue 4): requests, pacing and overhead of the broker layer.

    python bench/bench_prices.py                          # all three parts, defaults below
    python bench/bench_prices.py --parts 3 --rounds 100   # only the layer-vs-raw part

The gateway is ibsim running in this process (as the embedded default of the production scripts),
with its clock frozen at --start so that the data IB "has" is fixed during the run.

1. Requests: `seed_price_data_from_IB` downloads daily bars of every contract IB lists (expired
   ones too) for a 10-instrument universe, and hourly bars for a subset. Baseline: the lower bound,
   computed from the gateway's own market model and rules, not from the layer: for every contract
   and frequency, ceil(span of the bars IB has / the longest span IB allows one request to cover).
   Target 1.00x, and no pacing violation at the gateway.
2. Wall time of that same seeding run, with pacing windows scaled by --scale (0.01 = the embedded
   default: 60 requests per 6 s) so that IB's global rule binds. Baseline: the shortest time IB's
   three rules allow for the sequence of requests the gateway received (earliest-start schedule
   with zero service time). Target <= 1.05x.
3. Layer vs raw ib_async on the same connection and gateway (pacing off at both ends, ib_async's
   own 45-requests-per-second throttle off): contract details (contract cache cleared before every
   call) and historical bars. Median and p90 of --rounds calls, layer and raw interleaved, with
   raw + `util.df(bars)` shown as a second reference for bars. Target <= 1.15x.
The price-store figures (4.) are in docs/price_storage.md (`bench/bench_price_store.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import logging
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from ib_async import util  # noqa: E402

from ibsim import IBSim, PacingRules, SimConfig  # noqa: E402
from ibsim import history as ib_history  # noqa: E402
from ibsim.model import Instrument  # noqa: E402
from ibsim.session import ClientSession  # noqa: E402
from sysbrokers.IB.client.ib_contracts_client import clear_contract_cache  # noqa: E402
from sysbrokers.IB.client.ib_price_client import BAR_PLANS  # noqa: E402
from sysbrokers.IB.contract_resolution import contract_pattern  # noqa: E402
from sysbrokers.IB.ib_connection import connectionIB  # noqa: E402
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData  # noqa: E402
from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData  # noqa: E402
from sysbrokers.IB.ib_instrument_config import load_futures_config  # noqa: E402
from sysbrokers.IB.pacers import clear_pacers, pacers  # noqa: E402
from sysdata.config.configdata import Config, load_config  # noqa: E402
from sysdata.data_blob import dataBlob  # noqa: E402
from sysobjects.contracts import futuresContract  # noqa: E402
from sysobjects.futures_per_contract_prices import Frequency  # noqa: E402
from sysproduction.price_updates import UpdateSummary  # noqa: E402
from sysproduction.seed_price_data_from_IB import seed_price_data_from_IB  # noqa: E402

UTC = dt.UTC
ACCOUNT = "DU123456"
UNIVERSE = ("SP500", "US10", "GOLD", "CRUDE_W", "CORN", "BUND", "EUR", "VIX", "MILK", "SOFR")
HOURLY = ("SP500", "US10", "BUND")
START = dt.datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, CME equity futures open
IB_BAR_SIZE = {Frequency.Day: "1 day", Frequency.Hour: "1 hour"}


# ------------------------------------------------------------------- gateway and connection
def start_gateway(start: dt.datetime, pacing: PacingRules, message_limit: bool = True) -> IBSim:
    """ibsim on a free loopback port, its clock frozen at `start` (IB's 50 messages/s limit on
    unless `message_limit` is False: part 3 sends as fast as it can on purpose)."""
    config = SimConfig(port=0, start=start, speed=0.0, accounts=(ACCOUNT,), pacing=pacing)
    if not message_limit:
        config = dataclasses.replace(config, max_message_rate=None)
    return IBSim(config).start_in_thread()


SHARED_BOOKS = [True]  # --pacing-books: the pacer's books in the metadata store (default) or in memory


def bench_config(folder: Path, port: int, scale: float) -> Config:
    private = folder / "private"
    private.mkdir(parents=True, exist_ok=True)
    return load_config(
        private_dir=private,
        overrides={
            "ib_gateway": "external",  # the benchmark starts its own gateway
            "ib_port": port,
            "broker_account": ACCOUNT,
            "ib_pacing_scale": scale,
            "ib_pacing_profile": "strict",  # parts 1-2 measure IB's hard rules on every bar size
            "ib_pacing_shared": SHARED_BOOKS[0],
            "data_folder": str(folder),
            "log_level": "WARNING",
        },
    )


def fresh_caches() -> None:
    # Every part gets a cold contract cache and a pacer with empty books.
    clear_contract_cache()
    clear_pacers()


@dataclass
class GatewayLog:
    """Every historical request the gateway received: (monotonic time, request key, contract key, refused)."""

    requests: list[tuple[float, tuple, tuple, bool]] = field(default_factory=list)

    def attach(self, sim: IBSim) -> None:
        check = sim.pacer.check

        def recording(request_key, contract_key, what_to_show, now, *bar_seconds):
            broken = check(request_key, contract_key, what_to_show, now, *bar_seconds)
            self.requests.append((now, request_key, contract_key + (what_to_show.upper(),), broken is not None))
            return broken

        sim.pacer.check = recording


# ------------------------------------------------------------------- part 1: the lower bound
@dataclass
class ContractBound:
    code: str
    local_symbol: str
    con_id: int
    frequency: Frequency
    first: dt.datetime | None  # start of the first bar IB has (None: IB has none)
    end: dt.datetime | None  # end of the last one
    requests: int  # the lower bound


def listed_at_gateway(sim: IBSim, code: str, now: dt.datetime) -> list[Instrument]:
    """The contracts the gateway lists for an instrument, expired ones included (catalog, not the layer)."""
    ib_data = load_futures_config().get(code).ib_data
    product = sim.catalog.product(ib_data.ib_symbol, ib_data.ib_exchange, sec_type="FUT")
    listed = sim.catalog.instruments_for(product, now, include_expired=True)
    return [i for i in listed if not ib_data.trading_class or i.trading_class == ib_data.trading_class]


def lower_bound(sim: IBSim, code: str, inst: Instrument, frequency: Frequency, now: dt.datetime) -> ContractBound:
    """ceil(span of the bars IB has / the longest span IB allows one request to cover)."""
    bar_size = IB_BAR_SIZE[frequency]
    if inst.expiry_utc is not None and now - inst.expiry_utc > ib_history.EXPIRED_HISTORY:
        return ContractBound(code, inst.local_symbol, inst.con_id, frequency, None, None, 0)
    stop = min(now, inst.expiry_utc) if inst.expiry_utc is not None else now
    head = sim.market.head_timestamp(inst)
    bars = sim.market.bars(inst, head - dt.timedelta(days=1), stop, bar_size)
    if len(bars) == 0:
        return ContractBound(code, inst.local_symbol, inst.con_id, frequency, None, None, 0)
    step = 86_400 if frequency == Frequency.Day else 3_600
    first = float(bars.time[0])
    end = min(float(bars.time[-1]) + step, stop.timestamp())
    longest = ib_history.MAX_DURATION[bar_size]
    as_time = dt.datetime.fromtimestamp
    return ContractBound(
        code,
        inst.local_symbol,
        inst.con_id,
        frequency,
        as_time(first, UTC),
        as_time(end, UTC),
        math.ceil((end - first) / longest),
    )


# ------------------------------------------------------------------- part 2: the pacing bound
def pacing_bound(requests: list[tuple[tuple, tuple]], rules: PacingRules) -> float:
    """Seconds from the first to the last request when each goes as early as IB's three rules allow.

    `requests` are (request key, contract key) in the order sent, each of weight one (TRADES).
    The earliest-start schedule is the fastest one: every rule only ever pushes a request later.
    """
    times: list[float] = []
    last_identical: dict[tuple, float] = {}
    per_contract: dict[tuple, deque[float]] = {}
    for request_key, contract_key in requests:
        t = times[-1] if times else 0.0
        if request_key in last_identical:
            t = max(t, last_identical[request_key] + rules.identical_window)
        same = per_contract.setdefault(contract_key, deque(maxlen=rules.same_contract_max))
        if len(same) == rules.same_contract_max:
            t = max(t, same[0] + rules.same_contract_window)
        if len(times) >= rules.global_max:
            t = max(t, times[-rules.global_max] + rules.global_window)
        times.append(t)
        same.append(t)
        last_identical[request_key] = t
    return times[-1] if times else 0.0


@dataclass
class SeedResult:
    summary: UpdateSummary
    wall: float
    bounds: list[ContractBound]
    gateway: GatewayLog
    rules: PacingRules
    contract_details: int
    now: dt.datetime
    waited: float
    violations: int  # the gateway's own count (sim.pacer.violations)


def run_seed(universe: tuple[str, ...], hourly: tuple[str, ...], start: dt.datetime, scale: float) -> SeedResult:
    fresh_caches()
    rules = PacingRules.scaled(scale)
    sim = start_gateway(start, rules)
    gateway = GatewayLog()
    gateway.attach(sim)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_prices_") as folder, counting_contract_details() as details:
            config = bench_config(Path(folder), sim.port, scale)
            with dataBlob("bench_prices", config=config) as data:
                data.ib_conn.now()  # connect (and read the gateway's clock) before timing the download
                summary = UpdateSummary()
                started = time.perf_counter()
                seed_price_data_from_IB(data, list(universe), (Frequency.Day,), summary)
                if hourly:
                    seed_price_data_from_IB(data, list(hourly), (Frequency.Hour,), summary)
                wall = time.perf_counter() - started
        now = sim.clock.now()
        bounds = [
            lower_bound(sim, code, inst, frequency, now)
            for frequency, codes in ((Frequency.Day, universe), (Frequency.Hour, hourly))
            for code in codes
            for inst in listed_at_gateway(sim, code, now)
        ]
        waited = sum(pacer.waited for pacer in pacers())
        return SeedResult(summary, wall, bounds, gateway, rules, details[0], now, waited, sim.pacer.violations)
    finally:
        sim.stop_in_thread()


@contextlib.contextmanager
def counting_contract_details() -> Iterator[list[int]]:
    """Count the reqContractDetails messages every gateway session handles, while inside."""
    seen = [0]
    original = ClientSession._req_contract_details

    def counting(self, req):
        seen[0] += 1
        return original(self, req)

    ClientSession._req_contract_details = counting
    try:
        yield seen
    finally:
        ClientSession._req_contract_details = original


def report_seed(result: SeedResult, universe: tuple[str, ...], hourly: tuple[str, ...], scale: float) -> bool:
    summary, rules = result.summary, result.rules
    received = result.gateway.requests
    accepted = [(key, contract) for _, key, contract, refused in received if not refused]
    issued = {f: [r for r in received if r[1][2] == IB_BAR_SIZE[f]] for f in IB_BAR_SIZE}
    violations = result.violations
    no_data = sum(1 for b in result.bounds if b.first is None)

    print(f"\n1. requests issued vs the lower bound  (ibsim clock frozen at {result.now:%Y-%m-%d %H:%M} UTC)")
    print(f"{'frequency':<28}{'contracts':>10}{'requests':>10}{'bound':>10}{'ratio':>8}")
    total = bound_total = 0
    for frequency, codes in ((Frequency.Day, universe), (Frequency.Hour, hourly)):
        bounds = [b for b in result.bounds if b.frequency == frequency]
        if not bounds:
            continue
        bound, count = sum(b.requests for b in bounds), len(issued[frequency])
        total, bound_total = total + count, bound_total + bound
        label = f"{'daily' if frequency == Frequency.Day else 'hourly'} ({len(codes)} instruments)"
        print(f"{label:<28}{len(bounds):>10}{count:>10}{bound:>10}{count / bound:>8.2f}")
    print(f"{'total':<28}{len(result.bounds):>10}{total:>10}{bound_total:>10}{total / bound_total:>8.2f}   target 1.00")
    for line in excess_breakdown(result):
        print(line)
    print(
        f"pacing violations: gateway {violations}, layer {summary.pacing_violations} (target 0); contracts "
        f"without data at IB: {no_data}; contract-details requests: {result.contract_details} for "
        f"{len(set(universe) | set(hourly))} listings"
    )

    bound = pacing_bound(accepted, rules)
    span = received[-1][0] - received[0][0] if received else 0.0
    simple = (math.ceil(len(accepted) / rules.global_max) - 1) * rules.global_window
    print(
        f"\n2. wall time vs the pacing bound  (windows x{scale:g}: {rules.global_max} requests per "
        f"{rules.global_window:g}s, {rules.same_contract_max} per contract per {rules.same_contract_window:g}s, "
        f"identical {rules.identical_window:g}s)"
    )
    print(f"{'measure':<44}{'seconds':>10}{'bound':>10}{'ratio':>8}")
    print(
        f"{'seeding wall time (list, download, store)':<44}{result.wall:>10.2f}{bound:>10.2f}"
        f"{result.wall / bound:>8.2f}   target <= 1.05"
    )
    print(f"{'first to last request at the gateway':<44}{span:>10.2f}{bound:>10.2f}{span / bound:>8.2f}")
    print(
        f"bound: earliest-start schedule of the {len(accepted)} requests the gateway received (the global rule "
        f"alone: (ceil({len(accepted)}/{rules.global_max})-1) x {rules.global_window:g}s = {simple:.2f}s); "
        f"the layer waited {result.waited:.2f}s for pacing; {summary.bars_added:,} bars stored"
    )
    return (
        total == bound_total
        and violations == 0
        and summary.pacing_violations == 0
        and result.wall <= 1.05 * bound
        and not summary.errors
    )


def excess_breakdown(result: SeedResult) -> list[str]:
    """Where requests above the bound went, per frequency (diagnostics; uses the layer's BAR_PLANS)."""
    requests: dict[tuple[int, str], list[dt.datetime]] = {}
    for _, key, _, refused in result.gateway.requests:
        if not refused:
            end = key[1] if isinstance(key[1], dt.datetime) else result.now
            requests.setdefault((key[0], key[2]), []).append(end)
    lines = []
    for frequency in IB_BAR_SIZE:
        page_size = probes = chaining = 0
        page = BAR_PLANS[frequency].page.total_seconds()
        for bound in (b for b in result.bounds if b.frequency == frequency and b.first is not None):
            ends = requests.get((bound.con_id, IB_BAR_SIZE[frequency]), [])
            if len(ends) <= bound.requests:
                continue
            with_layer_pages = math.ceil((bound.end - bound.first).total_seconds() / page)
            probe = int(min(ends) <= bound.first)  # a request ending at or before the first bar IB has
            page_size += with_layer_pages - bound.requests
            probes += probe
            chaining += len(ends) - with_layer_pages - probe
        if page_size or probes or chaining:
            lines.append(
                f"  {frequency.value} excess: +{page_size} from the layer's {BAR_PLANS[frequency].page.days}-day pages "
                f"(IB allows {ib_history.MAX_DURATION[IB_BAR_SIZE[frequency]] // 86_400} days), +{chaining} from "
                f"chaining each page on the previous page's first bar, +{probes} end-of-data probes (no data)"
            )
    return lines


# ------------------------------------------------------------------- part 3: layer vs raw ib_async
@dataclass
class Timings:
    layer: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    raw_df: list[float] = field(default_factory=list)  # raw + ib_async's util.df (bars only)


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def run_layer_vs_raw(universe: tuple[str, ...], start: dt.datetime, rounds: int) -> dict[str, Timings]:
    fresh_caches()
    sim = start_gateway(start, PacingRules(enabled=False), message_limit=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_prices_") as folder:
            # Pacing off at both ends: the gateway's rules disabled, the client's windows ~0.
            conn = connectionIB(1, config=bench_config(Path(folder), sim.port, 1e-6))
            # ib_async holds back the 46th request within a second for the rest of that second,
            # whichever call sends it; that would land ~0.4 s stalls on arbitrary calls here.
            throttle, conn.ib.client.MaxRequests = conn.ib.client.MaxRequests, 0
            try:
                return compare(conn, sim, universe, rounds)
            finally:
                conn.ib.client.MaxRequests = throttle
                conn.close_connection()
    finally:
        sim.stop_in_thread()
        clear_contract_cache()


def compare(conn: connectionIB, sim: IBSim, universe: tuple[str, ...], rounds: int) -> dict[str, Timings]:
    """The same requests through the layer and through raw ib_async on `conn.ib`, interleaved."""
    ib = conn.ib
    contracts_data = ibFuturesContractData(conn)
    prices_data = ibFuturesContractPriceData(conn)
    now = sim.clock.now()
    config = load_futures_config()
    cases = []  # the nearest live contract of every instrument and the layer's own pattern for it
    for code in universe:
        front = next(i for i in listed_at_gateway(sim, code, now) if i.expiry_utc > now)
        contract = futuresContract(code, front.contract_month)
        cases.append((contract, contract_pattern(config.get(code), contract.contract_date)))
    qualified = [contracts_data.ib_client.ib_futures_contract(c) for c, _ in cases]
    hour_start = now - dt.timedelta(days=20)

    def details(i: int):
        clear_contract_cache()  # so that the layer makes a real request (not timed)
        return (
            lambda: contracts_data.get_contract_object_with_IB_data(cases[i][0]),
            lambda: ib.reqContractDetails(cases[i][1]),
            None,
        )

    def daily(i: int):
        def raw():
            return ib.reqHistoricalData(qualified[i], "", "10 Y", "1 day", "TRADES", False, 2)

        return (
            lambda: prices_data.get_prices_at_frequency_for_contract_object(cases[i][0], Frequency.Day),
            raw,
            lambda: util.df(raw()),
        )

    def hourly(i: int):
        def raw():
            return ib.reqHistoricalData(qualified[i], "", "30 D", "1 hour", "TRADES", False, 2)

        return (
            lambda: prices_data.get_prices_at_frequency_for_contract_object(
                cases[i][0], Frequency.Hour, start=hour_start
            ),
            raw,
            lambda: util.df(raw()),
        )

    measures = {
        "contract details (1 request)": details,
        "daily bars, whole contract (1 request)": daily,
        "hourly bars, 20 days (1 request)": hourly,
    }
    results = {}
    for name, calls_for in measures.items():
        for i in range(len(cases)):  # warm the gateway's caches for every contract first
            for call in calls_for(i):
                if call is not None:
                    call()
        timings = Timings()
        for n in range(rounds):
            layer, raw, raw_df = calls_for(n % len(cases))
            pairs = [(timings.layer, layer), (timings.raw, raw), (timings.raw_df, raw_df)]
            for bucket, call in pairs[n % 3 :] + pairs[: n % 3]:  # rotate the order: no call always goes first
                if call is not None:
                    bucket.append(timed(call))
        results[name] = timings
    return results


def report_layer_vs_raw(results: dict[str, Timings], rounds: int) -> bool:
    print(f"\n3. layer vs raw ib_async  ({rounds} calls each, interleaved; pacing off; milliseconds)")
    print(f"{'call':<42}{'layer p50':>10}{'raw p50':>10}{'ratio':>8}{'layer p90':>11}{'raw p90':>10}{'ratio':>8}")
    ok = True
    for name, t in results.items():
        lm, rm, l9, r9 = statistics.median(t.layer), statistics.median(t.raw), p90(t.layer), p90(t.raw)
        print(
            f"{name:<42}{lm * 1e3:>10.2f}{rm * 1e3:>10.2f}{lm / rm:>8.2f}{l9 * 1e3:>11.2f}{r9 * 1e3:>10.2f}{l9 / r9:>8.2f}"
        )
        if not t.raw_df:  # bars are judged against raw + util.df below: the same result, a DataFrame
            ok = ok and lm / rm <= 1.15 and l9 / r9 <= 1.15
    print("target <= 1.15 (median and p90). Bars against the same result from raw ib_async, raw + util.df(bars):")
    for name, t in results.items():
        if t.raw_df:
            lm, dm, l9, d9 = statistics.median(t.layer), statistics.median(t.raw_df), p90(t.layer), p90(t.raw_df)
            print(f"{'  ' + name:<42}{'':>10}{dm * 1e3:>10.2f}{lm / dm:>8.2f}{'':>11}{d9 * 1e3:>10.2f}{l9 / d9:>8.2f}")
            ok = ok and lm / dm <= 1.15 and l9 / d9 <= 1.15
    return ok


# ------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--parts", default="1,2,3", help="which parts to run: 1,2 share one seeding run (default 1,2,3)"
    )
    parser.add_argument("--instruments", default=",".join(UNIVERSE), help="daily universe (comma separated)")
    parser.add_argument("--hourly", default=",".join(HOURLY), help="instruments also seeded hourly ('' for none)")
    parser.add_argument("--scale", type=float, default=0.01, help="pacing windows x this, gateway and client (0.01)")
    parser.add_argument("--rounds", type=int, default=200, help="calls per measure in part 3 (default 200)")
    parser.add_argument("--start", default=START.isoformat(), help="the gateway's frozen clock (ISO, UTC)")
    parser.add_argument(
        "--pacing-books", choices=("shared", "memory"), default="shared", help="ib_pacing_shared true / false"
    )
    args = parser.parse_args(argv)
    SHARED_BOOKS[0] = args.pacing_books == "shared"
    logging.basicConfig(level=logging.WARNING)
    # ib_async logs every IB error; the layer's end-of-data probes make expected "no data" ones.
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    parts = {p.strip() for p in args.parts.split(",")}
    universe = tuple(c for c in args.instruments.split(",") if c)
    hourly = tuple(c for c in args.hourly.split(",") if c)
    start = dt.datetime.fromisoformat(args.start).astimezone(UTC)

    print(f"price download benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cores, {dt.date.today()})")
    print("$ python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__), *(argv or sys.argv[1:])]))
    ok = True
    if parts & {"1", "2"}:
        result = run_seed(universe, hourly, start, args.scale)
        ok = report_seed(result, universe, hourly, args.scale) and ok
    if "3" in parts:
        ok = report_layer_vs_raw(run_layer_vs_raw(universe, start, args.rounds), args.rounds) and ok
    print("\n4. price store read/append vs raw pyarrow: see docs/price_storage.md (bench/bench_price_store.py)")
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
