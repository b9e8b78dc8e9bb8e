"""Contract names people and IB use, turned into pysystemtrade `futuresContract`s and back.

    contract_from_name("SP500/202506")      # futuresContract("SP500", "202506"); also "SP500 202506",
    contract_from_name("SP500_20250600")    # "SP500/20250600" and "SP500_micro_202506"
    contract_from_name("ESM5")              # IB local symbol (letter form)  -> SP500 202506
    contract_from_name("ZN   JUN 25")       # IB local symbol (padded month form) -> US10 202506
    instrument_code_for("NQ")               # "NASDAQ": an instrument code, IB symbol or trading class
    local_symbol_for(futuresContract("NASDAQ", "202412"))   # "NQZ4"

Local symbols are mapped to instrument codes through the IB instrument configuration
(`sysbrokers/IB/config/ib_config_futures.csv` plus private rows): the part before the month is
the row's IBTradingClass, or its IBSymbol when the row has no trading class ("ESM5" -> class ES ->
SP500; "6EZ5" -> class 6E -> EUR; "SR3Z4" -> class SR3 -> SOFR).

Single-digit years ("ESM5") are resolved relative to `now` (default: the machine's UTC clock):
the year ending in that digit within [now.year - 2, now.year + 7]. Contracts expired more than two
years ago are out of IB's reach anyway, and no future is listed further than about seven years
ahead, so the window always holds exactly one candidate: in 2026 "ESM5" is June 2025, "ESM9" June
2029 and "ESM3" June 2033. Two-digit years ("ZN   JUN 25", "ESZ24") take the century that puts the
year nearest to `now`. Anything that cannot be read raises `ContractNameError` (a `ValueError`
and pysystemtrade's `missingContract`) naming the input; a prefix matching several configured
instruments raises `AmbiguousContractName`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from syscore.exceptions import missingContract
from sysobjects.contracts import futuresContract

__all__ = [
    "AmbiguousContractName",
    "ContractNameError",
    "contract_from_name",
    "instrument_code_for",
    "local_symbol_for",
    "parse_local_symbol",
]

MONTH_LETTERS = "FGHJKMNQUVXZ"
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
YEARS_BACK = 2  # single-digit years: the window [now.year - YEARS_BACK, now.year + 9 - YEARS_BACK]

_KEY_FORM = re.compile(r"^(?P<code>.+?)[/ _](?P<date>\d{6}(?:\d{2})?)$")
_LETTER_FORM = re.compile(rf"^(?P<prefix>[A-Z0-9]+?)(?P<month>[{MONTH_LETTERS}])(?P<year>\d{{1,2}})$")
_MONTH_FORM = re.compile(rf"^(?P<prefix>[A-Z0-9]+)\s+(?P<month>{'|'.join(MONTH_NAMES)})\s+(?P<year>\d{{2}})$")


class ContractNameError(ValueError, missingContract):
    """A contract name that is neither a contract key nor an IB local symbol of a configured instrument."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"cannot read contract name {name!r}: {reason}")


class AmbiguousContractName(ContractNameError):
    """The name's prefix is the IB symbol or trading class of several configured instruments."""


def _config(instrument_config: Any) -> Any:
    if instrument_config is not None:
        return instrument_config
    from sysbrokers.IB.ib_instrument_config import load_futures_config

    return load_futures_config()


def _codes_for_prefix(prefix: str, config: Any) -> list[str]:
    """Instrument codes whose trading class (else IB symbol) is `prefix`; by symbol as a fallback."""
    by_class = [i.instrument_code for i in config if (i.ib_data.trading_class or i.ib_data.ib_symbol) == prefix]
    if by_class:
        return by_class
    return [i.instrument_code for i in config if i.ib_data.ib_symbol == prefix]


def instrument_code_for(name: str, instrument_config: Any = None) -> str:
    """The instrument code for an instrument code ("NASDAQ"), IB symbol ("NQ") or trading class ("6E")."""
    config = _config(instrument_config)
    text = str(name).strip()
    if text in config:
        return text
    codes = _codes_for_prefix(text.upper(), config)
    if len(codes) == 1:
        return codes[0]
    if len(codes) > 1:
        raise AmbiguousContractName(name, f"IB symbol / trading class of {', '.join(sorted(codes))}")
    raise ContractNameError(name, f"not an instrument code, IB symbol or trading class in {' or '.join(config.files)}")


def _year(digits: str, now: dt.datetime) -> int:
    value = int(digits)
    if len(digits) == 1:
        low = now.year - YEARS_BACK
        return low + (value - low) % 10
    century = now.year - now.year % 100
    candidates = (century - 100 + value, century + value, century + 100 + value)
    return min(candidates, key=lambda year: abs(year - now.year))


def parse_local_symbol(local_symbol: str, now: dt.datetime | None = None) -> tuple[str, int, int]:
    """`(prefix, year, month)` of an IB local symbol: "ESM5" -> ("ES", 2025, 6) in 2026;
    "ZN   JUN 25" -> ("ZN", 2025, 6). Raises `ContractNameError` for anything else."""
    now = now or dt.datetime.now(dt.UTC)
    text = str(local_symbol).strip().upper()
    match = _LETTER_FORM.match(text)
    if match is not None:
        month = MONTH_LETTERS.index(match["month"]) + 1
    else:
        match = _MONTH_FORM.match(text)
        if match is None:
            raise ContractNameError(
                local_symbol, "not an IB local symbol (e.g. ESM5, NQZ4, 'ZN   JUN 25') nor INSTRUMENT/YYYYMM"
            )
        month = MONTH_NAMES.index(match["month"]) + 1
    return match["prefix"], _year(match["year"], now), month


def contract_from_name(name: str, instrument_config: Any = None, now: dt.datetime | None = None) -> futuresContract:
    """The `futuresContract` named by `name` (module docstring for the forms accepted).

    `instrument_config` is a `FuturesConfig` (default: the shipped CSV plus private rows); `now`
    anchors single-digit years (default: the machine's UTC clock).
    """
    if isinstance(name, futuresContract):
        return name
    if not isinstance(name, str) or not name.strip():
        raise ContractNameError(str(name), "expected a non-empty string")
    config = _config(instrument_config)
    text = name.strip()
    keyed = _KEY_FORM.match(text)
    if keyed is not None:
        code = keyed["code"].strip()
        if code not in config:
            try:
                code = instrument_code_for(code, config)
            except ContractNameError:
                raise ContractNameError(name, f"instrument {keyed['code']!r} is not configured") from None
        try:
            return futuresContract(code, keyed["date"])
        except ValueError as exc:
            raise ContractNameError(name, str(exc)) from None
    prefix, year, month = parse_local_symbol(text, now)
    codes = _codes_for_prefix(prefix, config)
    if not codes:
        raise ContractNameError(
            name, f"no configured instrument has IB trading class or symbol {prefix!r} ({' or '.join(config.files)})"
        )
    if len(codes) > 1:
        raise AmbiguousContractName(name, f"{prefix!r} is the IB trading class of {', '.join(sorted(codes))}")
    return futuresContract(codes[0], f"{year:04d}{month:02d}")


def local_symbol_for(
    contract: futuresContract,
    instrument_config: Any = None,
    style: str = "letter",
    ib_contract: Any = None,
) -> str:
    """IB's local symbol of `contract`.

    With `ib_contract` (a resolved ib_async `Contract`, e.g. `ResolvedContract.contract`) IB's own
    `localSymbol` is returned. Without it the symbol is built from the configuration: `style`
    "letter" gives the exchange code IB uses for most futures ("ESM5", "6EZ5", "SR3Z4"), "month"
    IB's padded form ("ZN   JUN 25", "FGBL DEC 19"). Which form IB uses for a product is IB's
    choice: the streams always show the resolved `localSymbol`.
    """
    if ib_contract is not None and getattr(ib_contract, "localSymbol", ""):
        return ib_contract.localSymbol
    if isinstance(contract, str):
        contract = contract_from_name(contract, instrument_config)
    config = _config(instrument_config)
    ib = config.get(contract.instrument_code).ib_data
    prefix = ib.trading_class or ib.ib_symbol
    year, month = int(contract.date_str[:4]), int(contract.date_str[4:6])
    if style == "letter":
        return f"{prefix}{MONTH_LETTERS[month - 1]}{year % 10}"
    if style == "month":
        return f"{prefix:<4} {MONTH_NAMES[month - 1]} {year % 100:02d}"
    raise ValueError(f"style must be 'letter' or 'month', got {style!r}")
