"""Async parity: every public method `name` of every data-source class has `name_async`, a
coroutine function with the same signature, and in an asyncio program the forms return what the
blocking calls return in a script, run concurrently and never block the loop."""

from __future__ import annotations

import asyncio
import inspect
import time

import pytest

from sysbrokers.IB.ib_broker_commissions import ibFuturesContractCommissionData
from sysbrokers.IB.ib_capital_data import ibCapitalData
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import ASYNC_SUFFIX, async_form_names
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
from sysbrokers.IB.ib_fx_handling import ibFxHandlingData
from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData
from sysbrokers.IB.ib_orders import ibExecutionStackData
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysbrokers.IB.ib_position_data import ibContractPositionData
from sysbrokers.IB.ib_spot_FX_data import ibFxPricesData
from sysbrokers.IB.ib_static_data import ibStaticData
from sysbrokers.IB.ib_ticker import ibTickerObject
from sysobjects.contracts import futuresContract
from sysproduction.data.broker import dataBroker
from tests.connection import test_config

from . import ib_loop_threads

DATA_SOURCE_CLASSES = [
    ibFuturesContractPriceData,
    ibFuturesContractData,
    ibFuturesInstrumentData,
    ibFxPricesData,
    ibFxHandlingData,
    ibStaticData,
    ibContractPositionData,
    ibCapitalData,
    ibOrdersData,
    ibExecutionStackData,
    ibFuturesContractCommissionData,
    ibTickerObject,
    dataBroker,
]


def public_methods(cls: type) -> list[str]:
    """Every public plain method, found independently of the helper that builds the forms."""
    names = []
    for name in dir(cls):
        if name.startswith("_") or name.endswith(ASYNC_SUFFIX):
            continue
        attr = inspect.getattr_static(cls, name)
        if inspect.isfunction(attr) and not inspect.iscoroutinefunction(attr) and not inspect.isasyncgenfunction(attr):
            names.append(name)
    return names


@pytest.mark.parametrize("cls", DATA_SOURCE_CLASSES, ids=lambda c: c.__name__)
def test_every_public_method_has_an_awaitable_form(cls):
    names = public_methods(cls)
    assert names, f"{cls.__name__}: no public methods found"
    streams = [n for n in names if n.startswith("stream_")]
    assert sorted(async_form_names(cls)) == sorted(set(names) - set(streams))
    for name in names:
        if name in streams:  # async iterators already (docs/async.md)
            continue
        form = getattr(cls, name + ASYNC_SUFFIX, None)
        assert form is not None, f"{cls.__name__}.{name} has no {name}{ASYNC_SUFFIX}"
        assert inspect.iscoroutinefunction(form), f"{cls.__name__}.{name}{ASYNC_SUFFIX} is not a coroutine function"
        assert inspect.signature(form) == inspect.signature(getattr(cls, name))
        assert name + ASYNC_SUFFIX in dir(cls)  # tab completion


def test_native_coroutines_are_kept():
    from sysbrokers.IB.ib_data_args import ibAsyncForms

    class Source(ibAsyncForms):
        def get_a(self, x: int) -> int:
            return x + 1

        async def get_b_async(self) -> str:
            return "native"

        def get_b(self) -> str:
            return "blocking"

    assert asyncio.run(Source().get_a_async(1)) == 2
    assert asyncio.run(Source().get_b_async()) == "native"


def test_async_program_runs_forms_concurrently_while_quotes_stream(sim, tmp_path, conns):
    config = test_config(tmp_path, sim.port)
    march, june = futuresContract("SP500", "202503"), futuresContract("SP500", "202506")

    # The blocking forms in a script, for comparison.
    script = conns(connectionIB(31, config=config))
    script_prices = ibFuturesContractPriceData(script)
    expected = [script_prices.get_prices_for_contract_object(c) for c in (march, june)]
    expected_expiry = ibFuturesContractData(script).get_actual_expiry_date_for_single_contract(june)
    expected_instruments = ibFuturesInstrumentData(script).get_list_of_instruments()
    script.close_connection()

    async def program():
        conn = await connectionIB.create(32, config=config)
        try:
            prices = ibFuturesContractPriceData(conn)
            quotes: list = []
            gaps: list[float] = []

            async def stream():
                async for quote in prices.stream_quotes(june):
                    quotes.append(quote)

            async def heartbeat():  # how long the loop ever stays blocked
                last = time.monotonic()
                while True:
                    await asyncio.sleep(0.01)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            streaming, beating = asyncio.create_task(stream()), asyncio.create_task(heartbeat())
            while not quotes:
                await asyncio.sleep(0.02)
            before = len(quotes)
            frames = await asyncio.gather(
                prices.get_prices_for_contract_object_async(march),
                prices.get_prices_for_contract_object_async(june),
                ibFuturesContractData(conn).get_actual_expiry_date_for_single_contract_async(june),
                ibFuturesInstrumentData(conn).get_list_of_instruments_async(),
            )
            deadline = time.monotonic() + 5
            while len(quotes) < before + 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            during = len(quotes) - before
            streaming.cancel()
            beating.cancel()
            await asyncio.gather(streaming, beating, return_exceptions=True)
            return frames, during, max(gaps), len(conn.supervisor.subscriptions)
        finally:
            conn.close_connection()

    (march_prices, june_prices, expiry, instruments), during, worst_gap, left = asyncio.run(program())
    assert march_prices.equals(expected[0]) and june_prices.equals(expected[1])
    assert expiry == expected_expiry and instruments == expected_instruments
    assert during >= 2, "quotes stopped while the awaitable forms ran"
    assert worst_gap < 0.5, f"the event loop was blocked for {worst_gap:.2f} s"
    assert left == 0  # leaving the `async for` ended the stream's subscription
    assert not ib_loop_threads()


def test_a_fill_arriving_before_the_sending_thread_resumes_reaches_the_callers_order(sim, tmp_path, monkeypatch):
    """In async (and notebook) mode the order is sent from a worker thread while IB's answers are
    handled on the loop's thread. A worker descheduled just after placeOrder must not let the fill
    go to another object: the caller's order is filled and the wait sees it at once."""
    from sysbrokers.IB.client.ib_orders_client import ibOrdersClient
    from sysobjects.orders import brokerOrder, orderStatus
    from tests.connection import ACCOUNT

    original = ibOrdersClient.send_order

    def slow_after_sending(self, prepared):
        trade = original(self, prepared)
        time.sleep(0.5)  # the sending thread loses the CPU right after placeOrder
        return trade

    monkeypatch.setattr(ibOrdersClient, "send_order", slow_after_sending)
    config = test_config(tmp_path, sim.port)

    async def program():
        conn = await connectionIB.create(33, config=config)
        orders = ibOrdersData(conn)
        try:
            order = brokerOrder("SP500", "202506", 1, strategy_name="race", account=ACCOUNT)
            control = await orders.put_order_on_stack_async(order)
            started = time.monotonic()
            filled = await orders.wait_for_order_async(control, "filled", timeout=5)
            return control, order, filled, time.monotonic() - started, orders.order_store
        finally:
            orders.close()
            conn.close_connection()

    control, order, filled, waited, store = asyncio.run(program())
    assert control.order is order
    assert filled and order.status == orderStatus.FILLED and order.filled_quantity == 1
    assert waited < 1.0, f"the wait took {waited:.2f} s: the fill went elsewhere"
    assert store.get_order_by_reference(order.order_reference).status == orderStatus.FILLED
