"""Notebook mode without a notebook: the connection is built synchronously while an event loop
runs on the main thread (as in Jupyter), and every documented blocking call works verbatim.

Each test runs its "cells" inside `asyncio.run(...)`; between cells the main thread only awaits
`asyncio.sleep` (the notebook sits idle), so whatever keeps streams, orders and reconnects going
then is the connection's own "ib-loop" thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
import time

import pytest

from sysbrokers.IB.connection_supervisor import ConnectionState
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBNotConnected, IBRequestTimeout
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder, orderStatus
from tests.connection import ACCOUNT, test_config

from . import ib_loop_threads, idle


def notebook_conn(sim, tmp_path, client_id: int = 999) -> connectionIB:
    """The README's call (with the test gateway's port), made inside a running loop."""
    return connectionIB(
        client_id, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=test_config(tmp_path, sim.port)
    )


def test_readme_snippet_and_seed001_calls_work_inside_a_running_loop(sim, tmp_path):
    from sysbrokers.IB.ib_capital_data import ibCapitalData
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData
    from sysbrokers.IB.ib_orders_data import ibOrdersData
    from sysbrokers.IB.ib_position_data import ibContractPositionData

    async def notebook() -> dict:
        assert asyncio.get_running_loop().is_running()  # as in an ipykernel cell
        # --- cell 1: the README snippet, verbatim but for the port
        conn = notebook_conn(sim, tmp_path)
        prices = ibFuturesContractPriceData(conn).get_prices_for_contract_object(futuresContract("SP500", "202506"))
        mode = conn.mode
        conn.close_connection()
        assert not ib_loop_threads()

        # --- cell 2: seed 001's calls, one connection
        conn = notebook_conn(sim, tmp_path, 7)
        contract = futuresContract("SP500", "202506")
        contracts = ibFuturesContractData(conn)
        expiry = contracts.get_actual_expiry_date_for_single_contract(contract)
        tick = contracts.get_min_tick_size_for_contract(contract)
        broker_code = ibFuturesInstrumentData(conn).get_brokers_instrument_code("SP500")
        capital = ibCapitalData(conn).get_account_value_across_currency_across_accounts()
        await idle(0.1)  # between cells
        orders = ibOrdersData(conn)
        order = brokerOrder("SP500", "202506", 2, strategy_name="notebook", account=ACCOUNT)
        control = orders.put_order_on_stack(order)
        filled = orders.wait_for_order(control, "filled", timeout=10)
        positions = ibContractPositionData(conn)
        held = positions.get_all_current_positions_as_list_with_contract_objects()
        listed = {o.order_reference: o.status for o in orders.get_list_of_broker_orders()}
        now = conn.now()
        orders.close()
        conn.close_connection()
        return locals()

    seen = asyncio.run(notebook())
    assert seen["mode"] == "notebook"
    assert len(seen["prices"]) > 100 and list(seen["prices"].columns) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    assert seen["expiry"] == dt.date(2025, 6, 20) and seen["tick"] == 0.25 and seen["broker_code"] == "ES"
    assert seen["capital"] and all(value.value > 0 for value in seen["capital"])
    assert seen["filled"] and seen["order"].status == orderStatus.FILLED
    assert seen["listed"] == {seen["order"].order_reference: orderStatus.FILLED}
    [position] = [p for p in seen["held"] if p.instrument_code == "SP500"]
    assert position.position == 2 and position.date_str.startswith("202506")
    assert seen["now"].tzinfo is not None
    assert not ib_loop_threads(), "close_connection left an ib-loop thread"


def test_streams_flow_and_reconnect_while_the_notebook_is_idle(sim, tmp_path):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData

    async def notebook() -> dict:
        conn = notebook_conn(sim, tmp_path, 11)
        try:
            prices = ibFuturesContractPriceData(conn)
            ticker = prices.get_ticker_object_for_contract_and_trade_qty(futuresContract("SP500", "202506"), 3)
            # --- idle: nothing on the main thread touches the connection, the quote keeps updating
            start = ticker.handle.updates
            flowing = await idle(5, lambda: ticker.handle.updates >= start + 3)
            quote = (ticker.bid(), ticker.ask())
            # --- the gateway restarts while the notebook is idle: the connection comes back by itself
            sim.faults.daily_restart(down_seconds=0.5)
            went_down = await idle(3, lambda: conn.state is not ConnectionState.CONNECTED)
            reconnected = await idle(10, lambda: conn.get_stats()["reconnects"] == 1 and conn.is_connected())
            after = ticker.handle.updates
            resumed = await idle(5, lambda: ticker.handle.updates >= after + 2)
            # --- a later cell: a blocking call works again
            expiry = ibFuturesContractData(conn).get_actual_expiry_date_for_single_contract(
                futuresContract("SP500", "202506")
            )
            resubscriptions = ticker.handle.resubscriptions
            ticker.cancel()
            subscriptions = len(conn.supervisor.subscriptions)
            return locals()
        finally:
            conn.close_connection()

    seen = asyncio.run(notebook())
    assert seen["flowing"], "the quote did not update while the notebook was idle"
    assert all(price > 0 for price in seen["quote"])
    assert seen["went_down"] and seen["reconnected"], "no reconnect while idle"
    assert seen["resumed"] and seen["resubscriptions"] == 1, "the quote did not resume after the restart"
    assert seen["expiry"] == dt.date(2025, 6, 20)
    assert seen["subscriptions"] == 0
    assert not ib_loop_threads()


def test_blocking_calls_from_two_threads_at_once(sim, tmp_path):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData

    march, june = futuresContract("SP500", "202503"), futuresContract("SP500", "202506")

    async def notebook():
        conn = notebook_conn(sim, tmp_path, 12)
        try:
            prices = ibFuturesContractPriceData(conn)
            contracts = ibFuturesContractData(conn)

            def work(contract):
                frames = [prices.get_prices_for_contract_object(contract) for _ in range(3)]
                expiries = [contracts.get_actual_expiry_date_for_single_contract(contract) for _ in range(3)]
                return frames, expiries, threading.current_thread().name

            serial = {key: work(c) for key, c in (("march", march), ("june", june))}
            barrier = threading.Barrier(2)

            def together(contract):
                barrier.wait(5)
                return work(contract)

            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                futures = {key: pool.submit(together, c) for key, c in (("march", march), ("june", june))}
                parallel = {key: f.result(60) for key, f in futures.items()}
            return serial, parallel
        finally:
            conn.close_connection()

    serial, parallel = asyncio.run(notebook())
    assert {name for *_, name in parallel.values()} != {"MainThread"}
    for key in serial:
        serial_frames, serial_expiries, _ = serial[key]
        frames, expiries, _ = parallel[key]
        assert expiries == serial_expiries
        for frame in frames:
            assert frame.equals(serial_frames[0])
    assert serial["march"][1][0] == dt.date(2025, 3, 21) and serial["june"][1][0] == dt.date(2025, 6, 20)
    assert not serial["march"][0][0].equals(serial["june"][0][0])
    assert not ib_loop_threads()


def test_hand_offs_are_bounded_and_a_closed_connection_says_so(sim, tmp_path):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData

    async def notebook():
        conn = notebook_conn(sim, tmp_path, 13)
        try:
            conn.loop_call_timeout = 0.5
            started = time.monotonic()
            with pytest.raises(IBRequestTimeout, match="within 0.5 s"):
                conn.call_in_loop(time.sleep, 1.5)  # the IB loop is stuck for longer than the bound
            waited = time.monotonic() - started
            await idle(1.5)
            assert conn.now().tzinfo is not None  # the loop is free again: calls work
        finally:
            conn.close_connection()
        with pytest.raises(IBNotConnected):
            conn.run_sync(asyncio.sleep(0))
        with pytest.raises(IBNotConnected):
            conn.ensure_connected()
        with pytest.raises(IBNotConnected):
            ibFuturesContractPriceData(conn).get_prices_for_contract_object(futuresContract("SP500", "202506"))
        return waited

    waited = asyncio.run(notebook())
    assert 0.4 < waited < 1.4
    assert not ib_loop_threads()


def test_script_mode_is_unchanged(sim, tmp_path, conns):
    conn = conns(notebook_conn(sim, tmp_path, 14))
    assert conn.mode == "script" and not ib_loop_threads()
    assert conn.ib_loop is not None and not conn.ib_loop.is_running()
    assert not conn.off_loop_thread()
    assert conn.call_in_loop(threading.current_thread) is threading.current_thread()  # a direct call


def test_async_for_on_a_stream_in_a_notebook_cell(sim, tmp_path):
    # With autoawait a cell may `async for` over a stream on Jupyter's loop, while the IB socket
    # lives on the connection's "ib-loop" thread: the stream runs there and its quotes are relayed.
    import contextlib

    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData

    async def notebook():
        conn = notebook_conn(sim, tmp_path, 15)
        try:
            prices = ibFuturesContractPriceData(conn)
            quotes = []
            async with contextlib.aclosing(prices.stream_quotes(futuresContract("SP500", "202506"))) as stream:
                async for quote in stream:
                    quotes.append(quote)
                    if len(quotes) == 3:
                        break
            ended = await idle(3, lambda: len(conn.supervisor.subscriptions) == 0)
            awaited = await prices.get_prices_for_contract_object_async(futuresContract("SP500", "202506"))
            blocking = prices.get_prices_for_contract_object(futuresContract("SP500", "202506"))
            return quotes, ended, awaited.equals(blocking)
        finally:
            conn.close_connection()

    quotes, ended, same = asyncio.run(notebook())
    assert len(quotes) == 3 and all(q.bid > 0 and q.ask >= q.bid for q in quotes)
    assert ended, "leaving the async for did not end the stream's subscription"
    assert same
    assert not ib_loop_threads()


def test_data_blob_in_a_notebook_cell(sim, tmp_path):
    from sysdata.data_blob import dataBlob
    from tests.connection.test_connection import _lease

    config = test_config(tmp_path, sim.port, ib_market_data_lines=2)

    async def notebook():
        with dataBlob("notebook", config=config) as data:
            contract = futuresContract("SP500", "202506")
            prices = data.broker_futures_contract_price.get_prices_for_contract_object(contract)
            capital = data.broker_capital.get_account_value_across_currency_across_accounts()
            ticker = data.broker_futures_contract_price.get_ticker_object_for_contract(contract)
            start = ticker.handle.updates
            flowing = await idle(5, lambda: ticker.handle.updates >= start + 2)
            lines_held = conn_lines(data.ib_conn)
            # idle longer than the client-id lease (2 s): its heartbeat keeps renewing it
            client_id = data.ib_conn.client_id()
            first = _lease(config, client_id).expires
            await idle(2.5)
            renewed = _lease(config, client_id).expires
            lease_alive = renewed > first and renewed > dt.datetime.now(dt.UTC)
            ticker.cancel()
            lines_after = conn_lines(data.ib_conn)
            mode, threads = data.ib_conn.mode, len(ib_loop_threads())
        return prices, capital, flowing, lines_held, lines_after, mode, threads, lease_alive, client_id

    prices, capital, flowing, lines_held, lines_after, mode, threads, lease_alive, client_id = asyncio.run(notebook())
    assert mode == "notebook" and threads == 1
    assert lease_alive and _lease(config, client_id) is None  # renewed while idle, released on close
    assert len(prices) > 100 and capital and flowing
    assert (lines_held, lines_after) == (1, 0)  # the login's market-data line taken and given back
    assert not ib_loop_threads(), "closing the blob left an ib-loop thread"


def conn_lines(conn: connectionIB) -> int:
    lines = conn.supervisor._lines
    return lines.held() if lines is not None else -1


def test_the_connections_coroutines_awaited_in_a_cell(sim, tmp_path):
    # `await conn.now_async()` in a cell runs on Jupyter's loop; the work runs on the IB loop.
    async def notebook():
        conn = notebook_conn(sim, tmp_path, 16)
        try:
            await conn.ensure_connected_async(timeout=5)
            return await conn.now_async(), conn.now()
        finally:
            conn.close_connection()

    awaited, blocking = asyncio.run(notebook())
    assert abs((blocking - awaited).total_seconds()) < 5


def test_a_listener_may_close_the_connection(sim, tmp_path):
    # A listener runs on the ib-loop thread; closing from there ends that thread after the callback.
    from sysbrokers.IB.connection_supervisor import EventKind

    async def notebook():
        conn = notebook_conn(sim, tmp_path, 17)
        seen = []

        def on_event(event):
            seen.append(event.kind)
            if event.kind is EventKind.DISCONNECTED:
                conn.close_connection()

        conn.events += on_event
        sim.faults.daily_restart(down_seconds=0.3)
        closed = await idle(5, lambda: EventKind.CLOSED in seen and not ib_loop_threads())
        return closed, conn.mode

    closed, mode = asyncio.run(notebook())
    assert mode == "notebook" and closed
    assert not ib_loop_threads()


def test_a_failed_connect_in_notebook_mode_leaves_nothing_behind(tmp_path):
    from tests.connection.test_connection import free_port

    port = free_port()  # nothing listens there

    async def notebook():
        started = time.monotonic()
        with pytest.raises(IBNotConnected, match="not reachable"):
            connectionIB(18, ib_ipaddress="127.0.0.1", ib_port=port, config=test_config(tmp_path, port))
        return time.monotonic() - started

    assert asyncio.run(notebook()) < 5
    assert not ib_loop_threads()
