"""Quote streams never hang silently: permissions removed, unknown and expired contracts, a gateway
that sends nothing, the market-data type from the configuration; against ibsim over loopback."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBPermissionError
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.stream_guard import IBStreamTimeout
from sysobjects.contracts import futuresContract
from tests.connection import open_conn

ES = futuresContract("SP500", "202506")


def first_items(conn, stream: str = "stream_quotes", count: int = 2, contract: futuresContract = ES, timeout=10.0):
    """The first `count` items of one of the price data object's streams."""
    prices = ibFuturesContractPriceData(conn)

    async def take():
        items = []
        async for item in getattr(prices, stream)(contract):
            items.append(item)
            if len(items) == count:
                break
        return items

    return conn.run_sync(asyncio.wait_for(take(), timeout))


def first_quotes(conn, count: int = 2, contract: futuresContract = ES, timeout: float = 10):
    return first_items(conn, "stream_quotes", count, contract, timeout)


def timed(call):
    start = time.monotonic()
    try:
        return call(), time.monotonic() - start
    except Exception as exc:
        exc.elapsed = time.monotonic() - start
        raise


def test_without_live_permission_a_live_stream_raises_at_once(sims, conns, tmp_path):
    sim = sims(permissions=frozenset())
    conn = open_conn(sim, conns, tmp_path)
    assert conn.config.ib_market_data_type == "live"
    with pytest.raises(IBPermissionError) as caught:
        timed(lambda: first_quotes(conn))
    assert caught.value.code == 354 and caught.value.elapsed < 2
    assert len(conn.supervisor.subscriptions) == 0  # nothing left subscribed


def test_without_live_permission_a_delayed_setting_falls_back_to_delayed(sims, conns, tmp_path):
    sim = sims(permissions=frozenset(), speed=20)  # quotes move every tick
    conn = open_conn(sim, conns, tmp_path, ib_market_data_type="delayed")
    quotes = first_quotes(conn)
    assert len(quotes) == 2 and all(q.delayed for q in quotes)
    assert quotes[0].bid > 0 and quotes[0].ask > quotes[0].bid


def test_with_permission_a_delayed_setting_still_gets_live_data(sims, conns, tmp_path):
    sim = sims(speed=20)
    conn = open_conn(sim, conns, tmp_path, ib_market_data_type="delayed")
    quotes = first_quotes(conn)
    assert not any(q.delayed for q in quotes)


@pytest.mark.parametrize("contract", [futuresContract("SP500", "203012"), futuresContract("SP500", "202312")])
def test_an_unknown_or_expired_contract_raises_at_once(sim, conn, contract):
    with pytest.raises(IBNoSecurityDefinition) as caught:
        timed(lambda: first_quotes(conn, contract=contract))
    assert caught.value.elapsed < 2
    assert len(conn.supervisor.subscriptions) == 0


def test_a_silent_gateway_raises_a_typed_error_in_bounded_time(sim, conns, tmp_path):
    conn = open_conn(sim, conns, tmp_path, stream_first_data_seconds=0.3)
    prices = ibFuturesContractPriceData(conn)
    prices.ib_client.resolve(ES)  # resolved (and the gateway's clock read) while the gateway answers
    conn.now()
    hang = threading.Thread(target=lambda: sim.call(lambda: time.sleep(0.7)))  # the gateway hangs
    hang.start()
    time.sleep(0.05)
    try:
        with pytest.raises(IBStreamTimeout) as caught:
            timed(lambda: first_quotes(conn))
    finally:
        hang.join()
    assert 0.3 <= caught.value.elapsed < 1.0
    assert "nothing from IB within 0.3s" in str(caught.value)


def test_a_closed_market_stream_does_not_raise(sims, conns, tmp_path):
    from tests.ibsim.conftest import CLOSED_MARKET

    sim = sims(start=CLOSED_MARKET)
    conn = open_conn(sim, conns, tmp_path, stream_first_data_seconds=0.3)
    quotes = first_quotes(conn, count=1)
    assert len(quotes) == 1


def first_bars(conn, count: int = 1, contract: futuresContract = ES, timeout: float = 15):
    return first_items(conn, "stream_bars", count, contract, timeout)


def test_bar_streams_are_guarded_too(sims, conns, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    refused = open_conn(sims(permissions=frozenset()), conns, tmp_path / "a")
    with pytest.raises(IBPermissionError) as caught:
        timed(lambda: first_bars(refused))
    assert caught.value.elapsed < 2 and len(refused.supervisor.subscriptions) == 0
    served = open_conn(sims(speed=20), conns, tmp_path / "b")
    with pytest.raises(IBNoSecurityDefinition):
        first_bars(served, contract=futuresContract("SP500", "203012"))
    [bar] = first_bars(served)
    assert bar.open_ > 0 and bar.high >= bar.low
