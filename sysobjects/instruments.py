"""Futures instruments, and the IB metadata that maps an instrument onto IB contracts.

Public names follow pysystemtrade (`futuresInstrument`, `ibInstrumentConfigData`,
`futuresInstrumentWithIBConfigData`) so existing scripts keep working; fields are PEP 8, and the
pysystemtrade spellings (`symbol`, `ibMultiplier`, `priceMagnifier`, ...) are read-only aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EMPTY_INSTRUMENT",
    "NOT_REQUIRED_FOR_IB",
    "futuresInstrument",
    "futuresInstrumentWithIBConfigData",
    "ibInstrumentConfigData",
]

EMPTY_INSTRUMENT = ""
# What pysystemtrade puts in a field that must not be sent to IB (blank currency / multiplier).
NOT_REQUIRED_FOR_IB = ""


@dataclass(frozen=True)
class futuresInstrument:  # noqa: N801 - pysystemtrade's public name
    """A futures instrument, identified by its code ("CORN", "SP500_micro")."""

    instrument_code: str

    @property
    def key(self) -> str:
        return self.instrument_code

    def empty(self) -> bool:
        return self.instrument_code == EMPTY_INSTRUMENT

    def as_dict(self) -> dict[str, str]:
        return {"instrument_code": self.instrument_code}

    @classmethod
    def create_from_dict(cls, input_dict: dict) -> futuresInstrument:
        return cls(input_dict["instrument_code"])

    def __str__(self) -> str:
        return self.instrument_code


@dataclass(frozen=True)
class ibInstrumentConfigData:  # noqa: N801 - pysystemtrade's public name
    """How one instrument maps onto IB: one row of `ib_config_futures.csv`.

    `ib_currency` "" and `ib_multiplier` None mean "do not send to IB"; a None multiplier also
    matches any multiplier in reverse lookups (products whose multiplier varies by month).
    The broker layer divides IB's prices by `price_magnifier` (CBOT grains: cents -> dollars) and
    multiplies order prices by it; `effective_multiplier` is the value of one IB price unit.
    """

    ib_symbol: str
    ib_exchange: str
    ib_currency: str = ""
    ib_multiplier: float | None = None
    price_magnifier: float = 1.0
    ignore_weekly: bool = False
    trading_class: str = ""

    @property
    def effective_multiplier(self) -> float | None:
        if self.ib_multiplier is None:
            return None
        return self.ib_multiplier / self.price_magnifier

    @property
    def ib_multiplier_str(self) -> str:
        """The multiplier as IB's `Contract.multiplier` wants it: "50", "0.5", or "" (not sent)."""
        if self.ib_multiplier is None:
            return ""
        if float(self.ib_multiplier).is_integer():
            return str(int(self.ib_multiplier))
        return repr(float(self.ib_multiplier))

    # pysystemtrade spellings, read-only.
    @property
    def symbol(self) -> str:
        return self.ib_symbol

    @property
    def exchange(self) -> str:
        return self.ib_exchange

    @property
    def currency(self) -> str:
        return self.ib_currency

    @property
    def ibMultiplier(self) -> float | str:  # noqa: N802
        return NOT_REQUIRED_FOR_IB if self.ib_multiplier is None else self.ib_multiplier

    @property
    def priceMagnifier(self) -> float:  # noqa: N802
        return self.price_magnifier

    @property
    def ignoreWeekly(self) -> bool:  # noqa: N802
        return self.ignore_weekly

    def as_dict(self) -> dict[str, object]:
        return {
            "ib_symbol": self.ib_symbol,
            "ib_exchange": self.ib_exchange,
            "ib_currency": self.ib_currency,
            "ib_multiplier": self.ib_multiplier,
            "price_magnifier": self.price_magnifier,
            "ignore_weekly": self.ignore_weekly,
            "trading_class": self.trading_class,
            "effective_multiplier": self.effective_multiplier,
        }

    def describe(self) -> str:
        """One line: "ES on CME, USD, multiplier 50, trading class ES" (blank fields left out)."""
        parts = [f"{self.ib_symbol} on {self.ib_exchange}"]
        if self.ib_currency:
            parts.append(self.ib_currency)
        if self.ib_multiplier is not None:
            parts.append(f"multiplier {self.ib_multiplier:g}")
        if self.price_magnifier != 1:
            parts.append(f"price magnifier {self.price_magnifier:g}")
        if self.trading_class:
            parts.append(f"trading class {self.trading_class}")
        if self.ignore_weekly:
            parts.append("ignore weekly")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<ibInstrumentConfigData {self.describe()}>"


@dataclass(frozen=True)
class futuresInstrumentWithIBConfigData:  # noqa: N801 - pysystemtrade's public name
    """An instrument together with its IB mapping (what the broker layer builds contracts from)."""

    instrument: futuresInstrument
    ib_data: ibInstrumentConfigData

    @property
    def instrument_code(self) -> str:
        return self.instrument.instrument_code

    @property
    def key(self) -> str:
        return self.instrument_code

    @property
    def broker_symbol(self) -> str:
        return self.ib_data.ib_symbol

    @property
    def meta_data(self) -> ibInstrumentConfigData:
        # pysystemtrade lets callers treat this like an instrument with metadata
        return self.ib_data

    def empty(self) -> bool:
        return self.instrument.empty()

    def __str__(self) -> str:
        return self.instrument_code

    def __repr__(self) -> str:
        return f"<futuresInstrumentWithIBConfigData {self.instrument_code}: {self.ib_data.describe()}>"
