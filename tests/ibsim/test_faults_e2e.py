"""Fault injection: restarts, connectivity loss, farm notices, commission and status faults."""

from __future__ import annotations

import math
import socket
import time

import pytest
from ib_async import IB, Future, MarketOrder

from ibsim.admin import send_command

from .conftest import wait_until


def _errors(ib):
    seen = []
    ib.errorEvent += lambda req_id, code, text, contract: seen.append(code)
    return seen


def test_daily_restart_closes_refuses_and_comes_back_with_state(sim, connect):
    ib = connect(sim, client_id=1)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    sim.faults.daily_restart(down_seconds=1.0)
    assert wait_until(ib, lambda: not ib.isConnected(), timeout=3)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=0.5)
    deadline = time.monotonic() + 5
    again = None
    while time.monotonic() < deadline:
        try:
            again = connect(sim, client_id=1, timeout=2)
            break
        except (OSError, TimeoutError):
            time.sleep(0.1)
    assert again is not None and again.isConnected()
    assert any(p.contract.conId == es.conId and p.position == 1 for p in again.positions())
    assert [f.execution.permId for f in again.reqExecutions()] == [trade.order.permId]
    assert sim.faults.restarts == 1


def test_connectivity_lost_then_data_lost_drops_subscriptions(sim, ib):
    codes = _errors(ib)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    ticker = ib.reqMktData(es)
    assert wait_until(ib, lambda: not math.isnan(ticker.bid))
    sim.faults.connectivity_lost(restore="1101", after=0.3)
    assert wait_until(ib, lambda: 1100 in codes and 1101 in codes, timeout=3)
    assert {2103, 2105, 2157} <= set(codes)
    assert wait_until(ib, lambda: {2104, 2106, 2158} <= set(codes[codes.index(1101) :]))
    assert not sim.sessions[1].mkt_subs  # the client must resubscribe
    assert ib.isConnected()


def test_connectivity_lost_then_data_maintained_keeps_streams(sim, ib):
    codes = _errors(ib)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    ticker = ib.reqMktData(es)
    assert wait_until(ib, lambda: not math.isnan(ticker.bid))
    sim.faults.connectivity_lost(restore="1102", after=0.3)
    assert wait_until(ib, lambda: 1102 in codes, timeout=3)
    assert sim.sessions[1].mkt_subs
    updates = []
    ticker.updateEvent += lambda t: updates.append(t.time)
    assert wait_until(ib, lambda: len(updates) >= 1, timeout=5)


def test_ticks_stop_while_connectivity_is_lost(sim, ib):
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    ticker = ib.reqMktData(es)
    assert wait_until(ib, lambda: not math.isnan(ticker.bid))
    sim.faults.connectivity_lost(restore=None)
    ib.sleep(0.2)
    before = sim.stats["ticks_sent"]
    ib.sleep(0.5)
    assert sim.stats["ticks_sent"] == before
    sim.faults.connectivity_restored("1102")
    assert wait_until(ib, lambda: sim.stats["ticks_sent"] > before, timeout=5)


@pytest.mark.parametrize("code", [2103, 2104, 2105, 2106, 2157, 2158])
def test_farm_notices(sim, ib, code):
    codes = _errors(ib)
    sim.faults.farm_notice(code, "usfuture")
    assert wait_until(ib, lambda: code in codes)


def test_2110_notice(sim, ib):
    codes = _errors(ib)
    sim.faults.notice(2110)
    assert wait_until(ib, lambda: 2110 in codes)
    assert ib.isConnected()


def test_delayed_commission_report(sim, ib):
    sim.faults.delay_commissions(1.0)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    [fill] = trade.fills
    assert fill.commissionReport.execId == ""  # not arrived yet
    assert wait_until(ib, lambda: fill.commissionReport.execId == fill.execution.execId, timeout=4)
    assert fill.commissionReport.commission > 0


def test_missing_commission_report(sim, ib):
    sim.faults.drop_commissions(1)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    ib.sleep(0.5)
    assert trade.fills[0].commissionReport.execId == ""


def test_duplicate_order_status(sim, ib):
    statuses = []
    orig = ib.wrapper.orderStatus

    def spy(*args, **kwargs):
        statuses.append(args[1])
        return orig(*args, **kwargs)

    ib.wrapper.orderStatus = spy  # the decoder looks the method up on every message
    sim.faults.duplicate_order_status(10)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert wait_until(ib, lambda: statuses.count("Filled") >= 2)
    assert trade.orderStatus.filled == 1  # duplicates do not double the fill


def test_admin_channel(sim_factory):
    sim = sim_factory(admin_port=0)
    status = send_command(sim.admin_port, {"cmd": "status"})
    assert status["ok"] and status["port"] == sim.port
    assert send_command(sim.admin_port, {"cmd": "pacing", "count": 2})["ok"]
    assert sim.pacer._forced == 2
    assert send_command(sim.admin_port, {"cmd": "duplicate_status", "count": 1})["ok"]
    before = sim.clock.now()
    assert send_command(sim.admin_port, {"cmd": "advance", "seconds": 3600})["ok"]
    assert (sim.clock.now() - before).total_seconds() >= 3600
    bad = send_command(sim.admin_port, {"cmd": "explode"})
    assert not bad["ok"] and "unknown command" in bad["error"]
    assert not send_command(sim.admin_port, {"cmd": "advance"})["ok"]  # missing argument, still answered
    ib = IB()
    ib.connect("127.0.0.1", sim.port, clientId=1, timeout=5)
    codes = _errors(ib)
    assert send_command(sim.admin_port, {"cmd": "restart", "down": 0.5})["ok"]
    assert wait_until(ib, lambda: not ib.isConnected(), timeout=3)
    ib.disconnect()
    del codes
