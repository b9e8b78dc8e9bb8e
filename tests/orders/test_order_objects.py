"""Broker orders, fills and commissions, and orderWithControls over real (disconnected) ib_async objects."""

from __future__ import annotations

import datetime as dt
import json
import math
from zoneinfo import ZoneInfo

import pytest
from ib_async import CommissionReport, Contract, Execution, Order, OrderStatus, Trade
from ib_async import Fill as IbFill

from sysobjects.contracts import futuresContract
from sysobjects.fills import UTC, Fill, InvalidFill, listOfFills
from sysobjects.orders import (
    InvalidOrder,
    brokerOrder,
    brokerOrderType,
    orderStatus,
    orderWithControls,
)

T0 = dt.datetime(2024, 5, 2, 14, 30, 0, 123456, tzinfo=UTC)


def fill(exec_id: str, quantity: int, price: float, seconds: int = 0, **kwargs) -> Fill:
    return Fill(exec_id=exec_id, time=T0 + dt.timedelta(seconds=seconds), quantity=quantity, price=price, **kwargs)


def gold_order(trade: int = 3, **kwargs) -> brokerOrder:
    kwargs.setdefault("strategy_name", "trend")
    return brokerOrder("GOLD", "202406", trade, **kwargs)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"trade": 0}, "trade"),
        ({"trade": 1.5}, "trade"),
        ({"trade": 2.0}, "trade"),  # floats are refused even when whole: sizes are counted, not measured
        ({"trade": True}, "trade"),
        ({"order_type": "LMT"}, "limit_price"),
        ({"order_type": "STP"}, "stop_price"),
        ({"order_type": "LMT", "limit_price": -1.0}, "limit_price"),
        ({"order_type": "LMT", "limit_price": math.nan}, "limit_price"),
        ({"order_type": "LMT", "limit_price": math.inf}, "limit_price"),
        ({"order_type": "LMT", "limit_price": 0.0}, "limit_price"),
        ({"order_type": "STP", "stop_price": -5}, "stop_price"),
        ({"order_type": "STP", "stop_price": float("nan")}, "stop_price"),
        ({"limit_price": 100.0}, "limit_price"),  # a MKT order has no limit price
        ({"order_type": "LMT", "limit_price": 1.0, "stop_price": 2.0}, "stop_price"),
        ({"order_type": "TRAIL"}, "order_type"),
        ({"status": "done"}, "status"),
        ({"perm_id": -3}, "perm_id"),
        ({"submit_datetime": dt.datetime(2024, 5, 2, 14, 30)}, "submit_datetime"),
    ],
)
def test_invalid_orders_name_the_field(kwargs, field):
    trade = kwargs.pop("trade", 1)
    with pytest.raises(InvalidOrder) as raised:
        gold_order(trade, **kwargs)
    assert raised.value.field == field
    assert field in str(raised.value)


def test_invalid_contract_and_instrument():
    with pytest.raises(InvalidOrder) as raised:
        brokerOrder("GOLD", "202413", 1)
    assert raised.value.field == "contract_id"
    with pytest.raises(InvalidOrder) as raised:
        brokerOrder("", "202406", 1)
    assert raised.value.field == "instrument_code"
    with pytest.raises(InvalidOrder) as raised:
        brokerOrder("SILVER", futuresContract("GOLD", "202406"), 1)
    assert raised.value.field == "instrument_code"


def test_order_defaults_reference_and_contract_forms():
    order = gold_order(-2, order_type="limit", limit_price=2315.5, account="DU1")
    assert order.order_type is brokerOrderType.LIMIT and order.status is orderStatus.CREATED
    assert order.contract_id == "20240600" and order.futures_contract == futuresContract("GOLD", "202406")
    strategy, instrument, suffix = order.order_reference.split("/")
    assert (strategy, instrument, len(suffix)) == ("trend", "GOLD", 12)
    assert gold_order().order_reference != gold_order().order_reference
    assert order.key == "trend/GOLD/20240600"
    from_contract = brokerOrder.from_contract(futuresContract("GOLD", "202406"), 1)
    assert (from_contract.instrument_code, from_contract.contract_id) == ("GOLD", "20240600")
    as_contract = brokerOrder("", futuresContract("GOLD", "20240626"), 1)
    assert (as_contract.instrument_code, as_contract.contract_id) == ("GOLD", "20240626")
    assert brokerOrderType.from_name("stop_loss") is brokerOrderType.STOP
    assert order.broker_tempid == ""
    order.client_id, order.ib_order_id = 101, 7
    assert order.broker_tempid == "DU1/101/7"


# --- fills and commissions ---------------------------------------------------------------------


def test_fill_validation():
    with pytest.raises(InvalidFill) as raised:
        fill("", 1, 10.0)
    assert raised.value.field == "exec_id"
    for quantity in (0, 1.5):
        with pytest.raises(InvalidFill) as raised:
            fill("e1", quantity, 10.0)
        assert raised.value.field == "quantity"
    with pytest.raises(InvalidFill) as raised:
        fill("e1", 1, math.nan)
    assert raised.value.field == "price"
    with pytest.raises(InvalidFill) as raised:
        Fill("e1", dt.datetime(2024, 1, 1), 1, 10.0)
    assert raised.value.field == "time"
    with pytest.raises(InvalidFill) as raised:
        fill("e1", 1, 10.0, commission=1.0)
    assert raised.value.field == "commission_currency"
    with pytest.raises(InvalidFill) as raised:
        fill("e1", 1, 10.0, commission=math.inf, commission_currency="USD")
    assert raised.value.field == "commission"
    assert fill("e1", -1, -37.63).price == -37.63  # CL settled negative in April 2020: a fact, kept


def test_fill_times_are_utc():
    new_york = dt.datetime(2024, 5, 2, 10, 30, tzinfo=ZoneInfo("America/New_York"))
    assert Fill("e1", new_york, 1, 1.0).time == dt.datetime(2024, 5, 2, 14, 30, tzinfo=UTC)
    assert Fill("e1", new_york, 1, 1.0).time.tzinfo is UTC


def test_unknown_commission_is_not_zero():
    fills = listOfFills([fill("e1", 1, 100.0), fill("e2", 1, 101.0, commission=0.0, commission_currency="USD")])
    assert not fills.all_commissions_known
    assert fills.commission_by_currency() == {"USD": 0.0}  # the known zero, not the unknown one
    assert [f.exec_id for f in fills.missing_commissions()] == ["e1"]
    order = gold_order(2, fills=fills)
    assert order.commission is None
    assert order.add_commission("e1", 2.5, "USD") is True
    assert order.commission == {"USD": 2.5}
    assert order.add_commission("e1", 2.5, "USD") is False
    assert gold_order().commission == {}  # nothing executed, nothing owed
    with pytest.raises(KeyError):
        order.add_commission("nope", 1.0, "USD")


def test_partial_fills_average_price_and_status():
    order = gold_order(5)
    order.mark_submitted(T0)
    assert order.status is orderStatus.SUBMITTED and order.submit_datetime == T0
    assert order.add_fill(fill("e1", 2, 2300.0, commission=1.2, commission_currency="USD")) is True
    assert order.status is orderStatus.PARTIALLY_FILLED and order.active
    assert order.add_fill(fill("e2", 3, 2301.0, seconds=5)) is True
    assert order.status is orderStatus.FILLED and not order.active
    assert order.fill_equals_desired_trade()
    assert (order.filled_quantity, order.remaining_quantity) == (5, 0)
    assert order.average_fill_price == pytest.approx((2 * 2300.0 + 3 * 2301.0) / 5)
    assert order.fill_datetime == T0 + dt.timedelta(seconds=5)
    assert listOfFills().average_price() is None


def test_same_execution_twice_is_kept_once_and_merges_its_commission():
    order = gold_order(-4)
    assert order.add_fill(fill("e1", -2, 50.0)) is True
    assert order.add_fill(fill("e1", -2, 50.0, commission=3.0, commission_currency="EUR")) is False
    assert order.filled_quantity == -2
    assert order.commission == {"EUR": 3.0}


def test_fills_that_do_not_belong_are_refused():
    order = gold_order(2)
    with pytest.raises(InvalidOrder, match="SELL"):
        order.add_fill(fill("e1", -1, 10.0))
    with pytest.raises(InvalidOrder, match="overfill"):
        order.add_fill(fill("e2", 3, 10.0))
    with pytest.raises(InvalidOrder, match="belongs"):
        order.add_fill(fill("e3", 1, 10.0, order_ref="other/GOLD/123"))
    assert order.fills == []


def test_multi_currency_commissions():
    fills = listOfFills(
        [
            fill("e1", 1, 10.0, commission=1.5, commission_currency="USD"),
            fill("e2", 1, 11.0, commission=0.75, commission_currency="EUR"),
            fill("e3", 2, 12.0, commission=-0.25, commission_currency="USD"),  # a rebate
        ]
    )
    assert fills.all_commissions_known
    assert fills.commission_by_currency() == {"USD": 1.25, "EUR": 0.75}
    assert fills.total_quantity() == 4
    assert fills.average_price() == pytest.approx((10 + 11 + 24) / 4)


# --- serialisation -----------------------------------------------------------------------------


def test_order_dict_round_trip_is_json_safe():
    order = gold_order(
        -3,
        order_type="STP",
        stop_price=2250.0,
        account="DU1",
        ib_order_id=12,
        perm_id=987654321,
        client_id=101,
        con_id=495512557,
        submit_datetime=T0,
        order_id=4,
        parent=2,
        children=[7, 8],
    )
    order.add_fill(fill("e1", -1, 2249.5, order_ref=order.order_reference))
    order.add_fill(fill("e2", -1, 2249.0, seconds=1, commission=1.1, commission_currency="USD"))
    data = json.loads(json.dumps(order.as_dict()))
    again = brokerOrder.from_dict(data)
    assert again == order
    assert again.submit_datetime == T0 and again.submit_datetime.tzinfo is UTC
    assert again.status is orderStatus.PARTIALLY_FILLED and again.commission is None
    assert data["submit_datetime"] == "2024-05-02T14:30:00.123456+00:00"
    assert Fill.from_dict(json.loads(json.dumps(order.fills[1].as_dict()))) == order.fills[1]


def test_from_dict_keeps_the_stored_status_and_fills():
    data = gold_order(1).as_dict()
    data["status"] = "cancelled"
    data["fills"] = [fill("e1", 1, 5.0).as_dict()]
    order = brokerOrder.from_dict(data)
    assert order.status is orderStatus.CANCELLED and order.filled_quantity == 1


# --- orderWithControls over ib_async objects ---------------------------------------------------


def ib_trade(order: brokerOrder, status: str = "Submitted") -> Trade:
    contract = Contract(secType="FUT", conId=495512557, symbol="GC", lastTradeDateOrContractMonth="20240626")
    ib_order = Order(
        orderId=12,
        clientId=101,
        permId=987654321,
        action="BUY" if order.trade > 0 else "SELL",
        totalQuantity=float(abs(order.trade)),
        orderType=order.order_type.value,
        lmtPrice=order.limit_price or 0.0,
        account="DU1",
        orderRef=order.order_reference,
    )
    return Trade(contract=contract, order=ib_order, orderStatus=OrderStatus(orderId=12, status=status))


def ib_fill(trade: Trade, exec_id: str, shares: float, price: float, report: CommissionReport | None = None) -> IbFill:
    execution = Execution(
        execId=exec_id,
        time=T0,
        acctNumber="DU1",
        side="BOT" if trade.order.action == "BUY" else "SLD",
        shares=shares,
        price=price,
        permId=trade.order.permId,
        clientId=101,
        orderId=12,
        orderRef=trade.order.orderRef,
    )
    return IbFill(trade.contract, execution, report or CommissionReport(), T0)


def test_order_with_controls_tracks_the_trade():
    order = gold_order(3, order_type="LMT", limit_price=2310.0, account="")
    trade = ib_trade(order)
    owc = orderWithControls(order, trade, submit_datetime=T0)
    assert owc.order is order and owc.control_object is trade and owc.trade is trade
    assert owc.broker_tempid == "DU1/101/12"
    assert owc.broker_limit_price() == 2310.0
    owc.update_order()
    assert (order.ib_order_id, order.perm_id, order.client_id, order.con_id) == (12, 987654321, 101, 495512557)
    assert order.account == "DU1" and order.broker_tempid == owc.broker_tempid
    assert order.status is orderStatus.SUBMITTED and order.filled_quantity == 0

    # ib_async puts an empty CommissionReport (commission 0.0) on a new fill: unknown, not zero.
    trade.fills.append(ib_fill(trade, "0001.01", 1.0, 2309.5))
    owc.update_order()
    assert order.status is orderStatus.PARTIALLY_FILLED and order.filled_quantity == 1
    assert order.commission is None and order.fills[0].commission is None

    trade.fills[0].commissionReport.execId = "0001.01"  # what ib_async does when the report arrives
    trade.fills[0].commissionReport.commission = 1.7
    trade.fills[0].commissionReport.currency = "USD"
    trade.fills.append(ib_fill(trade, "0001.02", 2.0, 2310.0, CommissionReport("0001.02", 3.4, "USD")))
    trade.orderStatus.status = "Filled"
    owc.update_order()
    assert order.status is orderStatus.FILLED and owc.completed()
    assert order.commission == {"USD": pytest.approx(5.1)}
    assert order.average_fill_price == pytest.approx((2309.5 + 2 * 2310.0) / 3)
    assert len(order.fills) == 2 and all(f.order_ref == order.order_reference for f in order.fills)
    assert owc.seconds_since_submission(T0 + dt.timedelta(seconds=90)) == 90


def test_report_for_another_execution_is_not_this_fills_commission():
    order = gold_order(1)
    trade = ib_trade(order)
    trade.fills.append(ib_fill(trade, "A", 1.0, 2300.0, CommissionReport("B", 2.0, "USD")))
    owc = orderWithControls(order, trade)
    owc.update_order()
    assert order.fills[0].commission is None and order.commission is None


def test_ib_statuses_map_to_order_statuses():
    order = gold_order(2)
    trade = ib_trade(order, status="Cancelled")
    owc = orderWithControls(order, trade)
    assert owc.update_order().status is orderStatus.CANCELLED
    rejected = gold_order(2)
    assert orderWithControls(rejected, ib_trade(rejected, "Inactive")).update_order().status is orderStatus.REJECTED
    presubmitted = gold_order(2)
    owc = orderWithControls(presubmitted, ib_trade(presubmitted, "PreSubmitted"))
    assert owc.update_order().status is orderStatus.SUBMITTED


def test_order_rebuilt_from_an_ib_trade():
    original = gold_order(-2, order_type="LMT", limit_price=2400.0)
    trade = ib_trade(original)
    trade.fills.append(ib_fill(trade, "X1", 1.0, 2400.0))
    owc = orderWithControls.from_ib_trade(trade, "GOLD", strategy_name="trend")
    rebuilt = owc.order
    assert rebuilt.order_reference == original.order_reference
    assert (rebuilt.contract_id, rebuilt.trade, rebuilt.limit_price) == ("20240626", -2, 2400.0)
    assert rebuilt.perm_id == 987654321 and rebuilt.filled_quantity == -1
    assert rebuilt.status is orderStatus.PARTIALLY_FILLED
