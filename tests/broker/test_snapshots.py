"""Tick snapshots against ibsim: top of book in the layer's units, delayed data without permission."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from sysbrokers.IB.client.ib_price_client import TickSnapshot
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysobjects.contracts import futuresContract
from tests.connection import test_config

CORN_MAY25 = futuresContract("CORN", "202505")  # ZC at CBOT, quoted by IB in cents (magnifier 100)
SP500_JUN25 = futuresContract("SP500", "202506")  # ES at CME, magnifier 1


def assert_sane(snap: TickSnapshot, tick: float) -> None:
    assert 0 < snap.bid < snap.ask
    assert snap.bid_size > 0 and snap.ask_size > 0
    spread_ticks = (snap.ask - snap.bid) / tick
    assert spread_ticks == pytest.approx(round(spread_ticks)) and 1 <= round(spread_ticks) <= 4
    assert snap.time.tzinfo is not None and snap.time.utcoffset() == dt.timedelta(0)


def open_prices(sim, tmp_path, conns, client_id: int = 1) -> ibFuturesContractPriceData:
    conn = conns(connectionIB(client_id, config=test_config(tmp_path, sim.port)))
    return ibFuturesContractPriceData(conn)


@pytest.mark.parametrize(
    ("contract", "magnifier", "tick", "low", "high"),
    [(CORN_MAY25, 100, 0.0025, 2.0, 10.0), (SP500_JUN25, 1, 0.25, 1000.0, 20000.0)],
    ids=["CORN", "SP500"],
)
def test_live_snapshot_in_layer_units(sim, tmp_path, conns, contract, magnifier, tick, low, high):
    prices = open_prices(sim, tmp_path, conns)
    snap = prices.get_tick_snapshot_for_contract_object(contract)
    assert not snap.delayed
    assert_sane(snap, tick)
    assert low < snap.bid < high and low < snap.last < high
    # IB's own quote, in IB's units, agrees once divided by the magnifier
    [raw] = prices.ibconnection.ib.reqTickers(prices.ib_client.resolve(contract).contract)
    assert abs(snap.bid * magnifier - raw.bid) <= 4 * tick * magnifier
    # the snapshot leaves no subscription behind at the gateway
    conn = prices.ibconnection
    assert conn.wait_until(lambda: not sim.sessions[conn.client_id()].mkt_subs, 1)


def test_without_permission_the_snapshot_falls_back_to_delayed_data(sims, tmp_path, conns):
    sim = sims(permissions=frozenset())  # no live data for any exchange: 354, delayed data with type 3
    prices = open_prices(sim, tmp_path, conns)
    started = time.monotonic()
    snap = prices.get_tick_snapshot_for_contract_object(CORN_MAY25)
    assert time.monotonic() - started < 3, "the 354 should trigger the fallback at once, not after a timeout"
    assert snap.delayed
    assert_sane(snap, 0.0025)
    assert 2.0 < snap.bid < 10.0
    # the next snapshot of the same contract is delayed as well, and says so
    assert prices.get_tick_snapshot_for_contract_object(CORN_MAY25).delayed


def test_delayed_flag_follows_the_data_actually_received(sims, tmp_path, conns):
    sim = sims(permissions=frozenset({"CME"}))  # live ES, no live ZC (CBOT)
    prices = open_prices(sim, tmp_path, conns)
    assert prices.get_tick_snapshot_for_contract_object(CORN_MAY25).delayed
    # after the fallback the connection asks for delayed data where needed; ES is still live
    es = prices.get_tick_snapshot_for_contract_object(SP500_JUN25)
    assert not es.delayed
    assert_sane(es, 0.25)
