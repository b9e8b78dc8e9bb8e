"""Requests in flight: time limits and IB's errors reach the request they belong to, and only it.

The gateway is ibsim over loopback, told to leave symbol searches unanswered (as a hung data
farm would), which makes a real request that IB never answers.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from ib_async import Future

from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBRequestTimeout

from . import conns_fixture, sim_fixture, sims_fixture, test_config  # noqa: F401 - fixtures

NO_SUCH_CONTRACT = Future(symbol="ES", lastTradeDateOrContractMonth="199001", exchange="CME", currency="USD")
SP500 = Future(symbol="ES", lastTradeDateOrContractMonth="202506", exchange="CME", currency="USD", multiplier="50")


def silent_request(client: ibClient, what: str, timeout: float) -> asyncio.Future:
    """A request the gateway leaves unanswered (a symbol search), sent through the layer in a task of its own."""
    return asyncio.ensure_future(
        client.request_async(lambda: client.ib.reqMatchingSymbolsAsync("ES"), what, timeout=timeout)
    )


@pytest.fixture(name="client")
def client_fixture(sim, conns, tmp_path) -> ibClient:
    sim.faults.leave_unanswered(81)  # reqMatchingSymbols
    return ibClient(conns(connectionIB(91, config=test_config(tmp_path, sim.port))))


def test_a_silent_request_ends_at_its_time_limit_and_the_connection_goes_on(client):
    started = time.monotonic()
    with pytest.raises(IBRequestTimeout, match=r"symbol search: no answer from IB within 0.3s"):
        client.run_request(lambda: client.ib.reqMatchingSymbolsAsync("ES"), "symbol search", timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2.0
    details = client.run_request(lambda: client.ib.reqContractDetailsAsync(SP500), "contract details")
    assert [d.contract.localSymbol for d in details] == ["ESM5"]
    assert client.ib_connection.request_watch._pending == []


def test_ib_refusing_a_blocking_request_raises_the_typed_error(client):
    with pytest.raises(IBNoSecurityDefinition) as caught:
        client.run_request(lambda: client.ib.reqContractDetailsAsync(NO_SUCH_CONTRACT), "contract details")
    assert caught.value.code == 200
    assert client.ib_connection.request_watch._pending == []


def test_a_shorter_time_limit_fires_first_even_when_a_longer_one_is_armed(client):
    conn = client.ib_connection

    async def both():
        slow = silent_request(client, "slow search", timeout=5)
        await asyncio.sleep(0)  # the slow request is in flight and has armed the timer
        started = time.monotonic()
        with pytest.raises(IBRequestTimeout, match="fast search"):
            await client.request_async(lambda: client.ib.reqMatchingSymbolsAsync("CL"), "fast search", timeout=0.2)
        elapsed = time.monotonic() - started
        assert not slow.done()  # untouched by the other request's time limit
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        return elapsed

    assert conn.run_sync(both()) < 1.5
    assert conn.request_watch._pending == []


def test_an_error_interrupts_only_the_request_it_belongs_to(client):
    """Two requests in flight at once: IB refuses the second; the first is not interrupted."""
    conn = client.ib_connection

    async def concurrent():
        first = silent_request(client, "search", timeout=0.6)
        await asyncio.sleep(0)
        with pytest.raises(IBNoSecurityDefinition):
            await client.request_async(lambda: client.ib.reqContractDetailsAsync(NO_SUCH_CONTRACT), "details")
        assert not first.done()
        with pytest.raises(IBRequestTimeout, match="search"):  # its own end, not the other's error
            await first

    conn.run_sync(concurrent())
    assert conn.request_watch._pending == []


def test_a_cancelled_caller_is_not_mistaken_for_an_ib_error(client):
    conn = client.ib_connection

    async def cancelled():
        task = silent_request(client, "search", timeout=5)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    conn.run_sync(cancelled())
    assert conn.request_watch._pending == []
