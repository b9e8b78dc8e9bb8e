"""Streams that follow an instrument's front month across rolls, and per-contract streams.

    conn = await connectionIB.create(config)                       # inside a running event loop
    async for event in stream_front_month_quotes(conn, "NASDAQ"):  # or "NQ", the IB symbol
        if isinstance(event, RollEvent):
            print("rolled", event.old_local_symbol, "->", event.new_local_symbol)
        else:
            print(event.local_symbol, event.bid, event.ask)         # QuoteEvent, e.g. NQZ4

    bars = stream_front_month_bars(conn, "SP500", "1 min")         # BarEvent | RollEvent
    trades = stream_contract_trades(conn, "ESM5")                  # tick-by-tick AllLast: TradeEvent
    bars.stats.as_dict()                                           # per-stream statistics

*Front month* is `sysobjects.front_month.front_month(rules, now)` with the instrument's rules from
`sysbrokers/IB/config/expiry_rules.yaml` (priced cycle; the roll instant is
`auto_roll_business_days` business days before the last trade date, at the last trade time).
*Now* is the gateway's clock: IB's `reqCurrentTime`, asked every `check_seconds` (so against ibsim
the simulated clock, however fast it runs or however far a test moves it). At the roll instant
the stream subscribes the next contract first, emits a `RollEvent`, then cancels the old
subscription; the reader's iterator never ends. A bar stream first waits (bounded) for the old
contract's bar that ends at the roll instant, so the reader sees old bars, the roll, new bars.
If the next contract cannot be resolved or subscribed (gateway down, line budget full), the stream
keeps the old one, counts a roll failure and tries again at the next check.

Every subscription goes through the connection supervisor: it is resubscribed after a gateway
restart or 1101, counted in the market-data line budget (quotes, 5-second bars), and cancelled
at the gateway by `aclose()`, by cancelling the reader's task, or when a stream left with `break`
is dropped (as an async generator would be). Each stream object has `.stats`
(`sysbrokers.IB.stream_stats.StreamStats`) and `.current_contract`; `open_streams(conn)` lists the
streams being read. Iterated from another loop than the IB socket's (notebook mode) a stream
relays its events from the IB loop.
Prices are in the layer's units (IB's divided by the price magnifier); times are UTC; every event
shows IB's local symbol. Contracts may be given as `futuresContract`s or names
("ESM5", "ZN   JUN 25", "SP500/202506"; see `sysbrokers.IB.contract_names`).

Bar sizes: "5 secs" are IB's real-time bars as they come; longer sizes that are multiples of 5 s
and divide an hour ("15 secs", "1 min", "5 mins", "1 hour") are aggregated from them, which is
what IB's own bars of that size hold (`tick_bars`). A longer bar is emitted once the gateway's
clock has passed its end.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.contract_names import contract_from_name, instrument_code_for
from sysbrokers.IB.contract_resolution import ResolvedContract
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBNotConnected, IBPermissionError, classify, error_from
from sysbrokers.IB.market_data_lines import IBMarketDataLinesExhausted
from sysbrokers.IB.stream_guard import IBStreamTimeout
from sysbrokers.IB.stream_stats import StreamStats
from sysbrokers.IB.subscriptions import SubscriptionHandle
from sysbrokers.IB.tick_bars import TickBarBuilder, bar_seconds
from sysobjects.contracts import futuresContract
from sysobjects.front_month import FrontMonth, InstrumentRules, front_month, load_instrument_rules

__all__ = [
    "BarEvent",
    "BidAskEvent",
    "GatewayClock",
    "MidPointEvent",
    "QuoteEvent",
    "RollEvent",
    "TradeEvent",
    "stream_contract_bars",
    "stream_contract_quotes",
    "stream_contract_ticks",
    "stream_contract_trades",
    "stream_front_month_bars",
    "stream_front_month_quotes",
    "stream_front_month_trades",
    "open_streams",
]

UTC = dt.UTC
log = logging.getLogger(__name__)
DEFAULT_CHECK_SECONDS = 1.0  # how often a front-month stream asks the gateway's clock
BAR_GRACE_SECONDS = 10.0  # longest real wait for the old contract's last bar at a roll
TICK_TYPES = ("Last", "AllLast", "BidAsk", "MidPoint")
START_AT_ROLL_MARGIN = dt.timedelta(seconds=30)  # a start this close to the roll may find the front gone


# ------------------------------------------------------------------------------------ events
@dataclass(frozen=True)
class QuoteEvent:
    """One quote update (None where IB has no value)."""

    time: dt.datetime  # UTC, the gateway's clock
    instrument_code: str
    contract: futuresContract
    local_symbol: str  # e.g. "ESM5"
    bid: float | None
    ask: float | None
    bid_size: float | None
    ask_size: float | None
    last: float | None
    last_size: float | None


@dataclass(frozen=True)
class BarEvent:
    """One completed bar."""

    time: dt.datetime  # bar start, UTC
    instrument_code: str
    contract: futuresContract
    local_symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class RollEvent:
    """The stream moved from `old_contract` to `new_contract` (at the gateway time `time`)."""

    time: dt.datetime
    instrument_code: str
    old_contract: futuresContract
    new_contract: futuresContract
    old_local_symbol: str
    new_local_symbol: str


@dataclass(frozen=True)
class TradeEvent:
    """One tick-by-tick trade (AllLast or Last); `time` is IB's (whole seconds)."""

    time: dt.datetime
    instrument_code: str
    contract: futuresContract
    local_symbol: str
    price: float
    size: float
    exchange: str = ""
    special_conditions: str = ""
    unreported: bool = False


@dataclass(frozen=True)
class BidAskEvent:
    """One tick-by-tick BidAsk tick."""

    time: dt.datetime
    instrument_code: str
    contract: futuresContract
    local_symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float


@dataclass(frozen=True)
class MidPointEvent:
    """One tick-by-tick MidPoint tick."""

    time: dt.datetime
    instrument_code: str
    contract: futuresContract
    local_symbol: str
    mid: float


_OPEN_STREAMS: weakref.WeakSet = weakref.WeakSet()


def open_streams(conn: Any = None) -> list[Any]:
    """The streams being read now (of one connection, or all), for /metrics: each has `.stats`."""
    return [s for s in list(_OPEN_STREAMS) if conn is None or s.conn is conn]


# ------------------------------------------------------------------------------- the clock
class GatewayClock:
    """The gateway's time: `reqCurrentTime` (whole seconds), extrapolated between asks.

    One per connection (`GatewayClock.of(conn)`); `now()` asks at most every `min_interval`
    seconds and falls back to the extrapolation while the gateway does not answer. When the
    gateway's answer agrees with this machine's clock (a real gateway: within the second IB
    rounds to), the machine's clock is used, to the microsecond; otherwise (ibsim with its own
    clock) the last answer plus the real time since. Never goes backwards.
    """

    _by_conn: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, conn: Any, timeout: float = 2.0, min_interval: float = 0.02) -> None:
        self.conn = conn
        self.timeout = timeout
        self.min_interval = min_interval
        self._anchor: dt.datetime | None = None
        self._anchor_mono = 0.0
        self._machine = False  # the gateway's clock is this machine's
        self._last = dt.datetime.min.replace(tzinfo=UTC)
        self._lock: asyncio.Lock | None = None

    @classmethod
    def of(cls, conn: Any) -> GatewayClock:
        clock = cls._by_conn.get(conn)
        if clock is None:
            clock = cls._by_conn[conn] = cls(conn)
        return clock

    async def now(self) -> dt.datetime:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            fresh = self._anchor is not None and time.monotonic() - self._anchor_mono < self.min_interval
            if not fresh and self.conn.ib.isConnected():
                try:
                    measured = await asyncio.wait_for(self.conn.gateway_time_async(), self.timeout)
                except (TimeoutError, ConnectionError, OSError):
                    measured = None
                if measured is not None:
                    self._anchor, self._anchor_mono = measured.astimezone(UTC), time.monotonic()
                    # IB truncates to the second, so an agreeing clock reads up to ~1 s behind ours.
                    offset = (self._anchor - dt.datetime.now(UTC)).total_seconds()
                    self._machine = -2.0 < offset < 1.0
            if self._anchor is None:
                self._anchor, self._anchor_mono = await self.conn.now_async(), time.monotonic()
        return self.estimate()

    def estimate(self) -> dt.datetime:
        """The last measurement plus the real time since (no request)."""
        if self._anchor is None:
            guess = self.conn.estimated_now()  # not asked yet: the connection's measured offset
        elif self._machine:
            guess = dt.datetime.now(UTC)
        else:
            guess = self._anchor + dt.timedelta(seconds=time.monotonic() - self._anchor_mono)
        self._last = max(self._last, guess)
        return self._last


# ------------------------------------------------------------------- gateway tick times
def _install_gateway_tick_times(ib: Any) -> None:
    """Keep IB's own time on tick-by-tick ticks: ib_async stamps them with the time the socket
    data arrived, which is not the gateway's clock (and not the trade's second)."""
    wrapper = ib.wrapper
    if getattr(wrapper, "_gateway_tick_times", False):
        return
    time_index = {"tickByTickAllLast": 1, "tickByTickBidAsk": 0, "tickByTickMidPoint": 0}
    for name, index in time_index.items():
        original = getattr(wrapper, name)

        def patched(req_id: int, *args: Any, _original: Callable = original, _index: int = index) -> None:
            _original(req_id, *args)
            ticker = wrapper.reqId2Ticker.get(req_id)
            if ticker is not None and ticker.tickByTicks:
                stamp = dt.datetime.fromtimestamp(int(args[_index]), UTC)
                ticker.tickByTicks[-1] = ticker.tickByTicks[-1]._replace(time=stamp)

        setattr(wrapper, name, patched)
    wrapper._gateway_tick_times = True


# ------------------------------------------------------------------------------ one contract
def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _price(value: Any, magnifier: float) -> float | None:
    number = _number(value)
    return None if number is None or number <= 0 else number / magnifier


class _Feed:
    """One contract's subscription inside a stream: converts its updates into events."""

    def __init__(self, stream: _Stream, contract: futuresContract, found: ResolvedContract) -> None:
        self.stream = stream
        self.contract = contract
        self.found = found
        self.local_symbol = found.contract.localSymbol or contract.key
        self.magnifier = float(found.price_magnifier or 1)
        self.handle: SubscriptionHandle | None = None
        self._last_quote: tuple | None = None
        self._last_bar_time: dt.datetime | None = None
        self.last_bar_end: dt.datetime | None = None  # end of the newest 5-second bar seen
        self.builder: TickBarBuilder | None = None
        self.held: list[Any] | None = None  # events held back during a bar roll

    def start(self) -> None:
        self.handle = self.stream._subscribe(self)
        self.handle.updateEvent += self._on_update

    def stop(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.updateEvent -= self._on_update
            handle.cancel()

    def _on_update(self, handle: SubscriptionHandle) -> None:
        try:
            events = self.stream._convert(self, handle)
        except Exception:  # a malformed update must not kill the stream
            log.exception("stream %s: cannot convert an update of %s", self.stream.stats.name, self.local_symbol)
            return
        self.stream._deliver(self, events)

    def event_fields(self) -> dict[str, Any]:
        return {
            "instrument_code": self.contract.instrument_code,
            "contract": self.contract,
            "local_symbol": self.local_symbol,
        }


class _Stream(abc.ABC):
    """An async iterator over one contract (subclassed for the front month) with `.stats`."""

    what = "stream"

    def __init__(self, conn: Any, name: str, expected_interval: float | None = None) -> None:
        self.conn = conn
        self.clock = GatewayClock.of(conn)
        self.client = ibContractsClient(conn)
        self.stats = StreamStats(name, expected_interval=expected_interval)
        self._queue: asyncio.Queue | None = None
        self._feed: _Feed | None = None
        self._started = False
        self._closed = False
        self._tasks: list[asyncio.Task] = []
        self._resubscriptions_before = 0
        allow = getattr(conn.config, "ib_market_data_type", "live")
        self._allow_delayed = allow in ("delayed", "delayed_frozen")
        # Quote streams raise if the gateway sends nothing at all at first (stream_guard's rule);
        # bars and trades may be silent while a market is closed.
        self.first_data_seconds: float | None = None

    # -- the iterator
    def __aiter__(self) -> Any:
        """The stream itself on the loop that owns the IB socket; from another loop (notebook
        mode) an iterator that relays its events from the IB loop (`loop_thread`)."""
        owner = getattr(self.conn, "ib_loop", None)
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if owner is None or here is None or owner is here:
            return self
        from sysbrokers.IB import loop_thread

        relay = getattr(loop_thread, "RelayedStream", None) or loop_thread.relay_async_iterator
        return relay(lambda: owner, self)

    async def __anext__(self) -> Any:
        if self._closed:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            self._queue = asyncio.Queue()
            try:
                await self._start()
            except BaseException:
                await self.aclose()
                raise
            self.conn.ib.errorEvent += self._on_error
            self.conn.supervisor.events += self._on_connection_event
            _OPEN_STREAMS.add(self)
        assert self._queue is not None
        try:
            if self.stats.updates == 0 and self.first_data_seconds is not None:
                item = await self._first_item(float(self.first_data_seconds))
            else:
                item = await self._queue.get()
        except asyncio.CancelledError:
            self._close_now()  # as an async generator would: the reader's task was cancelled
            raise
        if isinstance(item, BaseException):
            await self.aclose()
            raise item
        return item

    async def _first_item(self, limit: float) -> Any:
        """The first event; `IBStreamTimeout` if the gateway sent nothing at all for the stream
        within `limit` seconds (a closed market still sends its last values)."""
        assert self._queue is not None
        try:
            return await asyncio.wait_for(self._queue.get(), limit)
        except TimeoutError:
            if any(h.updates for h in self.handles):
                return await self._queue.get()  # data flows, nothing usable yet: wait on
            return IBStreamTimeout(
                message=f"{self.stats.name}: nothing from IB within {limit:g}s "
                f"(market-data type {getattr(self.conn.config, 'ib_market_data_type', '?')})"
            )

    async def aclose(self) -> None:
        """Cancel the subscription(s) at the gateway and end the iterator."""
        if self._closed:
            return
        self._close_now()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def __del__(self) -> None:
        # A stream dropped without aclose() (a `break` out of `async for`, then garbage): give the
        # subscription back now, as the loop's finaliser does for an async generator.
        if getattr(self, "_started", False) and not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self._close_now()

    def _close_now(self) -> None:
        """The synchronous part of closing: tasks cancelled, listeners off, subscriptions cancelled."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            self.conn.ib.errorEvent -= self._on_error
        with contextlib.suppress(Exception):
            self.conn.supervisor.events -= self._on_connection_event
        _OPEN_STREAMS.discard(self)
        self._stop_feeds()

    def _stop_feeds(self) -> None:
        if self._feed is not None:
            self._feed.stop()

    @property
    def current_contract(self) -> futuresContract | None:
        return None if self._feed is None else self._feed.contract

    @property
    def current_local_symbol(self) -> str | None:
        return None if self._feed is None else self._feed.local_symbol

    def describe(self) -> dict[str, Any]:
        """Plain data for /metrics and status pages: the statistics plus what is streamed now."""
        contract = self.current_contract
        roll = getattr(self, "next_roll_utc", None)
        return {
            **self.stats.as_dict(),
            "contract": None if contract is None else contract.key,
            "local_symbol": self.current_local_symbol,
            "next_roll_utc": None if roll is None else roll.isoformat(),
            "closed": self._closed,
        }

    @property
    def handles(self) -> list[SubscriptionHandle]:
        """The supervisor handles the stream holds now (one, two during a bar roll)."""
        return [f.handle for f in self._feeds() if f.handle is not None]

    def _feeds(self) -> list[_Feed]:
        return [] if self._feed is None else [self._feed]

    # -- provided by the target (one contract, the front month) and the kind (quotes, bars, ticks)
    @abc.abstractmethod
    async def _start(self) -> None:
        """Open the first feed."""

    @abc.abstractmethod
    def _subscribe(self, feed: _Feed) -> SubscriptionHandle:
        """The supervisor subscription behind `feed`."""

    @abc.abstractmethod
    def _convert(self, feed: _Feed, handle: SubscriptionHandle) -> list[Any]:
        """The events of what `handle` received since the last call."""

    # -- plumbing
    async def _open_feed(self, contract: futuresContract) -> _Feed:
        found = await self.client.resolve_async(contract)
        feed = _Feed(self, contract, found)
        feed.start()
        return feed

    def _deliver(self, feed: _Feed, events: list[Any]) -> None:
        if not events or self._closed:
            return
        if feed.held is not None:
            feed.held.extend(events)
            return
        if feed is not self._feed:
            return  # an old contract's late update after a roll
        handle = feed.handle
        if handle is not None:
            self.stats.resubscriptions = self._resubscriptions_before + handle.resubscriptions
        for event in events:
            self._put(event)

    def _put(self, event: Any) -> None:
        data_time = event.time if isinstance(event, BarEvent) else None
        if not isinstance(event, RollEvent):
            self.stats.record(data_time)
        assert self._queue is not None
        self._queue.put_nowait(event)

    def _on_connection_event(self, event: Any) -> None:
        """The connection was closed, or the supervisor gave up reconnecting: end the reader's wait."""
        kind = getattr(getattr(event, "kind", None), "value", None)
        if kind in ("closed", "reconnect_failed") and self._queue is not None and not self._closed:
            self.stats.errors += 1
            self._queue.put_nowait(IBNotConnected(message=f"{self.stats.name}: {event.text}"))

    def _on_error(self, req_id: int, code: int, text: str, err_contract: Any) -> None:
        feed = self._feed
        if feed is None or feed.handle is None:
            return
        if req_id != feed.handle.req_id and getattr(err_contract, "conId", None) != feed.found.contract.conId:
            return
        kind = classify(code, text, self._allow_delayed)
        if kind is not None and issubclass(kind, IBPermissionError):
            self.stats.errors += 1
            if self._queue is not None:
                self._queue.put_nowait(error_from(code, text, req_id, feed.found.contract, self._allow_delayed))


class _QuoteKind:
    """Quotes: streaming reqMktData through the supervisor (takes a market-data line)."""

    what = "quotes"

    def _subscribe(self: Any, feed: _Feed) -> SubscriptionHandle:
        if self.first_data_seconds is None:
            self.first_data_seconds = float(getattr(self.conn.config, "stream_first_data_seconds", 10))
        return self.conn.supervisor.subscribe_market_data(feed.found.contract)

    def _convert(self: Any, feed: _Feed, handle: SubscriptionHandle) -> list[Any]:
        t = handle.ticker
        m = feed.magnifier
        values = (
            _price(t.bid, m),
            _price(t.ask, m),
            _number(t.bidSize),
            _number(t.askSize),
            _price(t.last, m),
            _number(t.lastSize),
        )
        if values == feed._last_quote or (values[0] is None and values[1] is None and values[4] is None):
            return []
        feed._last_quote = values
        bid, ask, bid_size, ask_size, last, last_size = values
        return [
            QuoteEvent(
                time=self.clock.estimate(),
                **feed.event_fields(),
                bid=bid,
                ask=ask,
                bid_size=bid_size,
                ask_size=ask_size,
                last=last,
                last_size=last_size,
            )
        ]


class _BarKind:
    """Bars: 5-second real-time bars through the supervisor, aggregated for longer sizes."""

    what = "bars"
    bar_size: int

    def _subscribe(self: Any, feed: _Feed) -> SubscriptionHandle:
        if self.bar_size > 5:
            feed.builder = TickBarBuilder(self.bar_size)
        return self.conn.supervisor.subscribe_realtime_bars(feed.found.contract)

    def _convert(self: Any, feed: _Feed, handle: SubscriptionHandle) -> list[Any]:
        bars = handle.bars
        if not bars:
            return []
        out: list[BarEvent] = []
        for bar in _new_bars(bars, feed._last_bar_time):
            start = bar.time.astimezone(UTC) if bar.time.tzinfo else bar.time.replace(tzinfo=UTC)
            feed._last_bar_time = start
            feed.last_bar_end = start + dt.timedelta(seconds=5)
            m = feed.magnifier
            o, h, lo, c = (float(x) / m for x in (bar.open_, bar.high, bar.low, bar.close))
            volume = max(float(bar.volume), 0.0)
            if feed.builder is None:
                out.append(BarEvent(start, **feed.event_fields(), open=o, high=h, low=lo, close=c, volume=volume))
                continue
            for done in feed.builder.add_bar(start, o, h, lo, c, volume, max(int(bar.count), 0)):
                out.append(_bar_event(feed, done))
            out += [_bar_event(feed, done) for done in feed.builder.flush(feed.last_bar_end)]
        return out


def _new_bars(bars: Any, after: dt.datetime | None) -> list[Any]:
    """The bars of a RealTimeBarList newer than `after` (a resubscription starts a new list)."""
    if after is None:
        return [bars[-1]]
    fresh = []
    for bar in reversed(bars):
        start = bar.time.astimezone(UTC) if bar.time.tzinfo else bar.time.replace(tzinfo=UTC)
        if start <= after:
            break
        fresh.append(bar)
    return list(reversed(fresh))


def _bar_event(feed: _Feed, bar: Any) -> BarEvent:
    return BarEvent(
        bar.time, **feed.event_fields(), open=bar.open, high=bar.high, low=bar.low, close=bar.close, volume=bar.volume
    )


class _TickKind:
    """Tick-by-tick data (Last, AllLast, BidAsk, MidPoint) through the supervisor."""

    what = "ticks"
    tick_type: str

    def _subscribe(self: Any, feed: _Feed) -> SubscriptionHandle:
        _install_gateway_tick_times(self.conn.ib)
        if not self.conn.ib.isConnected():
            raise IBNotConnected(message=f"cannot subscribe to tick-by-tick {self.tick_type}: not connected")
        return self.conn.supervisor.subscribe_tick_by_tick(feed.found.contract, self.tick_type)

    def _convert(self: Any, feed: _Feed, handle: SubscriptionHandle) -> list[Any]:
        from ib_async import TickByTickAllLast, TickByTickBidAsk, TickByTickMidPoint

        m = feed.magnifier
        out: list[Any] = []
        fields = feed.event_fields()
        for tick in handle.ticker.tickByTicks:
            when = tick.time.astimezone(UTC) if tick.time.tzinfo else tick.time.replace(tzinfo=UTC)
            if isinstance(tick, TickByTickAllLast) and self.tick_type in ("Last", "AllLast"):
                if tick.tickType != (1 if self.tick_type == "Last" else 2):
                    continue
                out.append(
                    TradeEvent(
                        when,
                        **fields,
                        price=float(tick.price) / m,
                        size=float(tick.size),
                        exchange=tick.exchange or "",
                        special_conditions=tick.specialConditions or "",
                        unreported=bool(getattr(tick.tickAttribLast, "unreported", False)),
                    )
                )
            elif isinstance(tick, TickByTickBidAsk) and self.tick_type == "BidAsk":
                out.append(
                    BidAskEvent(
                        when,
                        **fields,
                        bid=float(tick.bidPrice) / m,
                        ask=float(tick.askPrice) / m,
                        bid_size=float(tick.bidSize),
                        ask_size=float(tick.askSize),
                    )
                )
            elif isinstance(tick, TickByTickMidPoint) and self.tick_type == "MidPoint":
                out.append(MidPointEvent(when, **fields, mid=float(tick.midPoint) / m))
        return out


# --------------------------------------------------------------------------- contract streams
class _ContractStream(_Stream):
    """One named contract, for as long as the reader reads."""

    def __init__(self, conn: Any, contract: futuresContract | str, name: str, expected: float | None = None) -> None:
        super().__init__(conn, name, expected)
        self.contract = contract_from_name(contract) if isinstance(contract, str) else contract

    async def _start(self) -> None:
        self._feed = await self._open_feed(self.contract)


class ContractQuoteStream(_QuoteKind, _ContractStream):
    """Quotes of one contract (`stream_contract_quotes`)."""


class ContractBarStream(_BarKind, _ContractStream):
    def __init__(self, conn: Any, contract: futuresContract | str, bar_size: str = "5 secs") -> None:
        self.bar_size = _realtime_multiple(bar_size)
        super().__init__(conn, contract, "", float(self.bar_size))
        self.stats.name = f"bars {bar_size} {self.contract.key}"


class ContractTickStream(_TickKind, _ContractStream):
    def __init__(self, conn: Any, contract: futuresContract | str, tick_type: str = "AllLast") -> None:
        if tick_type not in TICK_TYPES:
            raise ValueError(f"tick_type must be one of {TICK_TYPES}, got {tick_type!r}")
        self.tick_type = tick_type
        super().__init__(conn, contract, "")
        self.stats.name = f"ticks {tick_type} {self.contract.key}"


def _realtime_multiple(bar_size: str | int) -> int:
    seconds = bar_seconds(bar_size)
    if seconds % 5:
        raise ValueError(f"bar size {bar_size!r}: streamed bars are built from 5-second bars (a multiple of 5 s)")
    return seconds


# ------------------------------------------------------------------------ front-month streams
def _rules_for(instrument_code: str) -> InstrumentRules:
    rules = load_instrument_rules()
    try:
        return rules[instrument_code]
    except KeyError:
        raise LookupError(
            f"{instrument_code}: no expiry/roll rules in sysbrokers/IB/config/expiry_rules.yaml, so no front month"
        ) from None


class _FrontMonthStream(_Stream):
    """The instrument's front month, moving to the next contract at each roll instant."""

    def __init__(
        self,
        conn: Any,
        instrument_code: str,
        name: str,
        expected: float | None = None,
        check_seconds: float = DEFAULT_CHECK_SECONDS,
        roll_business_days: int | None = None,
        rules: InstrumentRules | None = None,
    ) -> None:
        super().__init__(conn, name, expected)
        self.instrument_code = instrument_code_for(instrument_code)
        self.rules = rules or _rules_for(self.instrument_code)
        self.check_seconds = float(check_seconds)
        self.roll_business_days = roll_business_days
        self.front: FrontMonth | None = None
        self.rolls: list[RollEvent] = []
        self._old: _Feed | None = None  # the previous contract while a bar roll drains it

    def _front_at(self, now: dt.datetime) -> FrontMonth:
        return front_month(self.rules, now, roll_business_days=self.roll_business_days)

    async def _start(self) -> None:
        now = await self.clock.now()
        self.front = self._front_at(now)
        try:
            self._feed = await self._open_feed(futuresContract(self.instrument_code, self.front.contract_id))
        except IBNoSecurityDefinition:
            # Started just at the roll instant: the clock (whole seconds) said before it, IB already
            # says the contract has gone. Take the next one; anything else is a real error.
            if self.front.roll_utc - now > START_AT_ROLL_MARGIN:
                raise
            self.front = self._front_at(self.front.roll_utc)
            self._feed = await self._open_feed(futuresContract(self.instrument_code, self.front.contract_id))
        watch = _watch(weakref.ref(self), self.check_seconds)  # a weak reference: a dropped stream is collected
        self._tasks.append(asyncio.get_running_loop().create_task(watch, name=f"roll:{self.stats.name}"))

    def _feeds(self) -> list[_Feed]:
        return [f for f in (self._feed, self._old) if f is not None]

    def _stop_feeds(self) -> None:
        for feed in self._feeds():
            feed.stop()

    @property
    def next_roll_utc(self) -> dt.datetime | None:
        return None if self.front is None else self.front.roll_utc

    async def _check(self) -> None:
        """One look at the gateway's clock: flush due bars, roll when the roll instant has come."""
        try:
            now = await self.clock.now()
            self._tick(now)
            if self.front is not None and now >= self.front.roll_utc:
                await self._roll(now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream goes on with the contract it has; next check retries
            self.stats.roll_failures += 1
            log.warning("stream %s: roll check failed (%s); retrying", self.stats.name, exc)

    def _tick(self, now: dt.datetime) -> None:
        """Periodic work on the gateway's clock (bar streams flush finished bars)."""

    async def _roll(self, now: dt.datetime) -> None:
        old = self._feed
        assert old is not None and self.front is not None
        roll_instant = self.front.roll_utc
        target = self._front_at(now)
        contract = futuresContract(self.instrument_code, target.contract_id)
        if contract == old.contract:  # the rules moved the roll (should not happen): follow them
            self.front = target
            return
        found = await self.client.resolve_async(contract)
        new = _Feed(self, contract, found)
        new.held = []
        try:
            new.start()
        except IBMarketDataLinesExhausted:
            # The line budget has no room for both: give the old line back first (not seamless).
            log.warning("stream %s: no spare market-data line for the roll; switching without overlap", self.stats.name)
            old.stop()
            new.start()
        try:
            await self._drain_old(old, roll_instant)
        except BaseException:
            self._old = None
            new.stop()
            raise
        event = RollEvent(
            time=max(now, self.clock.estimate()),
            instrument_code=self.instrument_code,
            old_contract=old.contract,
            new_contract=contract,
            old_local_symbol=old.local_symbol,
            new_local_symbol=new.local_symbol,
        )
        self._resubscriptions_before = self.stats.resubscriptions
        self._feed, self.front = new, target
        self.stats.rolls += 1
        self.stats.restart_sequence()
        self.rolls.append(event)
        self._put(event)
        held, new.held = new.held or [], None
        self._deliver(new, held)
        self._old = None
        old.stop()
        log.info("stream %s rolled %s -> %s", self.stats.name, event.old_local_symbol, event.new_local_symbol)

    async def _drain_old(self, old: _Feed, roll_instant: dt.datetime) -> None:
        """Before the roll event: nothing to wait for (quotes); bar streams override."""


class FrontMonthQuoteStream(_QuoteKind, _FrontMonthStream):
    """Quotes of an instrument's front month, rolling (`stream_front_month_quotes`)."""


class FrontMonthTickStream(_TickKind, _FrontMonthStream):
    def __init__(self, conn: Any, instrument_code: str, tick_type: str = "AllLast", **kwargs: Any) -> None:
        if tick_type not in TICK_TYPES:
            raise ValueError(f"tick_type must be one of {TICK_TYPES}, got {tick_type!r}")
        self.tick_type = tick_type
        super().__init__(conn, instrument_code, "", **kwargs)
        self.stats.name = f"ticks {tick_type} {self.instrument_code} front"


class FrontMonthBarStream(_BarKind, _FrontMonthStream):
    def __init__(self, conn: Any, instrument_code: str, bar_size: str = "5 secs", **kwargs: Any) -> None:
        self.bar_size = _realtime_multiple(bar_size)
        self.grace_seconds = float(kwargs.pop("grace_seconds", BAR_GRACE_SECONDS))
        super().__init__(conn, instrument_code, "", float(self.bar_size), **kwargs)
        self.stats.name = f"bars {bar_size} {self.instrument_code} front"

    def _tick(self, now: dt.datetime) -> None:
        feed = self._feed
        if feed is not None and feed.builder is not None and feed.held is None:
            # A bar is due once the gateway's clock is past its end and the 5-second bar that
            # closes it had time to arrive.
            events = [_bar_event(feed, bar) for bar in feed.builder.flush(now - dt.timedelta(seconds=5))]
            self._deliver(feed, events)

    async def _drain_old(self, old: _Feed, roll_instant: dt.datetime) -> None:
        """Let the old contract's bars up to the roll instant arrive (bounded), then flush them."""
        self._old = old
        deadline = time.monotonic() + self.grace_seconds
        while time.monotonic() < deadline and not self._closed:
            if old.last_bar_end is not None and old.last_bar_end >= roll_instant:
                break
            if (await self.clock.now()) >= roll_instant + dt.timedelta(seconds=self.bar_size + 5):
                break
            await asyncio.sleep(min(0.05, self.check_seconds))
        if old.builder is not None:
            self._deliver(old, [_bar_event(old, bar) for bar in old.builder.flush()])


async def _watch(ref: weakref.ref, interval: float) -> None:
    """A front-month stream's periodic check, for as long as the stream is open and referenced."""
    while True:
        await asyncio.sleep(interval)
        stream = ref()
        if stream is None or stream._closed:
            return
        await stream._check()
        del stream


# ----------------------------------------------------------------------------- public calls
def stream_front_month_quotes(conn: Any, instrument_code: str, **kwargs: Any) -> FrontMonthQuoteStream:
    """Quotes of the instrument's front month, rolling: `QuoteEvent`s and `RollEvent`s.

    `instrument_code` may be the IB symbol or trading class ("NQ"). Keywords: `check_seconds`
    (how often the gateway clock is asked, default 1 s), `roll_business_days` (override the
    rules' `auto_roll_business_days`), `rules` (an `InstrumentRules`)."""
    stream = FrontMonthQuoteStream(conn, instrument_code, "", **kwargs)
    stream.stats.name = f"quotes {stream.instrument_code} front"
    return stream


def stream_front_month_bars(
    conn: Any, instrument_code: str, bar_size: str = "5 secs", **kwargs: Any
) -> FrontMonthBarStream:
    """Completed bars of the instrument's front month, rolling: `BarEvent`s and `RollEvent`s."""
    return FrontMonthBarStream(conn, instrument_code, bar_size, **kwargs)


def stream_front_month_trades(
    conn: Any, instrument_code: str, tick_type: str = "AllLast", **kwargs: Any
) -> FrontMonthTickStream:
    """Tick-by-tick data of the instrument's front month, rolling (trades, BidAsk or MidPoint)."""
    return FrontMonthTickStream(conn, instrument_code, tick_type, **kwargs)


def stream_contract_quotes(conn: Any, contract: futuresContract | str) -> ContractQuoteStream:
    """Quotes of one contract (a `futuresContract` or a name such as "ESM5"): `QuoteEvent`s."""
    contract = contract_from_name(contract) if isinstance(contract, str) else contract
    return ContractQuoteStream(conn, contract, f"quotes {contract.key}")


def stream_contract_bars(conn: Any, contract: futuresContract | str, bar_size: str = "5 secs") -> ContractBarStream:
    """Completed bars of one contract: `BarEvent`s."""
    return ContractBarStream(conn, contract, bar_size)


def stream_contract_ticks(conn: Any, contract: futuresContract | str, tick_type: str = "AllLast") -> ContractTickStream:
    """Tick-by-tick data of one contract: `TradeEvent` (Last/AllLast), `BidAskEvent`, `MidPointEvent`."""
    return ContractTickStream(conn, contract, tick_type)


def stream_contract_trades(
    conn: Any, contract: futuresContract | str, tick_type: str = "AllLast"
) -> ContractTickStream:
    """Tick-by-tick trades of one contract (AllLast by default, or Last): `TradeEvent`s."""
    if tick_type not in ("Last", "AllLast"):
        raise ValueError(f"trades are 'Last' or 'AllLast' ticks, got {tick_type!r}")
    return ContractTickStream(conn, contract, tick_type)
