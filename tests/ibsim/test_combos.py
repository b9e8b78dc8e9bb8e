"""Futures calendar spreads (BAG combos) through ib_async: quotes, fills per leg, the combo's own
execution, open/completed orders, executions, positions and refusals."""

from __future__ import annotations

import pytest
from ib_async import Bag, ComboLeg, ExecutionFilter, Future, LimitOrder, MarketOrder

from ibsim.combos import BAG_CON_ID, resolve_combo
from ibsim.messages import ComboLegSpec, ContractSpec

from .conftest import wait_until
from .test_ib_insync import insync_path  # noqa: F401 - the fixture


@pytest.fixture
def legs(ib):
    front, back = ib.qualifyContracts(Future("ES", "202506", "CME"), Future("ES", "202509", "CME"))
    return front, back


def _bag(front, back, ratio=1, exchange="CME", symbol="ES"):
    return Bag(
        symbol=symbol,
        exchange=exchange,
        currency="USD",
        comboLegs=[
            ComboLeg(conId=front.conId, ratio=ratio, action="SELL", exchange=exchange),
            ComboLeg(conId=back.conId, ratio=ratio, action="BUY", exchange=exchange),
        ],
    )


def _quotes(sim, front, back):
    now = sim.clock.now()
    return (
        sim.market.quote(sim.catalog.by_con_id(front.conId), now),
        sim.market.quote(sim.catalog.by_con_id(back.conId), now),
    )


def test_combo_quotes_follow_ibs_convention(sim, ib, legs):
    front, back = legs
    ticker = ib.reqMktData(_bag(front, back))
    assert wait_until(ib, lambda: ticker.bid == ticker.bid and ticker.ask == ticker.ask and ticker.bidSize > 0)
    q_front, q_back = _quotes(sim, front, back)
    # SELL front / BUY back: bid = back.bid - front.ask, ask = back.ask - front.bid (the clock moves a little)
    assert ticker.bid == pytest.approx(q_back.bid - q_front.ask, abs=3.0)
    assert ticker.ask == pytest.approx(q_back.ask - q_front.bid, abs=3.0)
    assert ticker.ask > ticker.bid
    spec = ContractSpec(sec_type="BAG", symbol="ES", exchange="CME")
    spec.combo_legs = [ComboLegSpec(front.conId, 1, "SELL", "CME"), ComboLegSpec(back.conId, 1, "BUY", "CME")]
    combo = resolve_combo(spec, sim.catalog.by_con_id)
    q = sim.market.quote(combo, sim.clock.now())
    q_front, q_back = _quotes(sim, front, back)
    assert q.is_open and q.bid_size == min(q_back.bid_size, q_front.ask_size)
    ib.cancelMktData(ticker.contract)


def test_market_combo_fills_both_legs_with_a_combo_execution(sim, ib, legs):
    front, back = legs
    trade = ib.placeOrder(_bag(front, back), MarketOrder("BUY", 2, orderRef="roll-1"))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: len(trade.fills) == 3)
    by_kind = {f.contract.secType if f.contract.secType == "BAG" else f.contract.conId: f for f in trade.fills}
    combo, sold, bought = by_kind["BAG"], by_kind[front.conId], by_kind[back.conId]
    assert sold.execution.side == "SLD" and sold.execution.shares == 2
    assert bought.execution.side == "BOT" and bought.execution.shares == 2
    assert combo.contract.conId == BAG_CON_ID and combo.execution.side == "BOT" and combo.execution.shares == 2
    assert combo.execution.price == pytest.approx(bought.execution.price - sold.execution.price)
    assert trade.orderStatus.filled == 2
    assert trade.orderStatus.avgFillPrice == pytest.approx(combo.execution.price)
    for leg_fill in (sold, bought):
        assert leg_fill.execution.orderRef == "roll-1" and leg_fill.execution.permId == trade.order.permId
        assert wait_until(ib, lambda f=leg_fill: f.commissionReport.commission > 0)
    positions = lambda: {p.contract.conId: p.position for p in ib.positions()}  # noqa: E731
    assert wait_until(ib, lambda: positions().get(front.conId) == -2 and positions().get(back.conId) == 2)
    assert BAG_CON_ID not in positions()
    # reqExecutions: the two legs and the combo, each once
    fills = ib.reqExecutions(ExecutionFilter(clientId=1))
    mine = [f for f in fills if f.execution.permId == trade.order.permId]
    assert sorted(f.contract.secType for f in mine) == ["BAG", "FUT", "FUT"]
    # completed orders report the combo with its legs
    done = [t for t in ib.reqCompletedOrders(apiOnly=True) if t.order.permId == trade.order.permId]
    assert done and done[0].contract.secType == "BAG"
    assert [(leg.conId, leg.action) for leg in done[0].contract.comboLegs] == [
        (front.conId, "SELL"),
        (back.conId, "BUY"),
    ]


def test_limit_combo_rests_in_open_orders_until_marketable(sim, ib, legs):
    front, back = legs
    q_front, q_back = _quotes(sim, front, back)
    far = round(q_back.bid - q_front.ask - 50, 2)
    trade = ib.placeOrder(_bag(front, back), LimitOrder("BUY", 1, far))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    [mine] = [t for t in ib.reqOpenOrders() if t.order.orderId == trade.order.orderId]
    assert mine.contract.secType == "BAG" and len(mine.contract.comboLegs) == 2
    assert not trade.fills
    # marketable now: at or above the combo's ask
    trade.order.lmtPrice = round(q_back.ask - q_front.bid + 50, 2)
    ib.placeOrder(trade.contract, trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    combo = next(f for f in trade.fills if f.contract.secType == "BAG")
    assert combo.execution.price <= trade.order.lmtPrice  # the touch, not the limit


def test_selling_the_combo_reverses_the_legs(sim, ib, legs):
    front, back = legs
    trade = ib.placeOrder(_bag(front, back), MarketOrder("SELL", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled" and len(trade.fills) == 3)
    sides = {f.contract.conId: f.execution.side for f in trade.fills}
    assert sides[front.conId] == "BOT" and sides[back.conId] == "SLD" and sides[BAG_CON_ID] == "SLD"


@pytest.mark.parametrize(
    "change, code",
    [
        ("unknown_leg", 200),
        ("zero_ratio", 321),
        ("other_underlying", 321),
    ],
)
def test_invalid_combos_are_refused(sim, ib, legs, change, code):
    front, back = legs
    bag = _bag(front, back)
    if change == "unknown_leg":
        bag.comboLegs[1].conId = 999_999_999
    elif change == "zero_ratio":
        bag.comboLegs[1].ratio = 0
    else:
        [gold] = ib.qualifyContracts(Future("GC", "202506", "COMEX"))
        bag.comboLegs[1].conId = gold.conId
    errors = []
    ib.errorEvent += lambda req_id, err, text, contract: errors.append((req_id, err, text))
    trade = ib.placeOrder(bag, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: any(e[0] == trade.order.orderId for e in errors))
    assert [e[1] for e in errors if e[0] == trade.order.orderId] == [code]
    assert not sim.broker.open_orders(None)
    assert not trade.fills


def test_combo_orders_survive_a_state_round_trip(sim, ib, legs):
    from ibsim.broker import Broker

    front, back = legs
    q_front, q_back = _quotes(sim, front, back)
    trade = ib.placeOrder(_bag(front, back), LimitOrder("BUY", 1, round(q_back.bid - q_front.ask - 50, 2)))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    state = sim.call(sim.broker.to_state)
    restored = Broker.from_state(state, sim.catalog.by_con_id, sim.market, lambda ccy, now: 1.0)
    [record] = restored.open_orders(None)
    assert record.instrument is not None and record.instrument.sec_type == "BAG"
    assert [leg.instrument.con_id for leg in record.instrument.legs] == [front.conId, back.conId]


def test_modifying_a_combo_with_other_legs_is_refused(sim, ib, legs):
    front, back = legs
    q_front, q_back = _quotes(sim, front, back)
    trade = ib.placeOrder(_bag(front, back), LimitOrder("BUY", 1, round(q_back.bid - q_front.ask - 50, 2)))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    errors = []
    ib.errorEvent += lambda req_id, err, text, contract: errors.append((req_id, err))
    [later] = ib.qualifyContracts(Future("ES", "202512", "CME"))
    ib.placeOrder(_bag(front, later), trade.order)
    assert wait_until(ib, lambda: (trade.order.orderId, 105) in errors)
    [record] = sim.broker.open_orders(1)
    assert [leg.instrument.con_id for leg in record.instrument.legs] == [front.conId, back.conId]


def test_ib_insync_decodes_combo_orders(sim, insync_path):
    """ib_insync 0.9.86 (server version 176) reads the combo's executions and its legs too."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("insync_combo_client.py")
    env = dict(os.environ, PYTHONPATH=str(insync_path))
    result = subprocess.run(
        [sys.executable, str(script), str(sim.port)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    front, back = out["legs"]
    assert out["server_version"] == 176 and out["status"] == "Filled"
    assert out["fills"] == sorted([["BAG", BAG_CON_ID, "BOT"], ["FUT", front, "SLD"], ["FUT", back, "BOT"]])
    assert out["completed_legs"] == [[front, 1, "SELL"], [back, 1, "BUY"]]
