"""Rule-based last trade dates and expiry instants of futures contracts.

A rule is a pipeline of steps separated by "|", evaluated left to right for a contract
month. Anchors set the date from the (possibly shifted) reference month; adjustments move
it. Business days come from `sysobjects.exchange_calendars` (the instrument's calendar, or
the one named after "@" on a step). The language is documented in docs/expiry_and_rolls.md.

    month+N | month-N        shift the reference month (SOFR: month+3, CL: month-1)
    day N                    N-th calendar day of the reference month
    last_day                 last calendar day
    weekday N DAY            N-th DAY (MON..SUN) of the month; N=-1 is the last one
    bd N | last_bd           N-th business day (N<0 counts from the end; last_bd = bd -1)
    usda_class3              USDA Class III milk price announcement day (see below)
    +N bd | -N bd            move N business days (from any day, business day or not)
    +N days | -N days        move N calendar days
    preceding | following    the business day on or before / on or after

For example ES "weekday 3 FRI | preceding", ZN "last_bd | -7 bd", CL "month-1 | day 25 |
preceding | -3 bd", VIX "month+1 | weekday 3 FRI | preceding | -30 days | preceding",
Eurodollar "weekday 3 WED | -2 bd@LONDON".

The last trade *instant* is the last trade date at `last_trade_time` in `last_trade_zone`.
When the instrument's sessions are configured, an instant that falls while the market is
closed is looked back to the most recent session close before it ("lookback by market
calendar"), so an expiry can never sit in a closed market.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from sysobjects import exchange_calendars as xc
from sysobjects.roll_cycles import ContractMonth

UTC = dt.UTC
WEEKDAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}
_DAY = dt.timedelta(days=1)

_ANCHORS = {"day", "last_day", "weekday", "bd", "usda_class3"}


@dataclass(frozen=True)
class Step:
    """One parsed rule step. `op` is an anchor, "month", "shift_bd", "shift_days",
    "preceding" or "following"; `calendar` overrides the rule's calendar ("" = default)."""

    op: str
    n: int = 0
    weekday: int = 0
    calendar: str = ""


_STEP_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"month\s*([+-]\s*\d+)"), "month"),
    (re.compile(r"day\s+(\d{1,2})"), "day"),
    (re.compile(r"last_day"), "last_day"),
    (re.compile(r"weekday\s+(-?\d)\s+([a-z]{3})"), "weekday"),
    (re.compile(r"bd\s+(-?\d{1,2})"), "bd"),
    (re.compile(r"last_bd"), "last_bd"),
    (re.compile(r"usda_class3"), "usda_class3"),
    (re.compile(r"([+-]\s*\d+)\s*bd"), "shift_bd"),
    (re.compile(r"([+-]\s*\d+)\s*days?"), "shift_days"),
    (re.compile(r"preceding"), "preceding"),
    (re.compile(r"following"), "following"),
)


def _parse_step(text: str) -> Step:
    body, _, calendar = text.partition("@")
    body = body.strip().lower()
    calendar = calendar.strip().upper()
    if calendar and calendar not in xc.CALENDARS:
        raise ValueError(f"unknown calendar {calendar!r} in step {text!r}")
    for pattern, op in _STEP_PATTERNS:
        match = pattern.fullmatch(body)
        if not match:
            continue
        groups = [g.replace(" ", "") for g in match.groups()]
        if op == "weekday":
            n, name = int(groups[0]), groups[1].upper()
            if name not in WEEKDAYS or n == 0 or not -5 <= n <= 5:
                raise ValueError(f"bad weekday step {text!r}")
            return Step("weekday", n, WEEKDAYS[name], calendar)
        if op == "last_bd":
            return Step("bd", -1, 0, calendar)
        if op == "day" and not 1 <= int(groups[0]) <= 31:
            raise ValueError(f"bad day step {text!r}")
        if op == "bd" and int(groups[0]) == 0:
            raise ValueError(f"bd needs a non-zero ordinal: {text!r}")
        return Step(op, int(groups[0]) if groups else 0, 0, calendar)
    raise ValueError(f"unknown rule step {text!r}")


@lru_cache(maxsize=1024)
def parse_rule(text: str) -> tuple[Step, ...]:
    """Parse a rule string into steps; raises ValueError on anything it does not know."""
    steps = tuple(_parse_step(part) for part in text.split("|") if part.strip())
    if not steps:
        raise ValueError("empty expiry rule")
    anchored = False
    for step in steps:
        if step.op in _ANCHORS:
            anchored = True
        elif step.op != "month" and not anchored:
            raise ValueError(f"rule {text!r}: {step.op} before any anchor (day, weekday, bd...)")
    if not anchored:
        raise ValueError(f"rule {text!r} has no anchor")
    return steps


# ---------------------------------------------------------------------------------------
# Evaluation


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based) `weekday` (Mon=0) of a month; n=-1 the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        found = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    else:
        last = xc.month_end(year, month)
        found = last - dt.timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))
    if found.month != month:
        raise ValueError(f"{year}-{month:02d} has no weekday #{n} of kind {weekday}")
    return found


def usda_class3_announcement(calendar: str, year: int, month: int) -> dt.date:
    """Our model of the day USDA announces the Class III milk price of a month.

    USDA publishes on or before the 5th of the following month, in practice on a Wednesday:
    the Wednesday on or before the 5th, one business day later when a holiday falls earlier
    in that week (Mon-Wed). This simplification reproduces every DC expiry IB listed in a
    2024 recording (Mar-2024..Feb-2026), e.g. Aug-2024 -> Thu 2024-09-05 (Labor Day week),
    Dec-2024 -> Thu 2025-01-02 (New Year's Day on the Wednesday). USDA's actual calendar
    can deviate (e.g. federal closures); such months need IB's listed date.
    """
    following = ContractMonth(year, month).shift(1)
    fifth = dt.date(following.year, following.month, 5)
    wednesday = fifth - dt.timedelta(days=(fifth.weekday() - 2) % 7)
    week = (wednesday - 2 * _DAY, wednesday - _DAY, wednesday)
    if any(xc.is_holiday(calendar, d) for d in week):
        return xc.add_business_days(calendar, wednesday, 1)
    return wednesday


def evaluate_rule(steps: tuple[Step, ...], calendar: str, month: ContractMonth) -> dt.date:
    """Run a parsed rule for one contract month."""
    ref = month
    day: dt.date | None = None
    for step in steps:
        cal = step.calendar or calendar
        op = step.op
        if op == "month":
            ref = ref.shift(step.n)
        elif op == "day":
            day = dt.date(ref.year, ref.month, step.n)
        elif op == "last_day":
            day = xc.month_end(ref.year, ref.month)
        elif op == "weekday":
            day = nth_weekday(ref.year, ref.month, step.weekday, step.n)
        elif op == "bd":
            day = xc.nth_business_day(cal, ref.year, ref.month, step.n)
        elif op == "usda_class3":
            day = usda_class3_announcement(cal, ref.year, ref.month)
        elif day is None:  # parse_rule guarantees an anchor came first
            raise ValueError(f"{op} before any anchor")
        elif op == "shift_bd":
            day = xc.add_business_days(cal, day, step.n)
        elif op == "shift_days":
            day = day + dt.timedelta(days=step.n)
        elif op == "preceding":
            day = xc.roll_back(cal, day)
        elif op == "following":
            day = xc.roll_forward(cal, day)
        else:
            raise ValueError(f"unknown step {op!r}")
    assert day is not None
    return day


# ---------------------------------------------------------------------------------------
# Sessions (for the lookback)


def _hhmm(text: str) -> dt.time:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if not match:
        raise ValueError(f"expected HH:MM, got {text!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class SessionWindow:
    """One traded segment of a trade date in exchange-local time.

    start > end means the segment opens the evening before (CME Globex "17:00-16:00").
    """

    start: dt.time
    end: dt.time

    @classmethod
    def parse_list(cls, text: str) -> tuple[SessionWindow, ...]:
        """From "17:00-16:00" or "19:00-07:45, 08:30-13:20"."""
        out = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            start, sep, end = part.partition("-")
            if not sep:
                raise ValueError(f"expected HH:MM-HH:MM, got {part!r}")
            out.append(cls(_hhmm(start), _hhmm(end)))
        return tuple(out)

    def bounds(self, trade_date: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        opens_day = trade_date - _DAY if self.start >= self.end else trade_date
        return (
            dt.datetime.combine(opens_day, self.start, tzinfo=zone),
            dt.datetime.combine(trade_date, self.end, tzinfo=zone),
        )


# ---------------------------------------------------------------------------------------
# The rule object


@dataclass(frozen=True)
class ExpiryRule:
    """Last trade date and instant of every contract month of one instrument.

    calendar: key of `exchange_calendars.CALENDARS` for business days.
    zone: IANA zone of the exchange (sessions are in this zone).
    last_trade_time / last_trade_zone: time of the last trade ("" zone = `zone`).
    sessions: the exchange's traded segments per trade date, for the lookback; empty
        disables it.
    """

    rule: str
    calendar: str
    zone: str
    last_trade_time: dt.time = dt.time(0, 0)
    last_trade_zone: str = ""
    sessions: tuple[SessionWindow, ...] = ()
    steps: tuple[Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", parse_rule(self.rule))
        if self.calendar not in xc.CALENDARS:
            raise ValueError(f"unknown calendar {self.calendar!r}")
        ZoneInfo(self.zone)  # raises on unknown zones
        if self.last_trade_zone:
            ZoneInfo(self.last_trade_zone)

    @classmethod
    def from_config(
        cls,
        rule: str,
        calendar: str,
        zone: str,
        last_trade_time: str = "00:00",
        last_trade_zone: str = "",
        sessions: str = "",
    ) -> ExpiryRule:
        return cls(
            rule,
            calendar,
            zone,
            _hhmm(last_trade_time),
            last_trade_zone,
            SessionWindow.parse_list(sessions) if sessions else (),
        )

    def last_trade_date(self, month: ContractMonth | str) -> dt.date:
        """The last trade date of a contract month."""
        return _last_trade_date(self, ContractMonth.parse(month))

    def last_trade_instant(self, month: ContractMonth | str) -> dt.datetime:
        """The last trade instant in UTC (looked back into the last session if needed)."""
        return _last_trade_instant(self, ContractMonth.parse(month))

    def instant_on(self, day: dt.date) -> dt.datetime:
        """`last_trade_time` on `day` in the last-trade zone, as UTC (no lookback)."""
        zone = ZoneInfo(self.last_trade_zone or self.zone)
        return dt.datetime.combine(day, self.last_trade_time, tzinfo=zone).astimezone(UTC)

    def lookback(self, instant: dt.datetime) -> dt.datetime:
        """`instant` if the market trades then, else the latest session close before it."""
        if not self.sessions:
            return instant.astimezone(UTC)
        zone = ZoneInfo(self.zone)
        local_day = instant.astimezone(zone).date()
        latest_close: dt.datetime | None = None
        # the trade date containing `instant` is its local date or the next one (evening opens)
        day = local_day + _DAY
        for _ in range(15):
            if xc.is_business_day(self.calendar, day):
                for window in self.sessions:
                    start, end = window.bounds(day, zone)
                    if start <= instant <= end:
                        return instant.astimezone(UTC)
                    if end <= instant and (latest_close is None or end > latest_close):
                        latest_close = end
                if latest_close is not None:
                    return latest_close.astimezone(UTC)
            day -= _DAY
        raise ValueError(f"no session within two weeks before {instant}")


@lru_cache(maxsize=200_000)
def _last_trade_date(rule: ExpiryRule, month: ContractMonth) -> dt.date:
    return evaluate_rule(rule.steps, rule.calendar, month)


@lru_cache(maxsize=200_000)
def _last_trade_instant(rule: ExpiryRule, month: ContractMonth) -> dt.datetime:
    return rule.lookback(rule.instant_on(_last_trade_date(rule, month)))
