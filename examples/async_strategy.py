"""A small asyncio strategy loop on the broker layer: stream quotes, read positions, place an order.

    python examples/async_strategy.py                      # starts an embedded ibsim (open market)
    python examples/async_strategy.py --port 4002          # or a running gateway / `python -m ibsim`

One event loop does everything: `await connectionIB.create(...)` makes the program's loop the
IB loop, `stream_quotes` is an async iterator, and every other call is the `*_async` form of a
blocking data-source method (docs/async.md). While an order waits for its fill, quotes keep
arriving and the loop keeps turning.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: the layer's packages

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysbrokers.IB.ib_position_data import ibContractPositionData
from sysdata.config.configdata import Config, load_config
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder

ACCOUNT = "DU123456"  # the embedded gateway's simulated account
SIM_START = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)  # a Tuesday, CME open


async def front_contract(prices: ibFuturesContractPriceData, conn: connectionIB, instrument: str) -> futuresContract:
    """The nearest contract that does not expire within a week (gateway's clock)."""
    horizon = (await conn.now_async()) + dt.timedelta(days=7)
    for expiry in await prices.contract_dates_with_price_data_for_instrument_code_async(instrument):
        if dt.datetime.strptime(expiry, "%Y%m%d").replace(tzinfo=dt.UTC) > horizon:
            return futuresContract(instrument, expiry)
    raise LookupError(f"IB lists no contract of {instrument} beyond a week")


async def position_in(positions: ibContractPositionData, contract: futuresContract) -> int:
    held = await positions.get_all_current_positions_as_list_with_contract_objects_async()
    return sum(p.position for p in held if p.instrument_code == contract.instrument_code)


async def strategy(conn: connectionIB, instrument: str, target: int, max_quotes: int) -> int:
    """Buy one contract at a time, on fresh quotes, until the position reaches `target`."""
    prices, positions, orders = ibFuturesContractPriceData(conn), ibContractPositionData(conn), ibOrdersData(conn)
    contract = await front_contract(prices, conn, instrument)
    print(f"trading {contract.key}; target position {target}")
    seen = 0
    try:
        async with contextlib.aclosing(prices.stream_quotes(contract)) as quotes:
            async for quote in quotes:
                seen += 1
                held = await position_in(positions, contract)
                print(f"quote {seen}: {quote.bid:g} / {quote.ask:g}  position {held}")
                if held >= target or seen >= max_quotes:
                    break
                order = brokerOrder(
                    instrument, contract.date_str, 1, strategy_name="async_example", account=conn.account
                )
                control = await orders.put_order_on_stack_async(order)
                if await orders.wait_for_order_async(control, "filled", timeout=15):
                    print(f"bought 1 {contract.key} at {order.average_fill_price:g}")
                else:
                    print(f"order {order.order_reference} not filled: {order.status.value}")
    finally:
        orders.close()
    held = await position_in(positions, contract)
    print(f"done after {seen} quotes: position {held}")
    return held


@contextlib.contextmanager
def gateway(port: int | None) -> Iterator[tuple[int, str]]:
    """(port, account) of the gateway: the one given, or an embedded ibsim started here."""
    if port is not None:
        yield port, ""
        return
    from ibsim import IBSim, SimConfig

    sim = IBSim(SimConfig(port=0, accounts=(ACCOUNT,), start=SIM_START)).start_in_thread()
    try:
        yield sim.port, ACCOUNT
    finally:
        sim.stop_in_thread()


def example_config(port: int, account: str, folder: str) -> Config:
    overrides = {"ib_ipaddress": "127.0.0.1", "ib_port": port, "data_folder": folder}
    if account:
        overrides["broker_account"] = account
    return load_config(overrides=overrides)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=None, help="a running gateway (default: embedded ibsim)")
    parser.add_argument("--client-id", type=int, default=41)
    parser.add_argument("--instrument", default="SP500")
    parser.add_argument("--target", type=int, default=2, help="position to reach, one contract at a time")
    parser.add_argument("--max-quotes", type=int, default=20)
    args = parser.parse_args()

    with gateway(args.port) as (port, account), tempfile.TemporaryDirectory() as folder:
        config = example_config(port, account, folder)

        async def program() -> int:
            conn = await connectionIB.create(args.client_id, config=config)
            try:
                return await strategy(conn, args.instrument, args.target, args.max_quotes)
            finally:
                conn.close_connection()

        held = asyncio.run(program())
    return 0 if held >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
