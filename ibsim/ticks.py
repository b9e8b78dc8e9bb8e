"""Tick-level data: `reqHistoricalTicks` replies and `reqTickByTickData` streams.

    messages = historical_ticks(market, inst, req, now)          # one 96/97/98 message
    sub = TickByTickSub(req_id, inst, "AllLast", market=market)  # as the session makes it
    out = sub.messages(market.quote(inst, now))                  # the ticks of the seconds since

Ticks come from the market model's one-second path. TRADES: per traded second its open, extremes
and close with the second's volume split over them (`trade_ticks`), so trades aggregate to IB's
TRADES bars of any span; tick-by-tick AllLast also carries the zero-size "unreported" prints that
set a second's range when its volume is smaller than its number of prices, Last and historical
TRADES ticks leave them out (their sizes still add up to the bars' volume). BID_ASK: a tick per
second in which bid, ask or sizes changed; MIDPOINT: a tick per second in which the midpoint
changed. At most 1000 ticks per request, as at IB, plus the rest of the last second's ticks (IB
completes a second: "more ticks may be returned than requested").
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from . import messages as m
from .history import price_decimals
from .market import MarketModel
from .model import Instrument, Quote

MAX_TICKS = 1000
SCAN_CHUNK = dt.timedelta(hours=1)
SCAN_LIMIT = dt.timedelta(days=7)  # how far a request looks for ticks from its start or end
TICK_BY_TICK_TYPES = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}
UNREPORTED = 2  # TickAttribLast bit: a print that does not count in the reported volume
MAX_BACKLOG = dt.timedelta(minutes=10)  # a tick-by-tick stream never catches up on more than this
WHAT = ("TRADES", "BID_ASK", "MIDPOINT")


def _seconds(market: MarketModel, inst: Instrument, a: dt.datetime, b: dt.datetime, what: str, use_rth: bool):
    """Per-second rows in [a, b): (time, value...) for `what` (TRADES: the reported trades);
    prices rounded as the gateway prints them."""
    d = price_decimals(inst.min_tick)
    if what == "TRADES":
        return [(t, p, v) for t, p, v, _ in trade_ticks(market, inst, a, b, use_rth, d) if v > 0]
    if what == "MIDPOINT":
        bars = market.bars(inst, a, b, "1 secs", "MIDPOINT", use_rth)
        return [(int(bars.time[i]), round(float(bars.close[i]), d)) for i in range(len(bars))]
    bid = market.bars(inst, a, b, "1 secs", "BID", use_rth)
    ask = market.bars(inst, a, b, "1 secs", "ASK", use_rth)
    return [(int(bid.time[i]), round(float(bid.close[i]), d), round(float(ask.close[i]), d)) for i in range(len(bid))]


def trade_ticks(
    market: MarketModel,
    inst: Instrument,
    a: dt.datetime,
    b: dt.datetime,
    use_rth: bool = False,
    decimals: int | None = None,
) -> list[tuple[int, float, int, int]]:
    """The trades of [a, b) as (time, price, size, mask): per traded second of the one-second
    path, its open, its extremes in the order the path visits them (low first when the second
    closes at or above its open), and its close, consecutive repeats merged. The second's volume
    is split over them (the remainder to the later ones); when it is smaller than the number of
    prices, the first prints get size 0 and the `unreported` attribute (mask 2): prints that set
    the second's range without adding volume. So the ticks of any span aggregate to IB's TRADES
    bars of that span: open = first price, high/low = extremes, close = last, volume = sizes."""
    bars = market.bars(inst, a, b, "1 secs", "TRADES", use_rth)
    out: list[tuple[int, float, int, int]] = []
    for i in range(len(bars)):
        volume = int(bars.volume[i])
        if volume <= 0:
            continue
        o, h, lo, c = (float(x) for x in (bars.open[i], bars.high[i], bars.low[i], bars.close[i]))
        if decimals is not None:
            o, h, lo, c = (round(x, decimals) for x in (o, h, lo, c))
        path: list[float] = []
        for price in (o, lo, h, c) if c >= o else (o, h, lo, c):
            if not path or path[-1] != price:
                path.append(price)
        base, extra = divmod(volume, len(path))
        t = int(bars.time[i])
        for k, price in enumerate(path):
            size = base + (1 if k >= len(path) - extra else 0)
            out.append((t, price, size, 0 if size else UNREPORTED))
    return out


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
        while len(rows) > count and rows[count][0] == rows[count - 1][0]:
            count += 1  # IB completes the last second: more ticks than asked may come
        rows = rows[:count]
    else:
        b, stop = min(end or now, now), min(end or now, now) - SCAN_LIMIT
        while b > stop and len(rows) < count:
            a = max(b - SCAN_CHUNK, stop)
            found = _seconds(market, inst, a, b, what, use_rth)
            rows = (found if what == "TRADES" else _changes(found, None)) + rows
            b = a
        while len(rows) > count and rows[-count - 1][0] == rows[-count][0]:
            count += 1  # the same for the first second, going backwards
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
    """One reqTickByTickData stream.

    With the market model (`market`, as the session creates it) the stream follows the
    one-second path: at each server tick it sends the ticks of the seconds completed since the
    last call, each with its own second as time: `trade_ticks` for Last/AllLast (Last leaves out
    the zero-size unreported prints), a BidAsk tick per second whose bid, ask or sizes changed,
    a MidPoint tick per second whose midpoint changed. BidAsk and MidPoint streams start with the
    current quote, trade streams with the next trade. A clock jump of more than `MAX_BACKLOG`
    sends only the last `MAX_BACKLOG` of it (as a gateway would never have held more).
    Without `market` a tick is sent when the sampled quote changes.
    """

    req_id: int
    instrument: Instrument
    kind: str  # Last, AllLast, BidAsk, MidPoint
    last: tuple | None = field(default=None)
    market: MarketModel | None = None
    decimals: int | None = None
    next_second: int | None = None  # epoch second the next call starts from

    def messages(self, quote: Quote) -> list[list]:
        if self.market is None:
            return self._sampled(quote)
        if not quote.time:
            return []
        now = quote.time.timestamp()
        out: list[list] = []
        if self.next_second is None:
            self.next_second = math.ceil(now)
            if self.kind in ("BidAsk", "MidPoint") and quote.bid > 0 and quote.ask > 0:
                out += self._quote_ticks([(int(now), quote.bid, quote.ask)], quote=quote)
            return out
        end = math.floor(now)
        if end <= self.next_second:
            return out
        start = max(self.next_second, end - int(MAX_BACKLOG.total_seconds()))
        a, b = dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(end, dt.UTC)
        self.next_second = end
        if self.kind in ("Last", "AllLast"):
            tick_type = TICK_BY_TICK_TYPES[self.kind]
            exchange = self.instrument.exchange
            decimals = self.decimals if self.decimals is not None else price_decimals(self.instrument.min_tick)
            for t, price, size, mask in trade_ticks(self.market, self.instrument, a, b, decimals=decimals):
                if self.kind == "Last" and mask & UNREPORTED:
                    continue
                out.append(m.tick_by_tick_last(self.req_id, tick_type, t, price, size, mask, exchange, ""))
            return out
        what = "BID_ASK" if self.kind == "BidAsk" else "MIDPOINT"
        return self._quote_ticks(_seconds(self.market, self.instrument, a, b, what, False))

    def _quote_ticks(self, rows: list[tuple], quote: Quote | None = None) -> list[list]:
        out: list[list] = []
        for row in rows:
            t = int(row[0])
            if self.kind == "MidPoint":
                mid = self._round((row[1] + row[2]) / 2) if len(row) == 3 else self._round(row[1])
                if (mid,) != self.last:
                    self.last = (mid,)
                    out.append(m.tick_by_tick_mid_point(self.req_id, t, mid))
                continue
            q = quote or self.market.quote(self.instrument, dt.datetime.fromtimestamp(t, dt.UTC))
            state = (self._round(row[1]), self._round(row[2]), q.bid_size, q.ask_size)
            if state != self.last:
                self.last = state
                out.append(m.tick_by_tick_bid_ask(self.req_id, t, *state, 0))
        return out

    def _round(self, price: float) -> float:
        return float(price) if self.decimals is None else round(float(price), self.decimals)

    def _sampled(self, quote: Quote) -> list[list]:
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
