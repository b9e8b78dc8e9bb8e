"""Quote and bar streams against ibsim: layer units, surviving restarts and 1101, cancel on exit.

The streams are async iterators; the tests consume them on the connection's event loop with
`conn.run_sync(consume(...))`, as an asyncio program would with `await`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from sysbrokers.IB.connection_supervisor import EventKind
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysobjects.contracts import futuresContract
from tests.connection import test_config

CORN_MAY25 = futuresContract("CORN", "202505")  # IB quotes ZC in cents: the layer divides by 100
CORN_TICK = 0.0025
CLIENT_ID = 7


@dataclass
class Received:
    at: float  # time.monotonic() when the item arrived
    item: Any


@pytest.fixture
def fast_sim(sims):
    # 20 simulated seconds per second: quotes change often and 5-second bars come every 0.25 s.
    return sims(speed=20)


@pytest.fixture
def conn(fast_sim, tmp_path, conns) -> connectionIB:
    return conns(connectionIB(CLIENT_ID, config=test_config(tmp_path, fast_sim.port)))


@pytest.fixture
def prices(conn) -> ibFuturesContractPriceData:
    data = ibFuturesContractPriceData(conn)
    # Contract resolution and the gateway clock are synchronous calls; make them before entering
    # the loop so that these tests exercise the streams themselves (the plain case is tested in
    # test_a_stream_can_start_inside_a_running_loop).
    data.ib_client.resolve(CORN_MAY25)
    conn.now()
    return data


async def collect(
    stream: AsyncIterator,
    until: int | Callable[[list[Received]], bool],
    on_item: Callable[[list[Received]], None] | None = None,
) -> list[Received]:
    """Items with their arrival times: `until` of them, or until `until(received)` is true."""
    done = until if callable(until) else (lambda received: len(received) >= until)
    received: list[Received] = []
    async for item in stream:
        received.append(Received(time.monotonic(), item))
        if on_item is not None:
            on_item(received)
        if done(received):
            break
    return received


def consume(conn: connectionIB, coro, timeout: float = 10.0):
    return conn.run_sync(asyncio.wait_for(coro, timeout))


def assert_corn_quote(quote) -> None:
    assert 2.0 < quote.bid < quote.ask < 10.0  # dollars per bushel, not cents
    spread = (quote.ask - quote.bid) / CORN_TICK
    assert spread == pytest.approx(round(spread)) and round(spread) >= 1
    assert quote.bid_size > 0 and quote.ask_size > 0
    assert not quote.delayed
    assert quote.time.tzinfo is not None


def test_a_stream_can_start_inside_a_running_loop(fast_sim, conn):
    # No synchronous call before: the stream itself has to resolve the contract.
    prices = ibFuturesContractPriceData(conn)
    received = consume(conn, collect(prices.stream_quotes(CORN_MAY25), 3))
    assert len(received) == 3
    assert_corn_quote(received[-1].item)


def test_quotes_flow_in_layer_units(fast_sim, conn, prices):
    received = consume(conn, collect(prices.stream_quotes(CORN_MAY25), 10))
    assert len(received) == 10
    for r in received:
        assert_corn_quote(r.item)
    arrivals = [r.at for r in received]
    assert arrivals == sorted(arrivals)
    assert len({(r.item.bid, r.item.ask, r.item.bid_size, r.item.ask_size, r.item.last) for r in received}) > 1
    assert [r.item.time for r in received] == sorted(r.item.time for r in received)


def live_requests(sim) -> dict[str, list[int]]:
    session = sim.sessions[CLIENT_ID]
    return {"quotes": list(session.mkt_subs), "bars": list(session.rt_subs)}


def quotes_after(received: list[Received], moment: float | None) -> list[Received]:
    return [] if moment is None else [r for r in received if r.at > moment]


def test_quotes_keep_flowing_across_a_gateway_restart(fast_sim, conn, prices):
    marks: dict[str, Any] = {}

    def restart_after_five(received: list[Received]) -> None:
        marks["live"] = live_requests(fast_sim)["quotes"]
        if len(received) == 5:
            marks["before"] = marks["live"]
            marks["fault"] = time.monotonic()
            fast_sim.faults.daily_restart(down_seconds=1.0)

    def on_event(event) -> None:
        if event.kind is EventKind.RESUBSCRIBED:
            marks["resubscribed"] = time.monotonic()

    conn.events += on_event
    received = consume(
        conn,
        collect(
            prices.stream_quotes(CORN_MAY25),
            lambda rs: len(quotes_after(rs, marks.get("resubscribed"))) >= 5,
            on_item=restart_after_five,
        ),
        timeout=15,
    )
    before = [r for r in received if r.at <= marks["fault"]]
    after = quotes_after(received, marks["resubscribed"])
    assert len(before) == 5 and len(after) >= 5
    # the outage is visible as a gap of at least the gateway's down time, and only one
    arrivals = [r.at for r in received]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert max(gaps) >= 0.9 and sorted(gaps)[-2] < 0.9
    # quotes resume promptly after the resubscription (no manual action)
    assert after[0].at - marks["resubscribed"] < 1.0
    for r in after:
        assert_corn_quote(r.item)
    stats = conn.get_stats()
    assert (stats["disconnects"], stats["reconnects"], stats["resubscriptions"]) == (1, 1, 1)
    assert len(marks["before"]) == len(marks["live"]) == 1 and marks["live"] != marks["before"]


def test_quotes_keep_flowing_across_1101(fast_sim, conn, prices):
    marks: dict[str, Any] = {}

    def lose_after_five(received: list[Received]) -> None:
        marks["live"] = live_requests(fast_sim)["quotes"]
        if len(received) == 5:
            marks["before"] = marks["live"]
            marks["fault"] = time.monotonic()
            fast_sim.faults.connectivity_lost(restore="1101", after=0.3)

    def on_event(event) -> None:
        if event.kind is EventKind.RESTORED_DATA_LOST:
            marks["restored"] = time.monotonic()

    conn.events += on_event
    received = consume(
        conn,
        collect(
            prices.stream_quotes(CORN_MAY25),
            lambda rs: len(quotes_after(rs, marks.get("restored"))) >= 5,
            on_item=lose_after_five,
        ),
    )
    after = quotes_after(received, marks["restored"])
    assert len(after) >= 5 and after[0].at - marks["restored"] < 1.0
    # nothing flowed while connectivity was lost (0.3 s; quotes otherwise come every ~0.05 s)
    arrivals = [r.at for r in received]
    assert max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) >= 0.25
    for r in after:
        assert_corn_quote(r.item)
    stats = conn.get_stats()
    assert (stats["disconnects"], stats["resubscriptions"]) == (0, 1)
    # one live request at the gateway, under a fresh request id
    assert len(marks["before"]) == len(marks["live"]) == 1 and marks["live"] != marks["before"]


def test_real_time_bars_in_layer_units(fast_sim, conn, prices):
    received = consume(conn, collect(prices.stream_bars(CORN_MAY25), 3))
    bars = [r.item for r in received]
    assert len(bars) == 3
    times = [bar.time for bar in bars]
    assert all(t.tzinfo is not None and t.second % 5 == 0 for t in times)
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [dt.timedelta(seconds=5)] * 2
    for bar in bars:
        assert 2.0 < bar.low <= min(bar.open_, bar.close) <= max(bar.open_, bar.close) <= bar.high < 10.0
        assert bar.wap == -1 or bar.low <= bar.wap <= bar.high  # the average price is a price too
        assert bar.volume >= 0


def test_keep_up_to_date_bars_in_layer_units(fast_sim, conn, prices):
    received = consume(conn, collect(prices.stream_bars(CORN_MAY25, "1 min", keep_up_to_date=True), 2))
    for bar in (r.item for r in received):
        assert bar.date.tzinfo is not None and bar.date.second == 0
        assert 2.0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high < 10.0
        assert bar.average == -1 or bar.low <= bar.average <= bar.high


@pytest.mark.parametrize("kind", ["quotes", "bars"])
def test_leaving_the_async_for_cancels_at_the_gateway(fast_sim, conn, prices, kind):
    def stream():
        return prices.stream_quotes(CORN_MAY25) if kind == "quotes" else prices.stream_bars(CORN_MAY25)

    seen: dict[str, Any] = {}

    async def main() -> None:
        async for _ in stream():
            # The first data can overtake the gateway's own bookkeeping (another thread).
            for _ in range(50):
                if live_requests(fast_sim)[kind]:
                    break
                await asyncio.sleep(0.02)
            seen["live"] = live_requests(fast_sim)
            break
        # Python closes an abandoned async generator on the loop's next turn.
        await asyncio.sleep(0.2)

    consume(conn, main())
    assert len(seen["live"][kind]) == 1
    assert len(conn.supervisor.subscriptions) == 0
    assert live_requests(fast_sim) == {"quotes": [], "bars": []}


def test_closing_the_stream_cancels_at_once(fast_sim, conn, prices):
    # With contextlib.aclosing the cancel does not wait for garbage collection.
    async def main() -> int:
        async with contextlib.aclosing(prices.stream_quotes(CORN_MAY25)) as quotes:
            async for _ in quotes:
                break
        return len(conn.supervisor.subscriptions)

    assert consume(conn, main()) == 0
    assert conn.wait_until(lambda: not fast_sim.sessions[CLIENT_ID].mkt_subs, 1)


def test_an_error_in_the_consumer_cancels_the_stream(fast_sim, conn, prices):
    async def main() -> None:
        async with contextlib.aclosing(prices.stream_quotes(CORN_MAY25)) as quotes:
            async for _ in quotes:
                raise LookupError("consumer failed")

    with pytest.raises(LookupError):
        consume(conn, main())
    assert len(conn.supervisor.subscriptions) == 0
    assert conn.wait_until(lambda: not fast_sim.sessions[CLIENT_ID].mkt_subs, 1)
