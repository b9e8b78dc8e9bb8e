"""Connection supervisor: explicit connection states, reconnect with backoff, resubscription.

The supervisor watches one `ib_async.IB`: socket loss (`disconnectedEvent`), IB system codes
(1100/1101/1102/2110) and data-farm notices. On socket loss it reconnects with exponential
backoff and jitter; on reconnect and on 1101 it re-issues every registered subscription with fresh
request ids. Outages inside IB's scheduled reset windows are logged at INFO; outside them at ERROR
with an alert event. It works while the event loop runs (an asyncio program, `ib.sleep`, `ib.run`,
the "ib-loop" thread of a notebook-mode connection) and lazily through `ensure_connected_async()`
when nothing runs the loop between requests.

Its synchronous entry points (`subscribe_market_data`, `handle.cancel()`, `subscribe_bars`, ...)
send through `call_in_loop` / `run_sync`, which the owning `connectionIB` sets to hand the work to
the loop that owns the socket when called from another thread (docs/async.md).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import enum
import logging
import random
import re
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eventkit import Event
from ib_async import IB, Contract, util

from sysbrokers.IB import subscriptions as subs
from sysbrokers.IB.ib_errors import IBNotConnected, is_informational
from sysbrokers.IB.reset_windows import window_at
from sysbrokers.IB.subscriptions import SubscriptionHandle, SubscriptionKind, SubscriptionRegistry
from sysdata.config.schema import ReconnectPolicy, ResetWindow

UTC = dt.UTC
# Subscriptions that hold one of the login's simultaneous market-data lines.
LINE_KINDS = frozenset({SubscriptionKind.MARKET_DATA, SubscriptionKind.REALTIME_BARS})
log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


class ConnectionState(enum.Enum):
    """Where the connection stands; the most severe condition wins."""

    CONNECTING = "connecting"  # first connect not finished
    CONNECTED = "connected"
    FARMS_DEGRADED = "farms_degraded"  # 2103/2105/2157 until 2104/2106/2158
    SERVER_LOST = "server_lost"  # 2110: TWS <-> IB servers broken, restored automatically
    IB_LOST = "ib_lost"  # 1100 until 1101/1102
    DISCONNECTED = "disconnected"  # socket closed
    RECONNECTING = "reconnecting"  # a reconnect attempt is in progress
    CLOSED = "closed"  # close_connection() called


class EventKind(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    RECONNECT_FAILED = "reconnect_failed"
    RECONNECTED = "reconnected"
    IB_LOST = "ib_lost"  # 1100
    RESTORED_DATA_LOST = "restored_data_lost"  # 1101
    RESTORED_DATA_KEPT = "restored_data_kept"  # 1102
    SERVER_LOST = "server_lost"  # 2110
    FARM_BROKEN = "farm_broken"
    FARM_OK = "farm_ok"
    RESUBSCRIBED = "resubscribed"
    CLIENT_ID_LOST = "client_id_lost"
    CLOSED = "closed"


@dataclass(frozen=True)
class ConnectionEvent:
    """One thing that happened to the connection. `alert` is set outside IB's reset windows."""

    kind: EventKind
    code: int | None
    text: str
    time: dt.datetime
    state: ConnectionState
    alert: bool = False
    reset_window: str | None = None  # region of the reset window `time` falls in, if any


@dataclass
class _Counters:
    connects: int = 0
    disconnects: int = 0
    reconnects: int = 0
    reconnect_attempts: int = 0
    resubscriptions: int = 0
    messages_received: int = 0
    errors_by_code: collections.Counter = field(default_factory=collections.Counter)
    last_error: dict[str, Any] | None = None
    connected_seconds: float = 0.0  # completed connected spells
    connected_since: float | None = None  # monotonic start of the current spell


_SUPERVISORS: weakref.WeakSet[ConnectionSupervisor] = weakref.WeakSet()
_IB_ASYNC_NOTICE = re.compile(r"^(?:Error|Warning) (\d+), reqId -1:")


class _QuietIbAsyncLogs(logging.Filter):
    """Lower ib_async's own ERROR records to INFO where the supervisor owns the judgement.

    ib_async logs every failed connect and every 1100/1101/1102/2110 at ERROR; the supervisor
    logs those itself, at INFO inside IB's reset windows and at ERROR outside them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if record.name == "ib_async.client":
            peer_closed = record.getMessage().startswith("Peer closed connection")
            if any((s._connecting and s._counters.connects) or (peer_closed and s._window()) for s in _SUPERVISORS):
                _as_info(record)
        elif record.name == "ib_async.wrapper":
            match = _IB_ASYNC_NOTICE.match(record.getMessage())
            code = int(match.group(1)) if match else None
            if code in (1101, 1102) or (code in (1100, 2110) and any(s._window() for s in _SUPERVISORS)):
                _as_info(record)
        # A record lowered to INFO passed the logger's level as an ERROR: drop it where INFO is off.
        return logging.getLogger(record.name).isEnabledFor(record.levelno)


def _as_info(record: logging.LogRecord) -> None:
    record.levelno, record.levelname = logging.INFO, "INFO"


_QUIET_FILTER = _QuietIbAsyncLogs()


def _install_log_filter() -> None:
    for name in ("ib_async.client", "ib_async.wrapper"):
        logger = logging.getLogger(name)
        if _QUIET_FILTER not in logger.filters:
            logger.addFilter(_QUIET_FILTER)


FARM_BROKEN = {2103: "market", 2105: "hmds", 2157: "secdef"}
FARM_OK = {2104: "market", 2106: "hmds", 2158: "secdef", 2107: "hmds", 2108: "market"}


class ConnectionSupervisor:
    """Supervises one `IB`: states, events, stats, reconnect and resubscription.

    `connect` is a coroutine function that (re)opens the socket with the right client id; the
    owning `connectionIB` supplies it and calls `on_connected()` after its first connect.
    """

    def __init__(
        self,
        ib: IB,
        connect: Callable[[], Awaitable[None]],
        policy: ReconnectPolicy,
        reset_windows: Iterable[ResetWindow] = (),
        clock: Clock = utc_now,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
        auto_reconnect: bool = True,
        rng: random.Random | None = None,
        delayed_allowed: bool = True,
    ) -> None:
        self.ib = ib
        self.policy = policy
        self.reset_windows = tuple(reset_windows)
        self.clock = clock
        self.log = logger or log
        self.auto_reconnect = auto_reconnect
        self.delayed_allowed = delayed_allowed
        self.events = Event("connectionEvent")
        self.history: collections.deque[ConnectionEvent] = collections.deque(maxlen=200)
        self.subscriptions = SubscriptionRegistry()
        self._connect = connect
        self._rng = rng or random.Random()
        self._counters = _Counters()
        self._socket_up = False
        self._ib_lost = False
        self._server_lost = False
        self._broken_farms: set[tuple[str, str]] = set()
        self._closed = False
        # Set by the connection: makes the login's market-data line budget on first need (or None).
        self.lines_factory: Callable[[], Any] | None = None
        self._lines: Any = None
        self._connecting = False  # our own connect attempts: their socket closes are not outages
        self._reconnect_task: asyncio.Task | None = None
        self._reconnecting = False  # inside the reconnect loop (attempts and backoff waits)
        self._wake: asyncio.Event | None = None
        self._outage_alerted = False
        self._market_data_type: int | None = None
        self._background: set[asyncio.Task] = set()
        # How synchronous calls reach the loop; `connectionIB` replaces these with its own.
        self.call_in_loop: Callable[..., Any] = _call_direct
        self.run_sync: Callable[..., Any] = _run_sync
        self.sleep: Callable[[float], None] = _sleep_serviced
        self.state = ConnectionState.CONNECTING
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected
        self._count_messages(ib)
        _SUPERVISORS.add(self)
        _install_log_filter()

    # ------------------------------------------------------------------ listeners
    def add_listener(self, callback: Callable[[ConnectionEvent], Any]) -> None:
        """Call `callback(event)` for every `ConnectionEvent` (same as `sup.events += callback`)."""
        self.events.connect(callback)

    def remove_listener(self, callback: Callable[[ConnectionEvent], Any]) -> None:
        self.events.disconnect(callback)

    # --------------------------------------------------------------- subscriptions
    def subscribe_market_data(
        self,
        contract: Contract,
        generic_ticks: str = "",
        options: list | None = None,
        wait_for_line: float | None = None,
    ) -> SubscriptionHandle:
        """Streaming `reqMktData`; `handle.ticker` is the live `Ticker`.

        Takes one of the login's market-data lines (see `lines_factory`): raises
        `IBMarketDataLinesExhausted` when all are in use, after waiting up to `wait_for_line` s."""
        params = {"generic_ticks": generic_ticks, "options": options or []}
        return self._subscribe_now(SubscriptionKind.MARKET_DATA, contract, params, wait_for_line)

    def subscribe_realtime_bars(
        self,
        contract: Contract,
        what_to_show: str = "TRADES",
        use_rth: bool = False,
        wait_for_line: float | None = None,
    ) -> SubscriptionHandle:
        """5-second `reqRealTimeBars`; `handle.bars` is the live `RealTimeBarList` (takes a line too)."""
        params = {"what_to_show": what_to_show, "use_rth": use_rth}
        return self._subscribe_now(SubscriptionKind.REALTIME_BARS, contract, params, wait_for_line)

    def subscribe_tick_by_tick(self, contract: Contract, tick_type: str = "AllLast") -> SubscriptionHandle:
        """`reqTickByTickData` ("Last", "AllLast", "BidAsk", "MidPoint"); `handle.ticker.tickByTicks`
        holds the ticks since the last update. Resubscribed after restarts; holds no market-data line."""
        return self._subscribe_now(SubscriptionKind.TICK_BY_TICK, contract, {"tick_type": tick_type})

    def subscribe_pnl(self, account: str, model_code: str = "") -> SubscriptionHandle:
        """`reqPnL`; `handle.pnl` is the live `PnL`."""
        return self._subscribe_now(SubscriptionKind.PNL, None, {"account": account, "model_code": model_code})

    def subscribe_bars(
        self,
        contract: Contract,
        bar_size: str = "1 min",
        duration: str = "1 D",
        what_to_show: str = "TRADES",
        use_rth: bool = False,
        keep_up_to_date: bool = True,
        timeout: float | None = None,
    ) -> SubscriptionHandle:
        """keepUpToDate historical bars; `handle.bars` is the live `BarDataList` (blocks for the first bars)."""
        return self.run_sync(
            self.subscribe_bars_async(contract, bar_size, duration, what_to_show, use_rth, keep_up_to_date, timeout)
        )

    def subscribe_account_updates(self, account: str) -> SubscriptionHandle:
        return self.run_sync(self.subscribe_account_updates_async(account))

    async def subscribe_bars_async(
        self,
        contract: Contract,
        bar_size: str = "1 min",
        duration: str = "1 D",
        what_to_show: str = "TRADES",
        use_rth: bool = False,
        keep_up_to_date: bool = True,
        timeout: float | None = None,
    ) -> SubscriptionHandle:
        """Historical bars kept up to date; returns once the initial bars have arrived."""
        if not keep_up_to_date:
            raise ValueError("only keepUpToDate bar requests are subscriptions; use reqHistoricalData directly")
        params = {
            "bar_size": bar_size,
            "duration": duration,
            "what_to_show": what_to_show,
            "use_rth": use_rth,
            "timeout": timeout,
        }
        return await self._subscribe_async(SubscriptionKind.BARS, contract, params)

    async def subscribe_account_updates_async(self, account: str) -> SubscriptionHandle:
        """`reqAccountUpdates(account)`; `updateEvent` fires on that account's values."""
        return await self._subscribe_async(SubscriptionKind.ACCOUNT_UPDATES, None, {"account": account})

    def unsubscribe(self, handle: SubscriptionHandle) -> None:
        handle.cancel()

    def set_market_data_type(self, market_data_type: int) -> None:
        """`reqMarketDataType` (1 live, 2 frozen, 3 delayed, 4 delayed frozen), re-sent on reconnect."""
        self._market_data_type = int(market_data_type)
        if self.ib.isConnected():
            self.call_in_loop(self.ib.reqMarketDataType, self._market_data_type)

    def stale_subscriptions(self, max_silence: float) -> list[SubscriptionHandle]:
        """Streaming handles with no update for `max_silence` seconds (a silent stream is a bug)."""
        cutoff = dt.datetime.now(UTC) - dt.timedelta(seconds=max_silence)
        return [
            h for h in self.subscriptions if h.kind.lost_on_1101 and (h.last_update is None or h.last_update < cutoff)
        ]

    def _new_handle(self, kind: SubscriptionKind, contract: Contract | None, params: dict) -> SubscriptionHandle:
        if kind.lost_on_1101 and not isinstance(contract, Contract):
            raise ValueError(f"{kind.value} subscription needs a (qualified) Contract, got {contract!r}")
        handle = SubscriptionHandle(kind=kind, contract=contract, params=params)
        handle._cancel = self._cancel_handle
        return handle

    def _subscribe_now(
        self, kind: SubscriptionKind, contract: Contract | None, params: dict, wait_for_line: float | None = None
    ) -> SubscriptionHandle:
        if not self.ib.isConnected():
            raise IBNotConnected(message=f"cannot subscribe to {kind.value}: not connected ({self.state.value})")
        handle = self._new_handle(kind, contract, params)
        if kind in LINE_KINDS:
            handle.line = self._take_line(f"{_label(contract)} {kind.value}", wait_for_line)
        try:
            self.call_in_loop(subs.issue_now, self.ib, handle)
        except BaseException:
            self._give_back_line(handle)
            raise
        return self.subscriptions.add(handle)

    def _take_line(self, what: str, wait: float | None) -> Any:
        """A market-data line of the login (None when no budget is kept: `lines_factory` unset or off)."""
        if self._lines is None and self.lines_factory is not None:
            self._lines = self.lines_factory()
        if self._lines is None:
            return None
        return self._lines.acquire(what, wait=wait, sleep=self._sleep_for_line)

    def _sleep_for_line(self, seconds: float) -> None:
        if asyncio._get_running_loop() is not None:
            time.sleep(seconds)  # on a running loop, which cannot be run again from here
        else:
            self.sleep(seconds)

    def _give_back_line(self, handle: SubscriptionHandle) -> None:
        line, handle.line = getattr(handle, "line", None), None
        if line is not None and self._lines is not None:
            self._lines.release(line)

    async def _subscribe_async(
        self, kind: SubscriptionKind, contract: Contract | None, params: dict
    ) -> SubscriptionHandle:
        if not self.ib.isConnected():
            raise IBNotConnected(message=f"cannot subscribe to {kind.value}: not connected ({self.state.value})")
        handle = self._new_handle(kind, contract, params)
        await subs.issue(self.ib, handle)
        return self.subscriptions.add(handle)

    def _cancel_handle(self, handle: SubscriptionHandle) -> None:
        self.subscriptions.remove(handle)
        self._give_back_line(handle)
        with contextlib.suppress(ConnectionError):  # the socket went away meanwhile: nothing to cancel
            self.call_in_loop(self._cancel_on_loop, handle)

    def _cancel_on_loop(self, handle: SubscriptionHandle) -> None:
        handle._detach()  # no update of the old request reaches the handle from now on
        subs.cancel_at_gateway(self.ib, handle)

    async def resubscribe(self, handles: Iterable[SubscriptionHandle], stale: bool) -> int:
        """Re-issue `handles` with fresh request ids; `stale`: ib_async still tracks the old ids."""
        count = 0
        for handle in handles:
            if not handle.active or not self.ib.isConnected():
                continue
            try:
                if stale:
                    subs.forget_stale(self.ib, handle)
                await subs.issue(self.ib, handle)
            except Exception:  # one bad subscription must not stop the others
                self.log.exception("Resubscribing %s %s failed", handle.kind.value, _label(handle.contract))
                continue
            handle.resubscriptions += 1
            count += 1
        self._counters.resubscriptions += count
        return count

    # --------------------------------------------------------------- connected
    async def on_connected(self, reconnect: bool = False) -> None:
        """The socket is up and synchronised (first connect or a reconnect)."""
        c = self._counters
        c.connects += 1
        c.connected_since = time.monotonic()
        self._socket_up = True
        self._ib_lost = self._server_lost = False
        self._broken_farms.clear()
        self._outage_alerted = False
        if self._market_data_type is not None:
            self.ib.reqMarketDataType(self._market_data_type)
        if not reconnect:
            self._emit(EventKind.CONNECTED, None, "connected")
            return
        c.reconnects += 1
        self._emit(EventKind.RECONNECTED, None, "reconnected")
        handles = list(self.subscriptions)
        if handles:
            count = await self.resubscribe(handles, stale=False)
            self._emit(EventKind.RESUBSCRIBED, None, f"resubscribed {count} of {len(handles)} after reconnect")

    # ------------------------------------------------------------- disconnection
    def _on_disconnected(self) -> None:
        if self._closed or self._connecting or not self._socket_up:
            return  # closing, one of our own connect attempts failing, or already known to be down
        c = self._counters
        c.disconnects += 1
        self._end_connected_spell()
        self._socket_up = False
        window = self._window()
        text = "socket to the gateway closed"
        if window is None:
            self.log.error("IB connection lost: %s; reconnecting", text)
        else:
            self.log.info("IB connection closed inside the %s reset window; reconnecting", window.region)
        self._outage_alerted = window is None
        self._emit(EventKind.DISCONNECTED, None, text, alert=window is None, window=window)
        if self.auto_reconnect:
            self.start_reconnect()

    def start_reconnect(self) -> asyncio.Task | None:
        """Start the reconnect loop on the running event loop (no-op if one is running)."""
        if self._closed:
            return None
        if self._reconnect_task is not None and not self._reconnect_task.done():
            return self._reconnect_task
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None  # nothing runs the loop now: ensure_connected() will reconnect lazily
        self._reconnect_task = loop.create_task(self._reconnect_loop(), name="ib-reconnect")
        return self._reconnect_task

    async def _reconnect_loop(self) -> None:
        self._wake = asyncio.Event()
        self._reconnecting = True
        try:
            attempts = await self._reconnect_attempts()
        finally:
            self._reconnecting = False
        if attempts is None:
            if not self._closed:
                text = f"gave up reconnecting after {self.policy.max_attempts} attempts"
                self.log.error("IB %s", text)
                self._emit(EventKind.RECONNECT_FAILED, None, text, alert=True, window=self._window())
            return
        await self.on_connected(reconnect=True)
        self.log.info("IB reconnected after %d attempt(s)", attempts)

    async def _reconnect_attempts(self) -> int | None:
        """Try until connected; the number of attempts, or None if given up or closed."""
        attempt = 0
        limit = self.policy.max_attempts
        while not self._closed:
            attempt += 1
            if limit is not None and attempt > limit:
                return None
            if attempt > 1:
                await self._backoff(self.policy.delay(attempt - 1, self._rng))
                if self._closed:
                    return None
            self._counters.reconnect_attempts += 1
            self._emit(EventKind.RECONNECTING, None, f"reconnect attempt {attempt}", quiet=True)
            try:
                await self._connect_quietly()
            except Exception as exc:
                self._reconnect_failed(attempt, exc)
                continue
            return attempt
        return None

    async def _connect_quietly(self) -> None:
        self._connecting = True
        self._refresh_state()
        try:
            await self._connect()
        finally:
            self._connecting = False

    def _reconnect_failed(self, attempt: int, exc: Exception) -> None:
        window = self._window()
        if window is not None:
            self.log.info("IB reconnect attempt %d failed inside the %s reset window: %s", attempt, window.region, exc)
        else:
            self.log.warning("IB reconnect attempt %d failed: %s", attempt, exc)
            if not self._outage_alerted:  # the outage outlived the reset window
                self._outage_alerted = True
                self.log.error("IB gateway still unreachable outside the reset windows: %s", exc)
                self._emit(EventKind.DISCONNECTED, None, f"still disconnected: {exc}", alert=True)
        self._refresh_state()

    async def _backoff(self, delay: float) -> None:
        wake = self._wake
        if wake is None:
            await asyncio.sleep(delay)
            return
        wake.clear()
        with contextlib.suppress(TimeoutError):  # the backoff ran out without a wake-up: try now
            await asyncio.wait_for(wake.wait(), delay)

    async def ensure_connected_async(self, timeout: float | None = None) -> None:
        """Return once connected; reconnect now if needed. Raises `IBNotConnected` on timeout."""
        if self._closed:
            raise IBNotConnected(message="the IB connection has been closed")
        # Let the loop notice a socket the gateway closed while nothing was running the loop: one
        # turn reads any EOF (the transport then starts closing); two more deliver the disconnect.
        await asyncio.sleep(0)
        transport = getattr(getattr(self.ib.client, "conn", None), "transport", None)
        if transport is None or transport.is_closing() or not self.ib.isConnected():
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        task = self._reconnect_task
        if self.ib.isConnected() and self._socket_up and (task is None or task.done()):
            return
        if task is None or task.done():
            if self._socket_up:
                self._on_disconnected()  # ib_async says down but no disconnect event was seen
            task = self._reconnect_task
            if task is None or task.done():
                task = self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())
        if self._wake is not None:
            self._wake.set()  # skip the rest of a backoff wait: someone needs the connection now
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            raise IBNotConnected(message=f"IB gateway not reachable within {timeout} s ({self.state.value})") from None
        if not self.ib.isConnected():
            raise IBNotConnected(message=f"IB gateway not reachable ({self.state.value})")

    # ------------------------------------------------------------- IB messages
    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        c = self._counters
        c.errors_by_code[code] += 1
        if not is_informational(code) and not (code == 10167 and self.delayed_allowed):
            c.last_error = {"code": code, "text": text, "req_id": req_id, "time": self.clock()}
        if req_id != -1:
            return  # request errors belong to the request; only system notices drive the state
        handler = self._SYSTEM_CODES.get(code)
        if handler is not None:
            handler(self, code, text)
        elif code in FARM_BROKEN:
            self._farm_broken(code, text)
        elif code in FARM_OK:
            self._farm_ok(code, text)

    def _ib_lost_notice(self, code: int, text: str) -> None:
        self._ib_lost = True
        window = self._window()
        if window is None:
            self.log.error("IB %d: %s", code, text)
        else:
            self.log.info("IB %d inside the %s reset window: %s", code, window.region, text)
        self._emit(EventKind.IB_LOST, code, text, alert=window is None, window=window)

    def _server_lost_notice(self, code: int, text: str) -> None:
        self._server_lost = True
        window = self._window()
        level = logging.INFO if window is not None else logging.WARNING
        self.log.log(level, "IB %d: %s", code, text)
        self._emit(EventKind.SERVER_LOST, code, text, window=window)

    def _restored(self, code: int, text: str) -> None:
        self._ib_lost = self._server_lost = False
        self._broken_farms.clear()  # "All data farms are connected"
        if code == 1102:
            self.log.info("IB 1102: connectivity restored, data maintained")
            self._emit(EventKind.RESTORED_DATA_KEPT, code, text)
            return
        self.log.warning("IB 1101: connectivity restored, data lost; resubscribing market data")
        self._emit(EventKind.RESTORED_DATA_LOST, code, text)
        handles = self.subscriptions.lost_on_1101()
        if handles:
            self._spawn(self._resubscribe_after_1101(handles))

    async def _resubscribe_after_1101(self, handles: list[SubscriptionHandle]) -> None:
        count = await self.resubscribe(handles, stale=True)
        self._emit(EventKind.RESUBSCRIBED, 1101, f"resubscribed {count} of {len(handles)} after 1101")

    _SYSTEM_CODES = {1100: _ib_lost_notice, 2110: _server_lost_notice, 1101: _restored, 1102: _restored}

    def _farm_broken(self, code: int, text: str) -> None:
        self._broken_farms.add((FARM_BROKEN[code], _farm_name(text)))
        window = self._window()
        self.log.log(logging.INFO if window is not None else logging.WARNING, "IB %d: %s", code, text)
        self._emit(EventKind.FARM_BROKEN, code, text, window=window)

    def _farm_ok(self, code: int, text: str) -> None:
        key = (FARM_OK[code], _farm_name(text))
        was_broken = key in self._broken_farms
        self._broken_farms.discard(key)
        self._server_lost = False if code in (2104, 2106, 2158) else self._server_lost
        if was_broken:
            self.log.info("IB %d: %s", code, text)
            self._emit(EventKind.FARM_OK, code, text)
        else:
            self._refresh_state()

    # ---------------------------------------------------------------- closing
    def close(self) -> None:
        """Stop supervising: no reconnects; subscriptions are forgotten (not cancelled)."""
        if self._closed:
            return
        self._end_connected_spell()
        self._closed = True
        self._socket_up = False
        if self._reconnect_task is not None and not self._reconnect_task.done():
            self._reconnect_task.cancel()
        for task in list(self._background):
            task.cancel()
        for handle in self.subscriptions:
            handle.active = False
            handle._detach()
            self.subscriptions.remove(handle)
        if self._lines is not None:
            self._lines.close()  # every line of this process back to the login's budget
        self.ib.errorEvent -= self._on_error
        self.ib.disconnectedEvent -= self._on_disconnected
        _SUPERVISORS.discard(self)
        self._emit(EventKind.CLOSED, None, "connection closed")

    def pending_tasks(self) -> list[asyncio.Task]:
        """Background tasks not yet finished (reconnect loop, 1101 resubscription)."""
        tasks = [*self._background, self._reconnect_task]
        return [t for t in tasks if t is not None and not t.done()]

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def reconnecting(self) -> bool:
        return self._reconnect_task is not None and not self._reconnect_task.done()

    # ------------------------------------------------------------------ stats
    def get_stats(self) -> dict[str, Any]:
        """Counters and the current state, as plain data."""
        c = self._counters
        connected = c.connected_seconds
        if c.connected_since is not None:
            connected += time.monotonic() - c.connected_since
        return {
            "state": self.state.value,
            "connects": c.connects,
            "disconnects": c.disconnects,
            "reconnects": c.reconnects,
            "reconnect_attempts": c.reconnect_attempts,
            "resubscriptions": c.resubscriptions,
            "messages_received": c.messages_received,
            "errors_by_code": dict(c.errors_by_code),
            "last_error": dict(c.last_error) if c.last_error else None,
            "time_connected_seconds": connected,
            "subscriptions": len(self.subscriptions),
            "broken_farms": sorted(f"{kind}:{farm}" for kind, farm in self._broken_farms),
        }

    # -------------------------------------------------------------- internals
    def _count_messages(self, ib: IB) -> None:
        # The decoder object lives as long as the IB client and sees every message after the
        # handshake, across reconnects; ib_async's own counter resets with each socket.
        decoder = ib.client.decoder
        interpret = decoder.interpret
        counters = self._counters

        def counting_interpret(fields):
            counters.messages_received += 1
            return interpret(fields)

        decoder.interpret = counting_interpret

    def _end_connected_spell(self) -> None:
        c = self._counters
        if c.connected_since is not None:
            c.connected_seconds += time.monotonic() - c.connected_since
            c.connected_since = None

    def _window(self) -> ResetWindow | None:
        return window_at(self.clock(), self.reset_windows) if self.reset_windows else None

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _compute_state(self) -> ConnectionState:
        if self._closed:
            return ConnectionState.CLOSED
        if self._connecting or self._reconnecting:
            if not self._socket_up:
                return ConnectionState.RECONNECTING if self._counters.connects else ConnectionState.CONNECTING
        if not self._socket_up:
            return ConnectionState.DISCONNECTED if self._counters.connects else ConnectionState.CONNECTING
        if self._ib_lost:
            return ConnectionState.IB_LOST
        if self._server_lost:
            return ConnectionState.SERVER_LOST
        if self._broken_farms:
            return ConnectionState.FARMS_DEGRADED
        return ConnectionState.CONNECTED

    def _refresh_state(self) -> None:
        self.state = self._compute_state()

    def _emit(
        self,
        kind: EventKind,
        code: int | None,
        text: str,
        alert: bool = False,
        window: ResetWindow | None = None,
        quiet: bool = False,
    ) -> None:
        self._refresh_state()
        event = ConnectionEvent(kind, code, text, self.clock(), self.state, alert, window.region if window else None)
        self.history.append(event)
        try:
            self.events.emit(event)
        except Exception:  # a listener's bug must not break supervision
            self.log.exception("connection event listener failed on %s", kind.value)
        if not quiet:
            self.log.debug("connection event %s (%s)", kind.value, self.state.value)

    def emit_client_id_lost(self, client_id: int) -> None:
        """Called (on the loop) when the client-id lease could not be renewed."""
        self._emit(EventKind.CLIENT_ID_LOST, None, f"lost the lease on client id {client_id}", alert=True)


def _call_direct(fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
    return fn(*args)


def _sleep_serviced(seconds: float) -> None:
    """Sleep running ib_async's loop (the connection stays serviced); inside a running loop, which
    cannot be run again from here, a plain sleep."""
    if util.getLoop().is_running():
        time.sleep(seconds)
    else:
        _run_sync(asyncio.sleep(seconds))


def _run_sync(coro):
    loop = util.getLoop()
    if loop.is_running() and not getattr(loop, "_nest_patched", False):
        coro.close()
        raise RuntimeError("synchronous call inside a running event loop: await the *_async method instead")
    return loop.run_until_complete(coro)


def _farm_name(text: str) -> str:
    if ":" in text:
        return text.rsplit(":", 1)[1].strip()
    return text.rsplit(".", 1)[-1].strip()


def _label(contract: Contract | None) -> str:
    if contract is None:
        return ""
    return contract.localSymbol or f"{contract.symbol} {contract.lastTradeDateOrContractMonth}"
