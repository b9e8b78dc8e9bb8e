"""Exchange holiday calendars and trading-session templates for the simulator.

    for s in sessions(instrument, start_utc, end_utc): print(s.trade_date, s.segments)
    add_business_days("CME", dt.date(2025, 3, 4), 1)

Holidays are computed from rules (Easter by the Gregorian computus), valid for 2015-2035.
A session is identified by its trade date; a holiday trade date has no session at all (the
simulator does not model abbreviated holiday sessions). Session times come from named
templates in exchange-local time and are converted to UTC through zoneinfo, so DST changes
are handled per date.

The session functions accept a `Product` or an `Instrument`; for an instrument, sessions
start at its listing date and are cut at its expiry (no trading after the last trade).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from ibsim.model import Instrument, Product, Session

UTC = dt.UTC
_DAY = dt.timedelta(days=1)
_MON, _TUE, _WED, _THU, _FRI, _SAT, _SUN = range(7)

CALENDARS = ("CME", "CFE", "EUREX", "ICE_EU", "MATIF", "FX", "LONDON")

# How far session searches look before giving up (an expired instrument or a long gap).
_SEARCH_DAYS = 400


# ---------------------------------------------------------------------------------------
# Date helpers


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based) `weekday` (Mon=0) of a month; n=-1 gives the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = _month_end(year, month)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - _DAY


def _us_observed(day: dt.date) -> dt.date:
    """US federal observance: Saturday -> Friday, Sunday -> Monday."""
    if day.weekday() == _SAT:
        return day - _DAY
    if day.weekday() == _SUN:
        return day + _DAY
    return day


def _us_exchange_holidays(year: int) -> set[dt.date]:
    days = {
        nth_weekday(year, 1, _MON, 3),  # Martin Luther King Jr. Day
        nth_weekday(year, 2, _MON, 3),  # Presidents' Day
        easter_sunday(year) - 2 * _DAY,  # Good Friday
        nth_weekday(year, 5, _MON, -1),  # Memorial Day
        _us_observed(dt.date(year, 7, 4)),
        nth_weekday(year, 9, _MON, 1),  # Labor Day
        nth_weekday(year, 11, _THU, 4),  # Thanksgiving
        _us_observed(dt.date(year, 12, 25)),
    }
    # US exchanges do not close on Friday Dec 31 when New Year falls on a Saturday.
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != _SAT:
        days.add(_us_observed(new_year))
    if year >= 2022:
        days.add(_us_observed(dt.date(year, 6, 19)))  # Juneteenth
    return days


def _uk_bank_holidays(year: int) -> set[dt.date]:
    easter = easter_sunday(year)
    days = {easter - 2 * _DAY, easter + _DAY, nth_weekday(year, 8, _MON, -1)}
    new_year = dt.date(year, 1, 1)
    days.add(new_year + dt.timedelta(days={_SAT: 2, _SUN: 1}.get(new_year.weekday(), 0)))
    early_may = {2020: dt.date(2020, 5, 8)}.get(year, nth_weekday(year, 5, _MON, 1))
    spring = {2022: dt.date(2022, 6, 2)}.get(year, nth_weekday(year, 5, _MON, -1))
    days |= {early_may, spring}
    # One-off bank holidays: jubilee 2022, state funeral 2022, coronation 2023.
    days |= {d for d in _UK_SPECIAL if d.year == year}
    christmas = dt.date(year, 12, 25)
    if christmas.weekday() == _SAT:
        days |= {dt.date(year, 12, 27), dt.date(year, 12, 28)}
    elif christmas.weekday() == _SUN:
        days |= {dt.date(year, 12, 26), dt.date(year, 12, 27)}
    elif christmas.weekday() == _FRI:
        days |= {christmas, dt.date(year, 12, 28)}
    else:
        days |= {christmas, dt.date(year, 12, 26)}
    return days


_UK_SPECIAL = (dt.date(2022, 6, 3), dt.date(2022, 9, 19), dt.date(2023, 5, 8))


def _european_holidays(year: int, calendar: str) -> set[dt.date]:
    easter = easter_sunday(year)
    days = {dt.date(year, 1, 1), easter - 2 * _DAY, easter + _DAY}
    days |= {dt.date(year, 12, 25), dt.date(year, 12, 26)}
    if calendar in ("EUREX", "MATIF"):
        days.add(dt.date(year, 5, 1))
    if calendar == "EUREX":
        days |= {dt.date(year, 12, 24), dt.date(year, 12, 31)}
    return days


@lru_cache(maxsize=1024)
def _holidays(calendar: str, year: int) -> frozenset[dt.date]:
    if calendar in ("CME", "CFE"):
        days = _us_exchange_holidays(year)
    elif calendar in ("EUREX", "ICE_EU", "MATIF"):
        days = _european_holidays(year, calendar)
    elif calendar == "FX":
        days = {dt.date(year, 1, 1), dt.date(year, 12, 25)}
    elif calendar == "LONDON":
        days = _uk_bank_holidays(year)
    else:
        raise ValueError(f"unknown holiday calendar {calendar!r}; known: {', '.join(CALENDARS)}")
    # Weekend dates (e.g. an unobserved Saturday New Year) are not listed as holidays.
    return frozenset(d for d in days if d.year == year and d.weekday() < _SAT)


def holidays(calendar: str, year: int) -> set[dt.date]:
    """Weekday holidays of `calendar` in `year`."""
    return set(_holidays(calendar, year))


def is_holiday(calendar: str, day: dt.date) -> bool:
    """True if `day` is a (weekday) exchange holiday of `calendar`."""
    return day in _holidays(calendar, day.year)


def is_business_day(calendar: str, day: dt.date) -> bool:
    """True on Monday-Friday dates that are not holidays of `calendar`."""
    return day.weekday() < _SAT and day not in _holidays(calendar, day.year)


def add_business_days(calendar: str, day: dt.date, n: int) -> dt.date:
    """Move `n` business days from `day` (negative n moves back); n=0 returns `day` as is."""
    step = _DAY if n >= 0 else -_DAY
    remaining = abs(n)
    while remaining:
        day += step
        if is_business_day(calendar, day):
            remaining -= 1
    return day


def roll_forward(calendar: str, day: dt.date) -> dt.date:
    """`day` if it is a business day, else the next business day."""
    while not is_business_day(calendar, day):
        day += _DAY
    return day


def roll_back(calendar: str, day: dt.date) -> dt.date:
    """`day` if it is a business day, else the preceding business day."""
    while not is_business_day(calendar, day):
        day -= _DAY
    return day


def last_business_day(calendar: str, year: int, month: int) -> dt.date:
    """Last business day of a month."""
    return roll_back(calendar, _month_end(year, month))


# ---------------------------------------------------------------------------------------
# Session templates


@dataclass(frozen=True)
class SessionTemplate:
    """Trading hours of one trade date in exchange-local time.

    Each interval is (start_day_offset, "HH:MM", end_day_offset, "HH:MM") relative to the
    trade date, e.g. CME Globex (-1, "17:00", 0, "16:00"): it opens the evening before.
    `early_close` ends the session at that time when the next calendar day has no session
    (CME dairy closes 13:55 before weekends and holidays).
    """

    name: str
    segments: tuple[tuple[int, str, int, str], ...]
    rth: tuple[tuple[int, str, int, str], ...]
    weekdays: frozenset[int] = frozenset(range(5))
    early_close: str = ""


def _template(name: str, segments: list, rth: list | None = None, **kw) -> SessionTemplate:
    return SessionTemplate(name, tuple(segments), tuple(rth if rth is not None else segments), **kw)


TEMPLATES: dict[str, SessionTemplate] = {
    t.name: t
    for t in (
        _template("cme_globex", [(-1, "17:00", 0, "16:00")], [(0, "08:30", 0, "16:00")]),
        _template(
            "cme_dairy",
            [(-1, "17:00", 0, "16:00")],
            [(0, "08:30", 0, "16:00")],
            early_close="13:55",
        ),
        _template("cfe_vix", [(-1, "17:00", 0, "16:00")], [(0, "08:30", 0, "15:00")]),
        _template("nymex_energy", [(-1, "18:00", 0, "17:00")], [(0, "09:30", 0, "17:00")]),
        _template("comex_metals", [(-1, "18:00", 0, "17:00")], [(0, "08:20", 0, "13:30")]),
        _template(
            "cbot_grains",
            [(-1, "19:00", 0, "07:45"), (0, "08:30", 0, "13:20")],
            [(0, "08:30", 0, "13:20")],
        ),
        _template("cme_livestock", [(0, "08:30", 0, "13:05")]),
        _template("eurex", [(0, "01:10", 0, "22:00")], [(0, "08:00", 0, "22:00")]),
        _template("matif", [(0, "10:45", 0, "18:30")]),
        _template("fx_idealpro", [(-1, "17:15", 0, "17:00")]),
    )
}

# Fallback when a Product carries no `session_template` attribute (plain model.Product).
_DEFAULT_TEMPLATE_BY_EXCHANGE = {
    "CME": "cme_globex",
    "CBOT": "cme_globex",
    "CFE": "cfe_vix",
    "NYMEX": "nymex_energy",
    "COMEX": "comex_metals",
    "EUREX": "eurex",
    "MATIF": "matif",
    "IDEALPRO": "fx_idealpro",
}
_DEFAULT_TEMPLATE_BY_SYMBOL = {
    "ZC": "cbot_grains",
    "ZS": "cbot_grains",
    "ZW": "cbot_grains",
    "HE": "cme_livestock",
    "DA": "cme_dairy",
}


def template_for(product: Product) -> SessionTemplate:
    """The session template of a product (its `session_template` attribute if it has one)."""
    name = getattr(product, "session_template", "") or _DEFAULT_TEMPLATE_BY_SYMBOL.get(
        product.symbol, _DEFAULT_TEMPLATE_BY_EXCHANGE.get(product.exchange, "")
    )
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"no session template for {product.symbol}@{product.exchange}") from None


def _hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def _local_to_utc(day: dt.date, offset: int, hhmm: str, zone: ZoneInfo) -> dt.datetime:
    local = dt.datetime.combine(day + dt.timedelta(days=offset), _hhmm(hhmm), tzinfo=zone)
    return local.astimezone(UTC)


def _has_session(template: SessionTemplate, calendar: str, day: dt.date) -> bool:
    return day.weekday() in template.weekdays and not is_holiday(calendar, day)


@lru_cache(maxsize=200_000)
def _session_on(template_name: str, zone_name: str, calendar: str, day: dt.date) -> Session | None:
    """The unclipped session of one trade date, or None if the exchange is closed."""
    template = TEMPLATES[template_name]
    if not _has_session(template, calendar, day):
        return None
    zone = ZoneInfo(zone_name)
    segments = list(template.segments)
    rth = list(template.rth)
    if template.early_close and not _has_session(template, calendar, day + _DAY):
        close = (0, template.early_close)
        segments[-1] = (*segments[-1][:2], *close)
        rth = [(*r[:2], *min(r[2:], close)) for r in rth]

    def convert(intervals: list) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        out = []
        for start_off, start, end_off, end in intervals:
            begin = _local_to_utc(day, start_off, start, zone)
            finish = _local_to_utc(day, end_off, end, zone)
            if finish > begin:
                out.append((begin, finish))
        return tuple(out)

    return Session(day, convert(segments), convert(rth))


def _unpack(
    item: Product | Instrument,
) -> tuple[Product, dt.datetime | None, dt.date | None]:
    if isinstance(item, Instrument):
        return item.product, item.expiry_utc, item.first_trade_date
    return item, None, None


def _clip(session: Session, expiry: dt.datetime | None, first: dt.date | None) -> Session | None:
    if first is not None and session.trade_date < first:
        return None
    if expiry is None or session.end <= expiry:
        return session
    if session.start >= expiry:
        return None

    def cut(intervals):
        return tuple((s, min(e, expiry)) for s, e in intervals if s < expiry)

    return Session(session.trade_date, cut(session.segments), cut(session.rth))


def _session(item: Product | Instrument, day: dt.date) -> Session | None:
    product, expiry, first = _unpack(item)
    session = _session_on(template_for(product).name, product.iana_zone, product.calendar, day)
    return None if session is None else _clip(session, expiry, first)


def _trade_dates(start: dt.date, stop: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= stop:
        yield day
        day += _DAY


def _local_date(product: Product, t: dt.datetime) -> dt.date:
    return t.astimezone(ZoneInfo(product.iana_zone)).date()


def _check_aware(*times: dt.datetime) -> None:
    for t in times:
        if t.tzinfo is None:
            raise ValueError(f"naive datetime {t!r}: pass timezone-aware UTC times")


# ---------------------------------------------------------------------------------------
# Public session API


def session_for_date(item: Product | Instrument, trade_date: dt.date) -> Session | None:
    """The session of one trade date, or None if there is none (weekend, holiday, expired)."""
    return _session(item, trade_date)


def sessions(item: Product | Instrument, start_utc: dt.datetime, end_utc: dt.datetime) -> list[Session]:
    """Every session with a traded segment intersecting [start_utc, end_utc), in order."""
    _check_aware(start_utc, end_utc)
    product, _, _ = _unpack(item)
    out = []
    first = _local_date(product, start_utc) - _DAY
    last = _local_date(product, end_utc) + 2 * _DAY
    for day in _trade_dates(first, last):
        session = _session(item, day)
        if session is not None and any(s < end_utc and e > start_utc for s, e in session.segments):
            out.append(session)
    return out


def session_at(item: Product | Instrument, t_utc: dt.datetime) -> Session | None:
    """The session whose traded segments contain t (None in breaks, weekends, holidays)."""
    _check_aware(t_utc)
    product, _, _ = _unpack(item)
    local = _local_date(product, t_utc)
    for day in _trade_dates(local - _DAY, local + 2 * _DAY):
        session = _session(item, day)
        if session is not None and any(s <= t_utc < e for s, e in session.segments):
            return session
    return None


def is_open(item: Product | Instrument, t_utc: dt.datetime) -> bool:
    """True if the market trades at t."""
    return session_at(item, t_utc) is not None


def next_open(item: Product | Instrument, t_utc: dt.datetime) -> dt.datetime | None:
    """Start of the first traded segment starting at or after t (None if trading has ended)."""
    _check_aware(t_utc)
    product, _, _ = _unpack(item)
    local = _local_date(product, t_utc)
    for day in _trade_dates(local - _DAY, local + dt.timedelta(days=_SEARCH_DAYS)):
        session = _session(item, day)
        if session is None:
            continue
        for start, _end in session.segments:
            if start >= t_utc:
                return start
    return None


def previous_session(item: Product | Instrument, t_utc: dt.datetime) -> Session | None:
    """The latest session that had completely ended by t."""
    _check_aware(t_utc)
    product, _, _ = _unpack(item)
    day = _local_date(product, t_utc) + _DAY
    for _ in range(_SEARCH_DAYS):
        session = _session(item, day)
        if session is not None and session.end <= t_utc:
            return session
        day -= _DAY
    return None


# ---------------------------------------------------------------------------------------
# IB tradingHours / liquidHours strings


def trading_hours_string(item: Product | Instrument, around_utc: dt.datetime, days: int = 7) -> str:
    """IB `tradingHours` for `days` trade dates from the current one, in exchange-local time.

    Format "20240325:1700-20240326:1600;...;20240329:CLOSED" as TWS sends it: one entry per
    traded segment; a calendar day is "CLOSED" when it has no session of its own and no
    session opens on it (so a Sunday evening opening is not listed as CLOSED).
    """
    return _hours_string(item, around_utc, days, liquid=False)


def liquid_hours_string(item: Product | Instrument, around_utc: dt.datetime, days: int = 7) -> str:
    """IB `liquidHours` (regular trading hours) in the same layout as `trading_hours_string`."""
    return _hours_string(item, around_utc, days, liquid=True)


def _hours_string(item: Product | Instrument, around: dt.datetime, days: int, liquid: bool) -> str:
    _check_aware(around)
    product, _, _ = _unpack(item)
    zone = ZoneInfo(product.iana_zone)
    current = session_at(item, around)
    first = current.trade_date if current is not None else around.astimezone(zone).date()
    window = [first + dt.timedelta(days=i) for i in range(max(days, 1))]
    by_date = {day: _session(item, day) for day in window + [window[-1] + _DAY]}
    opening_days = {
        s.astimezone(zone).date() for session in by_date.values() if session is not None for s, _ in session.segments
    }
    entries = []
    for day in window:
        session = by_date[day]
        intervals = () if session is None else (session.rth if liquid else session.segments)
        if intervals:
            for start, end in intervals:
                a, b = start.astimezone(zone), end.astimezone(zone)
                entries.append(f"{a:%Y%m%d:%H%M}-{b:%Y%m%d:%H%M}")
        elif session is not None or day not in opening_days:
            entries.append(f"{day:%Y%m%d}:CLOSED")
    return ";".join(entries)
