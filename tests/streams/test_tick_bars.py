"""Bars from ticks: the builder, ibsim's trade ticks, and tick-by-tick trades against IB's own bars."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ibsim.catalog import Catalog
from ibsim.market import MarketModel
from ibsim.ticks import UNREPORTED, historical_ticks, trade_ticks
from sysbrokers.IB.front_month_stream import BidAskEvent, MidPointEvent, TradeEvent, stream_contract_ticks
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.tick_bars import OHLCVBar, TickBarBuilder, bar_seconds, bars_from_ticks
from tests.connection import open_conn

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 4, 14, 30, tzinfo=UTC)  # 08:30 in Chicago: the equity open, busy


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# ------------------------------------------------------------------------------ the builder
def test_bar_sizes():
    assert bar_seconds("5 secs") == 5 and bar_seconds("1 min") == 60 and bar_seconds("2 mins") == 120
    assert bar_seconds("1 hour") == 3600 and bar_seconds(15) == 15
    for bad in ("7 secs", "1 day", "five secs", "0 secs", "90 mins"):
        with pytest.raises(ValueError):
            bar_seconds(bad)


def test_trades_make_ohlcv_bars_completed_by_the_next_span():
    builder = TickBarBuilder(5)
    assert builder.add_trade(at(0), 10.0, 1) == []
    assert builder.add_trade(at(1), 12.0, 2) == []
    assert builder.add_trade(at(4.9), 9.0, 3) == []
    assert builder.add_trade(at(3), 11.0, 1) == []  # same span, even if late within it
    done = builder.add_trade(at(5), 11.5, 4)
    assert done == [OHLCVBar(at(0), 10.0, 12.0, 9.0, 11.0, 7.0, 4)]
    assert builder.flush(at(9.99)) == []  # the open bar is not over yet
    assert builder.flush(at(10)) == [OHLCVBar(at(5), 11.5, 11.5, 11.5, 11.5, 4.0, 1)]
    assert builder.flush() == []


def test_empty_spans_are_skipped_or_filled_flat():
    ticks = [TradeEvent(at(t), "SP500", None, "ESH5", p, s) for t, p, s in [(1, 5.0, 1), (17, 6.0, 2)]]
    assert [b.time for b in bars_from_ticks(ticks, 5)] == [at(0), at(15)]
    filled = bars_from_ticks(ticks, 5, fill_empty=True)
    assert [b.time for b in filled] == [at(0), at(5), at(10), at(15)]
    assert filled[1] == OHLCVBar(at(5), 5.0, 5.0, 5.0, 5.0, 0.0, 0)


def test_an_older_piece_is_dropped_and_counted():
    builder = TickBarBuilder(5)
    builder.add_trade(at(6), 1.0, 1)
    assert builder.add_trade(at(1), 2.0, 1) == []
    assert builder.out_of_order == 1


def test_bars_aggregate_shorter_bars():
    builder = TickBarBuilder("15 secs")
    pieces = [(0, 1, 3, 1, 2, 5), (5, 2, 2, 0.5, 1, 0), (10, 1, 4, 1, 4, 7)]
    for t, o, h, lo, c, v in pieces:
        assert builder.add_bar(at(t), o, h, lo, c, v) == []
    assert builder.flush(at(15)) == [OHLCVBar(at(0), 1, 4, 0.5, 4, 12.0, 3)]


# ------------------------------------------------------------------- ibsim's trade ticks
@pytest.fixture(scope="module")
def model():
    catalog = Catalog()
    return catalog, MarketModel(catalog.sessions_for_instrument, seed=0)


@pytest.mark.parametrize(("symbol", "bar_size"), [("ES", "5 secs"), ("ES", "1 min"), ("ZC", "15 secs")])
def test_ibsim_trade_ticks_aggregate_to_its_bars(model, symbol, bar_size):
    catalog, market = model
    inst = catalog.front_month(symbol, "", T0)
    end = T0 + dt.timedelta(minutes=10)
    ticks = trade_ticks(market, inst, T0, end)
    assert len(ticks) > 50
    reported = [t for t in ticks if not t[3] & UNREPORTED]
    assert all(size > 0 for _, _, size, _ in reported) and all(t[2] == 0 for t in ticks if t[3] & UNREPORTED)
    events = [TradeEvent(dt.datetime.fromtimestamp(t, UTC), "X", None, "X", p, s) for t, p, s, _ in ticks]
    ours = {b.time: b.ohlcv() for b in bars_from_ticks(events, bar_size, fill_empty=True)}
    theirs = market.bars(inst, T0, end, bar_size, "TRADES", False)
    compared = 0
    for i in range(len(theirs)):
        start = dt.datetime.fromtimestamp(int(theirs.time[i]), UTC)
        if start not in ours:
            assert theirs.volume[i] == 0 and start < min(ours)  # flat bars before the first trade
            continue
        row = (theirs.open[i], theirs.high[i], theirs.low[i], theirs.close[i], float(theirs.volume[i]))
        assert ours[start] == pytest.approx(row), start
        compared += 1
    assert compared >= len(theirs) - 2


# -------------------------------------------------------------- against the gateway
def consume(conn, coro, timeout: float = 15.0):
    return conn.run_sync(asyncio.wait_for(coro, timeout))


async def first_ticks(stream, seconds: float, at_least: int = 1) -> list:
    """Ticks covering `seconds` of the gateway's time (and at least `at_least` of them)."""
    got: list = []
    try:
        async for tick in stream:
            got.append(tick)
            if len(got) >= at_least and tick.time - got[0].time >= dt.timedelta(seconds=seconds):
                break
    finally:
        await stream.aclose()
    return got


@pytest.mark.parametrize(
    ("name", "local_symbol", "magnifier"),
    [("ESH5", "ESH5", 1), ("6EH5", "6EH5", 1), ("ZCK5", "ZC   MAY 25", 100)],  # 6E: ticks of 0.00005
)
def test_tick_by_tick_trades_aggregate_to_ib_bars(sims, conns, tmp_path, name, local_symbol, magnifier):
    sim = sims(start=T0, speed=30)
    conn = open_conn(sim, conns, tmp_path, client_id=3)
    prices = ibFuturesContractPriceData(conn)
    trades = consume(conn, first_ticks(prices.stream_trades(name), 45, at_least=20))
    assert all(isinstance(t, TradeEvent) and t.local_symbol == local_symbol for t in trades)
    assert all(t.time.tzinfo is not None and t.time.microsecond == 0 for t in trades)  # IB's whole seconds
    assert [t.time for t in trades] == sorted(t.time for t in trades)
    assert sum(t.size for t in trades) > 0
    if name == "ESH5":  # the open's busy seconds have more prices than volume: unreported prints
        assert any(t.unreported and t.size == 0 for t in trades)
    assert conn.wait_until(lambda: not sim.sessions[3].tbt_subs, 2)  # closing the stream cancelled it
    # IB's own 5-second and 15-second TRADES bars of the span the ticks cover completely
    first = trades[0].time.replace(second=trades[0].time.second - trades[0].time.second % 15) + dt.timedelta(seconds=15)
    last = trades[-1].time.replace(second=trades[-1].time.second - trades[-1].time.second % 15)
    assert (last - first).total_seconds() >= 15
    contract = prices.ib_client.resolve(trades[0].contract).contract
    for size in ("5 secs", "15 secs"):
        ours = {b.time: b.ohlcv() for b in bars_from_ticks(trades, size, fill_empty=True)}
        ib_bars = conn.ib.reqHistoricalData(
            contract,
            last.strftime("%Y%m%d-%H:%M:%S"),
            f"{int((last - first).total_seconds())} S",
            size,
            "TRADES",
            False,
            2,
        )
        assert ib_bars and ib_bars[0].date == first
        for bar in ib_bars:  # IB's prices in IB's units (cents for corn), the stream's in the layer's
            theirs = tuple(x / magnifier for x in (bar.open, bar.high, bar.low, bar.close)) + (float(bar.volume),)
            assert ours[bar.date] == theirs, (size, bar)


def test_last_ticks_leave_out_unreported_prints_and_match_historical_ticks(sims, conns, tmp_path):
    sim = sims(start=T0, speed=30)
    conn = open_conn(sim, conns, tmp_path, client_id=4)
    trades = consume(conn, first_ticks(stream_contract_ticks(conn, "ESH5", "Last"), 20, at_least=10))
    assert trades and all(t.size > 0 and not t.unreported for t in trades)
    contract = ibFuturesContractPriceData(conn).ib_client.resolve(trades[0].contract).contract
    start = trades[0].time.strftime("%Y%m%d-%H:%M:%S")
    history = conn.ib.reqHistoricalTicks(contract, start, "", len(trades), "TRADES", False)
    # the same trades; IB completes the last second, so a few more of it may come
    assert [(h.time, h.price, h.size) for h in history[: len(trades)]] == [(t.time, t.price, t.size) for t in trades]
    assert all(h.time == trades[-1].time for h in history[len(trades) :])


def test_historical_trade_ticks_complete_the_last_second(model):
    catalog, market = model
    inst = catalog.front_month("ES", "", T0)
    end = T0 + dt.timedelta(minutes=10)
    reported = [t for t in trade_ticks(market, inst, T0, end) if t[2] > 0]
    # a count that ends inside a second with several reported trades
    cut = next(i for i in range(1, len(reported)) if reported[i][0] == reported[i - 1][0])
    message = historical_ticks(market, inst, 7, "TRADES", T0, None, cut, False, end)
    n = message[2]
    times = [message[3 + 6 * k] for k in range(n)]
    assert n > cut and set(times[cut - 1 :]) == {reported[cut - 1][0]}
    assert times == [t for t, *_ in reported[:n]]
    backwards = historical_ticks(market, inst, 7, "TRADES", None, end, 1, False, end)
    assert len({backwards[3 + 6 * k] for k in range(backwards[2])}) == 1  # the whole last second


def test_bid_ask_and_midpoint_ticks(sims, conns, tmp_path):
    sim = sims(start=T0, speed=30)
    conn = open_conn(sim, conns, tmp_path, client_id=5)
    quotes = consume(conn, first_ticks(stream_contract_ticks(conn, "ESH5", "BidAsk"), 10, at_least=5))
    assert all(isinstance(q, BidAskEvent) and 5000 < q.bid < q.ask < 10000 for q in quotes)
    assert all(q.bid_size > 0 and q.ask_size > 0 for q in quotes)
    states = [(q.bid, q.ask, q.bid_size, q.ask_size) for q in quotes]
    assert all(a != b for a, b in zip(states, states[1:], strict=False))  # a tick per change
    mids = consume(conn, first_ticks(stream_contract_ticks(conn, "ESH5", "MidPoint"), 10, at_least=3))
    assert all(isinstance(m, MidPointEvent) and 5000 < m.mid < 10000 for m in mids)
    assert all(a.mid != b.mid for a, b in zip(mids, mids[1:], strict=False))
    assert all(m.mid * 8 == round(m.mid * 8) for m in mids)  # ES ticks are quarters: mids eighths
    assert conn.wait_until(lambda: not sim.sessions[5].tbt_subs, 2)
