"""Order-layer fault tests against ibsim: daily restart, late and missing commission reports,
duplicate orderStatus messages, rejects (201).

The restart test runs once by default; `ORDERS_RESTART_RUNS=20 pytest tests/orders/test_order_faults.py`
repeats it (the acceptance bar is 20 passes in a row).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import pytest

from sysbrokers.IB.connection_supervisor import EventKind
from sysbrokers.IB.ib_errors import IBOrderRejected
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysobjects.orders import brokerOrder, orderStatus
from tests.connection import open_conn
from tests.ibsim.conftest import FAST

RESTART_RUNS = int(os.environ.get("ORDERS_RESTART_RUNS", "1"))


def open_orders_data(sim, conns, tmp_path) -> ibOrdersData:
    return ibOrdersData(open_conn(sim, conns, tmp_path))


@pytest.fixture
def orders(sim, conns, tmp_path):
    data = open_orders_data(sim, conns, tmp_path)
    yield data
    data.close()


def es(trade: int = 1, **kwargs) -> brokerOrder:
    return brokerOrder("SP500", "202506", trade, strategy_name="trend", **kwargs)


def sim_fills(sim, perm_id: int | None = None) -> list:
    return sim.call(lambda: [f for f in sim.broker.fills if perm_id is None or f.perm_id == perm_id])


@pytest.mark.slow
@pytest.mark.parametrize("run", range(RESTART_RUNS))
def test_daily_restart_with_working_orders_and_fills_during_the_outage(sims, conns, tmp_path, run):
    # Slower order steps: a 400-lot market order keeps filling for a few seconds, through the outage.
    sim = sims(initial_cash=50_000_000.0, timing=dataclasses.replace(FAST, order_step_interval=0.15))
    orders = open_orders_data(sim, conns, tmp_path)
    conn = orders.ibconnection
    events = []
    conn.events += lambda event: events.append(event.kind)

    resting = es(1, order_type="LMT", limit_price=1000.0)  # far below the market: works all day
    resting_control = orders.put_order_on_stack(resting)
    before = orders.put_order_on_stack(es(3))
    assert orders.wait_for_order(before, "filled")
    big = es(400)
    big_control = orders.put_order_on_stack(big)
    assert orders.wait_for_order(big_control, "acknowledged")
    restart_at = sim.call(sim.clock.now)
    sim.faults.daily_restart(down_seconds=1.0)

    assert orders.wait_for_order(big_control, "commissions", timeout=30), big_control.order
    conn.ensure_connected()  # the fills may all be in while the reconnect is still synchronising
    assert conn.wait_until(lambda: EventKind.RECONNECTED in events, timeout=10)
    outage_fills = [f for f in sim_fills(sim, big.perm_id) if f.time >= restart_at]
    assert outage_fills and min(f.time for f in outage_fills) < restart_at + dt.timedelta(seconds=1)

    ib_fills = sim_fills(sim)
    stored = orders.get_list_of_orders_from_storage()
    stored_fills = [f for order in stored for f in order.fills]
    exec_ids = [f.exec_id for f in stored_fills]
    assert len(exec_ids) == len(set(exec_ids))  # each recorded once
    assert sorted(exec_ids) == sorted(f.exec_id for f in ib_fills)
    assert orders.order_store.fills_without_commission() == []
    by_ref = {o.order_reference: o for o in stored}
    assert by_ref[big.order_reference].status == orderStatus.FILLED
    assert by_ref[big.order_reference].filled_quantity == 400

    # Positions from the recorded fills are the gateway's positions.
    [position] = sim.call(lambda: [p for p in sim.broker.positions() if p.position])
    assert position.con_id == big.con_id
    assert position.position == sum(f.quantity for f in stored_fills) == 403

    # The resting order survived the restart and can still be cancelled through its control.
    assert orders.match_db_broker_order_to_control_order_from_brokers(resting) is resting_control
    assert not orders.check_order_is_cancelled(resting)
    orders.cancel_order_on_stack(resting)
    assert orders.wait_for_order(resting_control, "done")
    assert orders.order_store.get_order_by_reference(resting.order_reference).status == orderStatus.CANCELLED
    orders.close()


def test_delayed_commission_is_unknown_until_its_report_arrives(sim, orders):
    sim.faults.delay_commissions(1.0)
    order = es(2)
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "filled")
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.status == orderStatus.FILLED and stored.filled_quantity == 2
    assert stored.commission is None  # unknown, not zero
    assert [f.commission for f in stored.fills] == [None]
    assert orders.wait_for_order(control, "commissions", timeout=5)
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.commission == {"USD": pytest.approx(4.5)}
    assert orders.order_store.fills_without_commission() == []


def test_missing_commission_report_stays_unknown(sim, orders):
    sim.faults.drop_commissions(1)
    order = es(1)
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "filled")
    assert not orders.wait_for_order(control, "commissions", timeout=0.5)
    orders.reconcile()  # IB still has no report for it: nothing is invented
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.commission is None
    assert [f.exec_id for f in orders.order_store.fills_without_commission()] == [stored.fills[0].exec_id]


def test_duplicate_order_status_messages_change_nothing(sim, orders):
    sim.faults.duplicate_order_status(20)
    order = es(3)
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "commissions")
    orders.ibconnection.sleep(0.2)
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.filled_quantity == 3 and stored.status == orderStatus.FILLED
    assert len(stored.fills) == len(sim_fills(sim, order.perm_id))


def test_rejected_order_is_stored_as_rejected(sim, orders):
    sim.faults.reject_next_orders(1)
    order = es(1)
    control = orders.put_order_on_stack(order)
    with pytest.raises(IBOrderRejected) as raised:
        orders.wait_for_order(control, "filled")
    assert raised.value.code == 201
    stored = orders.order_store.get_order_by_reference(order.order_reference)
    assert stored.status == orderStatus.REJECTED and stored.fills == []
    assert orders.check_order_is_cancelled(order)  # dead at IB: the stack handler may move on
    again = es(1)  # a new order (new reference) goes through
    assert orders.wait_for_order(orders.put_order_on_stack(again), "filled")


def test_margin_reject_is_reported(sim, orders):
    order = es(5000)  # far beyond the account's margin
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "done")  # "done" includes rejected, without raising
    assert order.status == orderStatus.REJECTED
    assert orders.order_store.get_order_by_reference(order.order_reference).status == orderStatus.REJECTED
    with pytest.raises(IBOrderRejected, match="MUST EXCEED THE INITIAL MARGIN"):
        orders.wait_for_order(control, "filled")


def test_reconnect_reconciliation_runs_without_a_call(sim, orders):
    conn = orders.ibconnection
    order = es(1)
    control = orders.put_order_on_stack(order)
    assert orders.wait_for_order(control, "filled")
    orders.last_reconciliation = None
    sim.faults.daily_restart(down_seconds=0.3)
    assert conn.wait_until(lambda: orders.last_reconciliation is not None, timeout=10)
    assert conn.is_connected()
    assert orders.last_reconciliation.unmatched_fills == []
    assert orders.last_reconciliation.orders_unknown_to_ib == []
