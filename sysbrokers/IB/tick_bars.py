"""Bars from ticks (or from shorter bars): OHLCV over fixed N-second spans, as IB builds its bars.

    builder = TickBarBuilder(5)                       # 5-second bars
    for tick in ticks:                                # tick-by-tick AllLast trades
        for bar in builder.add_trade(tick.time, tick.price, tick.size):
            print(bar)                                # a bar is complete when a later span starts
    bars = builder.flush(now)                         # ... or when the clock has passed its end

    bars_from_ticks(ticks, 60)                        # the same, for a finished list of ticks

A bar covers [start, start + N) with start a multiple of N seconds since the epoch (IB's intraday
bars are aligned the same way for every N that divides an hour: the exchange zones are whole
hours from UTC and sessions start on the minute). open = first trade's price, high/low = extreme
prices, close = last price, volume = sum of sizes, count = number of trades. A span without
trades gives no bar unless `fill_empty=True`, which gives IB's flat bar (every price the
previous close, volume 0) for the spans between two trades. Shorter bars aggregate the same way
with `add_bar` (a 5-second real-time bar as one piece).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["OHLCVBar", "TickBarBuilder", "bar_seconds", "bars_from_ticks"]

UTC = dt.UTC
_UNITS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600}


@dataclass(frozen=True)
class OHLCVBar:
    """One finished bar; `time` is its start (UTC)."""

    time: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    count: int

    def ohlcv(self) -> tuple[float, float, float, float, float]:
        return (self.open, self.high, self.low, self.close, self.volume)


def bar_seconds(bar_size: str | int) -> int:
    """Seconds of an IB bar size ("5 secs", "1 min", "2 mins", "1 hour") that divides an hour."""
    if isinstance(bar_size, int):
        seconds = bar_size
    else:
        parts = str(bar_size).split()
        if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in _UNITS:
            raise ValueError(f"bar size must look like '5 secs', '1 min', '1 hour'; got {bar_size!r}")
        seconds = int(parts[0]) * _UNITS[parts[1]]
    if seconds <= 0 or 3600 % seconds:
        raise ValueError(f"bar size must divide an hour, got {bar_size!r} ({seconds} s)")
    return seconds


def _epoch(t: dt.datetime) -> float:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: ticks need timezone-aware times")
    return t.timestamp()


class TickBarBuilder:
    """Builds `seconds`-long bars from trades (or shorter bars) that arrive in time order."""

    def __init__(self, seconds: int | str, fill_empty: bool = False) -> None:
        self.seconds = bar_seconds(seconds)
        self.fill_empty = fill_empty
        self._start: int | None = None  # epoch second of the open bar
        self._o = self._h = self._l = self._c = 0.0
        self._v = 0.0
        self._n = 0
        self._last_close: float | None = None
        self.out_of_order = 0  # pieces older than the open bar (dropped)

    def bar_end(self, bar: OHLCVBar) -> dt.datetime:
        return bar.time + dt.timedelta(seconds=self.seconds)

    def _bin(self, t: dt.datetime) -> int:
        epoch = int(_epoch(t) // 1)
        return epoch - epoch % self.seconds

    def add_trade(self, time: dt.datetime, price: float, size: float) -> list[OHLCVBar]:
        """One trade; returns the bars it completes (none, one, or with fill_empty several)."""
        return self.add_bar(time, price, price, price, price, size, 1)

    def add_bar(
        self,
        time: dt.datetime,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        count: int = 1,
    ) -> list[OHLCVBar]:
        """A piece that starts at `time` (a trade, or a bar shorter than ours and inside one span)."""
        start = self._bin(time)
        done: list[OHLCVBar] = []
        if self._start is not None and start < self._start:
            self.out_of_order += 1
            return done
        if self._start is not None and start > self._start:
            done += self._close_through(start)
        if self._start is None:
            self._start = start
            self._o, self._h, self._l, self._c, self._v, self._n = open_, high, low, close, float(volume), count
        else:
            self._h = max(self._h, high)
            self._l = min(self._l, low)
            self._c = close
            self._v += float(volume)
            self._n += count
        return done

    def flush(self, now: dt.datetime | None = None) -> list[OHLCVBar]:
        """Complete the open bar if `now` (the source's clock) is at or past its end; None: now."""
        if self._start is None:
            return []
        if now is not None and _epoch(now) < self._start + self.seconds:
            return []
        bar = self._finish()
        return [bar]

    def _finish(self) -> OHLCVBar:
        assert self._start is not None
        bar = OHLCVBar(
            dt.datetime.fromtimestamp(self._start, UTC), self._o, self._h, self._l, self._c, self._v, self._n
        )
        self._last_close = self._c
        self._start = None
        return bar

    def _close_through(self, next_start: int) -> list[OHLCVBar]:
        done = [self._finish()]
        if self.fill_empty and self._last_close is not None:
            price = self._last_close
            t = int(done[0].time.timestamp()) + self.seconds
            while t < next_start:
                done.append(OHLCVBar(dt.datetime.fromtimestamp(t, UTC), price, price, price, price, 0.0, 0))
                t += self.seconds
        return done


def bars_from_ticks(ticks: Iterable[Any], seconds: int | str, fill_empty: bool = False) -> list[OHLCVBar]:
    """Bars of a finished list of trades: objects with `time`, `price`, `size` (ib_async's
    `TickByTickAllLast` / `HistoricalTickLast`, or this layer's `TradeEvent`), in time order.
    The last bar is included (it is as complete as the ticks given)."""
    builder = TickBarBuilder(seconds, fill_empty)
    out: list[OHLCVBar] = []
    for tick in ticks:
        when = tick.time if tick.time.tzinfo is not None else tick.time.replace(tzinfo=UTC)
        out += builder.add_trade(when, float(tick.price), float(tick.size))
    out += builder.flush()
    return out
