"""Where bars of one size begin and end: page ends on bar boundaries, and which bars are complete.

    grid = BarGrid.for_bar(3600, "America/Chicago")
    end = grid.page_end(now)                     # 14:00 when now is 14:37 (a bar boundary)
    grid.is_complete(bar_start, end)             # False for the bar cut off by a request ending mid-bar
    next_end = grid.next_page_end(page_start)    # the older page ends on a boundary at or after it

IB (and ibsim) cut off the bar in progress at a request's end, and a request starting mid-bar
leaves out the bar that began before it. A page ending mid-bar would therefore store a partial
bar that no later page repairs. Intraday bars are aligned on the clock of the exchange's zone
(a session's first bar may start at the open, but never crosses a clock boundary), so those
boundaries are bar boundaries. Daily bars are stamped at midnight UTC of their trade date and a
trade date's session ends before the next midnight UTC on every exchange IB lists futures for,
so a daily bar is complete once that midnight has passed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
DAY_SECONDS = 86_400
# The live edge is taken a little in the past: the gateway's clock is known to about a second,
# and a bar that closed a moment ago may not be final at IB yet.
LIVE_EDGE_SETTLE = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class BarGrid:
    """Bar boundaries for bars of `seconds` (intraday: clock-aligned in `zone`; daily: UTC midnights)."""

    seconds: int
    zone: dt.tzinfo

    @classmethod
    def for_bar(cls, seconds: int, zone_name: str = "UTC") -> BarGrid:
        if seconds <= 0 or (seconds < DAY_SECONDS and DAY_SECONDS % seconds) or seconds > DAY_SECONDS:
            raise ValueError(f"no bar grid for bars of {seconds} s (a divisor of a day, or a day)")
        return cls(seconds, UTC if seconds == DAY_SECONDS else ZoneInfo(zone_name))

    @property
    def daily(self) -> bool:
        return self.seconds == DAY_SECONDS

    def floor(self, when: dt.datetime) -> dt.datetime:
        """The latest bar boundary at or before `when`."""
        epoch = int(when.timestamp())
        offset = 0 if self.daily else int(when.astimezone(self.zone).utcoffset().total_seconds())
        local = epoch + offset
        return dt.datetime.fromtimestamp(local - local % self.seconds - offset, UTC)

    def ceil(self, when: dt.datetime) -> dt.datetime:
        """The earliest bar boundary at or after `when`."""
        floor = self.floor(when)
        return floor if floor >= when else self.floor(floor + dt.timedelta(seconds=self.seconds * 1.5))

    def page_end(self, stop: dt.datetime, live: bool = False) -> dt.datetime:
        """Where the newest page ends: the last boundary at or before `stop` (settled first when
        `stop` is the live edge)."""
        return self.floor(stop - LIVE_EDGE_SETTLE if live else stop)

    def next_page_end(self, page_start: dt.datetime) -> dt.datetime:
        """Where the next older page ends, given the start of the one just downloaded.

        Intraday: the first boundary at or after that start, so the bar in progress at the start
        (which the newer page leaves out) is complete in the older page. Daily: a day later still,
        since a session that began before midnight (CME's evening open) belongs to the next trade
        date and is left out of the newer page too.
        """
        end = self.ceil(page_start)
        return end + dt.timedelta(days=1) if self.daily else end

    def is_complete(self, bar_start: dt.datetime, page_end: dt.datetime) -> bool:
        """Whether a bar starting at `bar_start` had ended by `page_end` (the end of its page)."""
        return self.floor(bar_start) + dt.timedelta(seconds=self.seconds) <= page_end
