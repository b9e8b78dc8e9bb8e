"""Seed 001 "Orders data", run as written against ibsim."""

from __future__ import annotations

from sysbrokers.IB.client.ib_orders_client import ibOrdersClient
from sysbrokers.IB.ib_connection import connectionIB
from sysdata.data_blob import dataBlob
from sysdata.orders import OrderStore
from sysobjects.orders import brokerOrder, orderStatus, orderWithControls
from tests.connection import ACCOUNT, test_config


def test_orders_data_section_as_written(sim, conn):
    from sysbrokers.IB.ib_orders_data import ibOrdersData

    ib_orders_data = ibOrdersData(conn)
    assert isinstance(ib_orders_data.ib_client, ibOrdersClient)
    assert ib_orders_data.ibconnection is conn
    assert ib_orders_data.get_list_of_broker_orders() == []
    assert ib_orders_data.get_list_of_orders_from_storage() == []

    # A market order: put on the stack, then matched to see that it has been filled.
    filled_order = brokerOrder("SP500", "202506", 1, strategy_name="trend", account=ACCOUNT)
    filled_control = ib_orders_data.put_order_on_stack(filled_order)
    assert ib_orders_data.wait_for_order(filled_control, "filled")
    matched = ib_orders_data.match_db_broker_order_to_order_from_brokers(filled_order)
    assert matched.status == orderStatus.FILLED and matched.fill_equals_desired_trade()

    # A resting limit order: matched, modified, cancelled.
    con_id = filled_order.con_id
    bid = sim.call(lambda: sim.market.quote(sim.catalog.by_con_id(con_id), sim.clock.now()).bid)
    broker_order = brokerOrder(
        "SP500", "202506", 2, order_type="LMT", limit_price=bid - 100, strategy_name="trend", account=ACCOUNT
    )
    broker_order_with_controls = ib_orders_data.put_order_on_stack(broker_order)
    assert isinstance(broker_order_with_controls, orderWithControls)
    assert broker_order_with_controls.order is broker_order
    assert ib_orders_data.wait_for_order(broker_order_with_controls, "acknowledged")
    assert ib_orders_data.match_db_broker_order_to_order_from_brokers(broker_order).perm_id == broker_order.perm_id
    assert (
        ib_orders_data.match_db_broker_order_to_control_order_from_brokers(broker_order) is broker_order_with_controls
    )

    assert ib_orders_data.check_order_can_be_modified_given_control_object(broker_order_with_controls)
    broker_order.limit_price = bid - 110
    ib_orders_data.modify_limit_price_given_control_object(broker_order_with_controls)
    assert conn.wait_until(lambda: sim.call(lambda: sim.broker.open_orders(1)[0].spec.lmt_price) == bid - 110, 5)

    ib_orders_data.cancel_order_on_stack(broker_order)
    assert conn.wait_until(lambda: ib_orders_data.check_order_is_cancelled(broker_order), 5)
    assert ib_orders_data.check_order_is_cancelled_given_control_object(broker_order_with_controls)

    listed = {o.order_reference: o.status for o in ib_orders_data.get_list_of_broker_orders()}
    assert listed == {
        filled_order.order_reference: orderStatus.FILLED,
        broker_order.order_reference: orderStatus.CANCELLED,
    }
    stored = {o.order_reference: o.status for o in ib_orders_data.get_list_of_orders_from_storage()}
    assert stored == listed
    ib_orders_data.close()


def test_data_blob_hands_out_the_orders_objects(sim, conn, tmp_path):
    with dataBlob(config=conn.config, ib_conn=conn) as data:
        assert isinstance(data.db_orders, OrderStore)
        assert data.broker_orders.order_store is data.db_orders
        assert data.broker_orders.ibconnection is conn
        assert data.broker_orders.get_list_of_orders_from_storage() == []


def test_stack_handler_example_runs_against_ibsim(sim, conn, capsys):
    from sysproduction.example_stack_handler import run

    with dataBlob(config=conn.config, ib_conn=conn) as data:
        assert run(data, "SP500") == 0
    out = capsys.readouterr().out
    assert out.count("-> filled") == 2 and "-> cancelled" in out and "modified" in out
    [position] = [p for p in sim.call(sim.broker.positions) if p.position]
    assert position.position == 3
    assert f"{position.account} ESH5     +3" in out
    assert "NetLiquidation" in out and "orders stored today: 3" in out


def test_stack_handler_example_in_a_closed_market_sends_nothing(sims, conns, tmp_path, capsys):
    from sysproduction.example_stack_handler import run
    from tests.ibsim.conftest import CLOSED_MARKET

    sim = sims(start=CLOSED_MARKET)
    config = test_config(tmp_path, sim.port)
    conn = conns(connectionIB(1, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=config))
    with dataBlob(config=config, ib_conn=conn) as data:
        assert run(data, "SP500") == 0
    assert "refused, nothing sent: the market for SP500" in capsys.readouterr().out
    assert sim.stats["orders_received"] == 0
