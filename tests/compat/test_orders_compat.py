"""Item 3: pysystemtrade's order, static, commission and FX-handling calls against ibsim."""

from __future__ import annotations

import pytest

from sysbrokers.IB.client.ib_orders_client import ibOrderWithControls
from sysbrokers.IB.ib_broker_commissions import ibFuturesContractCommissionData
from sysbrokers.IB.ib_fx_handling import ibFxHandlingData
from sysbrokers.IB.ib_orders import ibExecutionStackData, tradeWithContract
from sysbrokers.IB.ib_static_data import ibStaticData
from syscore.exceptions import missingOrder, orderCannotBeModified
from sysexecution.orders.named_order_objects import missing_order
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder, orderStatus
from sysobjects.positions import currencyValue
from tests.connection import ACCOUNT


def test_static_data(conn, data):
    static = ibStaticData(conn, data, log=data.log)
    assert static.get_broker_clientid() == conn.client_id() == 1
    assert static.get_broker_account() == ACCOUNT
    assert static.get_broker_name() == "IB"


def test_execution_stack_in_pysystemtrades_form(sim, conn, data):
    stack = data.broker_execution_stack
    assert isinstance(stack, ibExecutionStackData) and stack.order_store is data.db_orders
    unknown = brokerOrder("SP500", "202506", 1, strategy_name="trend", account=ACCOUNT)
    assert stack.match_db_broker_order_to_order_from_brokers(unknown) is missing_order
    assert stack.match_db_broker_order_to_control_order_from_brokers(unknown) is missing_order
    assert stack.cancel_order_on_stack(unknown) is missing_order
    with pytest.raises(missingOrder):
        stack.check_order_is_cancelled(unknown)
    # Refused before sending (no such contract): pysystemtrade's missing_order, nothing at IB.
    assert stack.put_order_on_stack(brokerOrder("SP500", "201003", 1, strategy_name="trend")) is missing_order

    filled = stack.put_order_on_stack(brokerOrder("SP500", "202506", 1, strategy_name="trend", account=ACCOUNT))
    assert isinstance(filled, ibOrderWithControls)
    assert stack.wait_for_order(filled, "commissions")
    assert stack.get_status_for_control_object(filled) == "Filled"
    with pytest.raises(orderCannotBeModified):
        stack.check_order_can_be_modified_given_control_object_throw_error_if_not(filled)
    assert stack.traded_object_store[filled.order.order_reference] is filled

    bid = sim.call(lambda: sim.market.quote(sim.catalog.by_con_id(filled.order.con_id), sim.clock.now()).bid)
    resting = stack.put_order_on_stack(
        brokerOrder("SP500", "202506", 2, order_type="LMT", limit_price=bid - 100, strategy_name="t", account=ACCOUNT)
    )
    assert stack.wait_for_order(resting, "acknowledged")
    stack.check_order_can_be_modified_given_control_object_throw_error_if_not(resting)  # no error
    stack.modify_limit_price_given_control_object(resting, bid - 110)
    assert conn.wait_until(lambda: sim.call(lambda: sim.broker.open_orders(1)[0].spec.lmt_price) == bid - 110, 5)
    assert stack.get_status_for_control_object(resting) in ("PreSubmitted", "Submitted")

    listed = stack.get_list_of_broker_orders_with_account_id(ACCOUNT)
    assert {o.order_reference for o in listed} == {filled.order.order_reference, resting.order.order_reference}
    assert stack.get_list_of_broker_orders_with_account_id("DU999999") == []
    assert stack.cancel_order_on_stack(resting.order) is resting
    assert conn.wait_until(lambda: stack.check_order_is_cancelled(resting.order), 5)
    matched = stack.match_db_broker_order_to_order_from_brokers(filled.order)
    assert matched.status == orderStatus.FILLED


def test_what_if_order_and_commission_per_contract(sim, conn, data):
    stack = data.broker_execution_stack
    order = brokerOrder("SP500", "202506", 10, strategy_name="testCommmission", account=ACCOUNT)
    what_if = stack.what_if_order(order)
    assert isinstance(what_if, tradeWithContract)
    assert what_if.ib_contract.localSymbol == "ESM5"
    assert what_if.trade.commission > 0 and what_if.trade.commissionCurrency == "USD"
    assert stack.get_list_of_broker_orders_with_account_id(ACCOUNT) == []  # nothing placed
    commissions = ibFuturesContractCommissionData(conn, data, log=data.log)
    per_contract = commissions.get_commission_for_contract(futuresContract("SP500", "202506"))
    assert isinstance(per_contract, currencyValue) and per_contract.currency == "USD"
    assert per_contract.value == pytest.approx(what_if.trade.commission / 10)
    # Without a blob the commission object builds its own execution stack on the connection.
    alone = ibFuturesContractCommissionData(conn)
    assert alone.get_commission_for_contract(futuresContract("SP500", "202506")) == per_contract
    alone.execution_stack.close()


def test_fx_balances_and_fx_market_order_on_idealpro(sim, conn, data):
    fx = ibFxHandlingData(conn, data, log=data.log)
    before = fx.broker_fx_balances(ACCOUNT)
    assert before.get("USD", 0) > 0 and before.get("GBP", 0) == 0
    placed = fx.broker_fx_market_order(50, "GBP", ACCOUNT, ccy2="USD")  # ibsim fills FX in small lots
    assert isinstance(placed, tradeWithContract)
    assert placed.ib_contract.secType == "CASH" and placed.ib_contract.exchange == "IDEALPRO"
    assert conn.wait_until(lambda: placed.trade.orderStatus.status == "Filled", 5)
    assert conn.wait_until(lambda: fx.broker_fx_balances(ACCOUNT).get("GBP", 0) == pytest.approx(50), 5)
    after = fx.broker_fx_balances()  # every managed account
    assert after["USD"] < before["USD"]
