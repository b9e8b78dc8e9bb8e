"""What the gateway's parts see of each other: the `Gateway` and `Session` protocols.

    def send_notice(gateway: Gateway, code: int) -> None:
        for session in gateway.live_sessions():
            session.error(-1, code)

`server.IBSim` implements `Gateway` and `session.ClientSession` implements `Session`. The
modules that serve a gateway (session, convert, faults, admin) import these protocols instead
of the server, so that ibsim's import graph has no cycles: server imports them, never the
reverse.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from .broker import Broker
from .catalog import Catalog
from .clock import SimClock
from .config import SimConfig
from .market import MarketModel
from .model import Instrument
from .pacing import HistoricalPacer


class Session(Protocol):
    """One client connection, as the gateway's other parts use it."""

    client_id: int | None
    closed: bool
    version: int
    mkt_subs: dict[int, Any]

    def send(self, fields: list) -> None: ...

    def send_many(self, messages: list[list]) -> None: ...

    def error(self, req_id: int, code: int, text: str | None = None, advanced_json: str = "") -> None: ...

    async def close(self) -> None: ...

    def drop_market_subscriptions(self) -> None: ...


class SessionFaults(Protocol):
    """The part of the fault injector a session asks about."""

    def is_commission_missing(self, exec_id: str) -> bool: ...

    def is_unanswered(self, msg_id: int) -> bool: ...


class Gateway(Protocol):
    """The simulated gateway as its sessions, converters and fault injector use it."""

    config: SimConfig
    clock: SimClock
    catalog: Catalog
    market: MarketModel
    broker: Broker
    pacer: HistoricalPacer
    faults: SessionFaults
    accounts: list[str]
    tws_zoneinfo: ZoneInfo
    stats: collections.Counter
    sessions: dict[int, Any]
    connectivity_ok: bool
    port: int

    def call(self, fn: Callable, *args: Any, timeout: float = 10.0) -> Any: ...

    def register(self, session: Session, client_id: int) -> bool: ...

    def unregister(self, session: Session) -> None: ...

    def live_sessions(self) -> list: ...

    def instrument(self, con_id: int) -> Instrument: ...

    def decimals(self, inst: Instrument) -> int: ...

    def permitted(self, inst: Instrument, historical: bool = False) -> bool: ...

    def all_market_subscriptions(self) -> list: ...

    def dispatch(self, events: list, origin: Session | None = None) -> None: ...

    def save_state(self) -> None: ...

    async def listen(self) -> None: ...

    async def stop_listening(self) -> None: ...

    async def drop_all_connections(self) -> None: ...

    def status(self) -> dict: ...


def tws_time(gateway: Gateway, when: dt.datetime) -> str:
    """`yyyyMMdd HH:mm:ss <zone id>` in the zone TWS is logged in with (execution times, etc.)."""
    return when.astimezone(gateway.tws_zoneinfo).strftime("%Y%m%d %H:%M:%S ") + gateway.config.tws_zone


__all__ = ["Gateway", "Session", "SessionFaults", "tws_time"]
