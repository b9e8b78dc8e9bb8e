"""Settings of one simulated gateway: `SimConfig` and the real-time intervals in `Timing`.

    from ibsim import IBSim, SimConfig, Timing
    sim = IBSim(SimConfig(port=0, start=datetime(2025, 3, 4, 15, tzinfo=UTC), max_message_rate=None))

Kept apart from `server` so that every module can read the settings without importing the
server (ibsim's module graph has no cycles).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .pacing import PacingRules


@dataclass
class Timing:
    """Real-time intervals of the gateway's background work (seconds)."""

    tick_interval: float = 0.25  # market-data updates
    order_step_interval: float = 0.1  # working orders checked against the market
    keep_up_to_date_interval: float = 5.0  # keepUpToDate bar updates (IB: every 4-6 s)
    account_update_interval: float = 3.0  # account values / portfolio refresh
    pnl_interval: float = 1.0
    farm_notice_delay: float = 0.02  # farm notices follow startApi by a few tens of ms
    commission_delay: float = 0.05  # commission report follows the fill


@dataclass
class SimConfig:
    """Everything that shapes one simulated gateway."""

    host: str = "127.0.0.1"
    port: int = 4002  # 0 = any free port
    accounts: tuple[str, ...] = ("DU123456",)
    seed: int = 0
    start: dt.datetime | None = None  # simulated start time (default: now)
    speed: float = 1.0
    pacing: PacingRules = field(default_factory=PacingRules)
    state_file: str | None = None
    tws_zone: str = "UTC"  # the zone TWS is logged in with: used in connection time and bar dates
    permissions: frozenset[str] | None = None  # exchanges with live data; None = all
    readonly_api: bool = False  # the gateway's "Read-Only API" setting
    max_tickers: int = 100
    delayed_by: dt.timedelta = dt.timedelta(minutes=15)
    initial_cash: float = 1_000_000.0
    base_currency: str = "USD"
    admin_port: int | None = None  # loopback admin channel (0 = any free port)
    timing: Timing = field(default_factory=Timing)
    # IB's API message-rate limit: more than this many client messages within one second are
    # rejected with error 100, and the connection is closed at the `rate_violations_to_disconnect`-th
    # rejected message. None (or 0) switches the limit off. A client that connects with
    # "+PACEAPI" is paced (its messages are delayed) instead, as TWS does.
    max_message_rate: int | None = 50
    rate_violations_to_disconnect: int = 3
    # Fault injection: request ids the gateway leaves unanswered, as a hung farm would (e.g. 81,
    # reqMatchingSymbols, for tests of a client's own time limits). Empty: every request is answered.
    unanswered_requests: frozenset[int] = frozenset()
