"""Streaming and snapshot market data, delayed data and real-time bars through ib_async."""

from __future__ import annotations

import math

import pytest
from ib_async import Forex, Future

from .conftest import CLOSED_MARKET, wait_until


@pytest.fixture
def esm5(ib):
    [contract] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    return contract


def test_streaming_quotes(sim, ib, esm5):
    ticker = ib.reqMktData(esm5, "", False, False)
    assert wait_until(ib, lambda: not math.isnan(ticker.bid) and not math.isnan(ticker.ask))
    assert ticker.bid < ticker.ask
    assert ticker.ask - ticker.bid >= 0.25
    assert ticker.bidSize > 0 and ticker.askSize > 0
    assert not math.isnan(ticker.last) and not math.isnan(ticker.close)
    seen = set()
    ticker.updateEvent += lambda t: seen.add((t.bid, t.ask, t.last))
    assert wait_until(ib, lambda: len(seen) >= 2, timeout=8)
    ib.cancelMktData(esm5)
    assert wait_until(ib, lambda: not sim.sessions[1].mkt_subs)


def test_snapshot(ib, esm5):
    [ticker] = ib.reqTickers(esm5)
    assert ticker.bid < ticker.ask
    assert ticker.marketPrice() > 0


def test_fx_quotes(ib):
    [eurusd] = ib.qualifyContracts(Forex("EURUSD"))
    ticker = ib.reqMktData(eurusd)
    assert wait_until(ib, lambda: not math.isnan(ticker.bid))
    assert 0.5 < ticker.bid < 2.0


def test_no_permission_live_is_354_delayed_is_served(sim_factory, connect):
    sim = sim_factory(permissions=frozenset({"NYMEX"}))
    ib = connect(sim)
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    ib.reqMktData(es)
    assert wait_until(ib, lambda: 354 in errors)
    ib.cancelMktData(es)
    ib.reqMarketDataType(3)
    ticker = ib.reqMktData(es)
    assert wait_until(ib, lambda: not math.isnan(ticker.bid))
    assert 10167 in errors
    assert ticker.marketDataType == 3
    # delayed ticks arrive on the delayed tick ids (66 bid, 67 ask, ...)
    assert wait_until(ib, lambda: any(t.tickType in (66, 67, 68) for t in ticker.ticks) or ticker.bid > 0)


def test_closed_market_still_answers_with_last_values(sim_factory, connect):
    sim = sim_factory(start=CLOSED_MARKET)
    ib = connect(sim)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    [ticker] = ib.reqTickers(es)
    assert ticker.close > 0
    assert sim.market.quote(sim.catalog.by_con_id(es.conId), sim.clock.now()).is_open is False


def test_real_time_bars(sim_factory, connect):
    sim = sim_factory(speed=20.0)
    ib = connect(sim)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    bars = ib.reqRealTimeBars(es, 5, "TRADES", False)
    assert wait_until(ib, lambda: len(bars) >= 3, timeout=8)
    times = [b.time for b in bars]
    assert times == sorted(times)
    assert all((t.second % 5) == 0 for t in times)
    assert all(b.low <= b.open_ <= b.high for b in bars)
    ib.cancelRealTimeBars(bars)


def test_ticker_limit(sim_factory, connect):
    sim = sim_factory(max_tickers=2)
    ib = connect(sim)
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    contracts = ib.qualifyContracts(
        Future("ES", "202506", "CME"), Future("NQ", "202506", "CME"), Future("ZN", "202506", "CBOT")
    )
    for c in contracts:
        ib.reqMktData(c)
    assert wait_until(ib, lambda: 101 in errors)
