"""`ibTickerObject`: pysystemtrade's live ticker over the connection supervisor's market data.

    prices = ibFuturesContractPriceData(conn)
    ticker = prices.get_ticker_object_for_contract_and_trade_qty(contract, 3)   # buying 3
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=10)
    ticker.mid_price(), ticker.spread(), ticker.offside_price()
    prices.cancel_market_data_for_contract(contract)

The quote is a streaming `reqMktData` held by the connection supervisor, so it keeps updating
after a gateway restart or 1101 (resubscribed under a new request id). `refresh()` lets IB's
pending messages in; prices are IB's divided by the contract's price magnifier.
"""

from __future__ import annotations

import math
from typing import Any

from sysbrokers.IB.ib_data_args import ibAsyncForms
from sysbrokers.IB.subscriptions import SubscriptionHandle
from sysexecution.tick_data import tickerObject

__all__ = ["ibTickerObject"]


class ibTickerObject(tickerObject, ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """A `tickerObject` on one supervised market-data subscription."""

    def __init__(
        self,
        handle: SubscriptionHandle,
        connection: Any,
        price_magnifier: float = 1,
        qty: float | None = None,
    ) -> None:
        super().__init__(handle, qty=qty)
        self._handle = handle
        self._connection = connection
        self._magnifier = price_magnifier

    @property
    def handle(self) -> SubscriptionHandle:
        return self._handle

    @property
    def ticker(self) -> Any:
        """The live ib_async `Ticker` (a new one after a resubscription)."""
        return self._handle.ticker

    @property
    def active(self) -> bool:
        return self._handle.active

    def refresh(self) -> None:
        if self._connection.ib.isConnected():
            self._connection.sleep(0)

    def wait(self, seconds: float) -> None:
        self._connection.sleep(seconds)

    def bid(self) -> float:
        return self._price(self.ticker.bid)

    def ask(self) -> float:
        return self._price(self.ticker.ask)

    def bid_size(self) -> float:
        return _number(self.ticker.bidSize)

    def ask_size(self) -> float:
        return _number(self.ticker.askSize)

    def last(self) -> float:
        return self._price(self.ticker.last)

    def tick_time(self) -> Any:
        return self.ticker.time or self._connection.now()

    def cancel(self) -> None:
        """End the subscription at the gateway (idempotent)."""
        self._handle.cancel()

    def _price(self, value: Any) -> float:
        number = _number(value)
        return number / self._magnifier if number > 0 else math.nan

    def __repr__(self) -> str:
        contract = self._handle.contract
        label = getattr(contract, "localSymbol", "") or getattr(contract, "symbol", "?")
        return f"ibTickerObject({label}, bid={self.bid()}, ask={self.ask()}, qty={self.qty})"


class ibSpreadTickerObject(ibTickerObject):  # noqa: N801 - named like pysystemtrade's classes
    """A ticker on a calendar spread (an IB BAG): combo prices can be zero or negative."""

    def _price(self, value: Any) -> float:
        number = _number(value)
        return number / self._magnifier if math.isfinite(number) else math.nan


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
