"""Orders, fills, commissions, executions and rejects through ib_async."""

from __future__ import annotations

import pytest
from ib_async import ExecutionFilter, Future, LimitOrder, MarketOrder, Order, StopOrder

from .conftest import wait_until


@pytest.fixture
def esm5(ib):
    [contract] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    return contract


def _filled(ib, trade, timeout=5.0):
    return wait_until(ib, lambda: trade.orderStatus.status == "Filled", timeout)


def test_market_order_fills_with_commission_and_position(sim, ib, esm5):
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    trade = ib.placeOrder(esm5, MarketOrder("BUY", 1, orderRef="mkt-1"))
    assert _filled(ib, trade)
    assert trade.orderStatus.filled == 1 and trade.orderStatus.remaining == 0
    assert trade.order.permId > 0
    assert trade.order.clientId == 1
    [fill] = trade.fills
    assert fill.execution.side == "BOT"
    assert fill.execution.shares == 1
    assert abs(fill.execution.price - quote.ask) <= 2.0  # at the touch (the clock moved a little)
    assert fill.execution.orderRef == "mkt-1"
    assert wait_until(ib, lambda: fill.commissionReport.commission > 0)
    assert fill.commissionReport.currency == "USD"
    assert wait_until(ib, lambda: any(p.contract.conId == esm5.conId and p.position == 1 for p in ib.positions()))
    [pos] = [p for p in ib.positions() if p.contract.conId == esm5.conId]
    assert pos.avgCost == pytest.approx(fill.execution.price * 50)


def test_limit_order_rests_modifies_and_cancels(sim, ib, esm5):
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    far = quote.bid - 200
    trade = ib.placeOrder(esm5, LimitOrder("BUY", 2, far))
    assert wait_until(ib, lambda: trade.orderStatus.status in ("Submitted", "PreSubmitted"))
    assert trade.orderStatus.status == "Submitted"
    trade.order.lmtPrice = far - 10
    ib.placeOrder(esm5, trade.order)
    assert wait_until(ib, lambda: sim.broker.open_orders(1)[0].spec.lmt_price == far - 10)
    ib.sleep(0.1)  # let the modification's own openOrder arrive before asking for the list
    open_orders = ib.reqOpenOrders()
    [mine] = [t for t in open_orders if t.order.orderId == trade.order.orderId]
    assert mine.order.lmtPrice == far - 10
    codes = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append((req_id, code))
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert wait_until(ib, lambda: (trade.order.orderId, 202) in codes)
    completed = ib.reqCompletedOrders(apiOnly=True)
    assert any(t.order.permId == trade.order.permId and t.orderStatus.status == "Cancelled" for t in completed), [
        (t.order.permId, t.orderStatus.status) for t in completed
    ]


def test_marketable_limit_fills_at_the_touch(sim, ib, esm5):
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    trade = ib.placeOrder(esm5, LimitOrder("SELL", 1, quote.bid - 20))
    assert _filled(ib, trade)
    assert trade.orderStatus.avgFillPrice > quote.bid - 20  # price improvement


def test_partial_fills_above_displayed_size(sim_factory, connect):
    sim = sim_factory(initial_cash=50_000_000.0)
    ib = connect(sim)
    [esm5] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(esm5, MarketOrder("BUY", 300))
    assert _filled(ib, trade, timeout=15)
    assert len(trade.fills) > 1
    assert sum(f.execution.shares for f in trade.fills) == 300
    assert trade.fills[-1].execution.cumQty == 300


def test_stop_order_waits_for_its_trigger(sim, ib, esm5):
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    trade = ib.placeOrder(esm5, StopOrder("BUY", 1, quote.ask + 500))
    assert wait_until(ib, lambda: trade.orderStatus.status == "PreSubmitted")
    ib.sleep(0.3)
    assert trade.orderStatus.filled == 0
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")


def test_global_cancel(sim, ib, esm5):
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    trades = [ib.placeOrder(esm5, LimitOrder("BUY", 1, quote.bid - 100 - i)) for i in range(3)]
    assert wait_until(ib, lambda: all(t.orderStatus.status == "Submitted" for t in trades))
    ib.reqGlobalCancel()
    assert wait_until(ib, lambda: all(t.orderStatus.status == "Cancelled" for t in trades))
    assert ib.reqOpenOrders() == []


def test_all_open_orders_across_clients(sim, connect, esm5):
    other = connect(sim, client_id=2)
    [es] = other.qualifyContracts(esm5)
    quote = sim.market.quote(sim.catalog.by_con_id(es.conId), sim.clock.now())
    trade = other.placeOrder(es, LimitOrder("BUY", 1, quote.bid - 150))
    assert wait_until(other, lambda: trade.orderStatus.status == "Submitted")
    first = connect(sim, client_id=3)
    mine = first.reqOpenOrders()
    everyone = first.reqAllOpenOrders()
    assert mine == []
    assert [t.order.permId for t in everyone] == [trade.order.permId]
    assert everyone[0].order.clientId == 2


def test_executions_filter(sim, connect, esm5):
    trader = connect(sim, client_id=2)
    buy = trader.placeOrder(esm5, MarketOrder("BUY", 2))
    assert _filled(trader, buy)
    sell = trader.placeOrder(esm5, MarketOrder("SELL", 1))
    assert _filled(trader, sell)
    # A fresh client sees every execution of the day with its commission report. (ib_async
    # attaches reports to the Fill objects it already holds, from its start-up sync, so a
    # reqExecutions() list carries empty reports; ib.fills() has them.)
    ib = connect(sim, client_id=3)
    all_fills = ib.reqExecutions()
    assert {f.execution.side for f in all_fills} == {"BOT", "SLD"}
    sold = ib.reqExecutions(ExecutionFilter(side="SELL"))
    assert sold and all(f.execution.side == "SLD" for f in sold)
    es_only = ib.reqExecutions(ExecutionFilter(symbol="ES", secType="FUT"))
    assert len(es_only) == len(all_fills)
    assert ib.reqExecutions(ExecutionFilter(symbol="NQ")) == []
    assert {f.execution.execId for f in ib.fills()} == {f.execution.execId for f in all_fills}
    assert all(f.commissionReport.commission > 0 for f in ib.fills())


def test_what_if_returns_margins_and_places_nothing(sim, ib, esm5):
    state = ib.whatIfOrder(esm5, MarketOrder("BUY", 2))
    assert float(state.initMarginChange) > 0
    assert float(state.maintMarginChange) > 0
    assert ib.reqOpenOrders() == []
    assert not [p for p in ib.positions() if p.contract.conId == esm5.conId]


def test_insufficient_margin_is_rejected_with_201(sim, ib, esm5):
    trade = ib.placeOrder(esm5, MarketOrder("BUY", 5000))
    assert wait_until(ib, lambda: trade.isDone())
    assert trade.orderStatus.status in ("Cancelled", "Inactive")
    assert any(e.errorCode == 201 for e in trade.log)
    assert trade.fills == []


def test_injected_reject(sim, ib, esm5):
    sim.faults.reject_next_orders(1)
    rejected = ib.placeOrder(esm5, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: rejected.isDone())
    assert any(e.errorCode == 201 for e in rejected.log)
    accepted = ib.placeOrder(esm5, MarketOrder("BUY", 1))
    assert _filled(ib, accepted)


def test_delivery_period_reject(sim_factory, connect):
    import datetime as dt

    # ZN (physically delivered) June 2025 contract, a day before its last trade date.
    sim = sim_factory(start=dt.datetime(2025, 6, 17, 15, tzinfo=dt.UTC))
    ib = connect(sim)
    [zn] = ib.qualifyContracts(Future("ZN", "202506", "CBOT"))
    trade = ib.placeOrder(zn, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.isDone())
    assert any(e.errorCode == 201 for e in trade.log)


def test_off_tick_price_is_refused(sim, ib, esm5):
    trade = ib.placeOrder(esm5, LimitOrder("BUY", 1, 4000.1))
    assert wait_until(ib, lambda: any(e.errorCode == 110 for e in trade.log))


def test_order_ids_persist_per_client_across_connections(sim, connect):
    first = connect(sim, client_id=4)
    [es] = first.qualifyContracts(Future("ES", "202506", "CME"))
    trade = first.placeOrder(es, MarketOrder("BUY", 1))
    assert _filled(first, trade)
    used = trade.order.orderId
    first.disconnect()
    wait_until(first, lambda: 4 not in sim.sessions)
    again = connect(sim, client_id=4)
    assert again.client.getReqId() > used


def test_stop_limit_order_accepted(sim, ib, esm5):
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    order = Order(
        action="SELL", totalQuantity=1, orderType="STP LMT", auxPrice=quote.bid - 300, lmtPrice=quote.bid - 305
    )
    trade = ib.placeOrder(esm5, order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "PreSubmitted")
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
