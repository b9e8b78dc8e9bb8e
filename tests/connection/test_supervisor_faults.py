"""The supervisor under gateway faults: restarts, 1100/1101/1102, reset windows, lazy reconnect."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import time

import pytest
from ib_async import Future

from sysbrokers.IB.connection_supervisor import ConnectionState, EventKind
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBNotConnected
from sysbrokers.IB.reset_windows import as_windows, in_reset_window, window_at

from . import conns_fixture, sim_fixture, sims_fixture, test_config  # noqa: F401 - fixtures

UTC = dt.UTC
NY_RESET = [
    {"region": "test_na", "start": "00:15", "end": "01:45", "tz": "America/New_York", "days": ["Mon", "Tue", "Wed"]}
]
INSIDE = dt.datetime(2025, 3, 4, 5, 30, tzinfo=UTC)  # Tue 00:30 in New York
OUTSIDE = dt.datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # Tue 10:00 in New York


def open_conn(sim, tmp_path, client_id: int, **kwargs) -> connectionIB:
    return connectionIB(client_id, config=test_config(tmp_path, sim.port), **kwargs)


def es(conn: connectionIB):
    [contract] = conn.ib.qualifyContracts(Future("ES", "202506", "CME"))
    return contract


def live_streams(conn: connectionIB):
    """A market-data stream and keepUpToDate 1-minute bars, both flowing."""
    contract = es(conn)
    sup = conn.supervisor
    ticks = sup.subscribe_market_data(contract)
    bars = sup.subscribe_bars(contract, bar_size="1 min", duration="1 D")
    assert len(bars.bars) > 0
    assert conn.wait_until(lambda: ticks.updates >= 2 and bars.updates >= 1, 5)
    return ticks, bars


REQ_MKT_DATA, REQ_HISTORICAL_DATA = "1", "20"  # outgoing message ids of the TWS protocol


def count_requests(session) -> collections.Counter:
    """Count the requests the gateway session receives from now on, by message id."""
    seen: collections.Counter = collections.Counter()
    dispatch = session._dispatch

    def counting(fields):
        seen[fields[0]] += 1
        return dispatch(fields)

    session._dispatch = counting
    return seen


def flowing_again(ticks, bars, since_ticks: int, since_bars: int):
    """Quotes updating again, and the keepUpToDate bars either updated or re-issued with their
    initial bars. (ib_async emits a bar update only when the bar changed, and in a quiet market
    the bar in progress may not change for seconds: its re-issue is what proves the stream back.)"""
    issued_before = bars.resubscriptions

    def flowing() -> bool:
        bars_back = bars.updates >= since_bars + 1 or (bars.resubscriptions > issued_before and len(bars.bars) > 0)
        return ticks.updates >= since_ticks + 2 and bars_back

    return flowing


# --- restart ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_daily_restart_resumes_streams_through_the_same_handles(sim, tmp_path, conns):
    conn = conns(open_conn(sim, tmp_path, 61))
    seen = []
    conn.events += seen.append
    ticks, bars = live_streams(conn)
    old_ticker, old_bars, old_ids = ticks.ticker, bars.bars, (ticks.req_id, bars.req_id)

    sim.faults.daily_restart(down_seconds=1.5)
    assert conn.wait_until(lambda: not sim.status()["accepting"], 2)
    back_at: list[float] = []

    def resumed() -> bool:
        if not back_at and sim.status()["accepting"]:
            back_at.append(time.monotonic())
        return flowing() and conn.state is ConnectionState.CONNECTED

    assert conn.wait_until(lambda: conn.state is not ConnectionState.CONNECTED, 2)
    flowing = flowing_again(ticks, bars, ticks.updates, bars.updates)
    assert conn.wait_until(resumed, 10)
    flowing_after = time.monotonic() - back_at[0]
    assert flowing_after < 3.0, f"streams resumed {flowing_after:.2f} s after the gateway came back"

    # same handles, new ib_async objects and fresh request ids, live at the gateway
    assert ticks.ticker is not old_ticker and bars.bars is not old_bars
    assert (ticks.req_id, bars.req_id) != old_ids
    session = sim.sessions[61]
    assert ticks.req_id in session.mkt_subs and bars.req_id in session.bar_subs
    assert ticks.resubscriptions == bars.resubscriptions == 1
    kinds = [e.kind for e in seen]
    assert kinds[0] is EventKind.DISCONNECTED
    assert EventKind.RECONNECTED in kinds and kinds[-1] is EventKind.RESUBSCRIBED
    stats = conn.get_stats()
    assert (stats["connects"], stats["disconnects"], stats["reconnects"]) == (2, 1, 1)
    assert stats["reconnect_attempts"] >= 1 and stats["resubscriptions"] == 2


@pytest.mark.slow
def test_lazy_reconnect_when_nothing_ran_the_loop(sim, tmp_path, conns):
    # A synchronous process between two requests: the restart happens while no loop runs.
    conn = conns(open_conn(sim, tmp_path, 62))
    ticks, _ = live_streams(conn)
    sim.faults.daily_restart(down_seconds=0.5, wait=True)
    time.sleep(0.2)
    started = time.monotonic()
    conn.ensure_connected(timeout=5)
    assert time.monotonic() - started < 2
    assert conn.ib.isConnected() and conn.state is ConnectionState.CONNECTED
    assert conn.ib.reqCurrentTime() is not None
    before = ticks.updates
    assert conn.wait_until(lambda: ticks.updates >= before + 2, 5)
    assert conn.get_stats()["reconnects"] == 1


@pytest.mark.slow
def test_reconnect_inside_a_running_asyncio_program(sim, tmp_path):
    config = test_config(tmp_path, sim.port)

    async def main() -> tuple[int, int]:
        conn = await connectionIB.create(63, config=config)
        try:
            [contract] = await conn.ib.qualifyContractsAsync(Future("ES", "202506", "CME"))
            ticks = conn.supervisor.subscribe_market_data(contract)
            bars = await conn.supervisor.subscribe_bars_async(contract, bar_size="1 min", duration="1 D")
            await _until(lambda: ticks.updates >= 2 and bars.updates >= 1, 5)
            sim.faults.daily_restart(down_seconds=0.8)
            await _until(lambda: conn.get_stats()["disconnects"] == 1, 3)
            counts = (ticks.updates, bars.updates)
            await _until(flowing_again(ticks, bars, *counts), 10)
            return conn.get_stats()["reconnects"], len(conn.supervisor.subscriptions)
        finally:
            conn.close_connection()

    assert asyncio.run(main()) == (1, 2)


async def _until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.mark.slow
def test_gives_up_after_max_attempts_and_ensure_connected_raises(sims, tmp_path, conns):
    from sysdata.config.schema import ReconnectPolicy

    sim = sims()
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, multiplier=2.0, jitter=0.0, max_attempts=3)
    conn = conns(open_conn(sim, tmp_path, 64, reconnect_policy=policy, connect_timeout=1))
    seen = []
    conn.events += seen.append
    sim.stop_in_thread()
    assert conn.wait_until(lambda: any(e.kind is EventKind.RECONNECT_FAILED for e in seen), 5)
    assert conn.state is ConnectionState.DISCONNECTED
    assert conn.get_stats()["reconnect_attempts"] == 3
    started = time.monotonic()
    with pytest.raises(IBNotConnected):
        conn.ensure_connected(timeout=1)
    assert time.monotonic() - started < 2


# --- 1100 -> 1101 / 1102 ---------------------------------------------------------------------


@pytest.mark.slow
def test_1101_resubscribes_with_fresh_request_ids(sim, tmp_path, conns):
    conn = conns(open_conn(sim, tmp_path, 65))
    seen = []
    conn.events += seen.append
    ticks, bars = live_streams(conn)
    old_ids = (ticks.req_id, bars.req_id)
    session = sim.sessions[65]
    requests = count_requests(session)
    sim.faults.connectivity_lost(restore="1101", after=0.3)
    assert conn.wait_until(lambda: conn.state is ConnectionState.IB_LOST, 2)
    assert conn.wait_until(lambda: any(e.kind is EventKind.RESUBSCRIBED for e in seen), 3)
    counts = (ticks.updates, bars.updates)
    assert conn.wait_until(flowing_again(ticks, bars, *counts), 5)
    assert session.mkt_subs and list(session.mkt_subs) == [ticks.req_id]
    assert list(session.bar_subs) == [bars.req_id]
    assert ticks.req_id not in old_ids and bars.req_id not in old_ids
    assert (requests[REQ_MKT_DATA], requests[REQ_HISTORICAL_DATA]) == (1, 1)
    assert conn.state is ConnectionState.CONNECTED
    kinds = [e.kind for e in seen]
    assert (
        kinds.index(EventKind.IB_LOST) < kinds.index(EventKind.RESTORED_DATA_LOST) < kinds.index(EventKind.RESUBSCRIBED)
    )
    assert conn.get_stats()["disconnects"] == 0


@pytest.mark.slow
def test_1102_leaves_subscriptions_alone(sim, tmp_path, conns):
    conn = conns(open_conn(sim, tmp_path, 66))
    ticks, bars = live_streams(conn)
    session = sim.sessions[66]
    ids_before = (sorted(session.mkt_subs), sorted(session.bar_subs))
    ticker_before = ticks.ticker
    requests = count_requests(session)
    sim.faults.connectivity_lost(restore="1102", after=0.3)
    assert conn.wait_until(lambda: conn.state is ConnectionState.IB_LOST, 2)
    assert conn.wait_until(lambda: conn.state is ConnectionState.CONNECTED, 3)
    counts = (ticks.updates, bars.updates)
    assert conn.wait_until(flowing_again(ticks, bars, *counts), 5)
    assert (sorted(session.mkt_subs), sorted(session.bar_subs)) == ids_before == ([ticks.req_id], [bars.req_id])
    assert ticks.ticker is ticker_before
    assert ticks.resubscriptions == bars.resubscriptions == 0
    assert (requests[REQ_MKT_DATA], requests[REQ_HISTORICAL_DATA]) == (0, 0)
    assert conn.get_stats()["resubscriptions"] == 0


# --- reset windows -----------------------------------------------------------------------------


class MutableClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_1100_inside_reset_window_is_quiet_outside_is_loud(sim, tmp_path, conns, caplog):
    clock = MutableClock(INSIDE)
    conn = conns(open_conn(sim, tmp_path, 67, reset_windows=NY_RESET, clock=clock))
    seen = []
    conn.events += seen.append
    caplog.set_level(logging.INFO, logger="connectionIB")

    sim.faults.connectivity_lost(restore="1102", after=0.2)
    assert conn.wait_until(lambda: any(e.kind is EventKind.RESTORED_DATA_KEPT for e in seen), 3)
    [lost] = [e for e in seen if e.kind is EventKind.IB_LOST]
    assert not lost.alert and lost.reset_window == "test_na"
    assert _levels(caplog, "IB 1100") == [logging.INFO]

    seen.clear()
    caplog.clear()
    clock.now = OUTSIDE
    sim.faults.connectivity_lost(restore="1102", after=0.2)
    assert conn.wait_until(lambda: any(e.kind is EventKind.RESTORED_DATA_KEPT for e in seen), 3)
    [lost] = [e for e in seen if e.kind is EventKind.IB_LOST]
    assert lost.alert and lost.reset_window is None
    assert _levels(caplog, "IB 1100") == [logging.ERROR]


@pytest.mark.slow
def test_socket_loss_inside_window_is_quiet_outside_is_loud(sim, tmp_path, conns, caplog):
    clock = MutableClock(INSIDE)
    conn = conns(open_conn(sim, tmp_path, 68, reset_windows=NY_RESET, clock=clock))
    seen = []
    conn.events += seen.append
    caplog.set_level(logging.INFO)
    sim.faults.disconnect_client(68)
    assert conn.wait_until(lambda: conn.get_stats()["reconnects"] == 1 and conn.is_connected(), 5)
    [down] = [e for e in seen if e.kind is EventKind.DISCONNECTED]
    assert not down.alert and down.reset_window == "test_na"
    assert _levels(caplog, "IB connection") == [logging.INFO]
    # ib_async's own records are lowered to INFO as well inside the window
    assert not [r for r in caplog.records if r.name.startswith("ib_async") and r.levelno >= logging.WARNING]

    seen.clear()
    caplog.clear()
    clock.now = OUTSIDE
    sim.faults.disconnect_client(68)
    assert conn.wait_until(lambda: conn.get_stats()["reconnects"] == 2 and conn.is_connected(), 5)
    [down] = [e for e in seen if e.kind is EventKind.DISCONNECTED]
    assert down.alert
    assert _levels(caplog, "IB connection lost") == [logging.ERROR]


def _levels(caplog, prefix: str) -> list[int]:
    return [r.levelno for r in caplog.records if r.name == "connectionIB" and r.getMessage().startswith(prefix)]


def test_reset_window_rules():
    windows = as_windows(
        NY_RESET + [{"region": "weekend", "start": "23:00", "end": "03:00", "tz": "America/New_York", "days": ["Fri"]}]
    )
    assert in_reset_window(INSIDE, windows) and not in_reset_window(OUTSIDE, windows)
    # Thursday is not a reset day for the test window
    assert not in_reset_window(dt.datetime(2025, 3, 6, 5, 30, tzinfo=UTC), windows)
    # a Friday-night window runs past midnight into Saturday, but does not start on Saturday
    assert window_at(dt.datetime(2025, 3, 8, 6, 0, tzinfo=UTC), windows).region == "weekend"  # Sat 01:00 NY
    assert not in_reset_window(dt.datetime(2025, 3, 9, 5, 0, tzinfo=UTC), windows)  # Sun 00:00 NY
    # the zone, not a fixed offset: 00:30 New York is 04:30 UTC in summer, 05:30 in winter
    assert in_reset_window(dt.datetime(2025, 7, 1, 4, 30, tzinfo=UTC), windows)
    assert not in_reset_window(dt.datetime(2025, 7, 1, 5, 50, tzinfo=UTC), windows)
    with pytest.raises(ValueError):
        in_reset_window(dt.datetime(2025, 3, 4, 5, 30), windows)
    assert as_windows(windows) == windows


@pytest.mark.slow
def test_realtime_bars_pnl_and_account_updates_are_resubscribed(sim, tmp_path, conns):
    conn = conns(open_conn(sim, tmp_path, 69))
    sup = conn.supervisor
    realtime = sup.subscribe_realtime_bars(es(conn), what_to_show="MIDPOINT")
    pnl = sup.subscribe_pnl("DU123456")
    account = sup.subscribe_account_updates("DU123456")
    assert conn.wait_until(lambda: pnl.updates >= 1 and account.updates >= 1, 5)
    assert list(sim.sessions[69].rt_subs) == [realtime.req_id]

    sim.faults.connectivity_lost(restore="1101", after=0.2)  # drops the real-time bars only
    assert conn.wait_until(lambda: realtime.resubscriptions == 1, 3)
    assert list(sim.sessions[69].rt_subs) == [realtime.req_id]
    assert pnl.resubscriptions == account.resubscriptions == 0

    old_pnl = pnl.pnl
    sim.faults.disconnect_client(69)
    assert conn.wait_until(lambda: conn.get_stats()["reconnects"] == 1 and conn.is_connected(), 5)
    counts = (pnl.updates, account.updates)
    assert conn.wait_until(lambda: pnl.updates > counts[0] and account.updates > counts[1], 5)
    assert pnl.pnl is not old_pnl and pnl.resubscriptions == account.resubscriptions == 1
    assert list(sim.sessions[69].rt_subs) == [realtime.req_id] and realtime.resubscriptions == 2
    assert set(sim.sessions[69].pnl_subs) == {pnl.req_id}
