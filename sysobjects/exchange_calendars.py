"""Exchange holidays and business-day arithmetic, backed by `pandas_market_calendars`.

Our calendar keys ("CME", "CFE", "EUREX", "MATIF", "LONDON") map to one library calendar each
(`CALENDARS`). A *business day* is a weekday on which the exchange holds a trading session
with its own trade date and settlement: the day an expiry rule may land on or count.

Which library calendar backs which key, and why (checked against pandas_market_calendars 5.5):

* "CME" (every CME Group product: CME, CBOT, NYMEX, COMEX) -> "CME_Agriculture". The Globex
  calendars ("CME_Equity", "CME_Bond"/"CME_Rate", "CME_FX", "CMEGlobex_*") model *trading
  sessions*: on MLK, Presidents', Memorial, Juneteenth, Independence, Labor and Thanksgiving
  days Globex trades until a 12:00 CT halt, so they list those as early closes, not holidays.
  Those sessions carry the next day's trade date and have no settlement, so for expiry rules
  they are holidays (ES Jun-2026 expires Thu 2026-06-18 because of Juneteenth). The
  agriculture calendar lists exactly CME Group's settlement holidays (New Year, MLK,
  Presidents', Good Friday, Memorial, Juneteenth from 2022, Independence, Labor, Thanksgiving,
  Christmas; observed Friday/Monday; no Dec 31 closure when Jan 1 is a Saturday).
  Correction: the library closes 2025-01-09 (national day of mourning); CME only closed early
  that day and kept the trade date (CME notice of 2024-12-30), so it stays a business day.
* "CFE" (VIX) -> "CFE" (Cboe did close CFE on 2025-01-09, so that closure is kept).
* "EUREX" -> "XEUR" (exchange_calendars). The library's own "EUREX" calendar moves weekend
  Christmas/Boxing Day to the following Monday/Tuesday, which Eurex does not do, and lacks
  the Dec 24/Dec 31 closures; XEUR matches Eurex's published calendar.
* "MATIF" (Euronext Paris derivatives) -> "XPAR".
* "LONDON" (UK bank holidays, for the Eurodollar's London-day count) -> "XLON".

Holiday sets are built once per process per key (the library is slow to build) over
`RANGE_START`..`RANGE_END`; arithmetic outside that range raises ValueError.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cache

RANGE_START = dt.date(2000, 1, 1)
RANGE_END = dt.date(2045, 12, 31)
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CalendarSource:
    """Where one calendar key's holidays come from, plus documented corrections."""

    library_name: str
    zone: str
    business_days_added: tuple[dt.date, ...] = ()  # library closures that are business days
    holidays_added: tuple[dt.date, ...] = ()  # closures the library misses


CALENDARS: dict[str, CalendarSource] = {
    "CME": CalendarSource("CME_Agriculture", "America/Chicago", business_days_added=(dt.date(2025, 1, 9),)),
    "CFE": CalendarSource("CFE", "America/Chicago"),
    "EUREX": CalendarSource("XEUR", "Europe/Berlin"),
    "MATIF": CalendarSource("XPAR", "Europe/Paris"),
    "LONDON": CalendarSource("XLON", "Europe/London"),
}


@dataclass(frozen=True)
class _BusinessDays:
    holidays: frozenset[dt.date]  # weekday closures only
    ordinals: tuple[int, ...]  # sorted ordinals of every business day in range


def _source(calendar: str) -> CalendarSource:
    try:
        return CALENDARS[calendar]
    except KeyError:
        raise ValueError(f"unknown calendar {calendar!r}; known: {', '.join(CALENDARS)}") from None


@cache
def library_closed_weekdays(
    library_name: str, start: dt.date = RANGE_START, end: dt.date = RANGE_END
) -> frozenset[dt.date]:
    """Weekdays on which a pandas_market_calendars calendar has no session."""
    import pandas_market_calendars as mcal  # imported lazily: slow, and only needed once

    valid = mcal.get_calendar(library_name).valid_days(start.isoformat(), end.isoformat())
    open_days = {d.toordinal() for d in valid.date}
    closed = set()
    day = start
    while day <= end:
        if day.weekday() < 5 and day.toordinal() not in open_days:
            closed.add(day)
        day += _DAY
    return frozenset(closed)


@cache
def _business_days(calendar: str) -> _BusinessDays:
    source = _source(calendar)
    closed = set(library_closed_weekdays(source.library_name))
    closed -= set(source.business_days_added)
    closed |= {d for d in source.holidays_added if d.weekday() < 5}
    ordinals = []
    day = RANGE_START
    while day <= RANGE_END:
        if day.weekday() < 5 and day not in closed:
            ordinals.append(day.toordinal())
        day += _DAY
    return _BusinessDays(frozenset(closed), tuple(ordinals))


def _check_range(day: dt.date) -> None:
    if not RANGE_START <= day <= RANGE_END:
        raise ValueError(f"{day} outside the calendar range {RANGE_START}..{RANGE_END}")


def _from_index(days: _BusinessDays, index: int) -> dt.date:
    if not 0 <= index < len(days.ordinals):
        raise ValueError("business-day arithmetic left the calendar range")
    return dt.date.fromordinal(days.ordinals[index])


def holidays(calendar: str, year: int | None = None) -> frozenset[dt.date]:
    """Weekday holidays of `calendar` (of one year if given)."""
    closed = _business_days(calendar).holidays
    if year is None:
        return closed
    return frozenset(d for d in closed if d.year == year)


def is_holiday(calendar: str, day: dt.date) -> bool:
    """True if `day` is a weekday without a session of its own."""
    _check_range(day)
    return day in _business_days(calendar).holidays


def is_business_day(calendar: str, day: dt.date) -> bool:
    """True on weekdays that are not holidays of `calendar`."""
    _check_range(day)
    return day.weekday() < 5 and day not in _business_days(calendar).holidays


def add_business_days(calendar: str, day: dt.date, n: int) -> dt.date:
    """Move `n` business days from `day` (negative: back); `day` itself need not be one.

    n=0 returns `day` unchanged, so "-3 business days before the 1st" counts the 1st as day 0
    whether or not it is a business day.
    """
    _check_range(day)
    if n == 0:
        return day
    days = _business_days(calendar)
    if n > 0:
        return _from_index(days, bisect_right(days.ordinals, day.toordinal()) + n - 1)
    return _from_index(days, bisect_left(days.ordinals, day.toordinal()) + n)


def roll_forward(calendar: str, day: dt.date) -> dt.date:
    """`day` if it is a business day, else the next one ("following")."""
    _check_range(day)
    days = _business_days(calendar)
    return _from_index(days, bisect_left(days.ordinals, day.toordinal()))


def roll_back(calendar: str, day: dt.date) -> dt.date:
    """`day` if it is a business day, else the previous one ("preceding")."""
    _check_range(day)
    days = _business_days(calendar)
    return _from_index(days, bisect_right(days.ordinals, day.toordinal()) - 1)


def month_end(year: int, month: int) -> dt.date:
    """Last calendar day of a month."""
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - _DAY


def nth_business_day(calendar: str, year: int, month: int, n: int) -> dt.date:
    """The n-th business day of a month (n=1 first); negative n counts from the end (-1 last)."""
    if n == 0:
        raise ValueError("n must be non-zero")
    if n > 0:
        found = add_business_days(calendar, dt.date(year, month, 1) - _DAY, n)
    else:
        found = add_business_days(calendar, month_end(year, month) + _DAY, n)
    if (found.year, found.month) != (year, month):
        raise ValueError(f"{year}-{month:02d} has fewer than {abs(n)} business days")
    return found


def last_business_day(calendar: str, year: int, month: int) -> dt.date:
    """Last business day of a month."""
    return roll_back(calendar, month_end(year, month))


def business_days_between(calendar: str, start: dt.date, end: dt.date) -> int:
    """Number of business days d with start < d <= end (negative if end < start)."""
    _check_range(start)
    _check_range(end)
    days = _business_days(calendar)
    a = bisect_right(days.ordinals, start.toordinal())
    b = bisect_right(days.ordinals, end.toordinal())
    return b - a


def calendar_zone(calendar: str) -> str:
    """IANA zone the calendar's dates are reckoned in."""
    return _source(calendar).zone
