"""Trading sessions as pysystemtrade's objects: `tradingHours` and `listOfTradingHours`.

    hours = ibFuturesContractData(conn).get_trading_hours_for_contract(contract)
    hours.okay_to_trade_now()                      # inside a session now (the gateway's clock)
    hours.less_than_N_hours_left(N_hours=1.0)      # the current session ends within an hour
    for start, end in hours: ...                   # still (start, end) pairs, UTC-aware

Unlike pysystemtrade's (naive, machine-local times) these are UTC-aware datetimes, and "now" is
the clock the list was made with (the gateway's, so ibsim's simulated time), else the system's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

__all__ = ["listOfTradingHours", "tradingHours"]

Clock = Callable[[], dt.datetime]


def _system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class tradingHours(tuple):  # noqa: N801 - pysystemtrade's public name
    """One session: `(opening_time, closing_time)`, UTC-aware."""

    def __new__(cls, opening_time: dt.datetime, closing_time: dt.datetime, clock: Clock | None = None):
        self = super().__new__(cls, (opening_time, closing_time))
        self._clock = clock or _system_now
        return self

    @property
    def opening_time(self) -> dt.datetime:
        return self[0]

    @property
    def closing_time(self) -> dt.datetime:
        return self[1]

    def okay_to_trade_now(self, now: dt.datetime | None = None) -> bool:
        now = now or self._clock()
        return self.opening_time <= now < self.closing_time

    def hours_left_before_market_close(self, now: dt.datetime | None = None) -> float:
        """Hours until this session closes (0 if it is not open now)."""
        now = now or self._clock()
        if not self.okay_to_trade_now(now):
            return 0.0
        return (self.closing_time - now).total_seconds() / 3600.0

    def less_than_N_hours_left(self, N_hours: float = 1.0, now: dt.datetime | None = None) -> bool:  # noqa: N802, N803
        """True if the session is open and closes within `N_hours` (pysystemtrade's semantics)."""
        now = now or self._clock()
        return self.okay_to_trade_now(now) and self.hours_left_before_market_close(now) < N_hours

    def __repr__(self) -> str:
        return f"tradingHours({self.opening_time.isoformat()}, {self.closing_time.isoformat()})"


class listOfTradingHours(list):  # noqa: N801 - pysystemtrade's public name
    """The coming sessions of one contract, in time order."""

    def __init__(self, sessions: Iterable[tuple[dt.datetime, dt.datetime]] = (), clock: Clock | None = None):
        self._clock = clock or _system_now
        super().__init__(tradingHours(start, end, self._clock) for start, end in sessions)

    def okay_to_trade_now(self, now: dt.datetime | None = None) -> bool:
        now = now or self._clock()
        return any(session.okay_to_trade_now(now) for session in self)

    def current_session(self, now: dt.datetime | None = None) -> tradingHours | None:
        now = now or self._clock()
        return next((session for session in self if session.okay_to_trade_now(now)), None)

    def less_than_N_hours_left(self, N_hours: float = 1.0, now: dt.datetime | None = None) -> bool:  # noqa: N802, N803
        """True if trading now and the current session closes within `N_hours`. Sessions that
        touch (one closes as the next opens) count as one."""
        now = now or self._clock()
        session = self.current_session(now)
        if session is None:
            return False
        close = session.closing_time
        for later in self:
            if later.opening_time == close:
                close = later.closing_time
        return (close - now).total_seconds() / 3600.0 < N_hours
