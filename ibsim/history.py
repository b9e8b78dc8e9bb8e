"""Historical-data request rules: bar sizes, durations, limits and reply formatting.

    window = window_for(end, "1 Y", "1 day")             # or HistoryRequestError (321/162)
    rows = format_rows(bars, "1 day", 1, "UTC", decimals)

IB's limits (bar sizes, maximum durations, expired and small-bar history) live here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from .model import Bars

UTC = dt.UTC

BAR_SIZES = (
    "1 secs 5 secs 10 secs 15 secs 30 secs 1 min 2 mins 3 mins 5 mins 10 mins 15 mins 20 mins "
    "30 mins 1 hour 2 hours 3 hours 4 hours 8 hours 1 day 1 week 1 month"
)
LEGAL_BAR_SIZES = tuple(" ".join(pair) for pair in zip(BAR_SIZES.split()[::2], BAR_SIZES.split()[1::2], strict=True))
_ALIASES = {
    "1 sec": "1 secs",
    "1 hours": "1 hour",
    "1 days": "1 day",
    "1W": "1 week",
    "1M": "1 month",
    "1 weeks": "1 week",
    "1 months": "1 month",
    "1 mins": "1 min",
}

DAY = 86_400
# The longest duration IB accepts per bar size (the more conservative of IB's two published
# tables; daily and longer bars may span many years).
MAX_DURATION: dict[str, int] = {
    "1 secs": 1_800,
    "5 secs": 3_600,
    "10 secs": 14_400,
    "15 secs": 14_400,
    "30 secs": 28_800,
    "1 min": DAY,
    "2 mins": 2 * DAY,
    "3 mins": 7 * DAY,
    "5 mins": 7 * DAY,
    "10 mins": 7 * DAY,
    "15 mins": 7 * DAY,
    "20 mins": 7 * DAY,
    "30 mins": 31 * DAY,
    "1 hour": 31 * DAY,
    "2 hours": 31 * DAY,
    "3 hours": 31 * DAY,
    "4 hours": 31 * DAY,
    "8 hours": 31 * DAY,
    "1 day": 68 * 366 * DAY,
    "1 week": 68 * 366 * DAY,
    "1 month": 68 * 366 * DAY,
}
WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")
# Sub-30-second bars are not kept for longer than six months by IB.
SMALL_BAR_HISTORY = dt.timedelta(days=183)
# IB keeps data of expired futures for about two years.
EXPIRED_HISTORY = dt.timedelta(days=730)

_DURATION_RE = re.compile(r"^\s*(\d+)\s+([SDWMY])\s*$")


class HistoryRequestError(Exception):
    """A historical request IB would refuse: carries the IB error code and text."""

    def __init__(self, code: int, text: str):
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


def normalise_bar_size(bar_size: str) -> str:
    size = " ".join(bar_size.split())
    size = _ALIASES.get(size, size)
    if size not in MAX_DURATION:
        legal = ", ".join(LEGAL_BAR_SIZES[:-2]) + ", 1W, 1M"
        raise HistoryRequestError(
            321,
            "Error validating request.-'bP' : cause - Historical data bar size setting is invalid. "
            f"Legal ones are: {legal}",
        )
    return size


_UNIT_SECONDS = {"secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600, "day": DAY, "week": 7 * DAY}


def bar_seconds(bar_size: str) -> int:
    """Length of a (normalised) bar size in seconds; a month counts as 31 days."""
    count, unit = bar_size.split()
    return int(count) * _UNIT_SECONDS.get(unit, 31 * DAY)


def parse_duration(text: str) -> tuple[int, str]:
    match = _DURATION_RE.match(text)
    if not match or int(match.group(1)) <= 0:
        raise HistoryRequestError(
            321,
            "Error validating request.-'bP' : cause - Historical data query end date/time or "
            f"duration is invalid: '{text}'",
        )
    return int(match.group(1)), match.group(2)


def window_for(end: dt.datetime, duration: str, bar_size: str) -> Window:
    """The [start, end) span a request covers, checked against IB's size limits."""
    count, unit = parse_duration(duration)
    if unit == "S":
        start = end - dt.timedelta(seconds=count)
    elif unit == "D":
        start = end - dt.timedelta(days=count)
    elif unit == "W":
        start = end - dt.timedelta(weeks=count)
    elif unit == "M":
        start = _add_months(end, -count)
    else:
        start = _add_months(end, -12 * count)
    if (end - start).total_seconds() > MAX_DURATION[bar_size] * 1.001:
        raise HistoryRequestError(162, "Historical Market Data Service error message:Time length exceed max.")
    return Window(start, end)


def _add_months(when: dt.datetime, months: int) -> dt.datetime:
    index = when.year * 12 + when.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    day = min(
        when.day,
        [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][
            month - 1
        ],
    )
    return when.replace(year=year, month=month, day=day)


def price_decimals(min_tick: float) -> int:
    """Decimals needed to print any multiple of half a tick exactly."""
    exponent = Decimal(repr(min_tick / 2)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def format_rows(bars: Bars, bar_size: str, format_date: int, tz_name: str, decimals: int) -> list[tuple]:
    """Rows (date, open, high, low, close, volume, wap, count) as the wire carries them."""
    n = len(bars)
    if n == 0:
        return []
    if bar_size in ("1 day", "1 week", "1 month"):
        dates = [d.strftime("%Y%m%d") for d in bars.trade_date]
    elif format_date == 2:
        dates = [str(t) for t in bars.time.tolist()]
    else:
        zone = ZoneInfo(tz_name)
        dates = [dt.datetime.fromtimestamp(t, zone).strftime("%Y%m%d %H:%M:%S ") + tz_name for t in bars.time.tolist()]
    fmt = f"%.{decimals}f"
    wap_fmt = f"%.{decimals + 2}f"
    opens = [fmt % x for x in bars.open.tolist()]
    highs = [fmt % x for x in bars.high.tolist()]
    lows = [fmt % x for x in bars.low.tolist()]
    closes = [fmt % x for x in bars.close.tolist()]
    volumes = [str(v) for v in bars.volume.tolist()]
    waps = [("-1" if w < 0 else wap_fmt % w) for w in bars.wap.tolist()]
    counts = [str(c) for c in bars.count.tolist()]
    return list(zip(dates, opens, highs, lows, closes, volumes, waps, counts, strict=True))


def header_time(when: dt.datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")


def last_bar_row(bars: Bars, bar_size: str, format_date: int, tz_name: str, decimals: int) -> tuple | None:
    rows = format_rows(_tail(bars), bar_size, format_date, tz_name, decimals)
    return rows[-1] if rows else None


def _tail(bars: Bars) -> Bars:
    if len(bars) <= 1:
        return bars
    sl = slice(-1, None)
    return Bars(
        bars.time[sl],
        bars.open[sl],
        bars.high[sl],
        bars.low[sl],
        bars.close[sl],
        bars.volume[sl],
        bars.wap[sl],
        bars.count[sl],
        bars.trade_date[-1:] if bars.trade_date is not None else None,
    )


__all__ = [
    "EXPIRED_HISTORY",
    "HistoryRequestError",
    "MAX_DURATION",
    "SMALL_BAR_HISTORY",
    "WHAT_TO_SHOW",
    "Window",
    "bar_seconds",
    "format_rows",
    "header_time",
    "last_bar_row",
    "normalise_bar_size",
    "parse_duration",
    "price_decimals",
    "window_for",
]


def concat_bars(parts: list[Bars]) -> Bars:
    """Bars of consecutive windows in one series, in time order; a bar whose time is not after the
    previous part's last bar is dropped (segments that touch at a roll)."""
    import numpy as np

    kept: list[Bars] = []
    last = None
    for bars in parts:
        if len(bars) == 0:
            continue
        keep = np.ones(len(bars), dtype=bool) if last is None else bars.time > last
        if not keep.any():
            continue
        dates = None if bars.trade_date is None else [d for d, k in zip(bars.trade_date, keep, strict=True) if k]
        kept.append(
            Bars(
                bars.time[keep],
                bars.open[keep],
                bars.high[keep],
                bars.low[keep],
                bars.close[keep],
                bars.volume[keep],
                bars.wap[keep],
                bars.count[keep],
                dates,
            )
        )
        last = int(bars.time[keep][-1])
    if not kept:
        return Bars.empty()
    if len(kept) == 1:
        return kept[0]
    dates = None if any(b.trade_date is None for b in kept) else [d for b in kept for d in b.trade_date]
    cat = np.concatenate
    return Bars(
        cat([b.time for b in kept]),
        cat([b.open for b in kept]),
        cat([b.high for b in kept]),
        cat([b.low for b in kept]),
        cat([b.close for b in kept]),
        cat([b.volume for b in kept]),
        cat([b.wap for b in kept]),
        cat([b.count for b in kept]),
        dates,
    )
