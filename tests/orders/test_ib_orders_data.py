"""`ibOrdersData` against ibsim: placing, storing, fills, matching, modifying, cancelling, safety."""

from __future__ import annotations

import time

import pytest
from ib_async import LimitOrder

from sysbrokers.IB.ib_errors import IBReadOnlyError
from sysbrokers.IB.ib_orders_data import ibOrdersData, missingOrder, orderCannotBeModified
from sysbrokers.IB.order_checks import (
    OrderDuplicate,
    OrderInvalidQuantity,
    OrderMarketClosed,
    OrderOffTick,
    OrderUnknownContract,
)
from sysobjects.orders import brokerOrder, orderStatus
from tests.connection import ACCOUNT, open_conn
from tests.ibsim.conftest import CLOSED_MARKET


@pytest.fixture
def orders(conn):
    data = ibOrdersData(conn)
    yield data
    data.close()


def es(trade: int = 1, **kwargs) -> brokerOrder:
    return brokerOrder("SP500", "202506", trade, strategy_name="trend", **kwargs)


def quote(sim, orders, order: brokerOrder):
    con_id = orders.ib_client.resolve(order.futures_contract).contract.conId
    return sim.call(lambda: sim.market.quote(sim.catalog.by_con_id(con_id), sim.clock.now()))


def sim_fills(sim, perm_id: int) -> list:
    return sim.call(lambda: [f for f in sim.broker.fills if f.perm_id == perm_id])


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ---------------------------------------------------------------------- placing and storing
def test_market_order_is_stored_sent_with_its_reference_and_filled(sim, orders):
    order = es(2)
    control = orders.put_order_on_stack(order)
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.ib_order_id == control.trade.order.orderId and stored.client_id == 1
    assert stored.con_id == control.trade.contract.conId and stored.status == orderStatus.SUBMITTED
    assert orders.wait_for_order(control, "commissions")
    [at_ib] = sim.call(lambda: [r for r in sim.broker.orders.values() if r.perm_id == order.perm_id])
    assert at_ib.spec.order_ref == order.order_reference
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.status == orderStatus.FILLED and stored.perm_id == control.trade.order.permId
    assert [f.exec_id for f in stored.fills] == [f.exec_id for f in sim_fills(sim, order.perm_id)]
    assert stored.filled_quantity == 2
    assert stored.average_fill_price == pytest.approx(control.trade.orderStatus.avgFillPrice)
    assert stored.commission == {"USD": pytest.approx(4.5)}  # ibsim charges 2.25 USD a contract


def test_resubmission_with_the_same_reference_is_refused_and_never_sent(sim, conn, orders, tmp_path):
    order = es()
    orders.wait_for_order(orders.put_order_on_stack(order), "filled")
    received = sim.stats["orders_received"]
    with pytest.raises(OrderDuplicate):
        orders.put_order_on_stack(order)
    copy = brokerOrder.from_dict(order.as_dict(include_fills=False), ())
    copy.status = orderStatus.CREATED
    with pytest.raises(OrderDuplicate):
        orders.put_order_on_stack(copy)
    # A restarted process (new ibOrdersData, same store) refuses it too, through the store.
    restarted = ibOrdersData(conn)
    try:
        with pytest.raises(OrderDuplicate):
            restarted.put_order_on_stack(brokerOrder.from_dict(order.as_dict(include_fills=False), ()))
    finally:
        restarted.close()
    assert sim.stats["orders_received"] == received
    assert len(orders.order_store.list_orders()) == 1


def test_partial_fills_average_price_and_status(sims, conns, tmp_path):
    sim = sims(initial_cash=50_000_000.0)
    orders = ibOrdersData(open_conn(sim, conns, tmp_path))
    order = es(150)
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "commissions", timeout=20)
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    ib_fills = sim_fills(sim, order.perm_id)
    assert len(ib_fills) > 1 and len(stored.fills) == len(ib_fills)
    assert stored.filled_quantity == 150 and stored.status == orderStatus.FILLED
    weighted = sum(f.shares * f.price for f in ib_fills) / 150
    assert stored.average_fill_price == pytest.approx(weighted)
    assert stored.commission == {"USD": pytest.approx(2.25 * 150)}
    orders.close()


def test_commissions_in_several_currencies(sim, orders):
    usd, eur = es(1), brokerOrder("BUND", "202506", 1, strategy_name="carry")
    controls = [orders.put_order_on_stack(usd), orders.put_order_on_stack(eur)]
    assert all(orders.wait_for_order(c, "commissions") for c in controls)
    stored = {o.instrument_code: o for o in orders.get_list_of_orders_from_storage()}
    assert stored["SP500"].commission == {"USD": pytest.approx(2.25)}
    assert stored["BUND"].commission == {"EUR": pytest.approx(2.00)}


def test_prices_are_in_layer_units_and_magnified_for_ib(sim, orders):
    # CBOT corn: IB quotes cents (price magnifier 100); the layer works in dollars.
    probe = brokerOrder("CORN", "202507", 1, order_type="LMT", limit_price=1.0, strategy_name="s")
    ib_bid = quote(sim, orders, probe).bid
    resting = brokerOrder("CORN", "202507", 1, order_type="LMT", limit_price=(ib_bid - 20) / 100, strategy_name="s")
    control = orders.put_order_on_stack(resting)
    assert orders.wait_for_order(control, "acknowledged")
    [at_ib] = sim.call(lambda: sim.broker.open_orders(1))
    assert at_ib.spec.lmt_price == pytest.approx(ib_bid - 20)
    assert control.broker_limit_price() == pytest.approx(resting.limit_price)
    market = brokerOrder("CORN", "202507", 1, strategy_name="s")
    filled = orders.put_order_on_stack(market)
    assert orders.wait_for_order(filled, "filled")
    [ib_fill] = sim_fills(sim, market.perm_id)
    assert market.fills[0].price == pytest.approx(ib_fill.price / 100)


# ---------------------------------------------------------------------- matching, modify, cancel
def test_limit_order_match_modify_and_cancel(sim, orders):
    order = es(1, order_type="LMT", limit_price=1000.0)
    order.limit_price = quote(sim, orders, order).bid - 100
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "acknowledged")
    assert orders.match_db_broker_order_to_control_order_from_brokers(order) is control
    matched = orders.match_db_broker_order_to_order_from_brokers(order)
    assert matched.perm_id == control.trade.order.permId and matched.status == orderStatus.SUBMITTED
    assert orders.check_order_can_be_modified_given_control_object(control)

    with pytest.raises(OrderOffTick):
        orders.modify_limit_price_given_control_object(control, order.limit_price - 0.1)
    control.order.limit_price = order.limit_price - 5  # the seed's form: the order carries the new price
    orders.modify_limit_price_given_control_object(control)
    assert wait_for(lambda: sim.call(lambda: sim.broker.open_orders(1)[0].spec.lmt_price) == order.limit_price)
    assert orders.order_store.get_order_by_reference(order.order_reference).limit_price == order.limit_price

    assert not orders.check_order_is_cancelled(order)
    assert orders.cancel_order_on_stack(order) is control
    assert orders.wait_for_order(control, "done")
    assert orders.check_order_is_cancelled(order)
    assert orders.check_order_is_cancelled_given_control_object(control)
    assert orders.order_store.get_order_by_reference(order.order_reference).status == orderStatus.CANCELLED
    assert not orders.check_order_can_be_modified_given_control_object(control)
    with pytest.raises(orderCannotBeModified):
        orders.modify_limit_price_given_control_object(control, order.limit_price - 5)


def test_market_orders_cannot_be_modified_and_unknown_orders_are_missing(sim, orders):
    control = orders.put_order_on_stack(es(1))
    assert orders.wait_for_order(control, "filled")
    assert not orders.check_order_can_be_modified_given_control_object(control)
    stranger = es(1)
    assert orders.match_db_broker_order_to_order_from_brokers(stranger) is None
    with pytest.raises(missingOrder):
        orders.check_order_is_cancelled(stranger)
    received = sim.stats["orders_received"]
    assert orders.cancel_order_on_stack(stranger) is None
    assert sim.stats["orders_received"] == received


def test_list_of_broker_orders_includes_other_clients_and_completed_orders(sim, conns, tmp_path, orders):
    mine = es(1)
    orders.wait_for_order(orders.put_order_on_stack(mine), "filled")
    other = open_conn(sim, conns, tmp_path, client_id=7)
    [contract] = other.ib.qualifyContracts(orders.ib_client.resolve(mine.futures_contract).contract)
    far = quote(sim, orders, mine).bid - 150
    theirs = other.ib.placeOrder(contract, LimitOrder("BUY", 3, far, orderRef="manual/SP500/1", account=ACCOUNT))
    assert other.wait_until(lambda: theirs.orderStatus.status == "Submitted", 5)
    listed = {o.order_reference: o for o in orders.get_list_of_broker_orders()}
    assert listed[mine.order_reference].status == orderStatus.FILLED
    assert listed[mine.order_reference].filled_quantity == 1
    assert listed["manual/SP500/1"].trade == 3 and listed["manual/SP500/1"].limit_price == far
    assert listed["manual/SP500/1"].client_id == 7
    # Only orders this layer submitted are in storage.
    assert [o.order_reference for o in orders.get_list_of_orders_from_storage()] == [mine.order_reference]


# ---------------------------------------------------------------------- reconciliation
def test_process_restart_records_every_fill_once(sims, conns, tmp_path):
    sim = sims(initial_cash=50_000_000.0)
    first_conn = open_conn(sim, conns, tmp_path)
    first = ibOrdersData(first_conn)
    order = es(200)
    control = first.put_order_on_stack(order)
    assert first.wait_for_order(control, "acknowledged")
    perm_id = control.trade.order.permId
    first.close()
    first_conn.close_connection()  # the process dies while the order is still filling
    assert wait_for(lambda: sum(f.shares for f in sim_fills(sim, perm_id)) == 200, 20)

    second = ibOrdersData(open_conn(sim, conns, tmp_path, client_id=2))
    stored = second.get_list_of_orders_from_storage()  # reconciles first
    assert [o.order_reference for o in stored] == [order.order_reference]
    ib_exec_ids = sorted(f.exec_id for f in sim_fills(sim, perm_id))
    assert sorted(f.exec_id for f in stored[0].fills) == ib_exec_ids
    assert stored[0].status == orderStatus.FILLED and stored[0].filled_quantity == 200
    assert stored[0].commission == {"USD": pytest.approx(2.25 * 200)}
    again = second.reconcile()
    assert not again.fills_recorded and not again.orders_updated
    assert len(second.order_store.fills_for_order(order.order_reference)) == len(ib_exec_ids)
    second.close()


# ---------------------------------------------------------------------- safety
def _refused(sim, orders, order: brokerOrder, error: type[Exception]) -> None:
    received = sim.stats["orders_received"]
    with pytest.raises(error):
        orders.put_order_on_stack(order)
    assert sim.stats["orders_received"] == received
    assert orders.order_store.list_orders() == []


def test_unknown_and_expired_contracts_are_refused(sim, orders):
    _refused(sim, orders, brokerOrder("NOT_AN_INSTRUMENT", "202506", 1), OrderUnknownContract)
    _refused(sim, orders, brokerOrder("SP500", "202403", 1), OrderUnknownContract)  # expired


def test_zero_and_fractional_quantities_are_refused(sim, orders):
    zero, fraction = es(1), es(1)
    zero.trade = 0  # brokerOrder refuses these at construction; a later change is caught too
    fraction.trade = 1.5
    _refused(sim, orders, zero, OrderInvalidQuantity)
    _refused(sim, orders, fraction, OrderInvalidQuantity)


def test_off_tick_prices_are_refused(sim, orders):
    _refused(sim, orders, es(1, order_type="LMT", limit_price=5000.1), OrderOffTick)
    _refused(sim, orders, es(1, order_type="STP", stop_price=9000.3), OrderOffTick)
    corn = brokerOrder("CORN", "202507", 1, order_type="LMT", limit_price=4.501)  # tick 0.0025 dollars
    _refused(sim, orders, corn, OrderOffTick)


def test_closed_market_is_refused(sims, conns, tmp_path):
    sim = sims(start=CLOSED_MARKET)
    orders = ibOrdersData(open_conn(sim, conns, tmp_path))
    _refused(sim, orders, es(1, order_type="LMT", limit_price=5000.0), OrderMarketClosed)
    orders.close()


def test_read_only_connection_refuses_every_order_call(sim, conns, tmp_path, orders):
    control = orders.put_order_on_stack(es(1, order_type="LMT", limit_price=1000.0))
    assert orders.wait_for_order(control, "acknowledged")
    reader = ibOrdersData(open_conn(sim, conns, tmp_path, client_id=3, ib_readonly=True))
    received = sim.stats["orders_received"]
    with pytest.raises(IBReadOnlyError):
        reader.put_order_on_stack(es(1))
    with pytest.raises(IBReadOnlyError):
        reader.cancel_order_on_stack(control.order)
    with pytest.raises(IBReadOnlyError):
        reader.cancel_order_given_control_object(control)
    with pytest.raises(IBReadOnlyError):
        reader.modify_limit_price_given_control_object(control, 1000.25)
    with pytest.raises(IBReadOnlyError):
        reader.broker_what_if_order(es(1))
    assert sim.stats["orders_received"] == received
    assert sim.call(lambda: [r.spec.lmt_price for r in sim.broker.open_orders()]) == [1000.0]
    reader.close()
