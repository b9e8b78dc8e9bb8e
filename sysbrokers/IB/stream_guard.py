"""Quote streams never hang silently: permission errors and silent gateways raise, in bounded time.

    async for quote in guarded_quotes(price_client, contract):     # what
        ...                                                        # ibFuturesContractPriceData.stream_quotes does

* An unknown or expired contract raises `IBNoSecurityDefinition` at once (contract resolution,
  before anything is subscribed).
* The market-data type is configuration (`ib_market_data_type`: live, frozen, delayed,
  delayed_frozen; the connection sends it on every connect). With `delayed` / `delayed_frozen` IB
  itself falls back to delayed data when the account has no live permission (10167, a notice) and
  the quotes arrive with `delayed=True`. With `live` / `frozen` the permission error (354, 10089,
  10168, ...) ends the stream with `IBPermissionError` as soon as IB sends it.
* If the gateway sends nothing at all for the stream within `stream_first_data_seconds`, the
  iterator raises `IBStreamTimeout`. Any update counts (a closed market still sends its last
  values), so a quiet market does not raise; silence *later* is the `StreamWatch`'s business
  (stale streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sysbrokers.IB.ib_errors import IBError, IBPermissionError, IBRequestTimeout, classify, error_from
from sysbrokers.IB.subscriptions import SubscriptionKind

if TYPE_CHECKING:
    from sysbrokers.IB.client.ib_price_client import TickSnapshot, ibPriceClient
    from sysobjects.contracts import futuresContract

MARKET_DATA_TYPES = {"live": 1, "frozen": 2, "delayed": 3, "delayed_frozen": 4}


class IBStreamTimeout(IBRequestTimeout):
    """A stream got nothing at all from the gateway within `stream_first_data_seconds`."""


def market_data_type(name: str) -> int:
    """IB's number for a configured market-data type name."""
    return MARKET_DATA_TYPES[name]


def delayed_allowed(name: str) -> bool:
    return MARKET_DATA_TYPES[name] in (3, 4)


async def guarded_quotes(
    client: ibPriceClient, contract: futuresContract, first_data_seconds: float | None = None
) -> AsyncIterator[TickSnapshot]:
    """`client.stream_quotes(contract)`, raising instead of waiting for ever (module docstring)."""
    guarded = _guarded(client, contract, client.stream_quotes(contract), "quote", first_data_seconds)
    async with contextlib.aclosing(guarded) as quotes:  # closing this stream closes the inner one now
        async for quote in quotes:
            yield quote


async def guarded_bars(
    client: ibPriceClient, contract: futuresContract, bar_size: str = "5 secs", keep_up_to_date: bool = False
) -> AsyncIterator[Any]:
    """`client.stream_bars(...)` with the same guards except the silence limit: IB sends no bar at
    all while a market is closed, so a silent bar stream is the `StreamWatch`'s business (stale
    while the market is open), not an error here."""
    guarded = _guarded(client, contract, client.stream_bars(contract, bar_size, keep_up_to_date), "bar", None, False)
    async with contextlib.aclosing(guarded) as bars:
        async for bar in bars:
            yield bar


async def _guarded(
    client: ibPriceClient,
    contract: futuresContract,
    stream: AsyncIterator[Any],
    what: str,
    first_data_seconds: float | None,
    silence_limit: bool = True,
) -> AsyncIterator[Any]:
    conn = client.ib_connection
    config = conn.config
    setting = config.ib_market_data_type
    allow_delayed = delayed_allowed(setting)
    limit = float(first_data_seconds or config.stream_first_data_seconds)
    found = await client.resolve_async(contract)  # unknown / expired: raises now
    con_id = found.contract.conId
    loop = asyncio.get_running_loop()
    failed: asyncio.Future[IBError] = loop.create_future()

    def on_error(req_id: int, code: int, text: str, err_contract: Any) -> None:
        if failed.done() or getattr(err_contract, "conId", None) != con_id:
            return
        kind = classify(code, text, allow_delayed)
        if kind is not None and issubclass(kind, IBPermissionError):
            failed.set_result(error_from(code, text, req_id, found.contract, allow_delayed))

    ib = conn.ib
    known = {h.handle_id for h in conn.supervisor.subscriptions}
    ib.errorEvent += on_error
    first: asyncio.Future | None = None
    try:
        first = asyncio.ensure_future(anext(stream))
        deadline = loop.time() + limit if silence_limit else math.inf
        while not first.done():
            remaining = deadline - loop.time()
            timeout = None if math.isinf(remaining) else max(0.0, remaining)
            await asyncio.wait({first, failed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if failed.done() and not first.done():
                raise failed.result()
            if not first.done() and loop.time() >= deadline:
                if not _got_updates(conn, con_id, known):
                    raise IBStreamTimeout(
                        message=f"{what} stream of {contract.key}: nothing from IB within {limit:g}s "
                        f"(market-data type {setting})"
                    )
                await asyncio.wait(
                    {first, failed}, return_when=asyncio.FIRST_COMPLETED
                )  # data flows, no quote yet (closed market): wait
        yield first.result()
        async for item in stream:
            if failed.done():
                raise failed.result()
            yield item
    finally:
        ib.errorEvent -= on_error
        if first is not None and not first.done():
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await first
        await stream.aclose()


def _got_updates(conn: Any, con_id: int, known: set[int]) -> bool:
    return any(
        h.kind == SubscriptionKind.MARKET_DATA and h.handle_id not in known and h.updates > 0
        for h in conn.supervisor.subscriptions
        if getattr(h.contract, "conId", None) == con_id
    )


__all__ = ["IBStreamTimeout", "guarded_bars", "guarded_quotes", "market_data_type"]
