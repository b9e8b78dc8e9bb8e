"""The new streams never hang silently and leave nothing subscribed when they fail."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from sysbrokers.IB.front_month_stream import (
    open_streams,
    stream_contract_bars,
    stream_contract_quotes,
    stream_contract_trades,
    stream_front_month_quotes,
)
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBNotConnected, IBPermissionError
from sysbrokers.IB.stream_guard import IBStreamTimeout
from tests.connection import open_conn


async def first(stream):
    try:
        async for event in stream:
            return event
    finally:
        await stream.aclose()


def timed_first(conn, stream, timeout: float = 10.0):
    start = time.monotonic()
    try:
        return conn.run_sync(asyncio.wait_for(first(stream), timeout))
    except Exception as exc:
        exc.elapsed = time.monotonic() - start
        raise


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda conn: stream_front_month_quotes(conn, "SP500"), 354),
        (lambda conn: stream_contract_trades(conn, "ESH5"), 10089),
        (lambda conn: stream_contract_bars(conn, "ESH5"), 420),
    ],
)
def test_without_permission_a_live_stream_raises_at_once(sims, conns, tmp_path, make, code):
    conn = open_conn(sims(permissions=frozenset()), conns, tmp_path)
    with pytest.raises(IBPermissionError) as caught:
        timed_first(conn, make(conn))
    assert caught.value.code == code and caught.value.elapsed < 2
    assert len(conn.supervisor.subscriptions) == 0


def test_an_expired_contract_raises_at_once(sim, conn):
    with pytest.raises(IBNoSecurityDefinition) as caught:
        timed_first(conn, stream_contract_quotes(conn, "ESZ3"))
    assert caught.value.elapsed < 2 and len(conn.supervisor.subscriptions) == 0


def test_a_silent_gateway_raises_a_typed_error_in_bounded_time(sim, conns, tmp_path):
    conn = open_conn(sim, conns, tmp_path, stream_first_data_seconds=0.3)
    stream = stream_contract_quotes(conn, "ESH5")
    stream.client.resolve(stream.contract)  # resolved while the gateway still answers
    conn.now()
    hang = threading.Thread(target=lambda: sim.call(lambda: time.sleep(0.8)))  # then it hangs
    hang.start()
    time.sleep(0.05)
    try:
        with pytest.raises(IBStreamTimeout) as caught:
            timed_first(conn, stream)
    finally:
        hang.join()
    assert 0.3 <= caught.value.elapsed < 1.0
    assert "nothing from IB within 0.3s" in str(caught.value)
    assert len(conn.supervisor.subscriptions) == 0


def test_closing_the_connection_ends_the_readers_wait(sims, conns, tmp_path):
    conn = open_conn(sims(speed=10), conns, tmp_path)
    stream = stream_front_month_quotes(conn, "SP500", check_seconds=0.05)
    seen: list = []

    async def read_then_close():
        async for event in stream:
            seen.append(event)
            assert open_streams(conn) == [stream]
            if len(seen) == 2:
                conn.supervisor.close()  # what close_connection does on the loop
        return "ended"  # pragma: no cover - the iterator raises instead

    with pytest.raises(IBNotConnected, match="connection closed"):
        conn.run_sync(asyncio.wait_for(read_then_close(), 10))
    assert len(seen) == 2 and open_streams(conn) == []
    assert stream.stats.errors == 1
