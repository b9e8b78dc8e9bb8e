"""IB's scheduled daily server resets: is a moment inside one of the configured windows?

The windows live in configuration (`ib_reset_windows`) because IB changes them. A window is
given in its own IANA zone and recurs on the weekdays on which it *starts* (local time); a window
whose end is not after its start runs past midnight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sysdata.config.schema import ResetWindow, reset_windows


def as_windows(items: Iterable[ResetWindow | Mapping[str, Any]] | None) -> tuple[ResetWindow, ...]:
    """Accept `ResetWindow`s or config-style dicts ({region, start "HH:MM", end, tz, days})."""
    if not items:
        return ()
    items = list(items)
    if all(isinstance(item, ResetWindow) for item in items):
        return tuple(items)
    dicts = [item if isinstance(item, Mapping) else _window_dict(item) for item in items]
    return reset_windows(dicts)


def window_at(moment: dt.datetime, windows: Iterable[ResetWindow]) -> ResetWindow | None:
    """The first window containing the tz-aware `moment`, or None."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    for window in windows:
        if window.contains(moment):
            return window
    return None


def window_end(moment: dt.datetime, window: ResetWindow) -> dt.datetime | None:
    """When the occurrence of `window` that contains the tz-aware `moment` ends (UTC), or None."""
    return window.end_of_occurrence(moment)


def in_reset_window(moment: dt.datetime, windows: Iterable[ResetWindow]) -> bool:
    """True if the tz-aware `moment` falls inside any reset window."""
    return window_at(moment, windows) is not None


def _window_dict(window: ResetWindow) -> dict[str, Any]:
    return {
        "region": window.region,
        "start": window.start.strftime("%H:%M"),
        "end": window.end.strftime("%H:%M"),
        "tz": window.tz,
        "days": list(window.days),
    }
