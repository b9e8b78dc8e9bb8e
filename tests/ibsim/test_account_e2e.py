"""Account values, portfolio, summary, positions and P&L through ib_async."""

from __future__ import annotations

from ib_async import Future, MarketOrder

from .conftest import wait_until


def _value(ib, tag, currency="USD"):
    return float(next(v.value for v in ib.accountValues() if v.tag == tag and v.currency == currency))


def test_account_values_at_connect(ib):
    assert _value(ib, "NetLiquidation") == 1_000_000.0
    assert _value(ib, "TotalCashValue") == 1_000_000.0
    assert _value(ib, "InitMarginReq") == 0.0


def test_account_summary_tags(ib):
    summary = ib.accountSummary()
    tags = {v.tag for v in summary}
    for tag in (
        "NetLiquidation",
        "TotalCashValue",
        "BuyingPower",
        "InitMarginReq",
        "MaintMarginReq",
        "AvailableFunds",
        "ExcessLiquidity",
        "EquityWithLoanValue",
        "AccountType",
    ):
        assert tag in tags, tag
    assert all(v.account == "DU123456" for v in summary)


def test_fill_moves_margin_cash_and_portfolio(sim, ib):
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 2))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: _value(ib, "InitMarginReq") > 0, timeout=5)
    assert wait_until(ib, lambda: any(p.contract.conId == es.conId and p.position == 2 for p in ib.portfolio()))
    assert wait_until(ib, lambda: _value(ib, "TotalCashValue") < 1_000_000.0)  # commissions paid
    [item] = [p for p in ib.portfolio() if p.contract.conId == es.conId]
    assert item.marketPrice > 0
    assert item.averageCost > 0


def test_positions_survive_reconnect(sim, connect):
    ib = connect(sim, client_id=11)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("SELL", 3))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    ib.disconnect()
    other = connect(sim, client_id=12)
    assert any(p.contract.conId == es.conId and p.position == -3 for p in other.positions())


def test_pnl_subscription(sim, ib):
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    pnl = ib.reqPnL("DU123456")
    assert wait_until(ib, lambda: pnl.unrealizedPnL == pnl.unrealizedPnL and pnl.unrealizedPnL is not None)
    ib.cancelPnL("DU123456")


def test_state_file_keeps_the_account(sim_factory, connect, tmp_path):
    state = tmp_path / "ibsim.state.json"
    sim = sim_factory(state_file=str(state))
    ib = connect(sim)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    ib.disconnect()
    sim.stop_in_thread()
    assert state.exists()
    again = sim_factory(state_file=str(state))
    other = connect(again, client_id=1)
    assert any(p.contract.conId == es.conId and p.position == 1 for p in other.positions())
    assert other.client.getReqId() > trade.order.orderId
