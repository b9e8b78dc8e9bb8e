"""Inside an IB reset window a request waits for the gateway to come back (or fails fast with a
typed error when asked); outside, it fails after ib_connect_timeout. Gateway restarts by ibsim."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBNotConnected, IBResetWindow
from sysbrokers.IB.reset_windows import window_at, window_end
from tests.connection import ACCOUNT, test_config

INSIDE = dt.datetime(2025, 3, 5, 5, 30, tzinfo=dt.UTC)  # 00:30 New York: the north_america window
OUTSIDE = dt.datetime(2025, 3, 5, 15, 0, tzinfo=dt.UTC)
DOWN = 0.8  # seconds the gateway is away; longer than ib_connect_timeout below


def connect(sim, conns, tmp_path, moment: dt.datetime) -> connectionIB:
    config = test_config(tmp_path, sim.port, ib_connect_timeout=0.25)
    conn = connectionIB(
        1, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=config, clock=lambda: moment
    )
    return conns(conn)


def restart_and_wait_for_the_close(sim) -> None:
    sim.faults.daily_restart(down_seconds=DOWN)
    deadline = time.monotonic() + 5
    while sim.call(sim.live_sessions) and time.monotonic() < deadline:
        time.sleep(0.01)


def contract_list_during_a_restart(sim, conn):
    restart_and_wait_for_the_close(sim)  # the socket is closed while nothing runs the loop
    start = time.monotonic()
    try:
        return ibContractsClient(conn).broker_get_futures_contract_list("SP500"), time.monotonic() - start
    except IBNotConnected as exc:
        exc.elapsed = time.monotonic() - start
        raise


def test_window_end_is_the_end_of_the_occurrence(sim, conn):
    window = window_at(INSIDE, conn.config.ib_reset_windows)
    assert window.region == "north_america"
    assert window_end(INSIDE, window) == dt.datetime(2025, 3, 5, 6, 45, tzinfo=dt.UTC)


def test_inside_a_reset_window_a_request_waits_for_the_gateway(sim, conns, tmp_path):
    conn = connect(sim, conns, tmp_path, INSIDE)
    listed, elapsed = contract_list_during_a_restart(sim, conn)
    assert listed and elapsed >= DOWN - 0.2  # waited past ib_connect_timeout (0.25 s) for the gateway
    assert conn.get_stats()["reconnects"] == 1


def test_outside_a_reset_window_the_request_fails_after_the_connect_timeout(sim, conns, tmp_path):
    conn = connect(sim, conns, tmp_path, OUTSIDE)
    with pytest.raises(IBNotConnected) as caught:
        contract_list_during_a_restart(sim, conn)
    assert not isinstance(caught.value, IBResetWindow)
    assert caught.value.elapsed < DOWN - 0.2


def test_inside_a_reset_window_a_caller_can_fail_fast(sim, conns, tmp_path):
    conn = connect(sim, conns, tmp_path, INSIDE)
    conn.reset_window_fail_fast = True
    with pytest.raises(IBResetWindow) as caught:
        contract_list_during_a_restart(sim, conn)
    assert caught.value.elapsed < 0.3
    assert "north_america reset window (until 06:45 UTC)" in str(caught.value)
    conn.reset_window_fail_fast = False
    conn.ensure_connected()  # waits for the gateway again
    assert conn.is_connected()


def update_with_a_restart_after_the_first_contract(sim, conn, tmp_path, job=None):
    from sysdata.data_blob import dataBlob
    from sysproduction.update_historical_prices import update_historical_prices

    job = job or update_historical_prices

    config = dataclasses.replace(conn.config, data_folder=str(tmp_path / "data"), price_store=f"parquet://{tmp_path}/p")
    with dataBlob("update", config=config, ib_conn=conn) as data:
        store = data.db_futures_contract_price
        merge, restarted = store.merge, []

        def merge_then_restart(key, prices):
            result = merge(key, prices)
            if not restarted:  # the gateway goes away between two contracts
                restarted.append(key)
                restart_and_wait_for_the_close(sim)
            return result

        store.merge = merge_then_restart
        return job(data, ["SP500"])


def test_a_price_update_across_a_restart_inside_a_reset_window_completes(sim, conns, tmp_path):
    conn = connect(sim, conns, tmp_path, INSIDE)
    summary = update_with_a_restart_after_the_first_contract(sim, conn, tmp_path)
    assert summary.errors == []
    assert summary.updated == summary.contracts == 5 and summary.gaps == 0
    assert conn.get_stats()["reconnects"] == 1


def test_seeding_across_a_restart_inside_a_reset_window_completes_with_no_gap(sim, conns, tmp_path):
    from sysproduction.seed_price_data_from_IB import seed_price_data_from_IB

    conn = connect(sim, conns, tmp_path, INSIDE)
    summary = update_with_a_restart_after_the_first_contract(sim, conn, tmp_path, seed_price_data_from_IB)
    assert summary.errors == [] and summary.gaps == 0
    assert summary.updated + summary.no_data == summary.contracts > 5  # expired contracts too
    assert conn.get_stats()["reconnects"] == 1


def test_the_same_update_outside_a_window_reports_the_outage(sim, conns, tmp_path):
    conn = connect(sim, conns, tmp_path, OUTSIDE)
    summary = update_with_a_restart_after_the_first_contract(sim, conn, tmp_path)
    assert summary.errors and all("not reachable" in message or "lost" in message for _, message in summary.errors)
