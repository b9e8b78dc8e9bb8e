"""IB messages the layer handles are logged once at INFO, not as ERROR by ib_async; real errors
still are ERROR."""

from __future__ import annotations

import logging

import pytest

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder
from tests.connection import open_conn


def wrapper_records(caplog, code: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "ib_async.wrapper"
        and (f" {code}, reqId" in r.getMessage() or f"errorCode={code}" in r.getMessage())
    ]


def es(conn):
    return ibContractsClient(conn).resolve(futuresContract("SP500", "202506")).contract


def test_no_data_and_no_security_definition_are_info(sim, conn, caplog):
    caplog.set_level(logging.INFO, logger="ib_async")
    with pytest.raises(IBNoSecurityDefinition):
        ibContractsClient(conn).resolve(futuresContract("SP500", "203012"))
    bars = conn.ib.reqHistoricalData(es(conn), "20240102-00:00:00", "1 D", "1 min", "TRADES", False, 2)
    assert len(bars) == 0
    no_data = wrapper_records(caplog, 162)
    no_definition = wrapper_records(caplog, 200)
    assert len(no_data) == 1 and "HMDS query returned no data" in no_data[0].getMessage()
    assert len(no_definition) == 1
    assert {r.levelname for r in no_data + no_definition} == {"INFO"}


def test_202_after_our_cancel_is_info_but_a_rejection_stays_error(sim, conn, caplog):
    caplog.set_level(logging.INFO, logger="ib_async")
    orders = ibOrdersData(conn)
    try:
        order = brokerOrder("SP500", "202506", 1, order_type="LMT", limit_price=100.0, strategy_name="logs")
        control = orders.put_order_on_stack(order)
        assert orders.wait_for_order(control, "acknowledged")
        orders.cancel_order_on_stack(order)
        assert orders.wait_for_order(control, "done")
        assert conn.wait_until(lambda: wrapper_records(caplog, 202), timeout=5)
        cancelled = wrapper_records(caplog, 202)
        assert cancelled and {r.levelname for r in cancelled} == {"INFO"}

        sim.faults.reject_next_orders(1)
        rejected = brokerOrder("SP500", "202506", 1, strategy_name="logs")
        assert orders.wait_for_order(orders.put_order_on_stack(rejected), "done")
    finally:
        orders.close()
    assert [r.levelname for r in wrapper_records(caplog, 201)][:1] == ["ERROR"]


def test_a_permission_error_stays_error(sims, conns, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ib_async")
    sim = sims(permissions=frozenset())
    conn = open_conn(sim, conns, tmp_path)
    bars = conn.ib.reqHistoricalData(es(conn), "", "1 D", "1 hour", "TRADES", False, 2)
    assert len(bars) == 0
    records = wrapper_records(caplog, 162)
    assert records and records[0].levelname == "ERROR" and "permissions" in records[0].getMessage()


def test_farm_ok_notices_are_not_errors(sim, conn, caplog):
    caplog.set_level(logging.INFO, logger="ib_async")
    sim.faults.farm_notice(2104)
    assert conn.wait_until(lambda: wrapper_records(caplog, 2104), timeout=5)
    assert all(r.levelno < logging.WARNING for r in wrapper_records(caplog, 2104))
