"""Front-month streams across the roll instant, against ibsim with its clock running fast.

ES March 2025 (ESH5) expires on Friday 21 March 2025 at 08:30 Chicago = 13:30 UTC; with
`auto_roll_business_days: 0` that is the roll instant, and ESM5 is the front month after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from sysbrokers.IB.connection_supervisor import EventKind
from sysbrokers.IB.contract_names import ContractNameError
from sysbrokers.IB.front_month_stream import (
    BarEvent,
    QuoteEvent,
    RollEvent,
    stream_contract_quotes,
    stream_front_month_bars,
    stream_front_month_quotes,
)
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysobjects.contracts import futuresContract
from sysobjects.front_month import (
    DEFAULT_RULES_YAML,
    front_month,
    instrument_rules_from_config,
    load_instrument_rules,
)
from tests.connection import open_conn

UTC = dt.UTC
ROLL = dt.datetime(2025, 3, 21, 13, 30, tzinfo=UTC)
ESH5, ESM5 = futuresContract("SP500", "202503"), futuresContract("SP500", "202506")
CHECK = 0.05  # the streams ask the gateway's clock every 50 ms here


@dataclass
class Got:
    at: float  # time.monotonic() on arrival
    event: Any


def consume(conn, coro, timeout: float = 20.0):
    return conn.run_sync(asyncio.wait_for(coro, timeout))


async def read_past_roll(stream, after_roll: int, on_event=None) -> list[Got]:
    """Events until `after_roll` events arrived after the RollEvent; then the stream is closed."""
    got: list[Got] = []
    rolled_at: int | None = None
    try:
        async for event in stream:
            got.append(Got(time.monotonic(), event))
            if on_event is not None:
                on_event(got)
            if isinstance(event, RollEvent):
                rolled_at = len(got)
            if rolled_at is not None and len(got) - rolled_at >= after_roll:
                break
    finally:
        await stream.aclose()
    return got


def split(got: list[Got]) -> tuple[list[Got], RollEvent, list[Got]]:
    rolls = [i for i, g in enumerate(got) if isinstance(g.event, RollEvent)]
    assert len(rolls) == 1, [type(g.event).__name__ for g in got]
    i = rolls[0]
    return got[:i], got[i].event, got[i + 1 :]


def live_quote_symbols(sim, client_id: int) -> list[str]:
    session = sim.sessions.get(client_id)
    return [] if session is None else sorted(s.instrument.local_symbol for s in session.mkt_subs.values())


def test_the_rules_roll_es_at_its_expiry():
    rules = load_instrument_rules()["SP500"]
    assert front_month(rules, ROLL - dt.timedelta(microseconds=1)).contract_id == "202503"
    assert front_month(rules, ROLL).contract_id == "202506"
    assert front_month(rules, ROLL).roll_utc > ROLL


def test_quotes_roll_to_the_next_contract_without_dropping_the_reader(sims, conns, tmp_path):
    sim = sims(start=ROLL - dt.timedelta(seconds=15), speed=10)  # the roll comes after ~1.5 s
    conn = open_conn(sim, conns, tmp_path, client_id=11)
    subs_seen: list[list[str]] = []
    stream = stream_front_month_quotes(conn, "ES", check_seconds=CHECK)  # the IB symbol works too
    got = consume(conn, read_past_roll(stream, 8, lambda g: subs_seen.append(live_quote_symbols(sim, 11))))
    before, roll, after = split(got)
    assert len(before) >= 3 and len(after) == 8
    assert all(isinstance(g.event, QuoteEvent) for g in before + after)
    assert {(g.event.contract, g.event.local_symbol) for g in before} == {(ESH5, "ESH5")}
    assert {(g.event.contract, g.event.local_symbol) for g in after} == {(ESM5, "ESM5")}
    assert (roll.old_contract, roll.new_contract) == (ESH5, ESM5)
    assert (roll.old_local_symbol, roll.new_local_symbol, roll.instrument_code) == ("ESH5", "ESM5", "SP500")
    # at the roll instant by the gateway's clock: never before, and within a few simulated seconds
    assert ROLL <= roll.time < ROLL + dt.timedelta(seconds=10)  # within 1 s of real time
    times = [g.event.time for g in got]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert all(g.event.time < ROLL for g in before) and all(g.event.time >= ROLL for g in after)
    for g in before + after:
        assert 5000 < g.event.bid < g.event.ask < 10000
    # seamless: the next contract's first quote follows the roll within a bounded time
    roll_arrival = next(g.at for g in got if g.event is roll)
    assert after[0].at - roll_arrival < 1.0
    assert max(b.at - a.at for a, b in zip(got, got[1:], strict=False)) < 1.5
    # at the gateway: ESH5 only before, ESM5 only once the roll is through, nothing after aclose
    # (the gateway registers a request just after sending its first ticks: skip that instant)
    seen = subs_seen[next(i for i, s in enumerate(subs_seen) if s) :]
    assert seen[0] == ["ESH5"] and seen[-1] == ["ESM5"]
    assert all(s in (["ESH5"], ["ESH5", "ESM5"], ["ESM5"]) for s in seen)
    assert conn.wait_until(lambda: live_quote_symbols(sim, 11) == [], 2)
    assert len(conn.supervisor.subscriptions) == 0
    assert stream.stats.rolls == 1 and stream.stats.roll_failures == 0
    assert stream.current_contract == ESM5 and stream.current_local_symbol == "ESM5"
    described = stream.describe()
    assert (described["contract"], described["local_symbol"], described["rolls"]) == ("SP500/20250600", "ESM5", 1)
    assert described["closed"] and described["next_roll_utc"] == "2025-06-20T13:30:00+00:00"


def test_bars_roll_after_the_old_contracts_last_bar(sims, conns, tmp_path):
    sim = sims(start=ROLL - dt.timedelta(seconds=11), speed=5)  # a bar a second; the roll within one
    conn = open_conn(sim, conns, tmp_path, client_id=12)
    prices = ibFuturesContractPriceData(conn)
    stream = prices.stream_front_month_bars("SP500", check_seconds=CHECK)
    before, roll, after = split(consume(conn, read_past_roll(stream, 3)))
    assert before and all(isinstance(g.event, BarEvent) and g.event.local_symbol == "ESH5" for g in before)
    assert all(isinstance(g.event, BarEvent) and g.event.local_symbol == "ESM5" for g in after)
    # the old contract's bars run up to the roll instant, the new one's start there
    assert before[-1].event.time == ROLL - dt.timedelta(seconds=5)
    assert [g.event.time for g in after] == [ROLL + dt.timedelta(seconds=5 * i) for i in range(3)]
    starts = [g.event.time for g in before]
    assert all(b - a == dt.timedelta(seconds=5) for a, b in zip(starts, starts[1:], strict=False))
    assert (roll.old_local_symbol, roll.new_local_symbol) == ("ESH5", "ESM5")
    for g in before + after:
        bar = g.event
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert stream.stats.gaps == 0 and stream.stats.missing_updates == 0 and stream.stats.rolls == 1
    assert conn.wait_until(lambda: not sim.sessions[12].rt_subs, 2)


def test_minute_bars_of_the_front_month_are_ib_bars(sims, conns, tmp_path):
    start = ROLL - dt.timedelta(minutes=3, seconds=2)
    sim = sims(start=start, speed=60)
    conn = open_conn(sim, conns, tmp_path, client_id=13)
    stream = stream_front_month_bars(conn, "SP500", "1 min", check_seconds=CHECK)
    before, roll, after = split(consume(conn, read_past_roll(stream, 1)))
    assert [g.event.time for g in before][-2:] == [ROLL - dt.timedelta(minutes=2), ROLL - dt.timedelta(minutes=1)]
    assert after[0].event.time == ROLL and after[0].event.local_symbol == "ESM5"
    client = ibFuturesContractPriceData(conn).ib_client
    for bar in (before[-1].event, after[0].event):
        contract = client.resolve(bar.contract, allow_expired=True).contract
        end = (bar.time + dt.timedelta(minutes=1)).strftime("%Y%m%d-%H:%M:%S")
        [ib_bar] = conn.ib.reqHistoricalData(contract, end, "60 S", "1 min", "TRADES", False, 2)
        assert ib_bar.date == bar.time
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            ib_bar.open,
            ib_bar.high,
            ib_bar.low,
            ib_bar.close,
            float(ib_bar.volume),
        )


def test_a_roll_during_a_gateway_restart_happens_once_it_is_back(sims, conns, tmp_path):
    # The gateway goes down 0.3 s before the roll instant and stays down for 1 s (10 simulated
    # seconds): the roll cannot be made then; it is made as soon as the gateway is back, and the
    # reader's iterator carries on throughout.
    sim = sims(start=ROLL - dt.timedelta(seconds=12), speed=10)
    conn = open_conn(sim, conns, tmp_path, client_id=14)
    marks: dict[str, float] = {}

    def restart_early(got: list[Got]) -> None:
        if "fault" not in marks and sim.clock.now() >= ROLL - dt.timedelta(seconds=3):
            marks["fault"] = time.monotonic()
            sim.faults.daily_restart(down_seconds=1.0)

    def on_event(event) -> None:
        if event.kind is EventKind.RECONNECTED:
            marks.setdefault("reconnected", time.monotonic())

    conn.events += on_event
    stream = stream_front_month_quotes(conn, "SP500", check_seconds=CHECK)
    before, roll, after = split(consume(conn, read_past_roll(stream, 5, restart_early)))
    assert "fault" in marks and "reconnected" in marks
    assert (roll.old_local_symbol, roll.new_local_symbol) == ("ESH5", "ESM5")
    assert all(g.event.local_symbol == "ESH5" for g in before) and all(g.event.local_symbol == "ESM5" for g in after)
    assert roll.time >= ROLL
    # the roll waited for the gateway; nothing but the old contract's quotes came before it
    assert after[0].at >= marks["reconnected"]
    assert stream.stats.rolls == 1
    stats = conn.get_stats()
    assert stats["disconnects"] == 1 and stats["reconnects"] == 1
    assert conn.wait_until(lambda: live_quote_symbols(sim, 14) == [], 2)


def test_closing_the_stream_before_any_roll_cancels_the_subscription(sims, conns, tmp_path):
    sim = sims(start=ROLL - dt.timedelta(hours=1), speed=10)
    conn = open_conn(sim, conns, tmp_path, client_id=15)

    async def three(stream):
        got = []
        async for event in stream:
            got.append(event)
            if len(got) == 3:
                break
        return got

    stream = stream_front_month_quotes(conn, "NASDAQ", check_seconds=CHECK)
    got = consume(conn, three(stream))
    assert [e.local_symbol for e in got] == ["NQH5"] * 3
    assert live_quote_symbols(sim, 15) == ["NQH5"]
    consume(conn, stream.aclose())
    assert conn.wait_until(lambda: live_quote_symbols(sim, 15) == [], 2)
    assert stream.next_roll_utc == ROLL


def test_unknown_instrument_raises_a_typed_error(conn):
    with pytest.raises(ContractNameError, match="'NOPE'"):
        stream_front_month_quotes(conn, "NOPE")
    with pytest.raises(ContractNameError, match="'ESX'"):
        stream_contract_quotes(conn, "ESX")


def test_a_roll_with_a_one_line_budget_switches_without_overlap(sims, conns, tmp_path, caplog):
    sim = sims(start=ROLL - dt.timedelta(seconds=12), speed=10)
    conn = open_conn(sim, conns, tmp_path, client_id=16, ib_market_data_lines=1)
    held: list[int] = []

    def count_lines(got: list[Got]) -> None:
        held.append(conn.supervisor._lines.held())

    stream = stream_front_month_quotes(conn, "SP500", check_seconds=CHECK)
    before, roll, after = split(consume(conn, read_past_roll(stream, 3, count_lines)))
    assert before and (roll.old_local_symbol, roll.new_local_symbol) == ("ESH5", "ESM5")
    assert all(g.event.local_symbol == "ESM5" for g in after)
    assert set(held) == {1}  # the stream's quotes hold one line of the login, before and after the roll
    assert conn.supervisor._lines.held() == 0  # closed: given back
    assert "no spare market-data line for the roll" in caplog.text


def test_a_stream_started_just_after_the_contract_went_takes_the_next(sims, conns, tmp_path):
    # Rules whose roll comes 20 s after IB's expiry: at the start the rules still name ESH5, IB has
    # retired it already. A start this close to the roll takes the next contract instead of failing.
    document = yaml.safe_load(DEFAULT_RULES_YAML.read_text())
    late = instrument_rules_from_config(
        "SP500", {**document["defaults"], **document["instruments"]["SP500"], "last_trade_time": "08:31"}
    )
    sim = sims(start=ROLL + dt.timedelta(seconds=40), speed=0)  # frozen, 20 s before the late roll
    conn = open_conn(sim, conns, tmp_path, client_id=17)
    stream = stream_front_month_quotes(conn, "SP500", rules=late, check_seconds=CHECK)
    assert front_month(late, ROLL + dt.timedelta(seconds=40)).contract_id == "202503"

    async def first():
        async for event in stream:
            await stream.aclose()
            return event

    event = consume(conn, first())
    assert isinstance(event, QuoteEvent) and event.local_symbol == "ESM5"
    assert stream.next_roll_utc == dt.datetime(2025, 6, 20, 13, 31, tzinfo=UTC)
