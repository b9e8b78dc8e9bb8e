"""The streams in an asyncio program (`await connectionIB.create(...)`), as the market-data service
uses them: several at once on one connection, and the subscription given back however the reader
stops (aclose, a cancelled task, or a `break` and the stream dropped)."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc

from sysbrokers.IB.front_month_stream import (
    BarEvent,
    QuoteEvent,
    RollEvent,
    open_streams,
    stream_contract_bars,
    stream_front_month_quotes,
)
from sysbrokers.IB.ib_connection import connectionIB
from tests.connection import test_config

ROLL = dt.datetime(2025, 3, 21, 13, 30, tzinfo=dt.UTC)


def test_streams_in_an_asyncio_program(sims, tmp_path):
    sim = sims(start=ROLL - dt.timedelta(seconds=15), speed=10)

    async def program():
        conn = await connectionIB.create(41, config=test_config(tmp_path, sim.port))
        try:
            quotes = stream_front_month_quotes(conn, "NQ", check_seconds=0.05)
            bars = stream_contract_bars(conn, "ESM5")
            got: dict[str, list] = {"quotes": [], "bars": []}

            async def read_quotes():
                async for event in quotes:
                    got["quotes"].append(event)
                    if isinstance(event, RollEvent):
                        break
                await quotes.aclose()

            async def read_bars():
                async for bar in bars:
                    got["bars"].append(bar)

            bar_task = asyncio.create_task(read_bars())
            await asyncio.wait_for(read_quotes(), 10)
            while len(got["bars"]) < 2:
                await asyncio.sleep(0.05)
            assert len(open_streams(conn)) == 1  # the quotes are closed, the bars still read
            bar_task.cancel()  # the reader's task is cancelled: the stream closes with it
            await asyncio.gather(bar_task, return_exceptions=True)
            assert open_streams(conn) == []

            async def two_then_break():
                stream = stream_contract_bars(conn, "ESM5")
                count = 0
                async for _ in stream:
                    count += 1
                    if count == 2:
                        break
                return len(conn.supervisor.subscriptions)

            held_at_break = await two_then_break()  # `break`, no aclose: the stream is dropped
            gc.collect()
            await asyncio.sleep(0.3)
            return got, held_at_break, len(conn.supervisor.subscriptions), dict(sim.sessions[41].rt_subs)
        finally:
            conn.close_connection()

    got, held_at_break, left, rt_subs = asyncio.run(asyncio.wait_for(program(), 20))
    quotes = got["quotes"]
    assert isinstance(quotes[-1], RollEvent) and (quotes[-1].old_local_symbol, quotes[-1].new_local_symbol) == (
        "NQH5",
        "NQM5",
    )
    assert all(isinstance(q, QuoteEvent) and q.local_symbol == "NQH5" for q in quotes[:-1])
    assert len(got["bars"]) >= 2 and all(isinstance(b, BarEvent) and b.local_symbol == "ESM5" for b in got["bars"])
    assert held_at_break == 1 and left == 0 and rt_subs == {}


def test_streams_in_notebook_mode(sims, tmp_path):
    # The connection built synchronously inside a running loop (as in Jupyter): its socket lives
    # on the "ib-loop" thread; the stream's events are relayed to the notebook's loop.
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from tests.connection import ACCOUNT

    sim = sims(start=ROLL - dt.timedelta(seconds=15), speed=10)

    async def notebook():
        conn = connectionIB(
            42, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=test_config(tmp_path, sim.port)
        )
        try:
            assert conn.mode == "notebook"
            stream = ibFuturesContractPriceData(conn).stream_front_month_quotes("SP500", check_seconds=0.05)
            seen = []
            async for event in stream:
                seen.append(event)
                if isinstance(event, RollEvent):
                    break
            await asyncio.sleep(0.3)
            return seen, stream.stats.rolls, len(conn.supervisor.subscriptions)
        finally:
            conn.close_connection()

    seen, rolls, left = asyncio.run(asyncio.wait_for(notebook(), 20))
    assert isinstance(seen[-1], RollEvent) and seen[-1].new_local_symbol == "ESM5"
    assert all(isinstance(e, QuoteEvent) and e.local_symbol == "ESH5" for e in seen[:-1])
    assert rolls == 1 and left == 0  # leaving the `async for` ended the relay and the stream
