"""Item 5: a roll as one calendar-spread (BAG) order through pysystemtrade's `dataBroker`, against
ibsim: one order sent, both legs filled and recorded per leg, the position moved to the next
contract, the combo's own execution seen; spread tickers and the spread's refusals."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sysbrokers.IB.client.ib_orders_client import ibOrderWithControls
from sysbrokers.IB.contract_resolution import spread_quantity_and_ratios
from sysbrokers.IB.order_checks import OrderUnknownContract
from syscore.exceptions import missingContract
from sysexecution.orders.named_order_objects import missing_order
from sysexecution.trade_qty import tradeQuantity
from sysobjects.contract_dates import contractDate
from sysobjects.contracts import futuresContract
from sysobjects.exceptions import InvalidContractDate
from sysobjects.orders import InvalidOrder, brokerOrder, orderStatus
from sysproduction.data.broker import dataBroker
from tests.connection import ACCOUNT

FRONT = futuresContract("SP500", "202506")
NEXT = futuresContract("SP500", "202509")
ROLL = futuresContract("SP500", "20250600_20250900")
BAG_CON_ID = 28812380  # IB's conId of every combo contract


def _positions(data_broker) -> dict[str, int]:
    """Position per contract month of SP500."""
    out: dict[str, int] = {}
    for pos in data_broker.get_all_current_contract_positions().positions_for_instrument("SP500"):
        out[pos.contract.date_str[:6]] = out.get(pos.contract.date_str[:6], 0) + pos.position
    return out


def _placed_orders(sim) -> list:
    return sim.call(lambda: [o for o in sim.broker.orders.values() if o.client_id == 1])


def test_spread_contract_ids_in_pysystemtrades_form():
    assert ROLL.is_spread_contract() and not FRONT.is_spread_contract()
    assert ROLL.contract_date.list_of_date_str == ["20250600", "20250900"]
    assert ROLL.as_list_of_individual_contracts() == [FRONT, NEXT]
    assert contractDate(["202506", "202509"]) == ROLL.contract_date
    assert ROLL.key == "SP500/20250600_20250900"
    with pytest.raises(InvalidContractDate):
        contractDate("20250600_20250600")
    order = brokerOrder("SP500", "20250600_20250900", [-1, 1], account=ACCOUNT)
    assert order.trade == tradeQuantity([-1, 1]) and order.is_spread_order
    assert order.filled_quantity == [0, 0] and not order.filled_quantity
    with pytest.raises(InvalidOrder):
        brokerOrder("SP500", "20250600_20250900", 1)  # a spread needs one quantity per leg
    with pytest.raises(InvalidOrder):
        brokerOrder("SP500", "20250600_20250900", [1, 0])
    # pysystemtrade's convention: the highest common factor, signed like the first leg
    assert spread_quantity_and_ratios([-2, 2]) == (-2, (1, -1))
    assert spread_quantity_and_ratios([1, -2]) == (1, (1, -2))


def test_roll_spread_through_the_facade(sim, conn, data):
    data_broker = dataBroker(data)
    # hold two front contracts
    held = data_broker.submit_broker_order(brokerOrder("SP500", "202506", 2, strategy_name="trend", account=ACCOUNT))
    assert data.broker_execution_stack.wait_for_order(held, "commissions")
    assert conn.wait_until(lambda: _positions(data_broker).get("202506") == 2, 5)
    orders_before = len(_placed_orders(sim))

    # the roll: sell the front, buy the next, as ONE BAG order (pysystemtrade's per-leg trade list)
    roll = brokerOrder("SP500", ROLL.date_str, [-2, 2], strategy_name="trend", account=ACCOUNT)
    control = data_broker.submit_broker_order(roll)
    assert isinstance(control, ibOrderWithControls)
    assert data.broker_execution_stack.wait_for_order(control, "commissions", timeout=10)

    # the same order again is refused before sending: never twice
    assert data_broker.submit_broker_order(roll) is missing_order
    placed = _placed_orders(sim)
    assert len(placed) == orders_before + 1  # one order, never one per leg
    bag = placed[-1]
    assert bag.instrument.sec_type == "BAG" and bag.action == "SELL" and bag.total_quantity == 2
    assert [(leg.instrument.contract_month, leg.action) for leg in bag.instrument.legs] == [
        ("202506", "BUY"),
        ("202509", "SELL"),
    ]

    # both legs filled, recorded per leg against each leg's contract
    order = control.order
    assert order.status == orderStatus.FILLED
    assert order.filled_quantity == [-2, 2] and order.fill_equals_desired_trade()
    front_id, next_id = order.leg_con_ids
    front_fills, next_fills = order.fills_of_leg(0), order.fills_of_leg(1)
    assert {f.con_id for f in front_fills} == {front_id} and front_fills.total_quantity() == -2
    assert {f.con_id for f in next_fills} == {next_id} and next_fills.total_quantity() == 2
    assert all(f.commission and f.commission > 0 for f in order.fills)
    front_price, next_price = order.leg_fill_prices()
    assert order.filled_price == pytest.approx(front_price - next_price)  # the combo as bought: front - next
    assert data_broker.calculate_total_commission_for_broker_order(order) > 0

    # stored per leg too
    stored = data.db_orders.get_order_by_reference(order.order_reference)
    assert stored.trade == [-2, 2] and stored.filled_quantity == [-2, 2]
    assert stored.leg_con_ids == [front_id, next_id]

    # the position moved from the front to the next contract
    assert conn.wait_until(
        lambda: _positions(data_broker).get("202506", 0) == 0 and _positions(data_broker).get("202509") == 2, 5
    )

    # the combo's own execution, as IB reports it: a BAG contract at the combo price
    trade = control.trade
    combo = [f for f in trade.fills if f.contract.secType == "BAG"]
    assert len(combo) == 1 and combo[0].contract.conId == BAG_CON_ID
    assert combo[0].execution.side == "SLD" and combo[0].execution.shares == 2
    assert combo[0].execution.price == pytest.approx(order.filled_price * control.price_magnifier)
    matched = data_broker.match_db_broker_order_to_order_from_brokers(roll)
    assert matched is not missing_order and matched.filled_quantity == [-2, 2]
    # IB's orders of the day (every client's, rebuilt from IB's reports): the spread, per leg
    [listed] = [o for o in data_broker.get_list_of_orders() if o.order_reference == order.order_reference]
    assert listed.contract_id == "20250620_20250919" and listed.trade == [-2, 2]
    assert listed.leg_con_ids == [front_id, next_id] and listed.filled_quantity == [-2, 2]
    assert listed.filled_price == pytest.approx(order.filled_price)
    # pysystemtrade's client-level view of the BAG trade: its legs' contracts looked up by conId
    with_legs = data.broker_execution_stack.ib_client.add_contract_legs_to_order(trade)
    assert [c.conId for c in with_legs.ibcontract_with_legs.legs] == [front_id, next_id]


def test_spread_limit_order_rests_modifies_and_cancels(sim, conn, data):
    data_broker = dataBroker(data)
    ticker = data_broker.get_ticker_object_for_contract(ROLL)
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    data_broker.cancel_market_data_for_contract(ROLL)
    # buying the combo front - next (BUY front / SELL next): rest well below its bid
    far = round(tick.bid_price - 20, 2)
    order = brokerOrder("SP500", ROLL.date_str, [1, -1], order_type="LMT", limit_price=far, account=ACCOUNT)
    control = data_broker.submit_broker_order(order)
    assert data.broker_execution_stack.wait_for_order(control, "acknowledged")
    data_broker.check_order_can_be_modified_given_control_object_throw_error_if_not(control)
    data_broker.modify_limit_price_given_control_object(control, far - 1)
    assert conn.wait_until(lambda: sim.call(lambda: sim.broker.open_orders(1)[0].spec.lmt_price) == far - 1, 5)
    data_broker.cancel_order_given_control_object(control)
    assert conn.wait_until(lambda: data_broker.check_order_is_cancelled_given_control_object(control), 5)
    assert not control.order.fills


def test_spread_tickers_and_snapshots_quote_the_combo(sim, conn, data):
    data_broker = dataBroker(data)
    order = brokerOrder("SP500", ROLL.date_str, [-1, 1], account=ACCOUNT)
    ticker = data_broker.get_ticker_object_for_order(order)
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    front = data_broker.get_ticker_object_for_contract(FRONT).wait_for_valid_bid_and_ask_and_return_current_tick(5)
    nxt = data_broker.get_ticker_object_for_contract(NEXT).wait_for_valid_bid_and_ask_and_return_current_tick(5)
    # the combo BUY front / SELL next: bid = front bid - next ask (IB's convention; the clock moves)
    assert tick.bid_price == pytest.approx(front.bid_price - nxt.ask_price, abs=3.0)
    assert tick.ask_price == pytest.approx(front.ask_price - nxt.bid_price, abs=3.0)
    assert tick.ask_price > tick.bid_price
    assert ticker.qty == -1  # selling one combo
    sizes = data_broker.get_largest_offside_liquid_size_for_contract_order_by_leg(order)
    assert len(sizes) == 2 and sizes[0] == sizes[1] > 0
    # pysystemtrade's contractOrder form: a spread contract date and a per-leg trade
    contract_order = SimpleNamespace(instrument_code="SP500", contract_date=ROLL.contract_date, trade=[2, -2])
    assert data_broker.get_ticker_object_for_order(contract_order).qty == 2
    data_broker.cancel_market_data_for_order(order)
    for contract in (FRONT, NEXT):
        data_broker.cancel_market_data_for_contract(contract)
    snapshot = data.broker_futures_contract_price.ib_client.broker_get_tick_snapshot(ROLL)
    assert snapshot.ask > snapshot.bid


def test_bad_spreads_raise_typed_errors_and_send_nothing(sim, conn, data):
    data_broker = dataBroker(data)
    before = len(_placed_orders(sim))
    unknown_leg = brokerOrder("SP500", "20250600_20100300", [-1, 1], account=ACCOUNT)
    assert data_broker.submit_broker_order(unknown_leg) is missing_order
    with pytest.raises(OrderUnknownContract):
        data.broker_execution_stack.ib_client.prepare_order(unknown_leg)
    client = data.broker_futures_contract.ib_client
    with pytest.raises(missingContract):
        client.ib_futures_contract(ROLL, trade_list_for_multiple_legs=[1, -1, 1])
    with pytest.raises(missingContract):
        client.ib_futures_contract(FRONT, trade_list_for_multiple_legs=[1, -1])
    assert len(_placed_orders(sim)) == before


def test_readonly_connection_never_sends_a_spread(sim, conn, data, monkeypatch):
    from sysbrokers.IB.ib_errors import IBReadOnlyError

    monkeypatch.setattr(conn, "_readonly", True)  # as ib_readonly=True: the layer refuses every order
    before = len(_placed_orders(sim))
    with pytest.raises(IBReadOnlyError):
        data.broker_execution_stack.put_order_on_stack(brokerOrder("SP500", ROLL.date_str, [-1, 1], account=ACCOUNT))
    assert len(_placed_orders(sim)) == before


def test_contract_client_builds_the_bag(sim, conn, data):
    client = data.broker_futures_contract.ib_client
    bag = client.ib_futures_contract(ROLL, trade_list_for_multiple_legs=[-2, 2])
    front = client.ib_futures_contract(FRONT)
    nxt = client.ib_futures_contract(NEXT)
    assert bag.secType == "BAG" and bag.symbol == front.symbol and bag.exchange == front.exchange
    assert [(leg.conId, leg.ratio, leg.action) for leg in bag.comboLegs] == [
        (front.conId, 1, "BUY"),
        (nxt.conId, 1, "SELL"),
    ]
    assert client.ib_futures_contract(ROLL, always_return_single_leg=True).conId == front.conId
    with_ib_data = data.broker_futures_contract.get_contract_object_with_IB_data(ROLL)  # each leg's expiry
    expiries = [leg.expiry_date.as_str() for leg in with_ib_data.contract_date.list_of_single_contract_dates]
    assert expiries == [front.lastTradeDateOrContractMonth[:8], nxt.lastTradeDateOrContractMonth[:8]]
    with_legs = client.ib_futures_contract_with_legs(ROLL, trade_list_for_multiple_legs=[1, -1])
    assert [c.conId for c in with_legs.legs] == [front.conId, nxt.conId]


def test_spread_order_reconciles_after_a_reconnect(sim, conn, data):
    stack = data.broker_execution_stack
    roll = brokerOrder("SP500", ROLL.date_str, [1, -1], strategy_name="trend", account=ACCOUNT)
    control = stack.put_order_on_stack(roll)
    assert stack.wait_for_order(control, "commissions")
    stack.last_reconciliation = None
    sim.faults.daily_restart(down_seconds=0.3)
    assert conn.wait_until(lambda: stack.last_reconciliation is not None, timeout=10)
    assert stack.last_reconciliation.unmatched_fills == []  # the legs (and the combo's) all placed
    stored = data.db_orders.get_order_by_reference(roll.order_reference)
    assert stored.status == orderStatus.FILLED and stored.filled_quantity == [1, -1]
    assert len(stored.fills) == 2  # one per leg, the combo's own execution not among them
