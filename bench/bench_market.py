"""Speed of the market model alone (no server, no socket): bars/s per request shape, quote cost.

    python bench/bench_market.py [--repeat 3]

Each request runs on a fresh model ("cold": every path generated) and again on the same model
("warm": minute paths cached). Sessions come from a small CME-like calendar defined here, so the
figures do not depend on ibsim.calendars. The whole simulator targets >= 50,000 bars/s served and
>= 20,000 ticks/s streamed on 2 cores; the model should be a small part of that.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from ibsim.market import MarketModel  # noqa: E402
from ibsim.model import Instrument, Product, Session  # noqa: E402

UTC = dt.UTC
CHICAGO = ZoneInfo("America/Chicago")


def cme_sessions(inst: Instrument, start: dt.datetime, end: dt.datetime) -> list[Session]:
    """Sun-Fri 17:00-16:00 Chicago, liquid 08:30-16:00, no holidays."""
    out = []
    day = (start - dt.timedelta(days=2)).date()
    while day <= (end + dt.timedelta(days=2)).date():
        if day.weekday() < 5:
            open_ = dt.datetime.combine(day - dt.timedelta(1), dt.time(17), CHICAGO).astimezone(UTC)
            close = dt.datetime.combine(day, dt.time(16), CHICAGO).astimezone(UTC)
            liquid = dt.datetime.combine(day, dt.time(8, 30), CHICAGO).astimezone(UTC)
            if inst.expiry_utc is not None:
                close = min(close, inst.expiry_utc)
            if open_ < close and close > start and open_ < end:
                out.append(Session(day, ((open_, close),), ((liquid, close),) if liquid < close else ()))
        day += dt.timedelta(1)
    return out


def es_contract() -> Instrument:
    product = Product(
        symbol="ES",
        sec_type="FUT",
        exchange="CME",
        currency="USD",
        multiplier="50",
        price_magnifier=1,
        min_tick=0.25,
        trading_class="ES",
        long_name="E-mini S&P 500",
        time_zone_id="US/Central",
        iana_zone="America/Chicago",
        calendar="CME",
        listed_months="HMUZ",
        months_listed=5,
        serial_months=0,
        last_trade_rule="third_friday",
        last_trade_time="08:30",
        local_symbol_style="letter",
        base_price=5800.0,
        annual_vol=0.17,
        initial_margin=25000,
        maint_margin=22700,
        physical_delivery=False,
        under_con_id=11004968,
        market_rule_id="67",
        valid_exchanges="CME",
        order_types="LMT,MKT,STP",
    )
    expiry = dt.datetime(2026, 3, 20, 13, 30, tzinfo=UTC)
    return Instrument(620731015, product, "202603", dt.date(2026, 3, 20), "ESH6", dt.date(2023, 3, 17), expiry)


REQUESTS = [
    ("1 year of 1 day TRADES", dt.datetime(2024, 1, 1, tzinfo=UTC), 365, "1 day", "TRADES", False),
    ("1 year of 1 day MIDPOINT", dt.datetime(2024, 1, 1, tzinfo=UTC), 365, "1 day", "MIDPOINT", False),
    ("1 year of 1 day TRADES rth", dt.datetime(2024, 1, 1, tzinfo=UTC), 365, "1 day", "TRADES", True),
    ("1 month of 1 hour TRADES", dt.datetime(2024, 6, 1, tzinfo=UTC), 30, "1 hour", "TRADES", False),
    ("1 month of 1 min TRADES", dt.datetime(2024, 6, 1, tzinfo=UTC), 30, "1 min", "TRADES", False),
    ("1 week of 1 min BID_ASK", dt.datetime(2024, 6, 3, tzinfo=UTC), 7, "1 min", "BID_ASK", False),
    ("1 day of 5 secs TRADES", dt.datetime(2024, 6, 4, tzinfo=UTC), 1, "5 secs", "TRADES", False),
    ("2000 s of 1 secs TRADES", dt.datetime(2024, 6, 4, 15, tzinfo=UTC), 2000 / 86400, "1 secs", "TRADES", False),
]


def bench_bars(repeat: int) -> None:
    inst = es_contract()
    print(f"{'request':32} {'bars':>7} {'cold ms':>9} {'warm ms':>9} {'cold bars/s':>12} {'warm bars/s':>12}")
    for name, start, days, size, what, rth in REQUESTS:
        end = start + dt.timedelta(days=days)
        cold, warm = [], []
        for seed in range(repeat):
            model = MarketModel(cme_sessions, seed=seed)
            t = time.perf_counter()
            bars = model.bars(inst, start, end, size, what, rth)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            model.bars(inst, start, end, size, what, rth)
            warm.append(time.perf_counter() - t)
        c, w, n = min(cold), min(warm), len(bars)
        print(f"{name:32} {n:7d} {c * 1e3:9.1f} {w * 1e3:9.1f} {n / c:12,.0f} {n / w:12,.0f}")


def bench_quotes(count: int) -> None:
    inst = es_contract()
    model = MarketModel(cme_sessions, seed=0)
    start = dt.datetime(2024, 6, 4, 15, tzinfo=UTC)
    times = [start + dt.timedelta(seconds=0.25 * i) for i in range(count)]  # 4 ticks/s for count/4 s
    for name, call in (
        ("quote", model.quote),
        ("price_at", model.price_at),
        ("path_between 1 s", lambda i, t: model.path_between(i, t, t + dt.timedelta(seconds=1))),
    ):
        model.quote(inst, start)  # the session's minutes are generated once, as in streaming
        t = time.perf_counter()
        for at in times:
            call(inst, at)
        per = (time.perf_counter() - t) / count
        print(f"{name:18} {per * 1e6:8.1f} us/call {1 / per:12,.0f} calls/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N (fresh model each)")
    parser.add_argument("--quotes", type=int, default=20000, help="quotes to time")
    args = parser.parse_args()
    bench_bars(args.repeat)
    bench_quotes(args.quotes)


if __name__ == "__main__":
    main()
