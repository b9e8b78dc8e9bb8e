"""Typed errors of the futures/FX objects and of the IB instrument configuration.

Every error names the offending value (and, for configuration files, the file, line and column),
so a message is enough to find and fix the problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from syscore.exceptions import missingInstrument

__all__ = [
    "AmbiguousBrokerInstrument",
    "ConfigProblem",
    "InstrumentConfigError",
    "InvalidContractDate",
    "InvalidExpiryDate",
    "InvalidPriceData",
    "PriceColumnsError",
    "PriceFrequencyMismatch",
    "PriceIndexError",
    "PricesNotStrictlyIncreasing",
    "UnknownBrokerInstrument",
    "UnknownFxCode",
    "UnknownInstrument",
]


# -- contract dates ------------------------------------------------------------------------------


class InvalidContractDate(ValueError):
    """A contract date that is not a real YYYYMM / YYYYMMDD date."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid contract date {value!r}: {reason}")


class InvalidExpiryDate(ValueError):
    """An expiry that is not a real YYYYMMDD date (optionally followed by IB's time and zone)."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid expiry date {value!r}: {reason}")


# -- prices --------------------------------------------------------------------------------------


class InvalidPriceData(ValueError):
    """Price data that does not have the required shape (base class)."""


class PriceColumnsError(InvalidPriceData):
    """Columns other than exactly OPEN, HIGH, LOW, FINAL, VOLUME, or a non-numeric column."""


class PriceIndexError(InvalidPriceData):
    """An index that is not a timezone-aware UTC DatetimeIndex (naive, another zone, not dates)."""


class PricesNotStrictlyIncreasing(InvalidPriceData):
    """Timestamps that repeat or go backwards."""

    def __init__(self, what: str, position: int, previous: object, current: object) -> None:
        self.position = position
        self.previous = previous
        self.current = current
        super().__init__(
            f"{what}: timestamps must be strictly increasing, but row {position} ({current}) "
            f"does not come after row {position - 1} ({previous})"
        )


class PriceFrequencyMismatch(InvalidPriceData):
    """Merging daily with intraday prices (or two different bar sizes)."""


# -- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in one configuration file: where it is and what is wrong."""

    file: str
    line: int | None  # 1-based line in the file (a CSV header is line 1); None = whole file
    field: str | None  # CSV column or YAML key path; None = whole row / file
    problem: str
    field_kind: str = "column"  # "column" for CSV files, "key" for YAML files

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = "" if self.field is None else f" {self.field_kind} '{self.field}':"
        return f"{where}:{what} {self.problem}"


class InstrumentConfigError(ValueError):
    """All the problems found in one configuration file, reported together."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        files = sorted({p.file for p in self.problems})
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in {', '.join(files)}"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))


class UnknownInstrument(LookupError, missingInstrument):
    """An instrument code that is not in the futures configuration."""

    def __init__(self, instrument_code: str, sources: Sequence[str], suggestions: Sequence[str] = ()) -> None:
        self.instrument_code = instrument_code
        self.sources = tuple(sources)
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"instrument {instrument_code!r} is not configured in {' or '.join(self.sources)}{hint}")


class UnknownFxCode(LookupError):
    """An FX code that is not in the spot FX configuration."""

    def __init__(self, fx_code: str, sources: Sequence[str]) -> None:
        self.fx_code = fx_code
        self.sources = tuple(sources)
        super().__init__(f"FX code {fx_code!r} is not configured in {' or '.join(self.sources)}")


class UnknownBrokerInstrument(LookupError):
    """No configured instrument matches an IB symbol (plus exchange / multiplier)."""

    def __init__(self, description: str, sources: Sequence[str]) -> None:
        self.description = description
        self.sources = tuple(sources)
        super().__init__(f"no instrument matches IB {description} in {' or '.join(self.sources)}")


class AmbiguousBrokerInstrument(LookupError):
    """More than one configured instrument matches an IB symbol (plus exchange / multiplier)."""

    def __init__(self, description: str, candidates: Sequence[str]) -> None:
        self.description = description
        self.candidates = tuple(candidates)
        super().__init__(
            f"IB {description} matches several instruments: {', '.join(self.candidates)}; "
            "pass the exchange and multiplier, or set IBTradingClass, to tell them apart"
        )
