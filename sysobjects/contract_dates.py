"""Contract dates ("201203" / "20120315") and expiry dates, with pysystemtrade's semantics.

A contract date is either a month ("201203", stored as "20120300") or an exact day
("20120315", used for weeklies and where IB lists several contracts in one month). The expiry
date is separate metadata, unknown (None) until set from IB; it takes no part in equality,
ordering or hashing, so setting it never changes a contract's identity.

A calendar spread's contract date has one date per leg, as pysystemtrade writes it:

    contractDate("20250600_20250900")            # or contractDate(["202506", "202509"])
    spread.is_spread_contract, spread.list_of_date_str     # True, ["20250600", "20250900"]
    spread.list_of_single_contract_dates                   # [contractDate("20250600"), ...]

Its `date_str` is the legs' dates joined by "_"; the year, month, day and expiry are the first
leg's.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from sysobjects.exceptions import InvalidContractDate, InvalidExpiryDate

__all__ = [
    "MONTH_LETTERS",
    "contractDate",
    "contract_month_from_number",
    "expiryDate",
    "month_from_contract_letter",
]

MONTH_LETTERS = "FGHJKMNQUVXZ"  # F = January ... Z = December
EXPIRY_DATE_FORMAT = "%Y%m%d"
MIN_YEAR = 1900
MAX_YEAR = 2199

_DIGITS = re.compile(r"\d+")
SPREAD_SEPARATOR = "_"
# IB sends lastTradeDateOrContractMonth as "20250915", "20250915 10:00:00 GB" or
# "20250915 14:30 US/Eastern"; only the date part is the expiry (pst-group/pysystemtrade#1244).
_IB_EXPIRY = re.compile(r"(\d{8})(?:[ T-]\S.*)?")


def contract_month_from_number(month: int) -> str:
    """1 -> "F", 12 -> "Z"."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month!r}")
    return MONTH_LETTERS[month - 1]


def month_from_contract_letter(letter: str) -> int:
    """ "F" -> 1, "Z" -> 12."""
    index = MONTH_LETTERS.find(letter.upper()) if len(letter) == 1 else -1
    if index < 0:
        raise ValueError(f"not a futures month letter (one of {MONTH_LETTERS}): {letter!r}")
    return index + 1


class expiryDate(dt.date):  # noqa: N801 - pysystemtrade's public name
    """The last trading date of a contract (a calendar date, no time of day)."""

    @classmethod
    def from_str(cls, text: str) -> expiryDate:
        """Parse "YYYYMMDD", also with IB's trailing time and zone ("20250915 10:00:00 GB")."""
        if not isinstance(text, str):
            raise InvalidExpiryDate(text, "expected a 'YYYYMMDD' string")
        match = _IB_EXPIRY.fullmatch(text.strip())
        if match is None:
            raise InvalidExpiryDate(text, "expected 'YYYYMMDD', optionally followed by a time")
        digits = match.group(1)
        try:
            return cls(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError as exc:
            raise InvalidExpiryDate(text, str(exc)) from None

    @classmethod
    def from_date(cls, value: dt.date) -> expiryDate:
        return cls(value.year, value.month, value.day)

    def as_str(self) -> str:
        return self.strftime(EXPIRY_DATE_FORMAT)

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.year, self.month, self.day)


def _to_expiry(value: object) -> expiryDate | None:
    if value is None or value == "":
        return None
    if isinstance(value, expiryDate):
        return value
    if isinstance(value, dt.datetime):
        # a datetime's calendar date is only meaningful in its own zone; refuse to guess
        raise InvalidExpiryDate(value, "pass a date or a 'YYYYMMDD' string, not a datetime")
    if isinstance(value, dt.date):
        return expiryDate.from_date(value)
    if isinstance(value, str):
        return expiryDate.from_str(value)
    if isinstance(value, tuple | list) and len(value) == 3:
        try:
            return expiryDate(*(int(v) for v in value))
        except (TypeError, ValueError) as exc:
            raise InvalidExpiryDate(value, str(exc)) from None
    raise InvalidExpiryDate(value, "expected an expiryDate, a date, a 'YYYYMMDD' string or None")


def _parse_date_str(value: object) -> tuple[int, int, int]:
    """(year, month, day) of "YYYYMM", "YYYYMM00" or "YYYYMMDD"; day 0 = month only."""
    if not isinstance(value, str):
        raise InvalidContractDate(value, "expected a string 'YYYYMM' or 'YYYYMMDD'")
    text = value.strip()
    if not text:
        raise InvalidContractDate(value, "empty; expected 'YYYYMM' or 'YYYYMMDD'")
    if "_" in text:
        raise InvalidContractDate(value, "spread (multi-leg) contract dates are not supported")
    if not _DIGITS.fullmatch(text) or len(text) not in (6, 8):
        raise InvalidContractDate(value, "expected 6 digits 'YYYYMM' or 8 digits 'YYYYMMDD'")
    year, month = int(text[:4]), int(text[4:6])
    day = int(text[6:]) if len(text) == 8 else 0
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidContractDate(value, f"year {year} outside {MIN_YEAR}..{MAX_YEAR}")
    if not 1 <= month <= 12:
        raise InvalidContractDate(value, f"month {month:02d} is not 01..12")
    if day:
        try:
            dt.date(year, month, day)
        except ValueError:
            raise InvalidContractDate(value, f"day {day:02d} does not exist in {year}-{month:02d}") from None
    return year, month, day


@functools.total_ordering
class contractDate:  # noqa: N801 - pysystemtrade's public name
    """A contract month or day: `contractDate("201203")` or `contractDate("20120315")`.

    `date_str` is always 8 characters, "20120300" for a month (pysystemtrade's form).
    """

    __slots__ = ("_year", "_month", "_day", "_date_str", "_expiry_date", "_legs")

    def __init__(self, date_str: str | list | contractDate, expiry_date: object = None) -> None:
        self._legs: tuple[contractDate, ...] = ()
        if isinstance(date_str, contractDate):  # a copy: already checked
            self._year, self._month, self._day = date_str._year, date_str._month, date_str._day
            self._date_str = date_str._date_str
            self._expiry_date = date_str._expiry_date
            self._legs = tuple(contractDate(leg) for leg in date_str._legs)
            if expiry_date is not None:
                self.update_expiry_date(expiry_date)
            return
        if isinstance(date_str, list | tuple) or (isinstance(date_str, str) and SPREAD_SEPARATOR in date_str):
            self._init_spread(date_str, expiry_date)
            return
        self._year, self._month, self._day = _parse_date_str(date_str)
        # The key of every lookup (caches, stores, comparisons): formatted once.
        self._date_str = f"{self._year:04d}{self._month:02d}{self._day:02d}"
        self._expiry_date = _to_expiry(expiry_date)

    def _init_spread(self, dates: str | list | tuple, expiry_date: object) -> None:
        parts = dates.strip().split(SPREAD_SEPARATOR) if isinstance(dates, str) else list(dates)
        if len(parts) == 1 and not isinstance(dates, str):  # pysystemtrade's one-date list
            single = contractDate(parts[0], expiry_date)
            self.__init__(single)  # type: ignore[misc]
            return
        if len(parts) < 2 or any(part in ("", None) for part in parts):
            raise InvalidContractDate(dates, "a spread needs two or more leg dates joined by '_'")
        legs = tuple(contractDate(part) for part in parts)
        if any(leg.is_spread_contract for leg in legs):
            raise InvalidContractDate(dates, "a spread's legs must be single contract dates")
        if len({leg.date_str for leg in legs}) != len(legs):
            raise InvalidContractDate(dates, "a spread cannot hold the same contract date twice")
        first = legs[0]
        self._legs = legs
        self._year, self._month, self._day = first._year, first._month, first._day
        self._date_str = SPREAD_SEPARATOR.join(leg.date_str for leg in legs)
        self._expiry_date = None
        if expiry_date is not None:
            self.update_expiry_date(expiry_date)

    # -- spreads (pysystemtrade's names) ---------------------------------------------------------

    @property
    def is_spread_contract(self) -> bool:
        return bool(self._legs)

    @property
    def list_of_single_contract_dates(self) -> list[contractDate]:
        """One contractDate per leg (the legs themselves: an expiry set on one is the spread's)."""
        return list(self._legs) if self._legs else [self]

    @property
    def list_of_date_str(self) -> list[str]:
        return [leg.date_str for leg in self.list_of_single_contract_dates]

    @property
    def number_of_legs(self) -> int:
        return len(self._legs) or 1

    def first_contract_as_contract_date(self) -> contractDate:
        return contractDate(self.list_of_single_contract_dates[0])

    # -- identity --------------------------------------------------------------------------------

    @property
    def date_str(self) -> str:
        return self._date_str

    @property
    def key(self) -> str:
        return self.date_str

    @property
    def short_date_str(self) -> str:
        """ "201203" for a month, "20120315" for a day: IB's lastTradeDateOrContractMonth form."""
        if self._legs:
            return SPREAD_SEPARATOR.join(leg.short_date_str for leg in self._legs)
        return self._date_str[:6] if self._day == 0 else self._date_str

    @property
    def yyyymm(self) -> str:
        return self.date_str[:6]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, contractDate):
            return NotImplemented
        return self.date_str == other.date_str

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, contractDate):
            return NotImplemented
        return self.date_str < other.date_str

    def __hash__(self) -> int:
        return hash(self.date_str)

    def __repr__(self) -> str:
        expiry = "" if self._expiry_date is None else f", expiry_date={self._expiry_date.as_str()!r}"
        return f"contractDate({self.date_str!r}{expiry})"

    def __str__(self) -> str:
        return self.date_str

    # -- parts -----------------------------------------------------------------------------------

    def year(self) -> int:
        return self._year

    def month(self) -> int:
        return self._month

    def day(self) -> int:
        """The day, or 0 when only the month is defined (pysystemtrade's convention)."""
        return self._day

    @property
    def only_has_month(self) -> bool:
        if self._legs:
            return all(leg.only_has_month for leg in self._legs)
        return self._day == 0

    def is_day_defined(self) -> bool:
        return self._day != 0

    def letter_month(self) -> str:
        return contract_month_from_number(self._month)

    def as_date(self) -> dt.date:
        """The day, or the 1st of the month when only the month is defined."""
        return dt.date(self._year, self._month, self._day or 1)

    # -- expiry ----------------------------------------------------------------------------------

    @property
    def expiry_date(self) -> expiryDate | None:
        """The real last trading date once known (set from IB), else None (a spread: its first leg's)."""
        if self._legs:
            return self._legs[0].expiry_date
        return self._expiry_date

    def update_expiry_date(self, expiry_date: object) -> None:
        """Set the expiry; a spread takes a list with one expiry per leg, or one for its first leg."""
        if not self._legs:
            self._expiry_date = _to_expiry(expiry_date)
            return
        if isinstance(expiry_date, list) and len(expiry_date) == len(self._legs):
            for leg, expiry in zip(self._legs, expiry_date, strict=True):
                leg.update_expiry_date(expiry)
            return
        self._legs[0].update_expiry_date(expiry_date)

    # -- storage ---------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, object]:
        """pysystemtrade's storage form: {"contract_date": "201203", "expiry_date": (y, m, d)}."""
        if self._legs:
            return {"contract_list": [leg.as_dict() for leg in self._legs]}
        expiry = None if self._expiry_date is None else self._expiry_date.as_tuple()
        return {"contract_date": self.short_date_str, "expiry_date": expiry}

    @classmethod
    def create_from_dict(cls, results_dict: dict) -> contractDate:
        if "contract_list" in results_dict:  # a spread, as `as_dict` writes it
            legs = [cls.create_from_dict(leg) for leg in results_dict["contract_list"]]
            return cls([leg.date_str for leg in legs], expiry_date=[leg.expiry_date for leg in legs])
        return cls(results_dict["contract_date"], expiry_date=results_dict.get("expiry_date"))
