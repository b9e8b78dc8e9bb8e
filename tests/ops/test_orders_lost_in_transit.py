"""An order sent as the connection dropped, that IB never acknowledged, is settled as rejected by
the next reconciliation with IB instead of staying active for ever (found by the soak)."""

from __future__ import annotations

import datetime as dt

from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysobjects.orders import brokerOrder, orderStatus


def stored_submitted(orders: ibOrdersData, perm_id: int | None) -> brokerOrder:
    order = brokerOrder("SP500", "202506", 1, order_type="LMT", limit_price=100.0, strategy_name="transit")
    order.mark_submitted(dt.datetime.now(dt.UTC))
    order.perm_id = perm_id
    orders.order_store.add_order(order)  # stored before sending, as put_order_on_stack does
    return order


def test_an_order_ib_never_acknowledged_is_settled_as_rejected(sim, conn):
    orders = ibOrdersData(conn)
    try:
        placed = orders.put_order_on_stack(brokerOrder("SP500", "202506", 1, order_type="LMT", limit_price=100.0))
        assert orders.wait_for_order(placed, "acknowledged")
        lost = stored_submitted(orders, perm_id=None)
        acknowledged = stored_submitted(orders, perm_id=987654321)  # IB had it: unknown is an alarm
        report = orders.reconcile()
    finally:
        orders.close()
    store = orders.order_store
    assert report.orders_never_acknowledged == [lost.order_reference]
    assert store.get_order_by_reference(lost.order_reference).status == orderStatus.REJECTED
    assert report.orders_unknown_to_ib == [acknowledged.order_reference]
    assert store.get_order_by_reference(acknowledged.order_reference).status == orderStatus.SUBMITTED
    assert store.get_order_by_reference(placed.order.order_reference).status == orderStatus.SUBMITTED
