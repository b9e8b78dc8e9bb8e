"""Tick-level data: `reqHistoricalTicks` replies and `reqTickByTickData` streams.

    messages = historical_ticks(market, inst, req, now)          # one 96/97/98 message
    sub = TickByTickSub(req_id, inst, "BidAsk"); out = sub.messages(market.quote(inst, now))

Ticks come from the market model's one-second path: a TRADES tick per second that traded (its
close and volume), a BID_ASK tick per second in which the quote changed, a MIDPOINT tick per
second in which the midpoint changed. At most 1000 ticks per request, as at IB.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from . import messages as m
from .market import MarketModel
from .model import Instrument, Quote

MAX_TICKS = 1000
SCAN_CHUNK = dt.timedelta(hours=1)
SCAN_LIMIT = dt.timedelta(days=7)  # how far a request looks for ticks from its start or end
TICK_BY_TICK_TYPES = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}
WHAT = ("TRADES", "BID_ASK", "MIDPOINT")


def _seconds(market: MarketModel, inst: Instrument, a: dt.datetime, b: dt.datetime, what: str, use_rth: bool):
    """Per-second rows in [a, b): (time, value...) for `what`."""
    if what == "TRADES":
        bars = market.bars(inst, a, b, "1 secs", "TRADES", use_rth)
        return [
            (int(bars.time[i]), float(bars.close[i]), int(bars.volume[i]))
            for i in range(len(bars))
            if bars.volume[i] > 0
        ]
    if what == "MIDPOINT":
        bars = market.bars(inst, a, b, "1 secs", "MIDPOINT", use_rth)
        return [(int(bars.time[i]), float(bars.close[i])) for i in range(len(bars))]
    bid = market.bars(inst, a, b, "1 secs", "BID", use_rth)
    ask = market.bars(inst, a, b, "1 secs", "ASK", use_rth)
    return [(int(bid.time[i]), float(bid.close[i]), float(ask.close[i])) for i in range(len(bid))]


def _changes(rows: list[tuple], previous: tuple | None) -> list[tuple]:
    out = []
    for row in rows:
        if previous is None or row[1:] != previous[1:]:
            out.append(row)
        previous = row
    return out


def historical_ticks(
    market: MarketModel,
    inst: Instrument,
    req_id: int,
    what: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    count: int,
    use_rth: bool,
    now: dt.datetime,
) -> list:
    """The reply to reqHistoricalTicks: ticks from `start` forwards, or up to `end` backwards."""
    count = max(1, min(count, MAX_TICKS))
    rows: list[tuple] = []
    if start is not None:
        a, stop = start, min(now, start + SCAN_LIMIT)
        while a < stop and len(rows) < count:
            b = min(a + SCAN_CHUNK, stop)
            found = _seconds(market, inst, a, b, what, use_rth)
            rows += found if what == "TRADES" else _changes(found, rows[-1] if rows else None)
            a = b
        rows = rows[:count]
    else:
        b, stop = min(end or now, now), min(end or now, now) - SCAN_LIMIT
        while b > stop and len(rows) < count:
            a = max(b - SCAN_CHUNK, stop)
            found = _seconds(market, inst, a, b, what, use_rth)
            rows = (found if what == "TRADES" else _changes(found, None)) + rows
            b = a
        rows = rows[-count:]
    exchange = inst.exchange
    if what == "TRADES":
        return m.historical_ticks_last(req_id, [(t, 0, p, v, exchange, "") for t, p, v in rows], True)
    if what == "MIDPOINT":
        return m.historical_ticks(req_id, [(t, p, 0) for t, p in rows], True)
    ticks = []
    for t, bid, ask in rows:
        q = market.quote(inst, dt.datetime.fromtimestamp(t, dt.UTC))
        ticks.append((t, 0, bid, ask, q.bid_size, q.ask_size))
    return m.historical_ticks_bid_ask(req_id, ticks, True)


@dataclass
class TickByTickSub:
    """One reqTickByTickData stream: sends a tick when the trade or quote it follows changes."""

    req_id: int
    instrument: Instrument
    kind: str  # Last, AllLast, BidAsk, MidPoint
    last: tuple | None = field(default=None)

    def messages(self, quote: Quote) -> list[list]:
        if not quote.time or math.isnan(quote.last):
            return []
        t = int(quote.time.timestamp())
        if self.kind in ("Last", "AllLast"):
            state = (quote.volume, quote.last)
            if self.last is None:
                self.last = state  # a trade stream starts with the next trade
                return []
            if quote.volume == self.last[0]:
                return []
            size = max(quote.volume - self.last[0], 1) if quote.volume > self.last[0] else quote.last_size
            self.last = state
            tick_type = TICK_BY_TICK_TYPES[self.kind]
            return [m.tick_by_tick_last(self.req_id, tick_type, t, quote.last, size, 0, self.instrument.exchange, "")]
        if self.kind == "BidAsk":
            state = (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
            if state == self.last:
                return []
            self.last = state
            return [m.tick_by_tick_bid_ask(self.req_id, t, *state, 0)]
        mid = (quote.bid + quote.ask) / 2
        if (mid,) == self.last:
            return []
        self.last = (mid,)
        return [m.tick_by_tick_mid_point(self.req_id, t, mid)]
