"""pysystemtrade's `sysexecution.tick_data`: the broker-neutral ticker and recent-tick objects.

    ticker = data_broker.get_ticker_object_for_order(order)      # an ibTickerObject
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=10)
    tick.bid_price, tick.ask_price, ticker.mid_price(), ticker.spread()
    data_broker.cancel_market_data_for_order(order)

A `tickerObject` wraps a live quote source; subclasses implement `bid`, `ask`, `bid_size`,
`ask_size` and `refresh`. The helpers here (current tick, mid, spread, side / offside price for
the trade's direction, the ticks seen so far) work on any subclass. Prices are in the layer's
units (IB's price divided by the price magnifier), as every price this layer returns.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import pandas as pd

from syscore.exceptions import missingData

__all__ = ["dataFrameOfRecentTicks", "oneTick", "tickerObject", "TICK_COLUMNS"]

TICK_COLUMNS = ["bid_price", "ask_price", "bid_size", "ask_size"]


class oneTick(NamedTuple):  # noqa: N801 - pysystemtrade's public name
    """One top-of-book observation."""

    bid_price: float
    ask_price: float
    bid_size: float
    ask_size: float

    @property
    def is_valid(self) -> bool:
        return _valid(self.bid_price) and _valid(self.ask_price)

    @property
    def mid_price(self) -> float:
        return (self.bid_price + self.ask_price) / 2.0

    @property
    def spread(self) -> float:
        return self.ask_price - self.bid_price


class dataFrameOfRecentTicks(pd.DataFrame):  # noqa: N801 - pysystemtrade's public name
    """Ticks indexed by UTC time, columns bid_price, ask_price, bid_size, ask_size."""

    @classmethod
    def from_ticks(cls, times: list[Any], ticks: list[oneTick]) -> dataFrameOfRecentTicks:
        index = pd.DatetimeIndex(pd.to_datetime(times, utc=True), name="index")
        return cls(pd.DataFrame([tuple(t) for t in ticks], index=index, columns=TICK_COLUMNS, dtype=float))

    def average_bid_offer_spread(self) -> float:
        """pysystemtrade's additional-sampling figure: the mean of ask - bid."""
        if self.empty:
            return math.nan
        return float((self["ask_price"] - self["bid_price"]).mean())


class tickerObject(ABC):  # noqa: N801 - pysystemtrade's public name
    """A live quote for one contract and (optionally) a trade quantity whose sign is the side."""

    def __init__(self, ticker: Any, qty: float | None = None) -> None:
        self._ticker = ticker
        self._qty = qty
        self._times: list[Any] = []
        self._ticks: list[oneTick] = []

    @property
    def ticker(self) -> Any:
        return self._ticker

    @property
    def qty(self) -> float | None:
        return self._qty

    # -- implemented by the broker's subclass -------------------------------------------------
    @abstractmethod
    def refresh(self) -> None: ...

    @abstractmethod
    def bid(self) -> float: ...

    @abstractmethod
    def ask(self) -> float: ...

    @abstractmethod
    def bid_size(self) -> float: ...

    @abstractmethod
    def ask_size(self) -> float: ...

    def tick_time(self) -> Any:
        return pd.Timestamp.now(tz="UTC")

    # -- helpers ----------------------------------------------------------------------------------
    def current_tick(self, require_refresh: bool = True) -> oneTick:
        """The quote now (refreshed first); it is added to the ticks seen when valid."""
        if require_refresh:
            self.refresh()
        tick = oneTick(self.bid(), self.ask(), self.bid_size(), self.ask_size())
        if tick.is_valid:
            self._times.append(self.tick_time())
            self._ticks.append(tick)
        return tick

    def wait_for_valid_bid_and_ask_and_return_current_tick(self, wait_time_seconds: float = 10) -> oneTick:
        """The first tick with both a bid and an ask; `missingData` if none comes in time."""
        deadline = time.monotonic() + wait_time_seconds
        while True:
            tick = self.current_tick()
            if tick.is_valid:
                return tick
            if time.monotonic() >= deadline:
                raise missingData(f"no valid bid and ask within {wait_time_seconds:g}s")
            self.wait(0.02)

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def mid_price(self) -> float:
        return self.current_tick().mid_price

    def spread(self) -> float:
        return self.current_tick().spread

    def side_price(self) -> float:
        """The price on our side of the book: the bid when buying, the ask when selling."""
        tick = self.current_tick()
        return tick.bid_price if self._sign() > 0 else tick.ask_price

    def offside_price(self) -> float:
        """The price that crosses the spread: the ask when buying, the bid when selling."""
        tick = self.current_tick()
        return tick.ask_price if self._sign() > 0 else tick.bid_price

    def offside_size(self) -> float:
        """The size available at the offside price (pysystemtrade's liquidity check)."""
        tick = self.current_tick()
        return tick.ask_size if self._sign() > 0 else tick.bid_size

    def as_df(self) -> dataFrameOfRecentTicks:
        """The valid ticks seen so far."""
        return dataFrameOfRecentTicks.from_ticks(self._times, self._ticks)

    def _sign(self) -> int:
        if not self._qty:
            raise ValueError("this ticker has no trade quantity, so no side")
        return 1 if self._qty > 0 else -1


def _valid(value: float | None) -> bool:
    """A quoted price: finite. Tickers turn IB's "no price" (-1, 0) into nan, except for calendar
    spreads, whose combo prices can be zero or negative."""
    return value is not None and math.isfinite(value)
