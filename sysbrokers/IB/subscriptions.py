"""Live subscriptions that survive resubscription: handles and the registry that re-issues them.

A `SubscriptionHandle` is what a caller keeps. The supervisor re-issues the request behind it with
a fresh request id after every reconnect and on 1101 (data lost); the handle then points at the new
`Ticker` / `BarDataList` / `RealTimeBarList` / `PnL`, and its `updateEvent` keeps firing, so the
caller sees data flowing again without doing anything.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eventkit import Event
from ib_async import IB, Contract

log = logging.getLogger(__name__)
UTC = dt.UTC


class SubscriptionKind(enum.Enum):
    MARKET_DATA = "market_data"  # reqMktData
    BARS = "bars"  # reqHistoricalData(keepUpToDate=True)
    REALTIME_BARS = "realtime_bars"  # reqRealTimeBars
    ACCOUNT_UPDATES = "account_updates"  # reqAccountUpdates
    PNL = "pnl"  # reqPnL
    TICK_BY_TICK = "tick_by_tick"  # reqTickByTickData (params: tick_type Last/AllLast/BidAsk/MidPoint)

    @property
    def lost_on_1101(self) -> bool:
        """1101 ends market-data streams; account and PnL updates survive it."""
        return self in (
            SubscriptionKind.MARKET_DATA,
            SubscriptionKind.BARS,
            SubscriptionKind.REALTIME_BARS,
            SubscriptionKind.TICK_BY_TICK,
        )


_ids = itertools.count(1)


@dataclass(eq=False)
class SubscriptionHandle:
    """One live subscription. `data` is the current ib_async object behind it.

    `updateEvent` emits the handle on every update from whichever request currently backs it.
    """

    kind: SubscriptionKind
    contract: Contract | None = None
    params: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    req_id: int | None = None
    updates: int = 0
    last_update: dt.datetime | None = None
    resubscriptions: int = 0
    active: bool = True
    handle_id: int = field(default_factory=lambda: next(_ids))
    updateEvent: Event = field(default_factory=lambda: Event("updateEvent"))  # noqa: N815 - ib_async style
    line: Any = field(default=None, repr=False)  # the login's market-data line it holds, if counted
    _cancel: Callable[[SubscriptionHandle], None] | None = field(default=None, repr=False)
    _source: Event | None = field(default=None, repr=False)
    _accept: Callable[..., bool] | None = field(default=None, repr=False)

    @property
    def ticker(self):
        """The current `Ticker` (market data subscriptions)."""
        return self.data

    @property
    def bars(self):
        """The current `BarDataList` / `RealTimeBarList` (bar subscriptions)."""
        return self.data

    @property
    def pnl(self):
        return self.data

    def cancel(self) -> None:
        """End the subscription at the gateway and stop resubscribing it."""
        if self.active and self._cancel is not None:
            self._cancel(self)
        self.active = False
        self._detach()

    def _detach(self) -> None:
        if self._source is not None:
            self._source.disconnect(self._on_update)
            self._source = None

    def _on_update(self, *args: Any) -> None:
        if self._accept is not None and not self._accept(*args):
            return
        self.updates += 1
        self.last_update = dt.datetime.now(UTC)
        self.updateEvent.emit(self)

    def _attach(
        self, data: Any, source: Event | None, req_id: int | None, accept: Callable[..., bool] | None = None
    ) -> None:
        """Point the handle at a newly issued request and forward its updates (those `accept` keeps)."""
        self._detach()
        self.data = data
        self.req_id = req_id
        self._source = source
        self._accept = accept
        if source is not None:
            source.connect(self._on_update)


class SubscriptionRegistry:
    """The live subscriptions of one connection, in creation order."""

    def __init__(self) -> None:
        self._handles: dict[int, SubscriptionHandle] = {}

    def add(self, handle: SubscriptionHandle) -> SubscriptionHandle:
        self._handles[handle.handle_id] = handle
        return handle

    def remove(self, handle: SubscriptionHandle) -> None:
        self._handles.pop(handle.handle_id, None)

    def __iter__(self) -> Iterator[SubscriptionHandle]:
        return iter(list(self._handles.values()))

    def __len__(self) -> int:
        return len(self._handles)

    def lost_on_1101(self) -> list[SubscriptionHandle]:
        return [h for h in self if h.kind.lost_on_1101]


# --- issuing requests ---------------------------------------------------------------------------
# Each issuer sends the request on `ib` with a fresh request id and attaches the result to the
# handle. Requests that wait for a first reply are coroutines, so that they can run inside the
# event loop (the reconnect and 1101 paths).


async def issue(ib: IB, handle: SubscriptionHandle) -> None:
    """(Re-)issue the request behind `handle` with a fresh request id."""
    if handle.kind in _SYNC_ISSUERS:
        _SYNC_ISSUERS[handle.kind](ib, handle)
    else:
        await _ASYNC_ISSUERS[handle.kind](ib, handle)


def issue_now(ib: IB, handle: SubscriptionHandle) -> None:
    """Issue a request that needs no reply before it counts as live (market data, real-time bars, PnL)."""
    issuer = _SYNC_ISSUERS.get(handle.kind)
    if issuer is None:
        raise ValueError(f"{handle.kind.value} subscriptions wait for a reply: use issue()")
    issuer(ib, handle)


def cancel_at_gateway(ib: IB, handle: SubscriptionHandle) -> None:
    """Send the cancel for the request currently behind `handle` (if connected)."""
    if not ib.isConnected() or handle.data is None:
        return
    kind, data = handle.kind, handle.data
    if kind is SubscriptionKind.MARKET_DATA:
        ib.cancelMktData(handle.contract)
    elif kind is SubscriptionKind.BARS:
        ib.cancelHistoricalData(data)
    elif kind is SubscriptionKind.REALTIME_BARS:
        ib.cancelRealTimeBars(data)
    elif kind is SubscriptionKind.PNL:
        ib.cancelPnL(handle.params["account"], handle.params.get("model_code", ""))
    elif kind is SubscriptionKind.ACCOUNT_UPDATES:
        ib.client.reqAccountUpdates(False, handle.params["account"])
    elif kind is SubscriptionKind.TICK_BY_TICK:
        ib.cancelTickByTickData(handle.contract, handle.params["tick_type"])


def forget_stale(ib: IB, handle: SubscriptionHandle) -> None:
    """Drop ib_async's bookkeeping for a request the gateway has already ended (1101).

    No cancel goes to the gateway: after 1101 it no longer knows the request id.
    """
    data = handle.data
    if data is None:
        return
    if handle.kind in (SubscriptionKind.BARS, SubscriptionKind.REALTIME_BARS):
        ib.wrapper.endSubscription(data)
    elif handle.kind is SubscriptionKind.MARKET_DATA:
        ib.wrapper.endTicker(data, "mktData")
    elif handle.kind is SubscriptionKind.TICK_BY_TICK:
        ib.wrapper.endTicker(data, handle.params["tick_type"])


def _issue_market_data(ib: IB, handle: SubscriptionHandle) -> None:
    p = handle.params
    ticker = ib.reqMktData(handle.contract, p.get("generic_ticks", ""), False, False, p.get("options") or [])
    req_id = ib.wrapper.ticker2ReqId["mktData"].get(ticker)
    handle._attach(ticker, ticker.updateEvent, req_id)


async def _issue_bars(ib: IB, handle: SubscriptionHandle) -> None:
    p = handle.params
    bars = await ib.reqHistoricalDataAsync(
        handle.contract,
        endDateTime="",
        durationStr=p["duration"],
        barSizeSetting=p["bar_size"],
        whatToShow=p["what_to_show"],
        useRTH=p["use_rth"],
        formatDate=2,
        keepUpToDate=True,
        timeout=p.get("timeout") or 60,
    )
    handle._attach(bars, bars.updateEvent, bars.reqId)


def _issue_realtime_bars(ib: IB, handle: SubscriptionHandle) -> None:
    p = handle.params
    bars = ib.reqRealTimeBars(handle.contract, 5, p["what_to_show"], p["use_rth"])
    handle._attach(bars, bars.updateEvent, bars.reqId)


def _issue_pnl(ib: IB, handle: SubscriptionHandle) -> None:
    account, model = handle.params["account"], handle.params.get("model_code", "")
    if (account, model) in ib.wrapper.pnlKey2ReqId:  # still live on this socket
        return
    pnl = ib.reqPnL(account, model)
    req_id = ib.wrapper.pnlKey2ReqId.get((account, model))
    handle._attach(pnl, ib.pnlEvent, req_id, accept=lambda p: p is pnl)


async def _issue_account_updates(ib: IB, handle: SubscriptionHandle) -> None:
    account = handle.params["account"]
    await ib.reqAccountUpdatesAsync(account)
    handle._attach(None, ib.accountValueEvent, None, accept=lambda v: v.account == account)


def _issue_tick_by_tick(ib: IB, handle: SubscriptionHandle) -> None:
    """reqTickByTickData; the handle forwards only updates that carry ticks of its own type
    (ib_async keeps one Ticker per contract for market data and every tick-by-tick type)."""
    tick_type = handle.params["tick_type"]
    ticker = ib.reqTickByTickData(handle.contract, tick_type, 0, bool(handle.params.get("ignore_size", False)))
    req_id = ib.wrapper.ticker2ReqId[tick_type].get(ticker)
    wanted = _TICK_BY_TICK_CLASSES[tick_type]
    handle._attach(ticker, ticker.updateEvent, req_id, accept=lambda t: any(wanted(x) for x in t.tickByTicks))


def _tick_class_test(tick_type: str) -> Callable[[Any], bool]:
    from ib_async import TickByTickAllLast, TickByTickBidAsk, TickByTickMidPoint

    if tick_type in ("Last", "AllLast"):
        number = 1 if tick_type == "Last" else 2
        return lambda tick: isinstance(tick, TickByTickAllLast) and tick.tickType == number
    cls = TickByTickBidAsk if tick_type == "BidAsk" else TickByTickMidPoint
    return lambda tick: isinstance(tick, cls)


_TICK_BY_TICK_CLASSES = {name: _tick_class_test(name) for name in ("Last", "AllLast", "BidAsk", "MidPoint")}

_SYNC_ISSUERS = {
    SubscriptionKind.MARKET_DATA: _issue_market_data,
    SubscriptionKind.TICK_BY_TICK: _issue_tick_by_tick,
    SubscriptionKind.REALTIME_BARS: _issue_realtime_bars,
    SubscriptionKind.PNL: _issue_pnl,
}
_ASYNC_ISSUERS = {
    SubscriptionKind.BARS: _issue_bars,
    SubscriptionKind.ACCOUNT_UPDATES: _issue_account_updates,
}
