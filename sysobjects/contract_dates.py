"""Contract dates ("201203" / "20120315") and expiry dates, with pysystemtrade's semantics.

A contract date is either a month ("201203", stored as "20120300") or an exact day
("20120315", used for weeklies and where IB lists several contracts in one month). The expiry
date is separate metadata, unknown (None) until set from IB; it takes no part in equality,
ordering or hashing, so setting it never changes a contract's identity.
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

    __slots__ = ("_year", "_month", "_day", "_date_str", "_expiry_date")

    def __init__(self, date_str: str | contractDate, expiry_date: object = None) -> None:
        if isinstance(date_str, contractDate):  # a copy: already checked
            self._year, self._month, self._day = date_str._year, date_str._month, date_str._day
            self._date_str = date_str._date_str
            self._expiry_date = date_str._expiry_date if expiry_date is None else _to_expiry(expiry_date)
            return
        self._year, self._month, self._day = _parse_date_str(date_str)
        # The key of every lookup (caches, stores, comparisons): formatted once.
        self._date_str = f"{self._year:04d}{self._month:02d}{self._day:02d}"
        self._expiry_date = _to_expiry(expiry_date)

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
        """The real last trading date once known (set from IB), else None."""
        return self._expiry_date

    def update_expiry_date(self, expiry_date: object) -> None:
        self._expiry_date = _to_expiry(expiry_date)

    # -- storage ---------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, object]:
        """pysystemtrade's storage form: {"contract_date": "201203", "expiry_date": (y, m, d)}."""
        expiry = None if self._expiry_date is None else self._expiry_date.as_tuple()
        return {"contract_date": self.short_date_str, "expiry_date": expiry}

    @classmethod
    def create_from_dict(cls, results_dict: dict) -> contractDate:
        return cls(results_dict["contract_date"], expiry_date=results_dict.get("expiry_date"))
