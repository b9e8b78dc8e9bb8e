"""Contract months, roll cycles (with year/month masks and year-range cycles), roll parameters.

Cycles are written as futures month letters, as in pysystemtrade's rollconfig.csv
("HMUZ" = Mar/Jun/Sep/Dec). A `RollCycle` may change by year range (pyfutures' "year range
hold cycle rules", e.g. a product that listed one set of months until 2019 and another
after) and may carry masks that switch single months on or off by year ("Z only from 2024",
"no N in odd years"). Year specs use a small language shared by ranges and masks:

    "2024-"      2024 and later         "-2019"   up to 2019
    "2020-2023"  inclusive range        "2021"    one year
    "odd"/"even" by parity              "2021,2023-2025,odd"   any of several (union)

`RollParameters` carries pysystemtrade's roll configuration: hold cycle, priced cycle,
RollOffsetDays, CarryOffset and ExpiryOffset.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

MONTH_LETTERS = "FGHJKMNQUVXZ"
ALL_MONTHS = MONTH_LETTERS
_SEARCH_YEARS = 40  # how far next/previous look before deciding a cycle is empty


# ---------------------------------------------------------------------------------------
# Contract months


@dataclass(frozen=True, order=True)
class ContractMonth:
    """A futures contract month (year, month); orders chronologically."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        if not 1000 <= self.year <= 9999:
            raise ValueError(f"year must have four digits, got {self.year}")

    @classmethod
    def parse(cls, value: str | ContractMonth | dt.date) -> ContractMonth:
        """From "YYYYMM", "YYYYMM00", "YYYYMMDD" (the day is dropped), "2024Z", or a date."""
        if isinstance(value, ContractMonth):
            return value
        if isinstance(value, dt.date):
            return cls(value.year, value.month)
        text = str(value).strip()
        if re.fullmatch(r"\d{6}(\d{2})?", text):
            return cls(int(text[:4]), int(text[4:6]))
        if re.fullmatch(rf"\d{{4}}[{MONTH_LETTERS}]", text):
            return cls(int(text[:4]), MONTH_LETTERS.index(text[4]) + 1)
        raise ValueError(f"not a contract month: {value!r}")

    @property
    def code(self) -> str:
        """ "YYYYMM"."""
        return f"{self.year:04d}{self.month:02d}"

    @property
    def letter(self) -> str:
        return MONTH_LETTERS[self.month - 1]

    @property
    def index(self) -> int:
        """Months since year 0; consecutive months differ by 1."""
        return self.year * 12 + self.month - 1

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    def shift(self, months: int) -> ContractMonth:
        year, month0 = divmod(self.index + months, 12)
        return ContractMonth(year, month0 + 1)

    def __str__(self) -> str:
        return self.code


# ---------------------------------------------------------------------------------------
# Year specs


@dataclass(frozen=True)
class YearSpec:
    """A set of years written as "2024-", "-2019", "2020-2023", "2021", "odd", "even" or a
    comma-separated union of those; "" or "all" means every year."""

    text: str
    _parts: tuple[tuple[int, int, int], ...] = ()  # (first, last, parity: -1 any/0 even/1 odd)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_parts", _parse_years(self.text))

    def __contains__(self, year: object) -> bool:
        if not isinstance(year, int):
            return False
        for first, last, parity in self._parts:
            if first <= year <= last and (parity < 0 or year % 2 == parity):
                return True
        return False

    def __str__(self) -> str:
        return self.text


_YEAR_MIN, _YEAR_MAX = 1000, 9999


def _parse_years(text: str) -> tuple[tuple[int, int, int], ...]:
    text = str(text).strip().lower()
    if text in ("", "all", "*"):
        return ((_YEAR_MIN, _YEAR_MAX, -1),)
    parts = []
    for item in (p.strip() for p in text.split(",")):
        if item in ("odd", "even"):
            parts.append((_YEAR_MIN, _YEAR_MAX, 1 if item == "odd" else 0))
            continue
        match = re.fullmatch(r"(\d{4})?\s*(-)?\s*(\d{4})?", item)
        if not match or not (match.group(1) or match.group(3)):
            raise ValueError(f"bad year spec {item!r} in {text!r}")
        first, dash, last = match.groups()
        if not dash:
            parts.append((int(first), int(first), -1))
        else:
            lo = int(first) if first else _YEAR_MIN
            hi = int(last) if last else _YEAR_MAX
            if lo > hi:
                raise ValueError(f"empty year range {item!r}")
            parts.append((lo, hi, -1))
    return tuple(parts)


def _check_letters(letters: str) -> str:
    letters = letters.strip().upper()
    if letters in ("ALL", ""):
        return ALL_MONTHS if letters else ""
    if any(c not in MONTH_LETTERS for c in letters) or len(set(letters)) != len(letters):
        raise ValueError(f"expected distinct month letters from {MONTH_LETTERS}, got {letters!r}")
    # canonical calendar order, whatever order the config used
    return "".join(c for c in MONTH_LETTERS if c in letters)


# ---------------------------------------------------------------------------------------
# Cycles


@dataclass(frozen=True)
class CycleMask:
    """Switches some months of a cycle on only in `only_years` and/or off in `skip_years`."""

    months: str
    only_years: YearSpec | None = None
    skip_years: YearSpec | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "months", _check_letters(self.months))
        if self.only_years is None and self.skip_years is None:
            raise ValueError("a mask needs only_years or skip_years")

    def allows(self, year: int, letter: str) -> bool:
        if letter not in self.months:
            return True
        if self.only_years is not None and year not in self.only_years:
            return False
        return not (self.skip_years is not None and year in self.skip_years)

    @classmethod
    def from_config(cls, item: Mapping[str, object]) -> CycleMask:
        unknown = set(item) - {"months", "only_years", "skip_years"}
        if unknown:
            raise ValueError(f"unknown mask keys {sorted(unknown)}")
        only = item.get("only_years")
        skip = item.get("skip_years")
        return cls(
            str(item["months"]),
            YearSpec(str(only)) if only is not None else None,
            YearSpec(str(skip)) if skip is not None else None,
        )


@dataclass(frozen=True)
class RollCycle:
    """Contract months by year: year-range cycles, then masks.

    `ranges` pairs a year spec with the month letters used in those years; the first range
    containing a year applies and a year in no range has no months.
    """

    ranges: tuple[tuple[YearSpec, str], ...]
    masks: tuple[CycleMask, ...] = ()

    @classmethod
    def parse(
        cls,
        spec: str | Mapping[str, str] | RollCycle,
        masks: Iterable[CycleMask | Mapping[str, object]] = (),
    ) -> RollCycle:
        """From "HMUZ" / "all", or a mapping {"-2019": "HKUZ", "2020-": "FHKUX"}."""
        if isinstance(spec, RollCycle):
            return spec
        if isinstance(spec, str):
            ranges = ((YearSpec(""), _check_letters(spec)),)
        else:
            ranges = tuple((YearSpec(str(k)), _check_letters(str(v))) for k, v in spec.items())
        parsed = tuple(m if isinstance(m, CycleMask) else CycleMask.from_config(m) for m in masks)
        return cls(ranges, parsed)

    @property
    def letters(self) -> str:
        """The letters of a single-range cycle (or the union over all ranges)."""
        union = set("".join(letters for _, letters in self.ranges))
        return "".join(c for c in MONTH_LETTERS if c in union)

    def months_in_year(self, year: int) -> tuple[int, ...]:
        """Month numbers (1..12) of the cycle in `year`, in order."""
        return _months_in_year(self, year)

    def contains(self, month: ContractMonth | str) -> bool:
        cm = ContractMonth.parse(month)
        return cm.month in self.months_in_year(cm.year)

    def first_on_or_after(self, month: ContractMonth | str) -> ContractMonth:
        cm = ContractMonth.parse(month)
        for year in range(cm.year, cm.year + _SEARCH_YEARS):
            for m in self.months_in_year(year):
                if (year, m) >= (cm.year, cm.month):
                    return ContractMonth(year, m)
        raise ValueError(f"cycle {self} has no month on or after {cm}")

    def last_on_or_before(self, month: ContractMonth | str) -> ContractMonth:
        cm = ContractMonth.parse(month)
        for year in range(cm.year, cm.year - _SEARCH_YEARS, -1):
            for m in reversed(self.months_in_year(year)):
                if (year, m) <= (cm.year, cm.month):
                    return ContractMonth(year, m)
        raise ValueError(f"cycle {self} has no month on or before {cm}")

    def next(self, month: ContractMonth | str, n: int = 1) -> ContractMonth:
        """The n-th cycle month strictly after `month` (n<0: before)."""
        cm = ContractMonth.parse(month)
        if n < 0:
            return self.previous(cm, -n)
        for _ in range(n):
            cm = self.first_on_or_after(cm.shift(1))
        return cm

    def previous(self, month: ContractMonth | str, n: int = 1) -> ContractMonth:
        """The n-th cycle month strictly before `month`."""
        cm = ContractMonth.parse(month)
        if n < 0:
            return self.next(cm, -n)
        for _ in range(n):
            cm = self.last_on_or_before(cm.shift(-1))
        return cm

    def months_between(self, start: ContractMonth | str, end: ContractMonth | str) -> list[ContractMonth]:
        """Cycle months from `start` to `end`, both inclusive."""
        first, last = ContractMonth.parse(start), ContractMonth.parse(end)
        out = []
        for year in range(first.year, last.year + 1):
            out.extend(
                ContractMonth(year, m) for m in self.months_in_year(year) if first <= ContractMonth(year, m) <= last
            )
        return out

    def __str__(self) -> str:
        if len(self.ranges) == 1 and not self.masks:
            return self.ranges[0][1]
        ranges = ",".join(f"{years}={letters}" for years, letters in self.ranges)
        return ranges + (f" (+{len(self.masks)} masks)" if self.masks else "")


@lru_cache(maxsize=65_536)
def _months_in_year(cycle: RollCycle, year: int) -> tuple[int, ...]:
    letters = next((letters for years, letters in cycle.ranges if year in years), "")
    return tuple(MONTH_LETTERS.index(c) + 1 for c in letters if all(mask.allows(year, c) for mask in cycle.masks))


# ---------------------------------------------------------------------------------------
# Roll parameters (pysystemtrade rollconfig.csv)


@dataclass(frozen=True)
class HeldContracts:
    """What to hold on a date: the held contract, its carry contract and the next one."""

    hold: ContractMonth
    carry: ContractMonth
    next_hold: ContractMonth
    roll_date: dt.date  # last day `hold` is held (we roll into `next_hold` the day after)


ExpiryFn = Callable[[ContractMonth], dt.date]


@dataclass(frozen=True)
class RollParameters:
    """pysystemtrade's roll configuration of one instrument.

    roll_offset_days: RollOffsetDays, calendar days from expiry to the roll (<= 0).
    carry_offset: CarryOffset, +1 = carry is the next priced contract, -1 = the previous.
    expiry_offset: ExpiryOffset, approximate expiry = 1st of the contract month + this many
        days (used only when no real expiry is known).
    """

    hold_cycle: RollCycle
    priced_cycle: RollCycle
    roll_offset_days: int = -5
    carry_offset: int = 1
    expiry_offset: int = 15

    def __post_init__(self) -> None:
        if self.roll_offset_days > 0:
            raise ValueError("roll_offset_days must be <= 0 (days before expiry)")
        if self.carry_offset not in (-1, 1):
            raise ValueError("carry_offset must be +1 or -1")

    def approx_expiry(self, month: ContractMonth | str) -> dt.date:
        """pysystemtrade's approximate expiry: first of the month + ExpiryOffset days."""
        return ContractMonth.parse(month).first_day + dt.timedelta(days=self.expiry_offset)

    def roll_date(self, month: ContractMonth | str, expiry_fn: ExpiryFn | None = None) -> dt.date:
        """Last date `month` is held: its expiry plus RollOffsetDays."""
        cm = ContractMonth.parse(month)
        expiry = expiry_fn(cm) if expiry_fn is not None else self.approx_expiry(cm)
        return expiry + dt.timedelta(days=self.roll_offset_days)

    def carry_contract(self, month: ContractMonth | str) -> ContractMonth:
        """The priced-cycle contract next to `month` in the CarryOffset direction."""
        return self.priced_cycle.next(month, self.carry_offset)

    def contracts_held_on(self, day: dt.date, expiry_fn: ExpiryFn | None = None) -> HeldContracts:
        """The hold-cycle contract to hold on `day`: the first whose roll date is >= day."""
        # Expiries can lie months away from the contract month (SOFR: 3 months after, CL:
        # the month before), so start well before `day` and walk forward.
        cm = self.hold_cycle.first_on_or_after(ContractMonth(day.year, day.month).shift(-12))
        while self.roll_date(cm, expiry_fn) < day:
            cm = self.hold_cycle.next(cm)
        return HeldContracts(
            hold=cm,
            carry=self.carry_contract(cm),
            next_hold=self.hold_cycle.next(cm),
            roll_date=self.roll_date(cm, expiry_fn),
        )
