"""A process that runs for weeks: contract details cached at start list only the coming week's
trading sessions; once those have run out the hours are asked again, so orders are not refused
as "market closed" from the second week on (found by the soak)."""

from __future__ import annotations

import datetime as dt

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder
from tests.connection import open_conn

ES = futuresContract("SP500", "202506")


def test_trading_hours_are_asked_again_once_the_cached_ones_run_out(sim, conns, tmp_path):
    first = open_conn(sim, conns, tmp_path, client_id=1)
    cached = ibContractsClient(first).ib_get_trading_hours(ES)
    sim.call(lambda: sim.clock.advance(dt.timedelta(days=10).total_seconds()))  # Friday 14 March, 15:00
    later = open_conn(sim, conns, tmp_path, client_id=2)  # same gateway: the cached details are reused
    now = later.now()
    assert cached[-1][1] <= now  # what was cached has run out
    hours = ibContractsClient(later).ib_get_trading_hours(ES)
    assert any(start <= now < end for start, end in hours)
    orders = ibOrdersData(later)
    try:
        control = orders.put_order_on_stack(brokerOrder.from_contract(ES, 1, strategy_name="weeks"))
        assert orders.wait_for_order(control, "filled")
    finally:
        orders.close()
