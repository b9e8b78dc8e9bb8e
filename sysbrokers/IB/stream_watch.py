"""Stale-stream detection: a stream with no update for too long while its market is open.

    watch = StreamWatch(conn, max_silence=60)        # or conn-wide: sysbrokers.IB.ib_metrics
    watch.start()                                    # checks on ib_async's loop while it runs
    watch.events += lambda e: print(e.kind, e.label, e.silence)   # "stale" / "recovered"
    watch.stale()                                    # handles stale now
    watch.set_required(handle, False)                # a stream /ready need not wait for

Every streaming subscription made through the connection supervisor (market data, keepUpToDate
bars, real-time bars) is watched from the first check after it is made. A stream is *stale* when
its market is open (the contract's trading hours from IB, compared with the gateway's clock) and
no update arrived for `max_silence` seconds; silence is counted from the later of the last update,
the moment the watch adopted the stream and the moment its market was last seen opening, so a
closed market is never stale and a market that just opened gets its full allowance. It recovers
with the next update. Contracts whose hours IB does not give are treated as always open; the
hours are asked again once those IB gave have run out (a process that runs for weeks).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventkit import Event

from sysbrokers.IB.contract_resolution import parse_trading_hours, zone_of
from sysbrokers.IB.subscriptions import SubscriptionHandle

if TYPE_CHECKING:
    from sysbrokers.IB.ib_connection import connectionIB

log = logging.getLogger(__name__)
Sessions = list[tuple[dt.datetime, dt.datetime]]


@dataclass(frozen=True)
class StreamEvent:
    """A stream went stale or recovered. `silence` is in seconds."""

    kind: str  # "stale" or "recovered"
    label: str
    stream_kind: str
    silence: float
    time: dt.datetime
    handle: SubscriptionHandle


@dataclass(eq=False)
class _Watched:
    handle: SubscriptionHandle
    quiet_since: float  # monotonic
    updates_seen: int
    required: bool = True
    stale: bool = False
    market_open: bool | None = None


class StreamWatch:
    """Watches the streaming subscriptions of one connection for silence while markets are open."""

    def __init__(self, conn: connectionIB, max_silence: float = 60.0, check_interval: float | None = None) -> None:
        self.conn = conn
        self.max_silence = float(max_silence)
        self.check_interval = float(check_interval or min(5.0, max(0.05, self.max_silence / 4)))
        self.events = Event("streamEvent")
        self.stale_events = 0
        self._watched: dict[int, _Watched] = {}
        self._sessions: dict[int, Sessions | None] = {}  # conId -> sessions (None: always open)
        self._fetching: set[int] = set()
        self._task: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()

    # ---------------------------------------------------------------- public
    def start(self) -> None:
        """Start checking on ib_async's event loop (runs whenever the loop runs)."""
        if self._task is not None and not self._task.done():
            return
        _on_ib_loop(self.conn, self._start_on_loop)  # notebook mode: the loop runs on its own thread

    def _start_on_loop(self) -> None:
        loop = self.conn._loop or asyncio.get_event_loop()
        self._task = loop.create_task(self._run(), name="ib-stream-watch")

    def stop(self) -> None:
        _on_ib_loop(self.conn, self._stop_on_loop)

    def _stop_on_loop(self) -> None:
        for task in [self._task, *self._background]:
            if task is not None and not task.done():
                task.cancel()
        self._task = None
        for watched in self._watched.values():
            watched.handle.updateEvent -= self._on_update
        self._watched.clear()

    def set_required(self, handle: SubscriptionHandle, required: bool) -> None:
        """Whether /ready depends on this stream (default: every stream is required)."""
        self._adopt(handle).required = required

    def set_sessions(self, con_id: int, sessions: Sessions | None) -> None:
        """Trading sessions (UTC pairs) of a contract, instead of asking IB."""
        self._sessions[con_id] = sessions

    def stale(self) -> list[SubscriptionHandle]:
        return [w.handle for w in self._watched.values() if w.stale]

    def required_stale(self) -> list[SubscriptionHandle]:
        return [w.handle for w in self._watched.values() if w.stale and w.required]

    def watched(self) -> list[SubscriptionHandle]:
        return [w.handle for w in self._watched.values()]

    async def check(self) -> None:
        """One check of every stream (the periodic task calls this)."""
        supervisor = self.conn.supervisor
        current = [h for h in supervisor.subscriptions if h.kind.lost_on_1101 and h.active]
        for handle in current:
            self._adopt(handle)
        alive = {h.handle_id for h in current}
        for handle_id in [k for k in self._watched if k not in alive]:
            self._watched.pop(handle_id).handle.updateEvent -= self._on_update
        if not self._watched:
            return
        if not self.conn.is_connected():
            return  # the connection's own state explains the silence; counted again once back
        now = await self.conn.now_async()
        mono = time.monotonic()
        for watched in self._watched.values():
            is_open = self._market_open(watched.handle, now)
            if is_open and watched.market_open is False:
                watched.quiet_since = mono  # the market just opened: a full allowance
            watched.market_open = is_open
            if watched.handle.updates != watched.updates_seen:
                watched.updates_seen = watched.handle.updates
                watched.quiet_since = mono
            silence = mono - watched.quiet_since
            if is_open and not watched.stale and silence >= self.max_silence:
                watched.stale = True
                self.stale_events += 1
                log.warning(
                    "stream %s is stale: no update for %.1f s while its market is open", _label(watched), silence
                )
                self._emit("stale", watched, silence)
            elif watched.stale and not is_open:
                watched.stale = False  # closed meanwhile: silence is expected now
                self._emit("recovered", watched, silence)

    # --------------------------------------------------------------- internals
    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed check must not end the watch
                log.exception("stream watch check failed")
            await asyncio.sleep(self.check_interval)

    def _adopt(self, handle: SubscriptionHandle) -> _Watched:
        watched = self._watched.get(handle.handle_id)
        if watched is None:
            watched = _Watched(handle, time.monotonic(), handle.updates)
            self._watched[handle.handle_id] = watched
            handle.updateEvent += self._on_update
        return watched

    def _on_update(self, handle: SubscriptionHandle) -> None:
        watched = self._watched.get(handle.handle_id)
        if watched is None:
            return
        watched.quiet_since = time.monotonic()
        watched.updates_seen = handle.updates
        if watched.stale:
            watched.stale = False
            log.info("stream %s recovered", _label(watched))
            self._emit("recovered", watched, 0.0)

    def _market_open(self, handle: SubscriptionHandle, now: dt.datetime) -> bool:
        contract = handle.contract
        con_id = getattr(contract, "conId", 0)
        if not con_id:
            return True
        if con_id not in self._sessions:
            self._fetch_sessions(contract)
            return True  # not known yet: assume open (known within one round trip)
        sessions = self._sessions[con_id]
        if sessions is None:
            return True
        if any(start <= now < end for start, end in sessions):
            return True
        if not any(start > now for start, _ in sessions):  # the hours IB gave have run out: ask again
            self._fetch_sessions(contract)
            return True
        return False

    def _fetch_sessions(self, contract: Any) -> None:
        con_id = contract.conId
        if con_id in self._fetching:
            return
        self._fetching.add(con_id)

        async def fetch() -> None:
            try:
                details = await asyncio.wait_for(self.conn.ib.reqContractDetailsAsync(contract), 10)
                sessions = parse_trading_hours(details[0].tradingHours, zone_of(details[0])) if details else None
                self._sessions[con_id] = sessions or None  # IB's tradingHours cover the coming days
            except Exception as exc:  # unknown hours: treat as always open
                log.debug("no trading hours for %s: %s", getattr(contract, "localSymbol", con_id), exc)
                self._sessions[con_id] = None
            finally:
                self._fetching.discard(con_id)

        task = asyncio.get_event_loop().create_task(fetch())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _emit(self, kind: str, watched: _Watched, silence: float) -> None:
        event = StreamEvent(
            kind, _label(watched), watched.handle.kind.value, silence, dt.datetime.now(dt.UTC), watched.handle
        )
        with contextlib.suppress(Exception):
            self.events.emit(event)


def _label(watched: _Watched) -> str:
    contract = watched.handle.contract
    name = getattr(contract, "localSymbol", "") or getattr(contract, "symbol", "") or "?"
    return f"{watched.handle.kind.value}:{name}"


def stale_labels(handles: Iterable[SubscriptionHandle]) -> list[str]:
    out = []
    for handle in handles:
        contract = handle.contract
        out.append(f"{handle.kind.value}:{getattr(contract, 'localSymbol', '') or getattr(contract, 'symbol', '?')}")
    return out


def _on_ib_loop(conn: Any, fn) -> None:
    """`fn()` on the thread of the loop that owns the IB socket (directly when already there)."""
    call = getattr(conn, "call_in_loop", None)
    if call is None or getattr(conn, "_closed", False):
        fn()
    else:
        call(fn)
