"""Item 3: pysystemtrade's ticker objects — bid/ask/size, mid and spread, live updates, clean
cancellation — on the connection supervisor's market data, against ibsim."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from sysbrokers.IB.ib_ticker import ibTickerObject
from syscore.exceptions import missingContract
from sysexecution.tick_data import dataFrameOfRecentTicks
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder

SP500_JUN = futuresContract("SP500", "202506")
CORN_MAY = futuresContract("CORN", "202505")


def _sim_quote(sim, con_id):
    return sim.call(lambda: sim.market.quote(sim.catalog.by_con_id(con_id), sim.clock.now()))


def test_ticker_for_contract_updates_live_and_cancels(sim, data):
    prices = data.broker_futures_contract_price
    supervisor = data.ib_conn.supervisor
    before = len(supervisor.subscriptions)
    ticker = prices.get_ticker_object_for_contract(SP500_JUN)
    assert isinstance(ticker, ibTickerObject) and ticker.qty is None
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    assert 0 < tick.bid_price < tick.ask_price and tick.bid_size > 0 and tick.ask_size > 0
    assert ticker.bid() > 0 and ticker.ask_size() > 0
    assert ticker.spread() > 0 and ticker.bid() <= ticker.mid_price() <= ticker.ask()
    quote = _sim_quote(sim, ticker.ticker.contract.conId)
    assert abs(ticker.bid() - quote.bid) <= 5 and abs(ticker.ask() - quote.ask) <= 5  # the market now
    # Live: the ticker follows the market without being asked again.
    updates = ticker.handle.updates
    assert data.ib_conn.wait_until(lambda: ticker.handle.updates > updates, 5)
    assert len(supervisor.subscriptions) == before + 1
    prices.cancel_market_data_for_contract(SP500_JUN)
    assert not ticker.active and len(supervisor.subscriptions) == before
    prices.cancel_market_data_for_contract(SP500_JUN)  # nothing left: no error


def test_ticker_for_order_is_sided_and_in_layer_units(sim, data):
    prices = data.broker_futures_contract_price
    buy = brokerOrder("CORN", "202505", 3, strategy_name="trend")
    ticker = prices.get_ticker_object_for_order(buy)
    assert ticker.qty == 3
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    assert tick.bid_price < 20  # CORN in dollars (IB quotes cents; magnifier 100)
    assert ticker.side_price() <= ticker.offside_price()  # buying: bid on our side, pay the ask
    # pysystemtrade's contractOrder: instrument_code, contract_date, trade as a one-leg list
    contract_order = SimpleNamespace(instrument_code="CORN", contract_date="20250500", trade=[-2])
    seller = prices.get_ticker_object_for_order(contract_order)
    assert seller.qty == -2 and seller.handle is ticker.handle  # one subscription per contract
    assert seller.side_price() >= seller.offside_price()
    prices.cancel_market_data_for_order(contract_order)
    assert not ticker.active and not seller.active
    spread = SimpleNamespace(instrument_code="CORN", contract_date="20250500", trade=[1, -1])
    with pytest.raises(missingContract, match="spread"):
        prices.get_ticker_object_for_order(spread)


def test_ticker_with_trade_qty_and_recent_ticks(data):
    prices = data.broker_futures_contract_price
    ticker = prices.get_ticker_object_for_contract_and_trade_qty(SP500_JUN, [-1])
    ticker.wait_for_valid_bid_and_ask_and_return_current_tick()
    assert ticker.qty == -1 and ticker.offside_size() > 0
    ticker.current_tick()
    seen = ticker.as_df()
    assert list(seen.columns) == ["bid_price", "ask_price", "bid_size", "ask_size"] and len(seen) >= 1
    prices.cancel_market_data_for_contract(SP500_JUN)
    ticks = prices.get_recent_bid_ask_tick_data_for_contract_object(SP500_JUN, max_ticks=2, max_seconds=5)
    assert isinstance(ticks, dataFrameOfRecentTicks) and len(ticks) == 2
    assert str(ticks.index.tz) == "UTC" and (ticks["ask_price"] > ticks["bid_price"]).all()
    assert 0 < ticks.average_bid_offer_spread() < 5
    assert not math.isnan(ticks["bid_size"].iloc[-1])


def test_ticker_keeps_updating_after_1101(sim, data):
    from sysbrokers.IB.connection_supervisor import EventKind

    conn = data.ib_conn
    seen = []
    conn.events += seen.append
    prices = data.broker_futures_contract_price
    ticker = prices.get_ticker_object_for_contract(SP500_JUN)
    ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    old_req_id = ticker.handle.req_id
    sim.faults.connectivity_lost(restore="1101", after=0.2)  # IB: "connectivity restored, data lost"
    assert conn.wait_until(lambda: any(e.kind is EventKind.RESUBSCRIBED for e in seen), 5)
    updates = ticker.handle.updates
    assert conn.wait_until(lambda: ticker.handle.updates > updates, 5)
    assert ticker.handle.req_id != old_req_id and ticker.active
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    assert 0 < tick.bid_price < tick.ask_price
    prices.cancel_market_data_for_contract(SP500_JUN)
    assert not ticker.active
