"""Loading and validation of the IB instrument configuration, with private overrides.

Shipped files (in `sysbrokers/IB/config/`) and the private files that override them (in the
private folder: the `private_dir` argument, else `PYSYS_PRIVATE_CONFIG_DIR`, else `private/` at
the project root; see `sysdata.config.configdata.resolve_private_dir`):

    ib_config_futures.csv          private: ib_config_futures.csv          rows replace by Instrument
    ib_config_spot_FX.csv          private: ib_config_spot_FX.csv          rows replace by CODE
    ib_config_trading_hours.yaml   private: private_config_trading_hours.yaml  keys replace by key

Every row is checked; all the problems of a file are raised together as one
`InstrumentConfigError` whose lines read `<file>:<line>: column '<column>': <problem>`.
Loaded configurations are cached per process (`clear_config_cache()` forgets them); nothing is
ever written.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import functools
import math
import os
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sysdata.config.configdata import resolve_private_dir
from sysobjects.exceptions import (
    AmbiguousBrokerInstrument,
    ConfigProblem,
    InstrumentConfigError,
    UnknownBrokerInstrument,
    UnknownFxCode,
    UnknownInstrument,
)
from sysobjects.instruments import futuresInstrument, futuresInstrumentWithIBConfigData, ibInstrumentConfigData

__all__ = [
    "FUTURES_CONFIG_FILE",
    "SPOT_FX_CONFIG_FILE",
    "TRADING_HOURS_FILE",
    "FuturesConfig",
    "SpotFxConfig",
    "TradingHoursOverrides",
    "WeeklyTradingHours",
    "canonical_time_zone",
    "clear_config_cache",
    "get_fx_config",
    "get_instrument_code_from_broker_code",
    "get_instrument_config",
    "get_instrument_object_from_config",
    "get_list_of_fxcodes",
    "get_list_of_instruments",
    "ibFXConfig",
    "load_futures_config",
    "load_spot_fx_config",
    "load_trading_hours_overrides",
]

CONFIG_DIR = Path(__file__).resolve().with_name("config")
FUTURES_CONFIG_FILE = CONFIG_DIR / "ib_config_futures.csv"
SPOT_FX_CONFIG_FILE = CONFIG_DIR / "ib_config_spot_FX.csv"
TRADING_HOURS_FILE = CONFIG_DIR / "ib_config_trading_hours.yaml"
PRIVATE_FUTURES_FILENAME = "ib_config_futures.csv"
PRIVATE_SPOT_FX_FILENAME = "ib_config_spot_FX.csv"
PRIVATE_TRADING_HOURS_FILENAME = "private_config_trading_hours.yaml"

FUTURES_REQUIRED_COLUMNS = (
    "Instrument",
    "IBSymbol",
    "IBExchange",
    "IBCurrency",
    "IBMultiplier",
    "priceMagnifier",
    "IgnoreWeekly",
)
FUTURES_OPTIONAL_COLUMNS = ("IBTradingClass",)
SPOT_FX_COLUMNS = ("CODE", "CCY1", "CCY2", "INVERT")

# pandas reads "NA" as missing, and pysystemtrade's CSV relies on it for "not sent to IB"
_NOT_SET = frozenset({"", "NA"})
_TRUE = frozenset({"TRUE", "YES", "1"})
_FALSE = frozenset({"FALSE", "NO", "0"})
_INSTRUMENT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
_EXCHANGE = re.compile(r"[A-Z0-9]+(?:[._][A-Z0-9]+)*")
_SYMBOL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._\- ]*[A-Za-z0-9])?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_FX_CODE = re.compile(r"[A-Z]{6}")

# The time-zone names IB has sent in contract details, and their IANA equivalents.
_LEGACY_ZONES = {
    "US/Central": "America/Chicago",
    "US/Eastern": "America/New_York",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "GB-Eire": "Europe/London",
    "GB": "Europe/London",
    "MET": "Europe/Berlin",
    "CET": "Europe/Berlin",
    "Japan": "Asia/Tokyo",
    "Hongkong": "Asia/Hong_Kong",
    "HongKong": "Asia/Hong_Kong",  # pysystemtrade's spelling; not a tz database name
    "Singapore": "Asia/Singapore",
    "Australia/NSW": "Australia/Sydney",
    "Australia/ACT": "Australia/Sydney",
    "EST": "America/New_York",
    "Canada/Eastern": "America/Toronto",
    "Europe/Kiev": "Europe/Kyiv",
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_INDEX = {name.lower(): i for i, name in enumerate(_WEEKDAYS)} | {
    name[:3].lower(): i for i, name in enumerate(_WEEKDAYS)
}
_HHMM = re.compile(r"(\d{2}):(\d{2})")

# False = do not apply any private overrides; None = the default private folder.
PrivateDir = str | os.PathLike[str] | None | bool  # only False is meaningful as a bool


# -- CSV reading and cell checks ----------------------------------------------------------------


class _Problems:
    """Collects the problems of one file, then raises them all at once."""

    def __init__(self, file: Path, field_kind: str = "column") -> None:
        self.file = str(file)
        self.field_kind = field_kind
        self.items: list[ConfigProblem] = []

    def add(self, line: int | None, column: str | None, problem: str) -> None:
        self.items.append(ConfigProblem(self.file, line, column, problem, self.field_kind))

    def raise_if_any(self) -> None:
        if self.items:
            raise InstrumentConfigError(self.items)


class _BadCell(ValueError):
    """A cell value that fails its check; the message says what was expected."""


def _read_csv(
    path: Path, required: Sequence[str], optional: Sequence[str], problems: _Problems
) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: stripped text}) of every non-blank data row; header problems recorded."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel adds a byte-order mark
    except FileNotFoundError:
        problems.add(None, None, "file not found")
        return []
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(None, None, f"cannot read the file: {exc}")
        return []
    reader = csv.reader(text.splitlines())
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        cells = [cell.strip() for cell in cells]
        if header is None:
            header, header_line = cells, line
            _check_header(header, header_line, required, optional, problems)
            continue
        if len(cells) != len(header):
            if len(cells) < len(header):
                missing = header[len(cells)]
                problems.add(line, missing, f"row has {len(cells)} fields but the header has {len(header)}")
            else:
                problems.add(line, None, f"row has {len(cells)} fields but the header has {len(header)}")
            continue
        rows.append((line, dict(zip(header, cells, strict=True))))
    if header is None:
        problems.add(None, None, f"empty file; expected the header {','.join(required)}")
    return rows


def _check_header(
    header: list[str], line: int, required: Sequence[str], optional: Sequence[str], problems: _Problems
) -> None:
    known = set(required) | set(optional)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.add(line, name, "column appears twice in the header")
        seen.add(name)
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.add(line, name, f"unknown column{hint}; known columns: {', '.join([*required, *optional])}")
    for name in required:
        if name not in seen:
            problems.add(line, name, "required column missing from the header")


def _check_cells(
    row: Mapping[str, str], line: int, checks: Mapping[str, Callable[[str], Any]], problems: _Problems
) -> dict[str, Any] | None:
    """Each column's checked value, or None if any cell failed (each failure recorded)."""
    values: dict[str, Any] = {}
    ok = True
    for column, check in checks.items():
        if column not in row:
            continue  # a missing column was reported with the header
        try:
            values[column] = check(row[column])
        except _BadCell as exc:
            problems.add(line, column, f"{exc}, got {row[column]!r}")
            ok = False
    return values if ok else None


def _required(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not text:
            raise _BadCell(f"{what} is required")
        if not pattern.fullmatch(text):
            raise _BadCell(f"expected {what}")
        return text

    return check


def _optional(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text in _NOT_SET:
            return ""
        if not pattern.fullmatch(text):
            raise _BadCell(f"expected {what} or blank")
        return text

    return check


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _BadCell("expected a number") from None
    if not math.isfinite(value) or value <= 0:
        raise _BadCell("expected a number > 0")
    return value


def _multiplier(text: str) -> float | None:
    return None if text in _NOT_SET else _positive_number(text)


def _magnifier(text: str) -> float:
    return 1.0 if text in _NOT_SET else _positive_number(text)


def _boolean(allow_blank: bool) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        upper = text.upper()
        if upper in _TRUE:
            return True
        if upper in _FALSE or (allow_blank and not text):
            return False
        raise _BadCell("expected TRUE or FALSE (also YES/NO, 1/0)")

    return check


def _check_duplicates(rows: Iterable[tuple[int, str]], column: str, problems: _Problems) -> None:
    first_line: dict[str, int] = {}
    for line, key in rows:
        if key in first_line:
            problems.add(line, column, f"duplicate {key!r} (first defined on line {first_line[key]})")
        else:
            first_line[key] = line


# -- private folder ------------------------------------------------------------------------------


def _private_file(private_dir: PrivateDir, filename: str) -> Path | None:
    if private_dir is False:
        return None
    folder = resolve_private_dir(private_dir)
    if folder is None:
        return None
    path = Path(folder) / filename
    return path if path.is_file() else None


def _cache_key(path: str | os.PathLike[str] | None, default: Path, private_dir: PrivateDir, name: str) -> tuple:
    main = Path(path).resolve() if path is not None else default
    private = _private_file(private_dir, name)
    return (str(main), None if private is None else str(private.resolve()))


# -- futures -------------------------------------------------------------------------------------


_FUTURES_CHECKS: dict[str, Callable[[str], Any]] = {
    "Instrument": _required(_INSTRUMENT_CODE, "an instrument code (letters, digits, _ or -)"),
    "IBSymbol": _required(_SYMBOL, "an IB symbol such as ES or SOFR3"),
    "IBExchange": _required(_EXCHANGE, "an IB exchange code in capitals such as CME or OSE.JPN"),
    "IBCurrency": _optional(_CURRENCY, "a three-letter currency code in capitals such as USD"),
    "IBMultiplier": _multiplier,
    "priceMagnifier": _magnifier,
    "IgnoreWeekly": _boolean(allow_blank=True),
    "IBTradingClass": _optional(_SYMBOL, "an IB trading class such as SR3"),
}


def _read_futures_file(path: Path) -> dict[str, tuple[int, futuresInstrumentWithIBConfigData]]:
    problems = _Problems(path)
    rows = _read_csv(path, FUTURES_REQUIRED_COLUMNS, FUTURES_OPTIONAL_COLUMNS, problems)
    _check_duplicates(
        ((line, row.get("Instrument", "")) for line, row in rows if row.get("Instrument")), "Instrument", problems
    )
    out: dict[str, tuple[int, futuresInstrumentWithIBConfigData]] = {}
    for line, row in rows:
        values = _check_cells(row, line, _FUTURES_CHECKS, problems)
        if values is None or len(values) < len(FUTURES_REQUIRED_COLUMNS):
            continue
        code = values["Instrument"]
        ib_data = ibInstrumentConfigData(
            ib_symbol=values["IBSymbol"],
            ib_exchange=values["IBExchange"],
            ib_currency=values["IBCurrency"],
            ib_multiplier=values["IBMultiplier"],
            price_magnifier=values["priceMagnifier"],
            ignore_weekly=values["IgnoreWeekly"],
            trading_class=values.get("IBTradingClass", ""),
        )
        out.setdefault(code, (line, futuresInstrumentWithIBConfigData(futuresInstrument(code), ib_data)))
    problems.raise_if_any()
    return out


@dataclass(frozen=True)
class FuturesConfig:
    """The futures instruments known to the IB layer (shipped rows, then private rows)."""

    instruments: Mapping[str, futuresInstrumentWithIBConfigData]
    origins: Mapping[str, str]  # instrument code -> "file:line" it came from
    files: tuple[str, ...]

    def __contains__(self, instrument_code: object) -> bool:
        return instrument_code in self.instruments

    def __iter__(self) -> Iterator[futuresInstrumentWithIBConfigData]:
        return iter(self.instruments.values())

    def __len__(self) -> int:
        return len(self.instruments)

    def instrument_codes(self) -> list[str]:
        return sorted(self.instruments)

    def get(self, instrument_code: str) -> futuresInstrumentWithIBConfigData:
        """The instrument with its IB data; `UnknownInstrument` names the code and the files."""
        try:
            return self.instruments[instrument_code]
        except KeyError:
            close = difflib.get_close_matches(str(instrument_code), list(self.instruments), n=3)
            raise UnknownInstrument(str(instrument_code), self.files, close) from None

    def instrument_code_from_broker(
        self,
        ib_symbol: str,
        ib_exchange: str = "",
        ib_multiplier: float | str | None = None,
        valid_exchanges: str | Sequence[str] = "",
        trading_class: str = "",
    ) -> str:
        """The instrument code for an IB contract, pysystemtrade's reverse lookup.

        Matches the symbol, then (when given) the multiplier (a blank configured multiplier
        matches any; an exact match is preferred), the trading class (rows without one match
        any) and the exchange; if no row has the exchange, each of IB's `validExchanges` is
        tried in turn. No match raises UnknownBrokerInstrument, several AmbiguousBrokerInstrument.
        """
        description = _describe_broker(ib_symbol, ib_exchange, ib_multiplier, trading_class)
        rows = [r for r in self if r.ib_data.ib_symbol == ib_symbol]
        if ib_multiplier not in (None, ""):
            wanted = float(ib_multiplier)
            exact = [
                r for r in rows if r.ib_data.ib_multiplier is not None and math.isclose(r.ib_data.ib_multiplier, wanted)
            ]
            rows = exact or [r for r in rows if r.ib_data.ib_multiplier is None]
        if trading_class:
            exact = [r for r in rows if r.ib_data.trading_class == trading_class]
            rows = exact or [r for r in rows if not r.ib_data.trading_class]
        if ib_exchange:
            if isinstance(valid_exchanges, str):
                valid_exchanges = [e for e in valid_exchanges.split(",") if e]
            for exchange in [ib_exchange, *valid_exchanges]:
                on_exchange = [r for r in rows if r.ib_data.ib_exchange == exchange]
                if on_exchange:
                    break
            rows = on_exchange
        if not rows:
            raise UnknownBrokerInstrument(description, self.files)
        if len(rows) > 1:
            raise AmbiguousBrokerInstrument(description, [r.instrument_code for r in rows])
        return rows[0].instrument_code

    def get_brokers_instrument_code(self, instrument_code: str) -> str:
        """The IB symbol of an instrument (pysystemtrade's name)."""
        return self.get(instrument_code).ib_data.ib_symbol

    def as_dataframe(self) -> pd.DataFrame:
        """One row per instrument, in the CSV's column names (for display)."""
        records = [
            {
                "Instrument": i.instrument_code,
                "IBSymbol": i.ib_data.ib_symbol,
                "IBExchange": i.ib_data.ib_exchange,
                "IBCurrency": i.ib_data.ib_currency,
                "IBMultiplier": i.ib_data.ib_multiplier,
                "priceMagnifier": i.ib_data.price_magnifier,
                "IgnoreWeekly": i.ib_data.ignore_weekly,
                "IBTradingClass": i.ib_data.trading_class,
            }
            for i in self
        ]
        return pd.DataFrame.from_records(records, columns=[*FUTURES_REQUIRED_COLUMNS, *FUTURES_OPTIONAL_COLUMNS])


def _describe_broker(symbol: str, exchange: str, multiplier: object, trading_class: str) -> str:
    parts = [f"symbol {symbol!r}"]
    if exchange:
        parts.append(f"exchange {exchange!r}")
    if multiplier not in (None, ""):
        parts.append(f"multiplier {multiplier}")
    if trading_class:
        parts.append(f"trading class {trading_class!r}")
    return ", ".join(parts)


def load_futures_config(path: str | os.PathLike[str] | None = None, private_dir: PrivateDir = None) -> FuturesConfig:
    """The shipped (or given) futures CSV with the private folder's rows replacing it by Instrument.

    `private_dir=None` uses the default private folder, `False` ignores private overrides.
    Cached per process for the same files.
    """
    return _load_futures_cached(*_cache_key(path, FUTURES_CONFIG_FILE, private_dir, PRIVATE_FUTURES_FILENAME))


@functools.lru_cache(maxsize=16)
def _load_futures_cached(main: str, private: str | None) -> FuturesConfig:
    instruments: dict[str, futuresInstrumentWithIBConfigData] = {}
    origins: dict[str, str] = {}
    files = [main] if private is None else [main, private]
    for file in files:
        for code, (line, instrument) in _read_futures_file(Path(file)).items():
            instruments[code] = instrument
            origins[code] = f"{file}:{line}"
    return FuturesConfig(instruments, origins, tuple(files))


# -- spot FX -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ibFXConfig:  # noqa: N801 - pysystemtrade's public name
    """How to get one FX code from IB: ask for CCY1.CCY2, invert the rate when `invert`."""

    ccy1: str
    ccy2: str
    invert: bool

    @property
    def ib_pair(self) -> str:
        """The pair IB is asked for, as ib_async's Forex() wants it: "USDJPY"."""
        return self.ccy1 + self.ccy2


_FX_CHECKS: dict[str, Callable[[str], Any]] = {
    "CODE": _required(_FX_CODE, "six capital letters such as GBPUSD"),
    "CCY1": _required(_CURRENCY, "a three-letter currency code in capitals"),
    "CCY2": _required(_CURRENCY, "a three-letter currency code in capitals"),
    "INVERT": _boolean(allow_blank=False),
}


def _read_spot_fx_file(path: Path) -> dict[str, tuple[int, ibFXConfig]]:
    problems = _Problems(path)
    rows = _read_csv(path, SPOT_FX_COLUMNS, (), problems)
    _check_duplicates(((line, row.get("CODE", "")) for line, row in rows if row.get("CODE")), "CODE", problems)
    out: dict[str, tuple[int, ibFXConfig]] = {}
    for line, row in rows:
        values = _check_cells(row, line, _FX_CHECKS, problems)
        if values is None or len(values) < len(SPOT_FX_COLUMNS):
            continue
        code, ccy1, ccy2, invert = values["CODE"], values["CCY1"], values["CCY2"], values["INVERT"]
        if ccy1 == ccy2:
            problems.add(line, "CCY2", f"same currency as CCY1, got {ccy2!r}")
            continue
        # the rate of CODE is quoted in its last three letters: CCY2, or CCY1 once inverted
        quote = ccy1 if invert else ccy2
        if code[3:] != quote:
            column = "INVERT" if code[3:] in (ccy1, ccy2) else "CODE"
            problems.add(
                line,
                column,
                f"{code} is quoted in {code[3:]}, but IB's {ccy1}.{ccy2} "
                f"{'inverted ' if invert else ''}is quoted in {quote}",
            )
            continue
        out.setdefault(code, (line, ibFXConfig(ccy1, ccy2, invert)))
    problems.raise_if_any()
    return out


@dataclass(frozen=True)
class SpotFxConfig:
    """The FX codes known to the IB layer."""

    codes: Mapping[str, ibFXConfig]
    files: tuple[str, ...]

    def __contains__(self, fx_code: object) -> bool:
        return fx_code in self.codes

    def __len__(self) -> int:
        return len(self.codes)

    def fx_codes(self) -> list[str]:
        return sorted(self.codes)

    def get(self, fx_code: str) -> ibFXConfig:
        try:
            return self.codes[fx_code]
        except KeyError:
            raise UnknownFxCode(str(fx_code), self.files) from None


def load_spot_fx_config(path: str | os.PathLike[str] | None = None, private_dir: PrivateDir = None) -> SpotFxConfig:
    """The shipped (or given) spot FX CSV with the private folder's rows replacing it by CODE."""
    return _load_spot_fx_cached(*_cache_key(path, SPOT_FX_CONFIG_FILE, private_dir, PRIVATE_SPOT_FX_FILENAME))


@functools.lru_cache(maxsize=16)
def _load_spot_fx_cached(main: str, private: str | None) -> SpotFxConfig:
    codes: dict[str, ibFXConfig] = {}
    files = [main] if private is None else [main, private]
    for file in files:
        for code, (_, config) in _read_spot_fx_file(Path(file)).items():
            codes[code] = config
    return SpotFxConfig(codes, tuple(files))


# -- trading hours -------------------------------------------------------------------------------

Session = tuple[dt.time, dt.time]


def canonical_time_zone(name: str) -> str | None:
    """The IANA name for an IANA or IB legacy zone name ("US/Central" -> "America/Chicago")."""
    if name in _LEGACY_ZONES:
        return _LEGACY_ZONES[name]
    if "/" not in name and name.upper() != "UTC":
        return None  # bare words ("CORN", "Japan"-like aliases aside) are instrument codes
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return "UTC" if name.upper() == "UTC" else name


@dataclass(frozen=True)
class WeeklyTradingHours:
    """Sessions per weekday (Monday = 0), as local times of `zone` (an IANA name)."""

    zone: str
    days: tuple[tuple[Session, ...], ...]  # seven entries, Monday first
    source: str = field(default="", compare=False)  # "file:line"

    def sessions_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """That day's sessions as [start, end) UTC datetimes."""
        tz = zoneinfo.ZoneInfo(self.zone)
        out = []
        for start, end in self.days[day.weekday()]:
            start_local = dt.datetime.combine(day, start, tz)
            end_local = (
                dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
                if end == _END_OF_DAY
                else dt.datetime.combine(day, end, tz)
            )
            out.append((start_local.astimezone(dt.UTC), end_local.astimezone(dt.UTC)))
        return out


# "24:00" is stored as this sentinel: dt.time cannot hold 24:00
_END_OF_DAY = dt.time(23, 59, 59, 999999)


@dataclass(frozen=True)
class TradingHoursOverrides:
    """Trading-hours entries by instrument code and by (IANA) time zone."""

    by_instrument: Mapping[str, WeeklyTradingHours]
    by_time_zone: Mapping[str, WeeklyTradingHours]
    files: tuple[str, ...]

    def for_instrument(self, instrument_code: str) -> WeeklyTradingHours | None:
        return self.by_instrument.get(instrument_code)

    def for_time_zone(self, zone: str) -> WeeklyTradingHours | None:
        """Entry for an IANA or IB legacy zone name (IB now sends either; #1622)."""
        canonical = canonical_time_zone(zone)
        return None if canonical is None else self.by_time_zone.get(canonical)


class _YamlReader:
    """Turns one trading-hours YAML file into entries, recording every problem with its line."""

    def __init__(self, path: Path, instrument_codes: frozenset[str]) -> None:
        self.path = path
        self.instrument_codes = instrument_codes
        self.problems = _Problems(path, field_kind="key")

    def read(self) -> tuple[dict[str, WeeklyTradingHours], dict[str, WeeklyTradingHours]]:
        by_instrument: dict[str, WeeklyTradingHours] = {}
        by_zone: dict[str, WeeklyTradingHours] = {}
        root = self._compose()
        if root is None:
            return by_instrument, by_zone
        if not isinstance(root, yaml.MappingNode):
            self.problems.add(_line(root), None, "the top level must be a mapping of instrument codes / time zones")
            return by_instrument, by_zone
        first_line: dict[str, int] = {}
        for key_node, value_node in root.value:
            key, line = str(key_node.value), _line(key_node)
            if key in first_line:
                self.problems.add(line, key, f"duplicate key (first on line {first_line[key]})")
                continue
            first_line[key] = line
            zone_key = canonical_time_zone(key) if key not in self.instrument_codes else None
            if key not in self.instrument_codes and zone_key is None:
                close = difflib.get_close_matches(key, sorted(self.instrument_codes), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problems.add(line, key, f"neither a configured instrument code nor a time zone name{hint}")
                continue
            hours = self._entry(value_node, key)
            if hours is None:
                continue
            if zone_key is None:
                by_instrument[key] = hours
            else:
                by_zone[zone_key] = hours
        return by_instrument, by_zone

    def _compose(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problems.add(None, None, "file not found")
            return None
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problems.add(None if mark is None else mark.line + 1, None, f"not valid YAML: {exc}")
            return None

    def _entry(self, node: yaml.Node, key: str) -> WeeklyTradingHours | None:
        zone = "UTC"
        hours_node = node
        if isinstance(node, yaml.MappingNode) and any(k.value in ("zone", "hours") for k, _ in node.value):
            fields = {str(k.value): (k, v) for k, v in node.value}
            for name, (k, _) in fields.items():
                if name not in ("zone", "hours"):
                    self.problems.add(
                        _line(k), f"{key}.{name}", "unknown field; an entry with `zone` takes only `zone` and `hours`"
                    )
                    return None
            if "hours" not in fields:
                self.problems.add(_line(node), key, "`zone` given without `hours`")
                return None
            if "zone" in fields:
                zone_node = fields["zone"][1]
                canonical = (
                    canonical_time_zone(str(zone_node.value)) if isinstance(zone_node, yaml.ScalarNode) else None
                )
                if canonical is None:
                    self.problems.add(
                        _line(zone_node),
                        f"{key}.zone",
                        f"expected an IANA time zone name such as America/Chicago, got {_show(zone_node)}",
                    )
                    return None
                zone = canonical
            hours_node, key = fields["hours"][1], f"{key}.hours"
        days = self._days(hours_node, key)
        if days is None:
            return None
        return WeeklyTradingHours(zone, days, f"{self.path}:{_line(node)}")

    def _days(self, node: yaml.Node, key: str) -> tuple[tuple[Session, ...], ...] | None:
        if isinstance(node, yaml.MappingNode):  # shape 1: per weekday
            days: list[tuple[Session, ...]] = [()] * 7
            for day_node, sessions_node in node.value:
                index = _WEEKDAY_INDEX.get(str(day_node.value).lower())
                if index is None:
                    self.problems.add(
                        _line(day_node),
                        f"{key}.{day_node.value}",
                        f"not a weekday; expected one of {', '.join(_WEEKDAYS)}",
                    )
                    return None
                sessions = self._sessions(sessions_node, f"{key}.{_WEEKDAYS[index]}", allow_empty=True)
                if sessions is None:
                    return None
                days[index] = sessions
            return tuple(days)
        sessions = self._sessions(node, key, allow_empty=False)  # shapes 2 and 3: every day
        return None if sessions is None else (sessions,) * 7

    def _sessions(self, node: yaml.Node, key: str, allow_empty: bool) -> tuple[Session, ...] | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null" and allow_empty:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problems.add(
                _line(node), key, f"expected ['HH:MM', 'HH:MM'] or a list of such pairs, got {_show(node)}"
            )
            return None
        if not node.value:
            if allow_empty:
                return ()
            self.problems.add(_line(node), key, "empty list of sessions (leave the key out instead)")
            return None
        single = all(isinstance(n, yaml.ScalarNode) for n in node.value)  # shape 3: one pair
        pairs = [node] if single else node.value
        sessions: list[Session] = []
        for i, pair in enumerate(pairs):
            session = self._session(pair, key if single else f"{key}[{i}]")
            if session is None:
                return None
            sessions.append(session)
        return tuple(sorted(sessions))

    def _session(self, node: yaml.Node, key: str) -> Session | None:
        if not (
            isinstance(node, yaml.SequenceNode)
            and len(node.value) == 2
            and all(isinstance(n, yaml.ScalarNode) for n in node.value)
        ):
            self.problems.add(_line(node), key, f"a session is ['HH:MM', 'HH:MM'], got {_show(node)}")
            return None
        start_node, end_node = node.value
        start = self._time(start_node, key, allow_24=False)
        end = self._time(end_node, key, allow_24=True)
        if start is None or end is None:
            return None
        if end <= start:
            self.problems.add(
                _line(node), key, f"session must end after it starts, got {start_node.value!r} to {end_node.value!r}"
            )
            return None
        return (start, end)

    def _time(self, node: yaml.ScalarNode, key: str, allow_24: bool) -> dt.time | None:
        text = str(node.value)
        # the raw scalar text, so an unquoted 15:00 (a base-60 number to YAML 1.1) still reads as HH:MM
        match = _HHMM.fullmatch(text)
        if match is not None:
            hours, minutes = int(match.group(1)), int(match.group(2))
            if allow_24 and hours == 24 and minutes == 0:
                return _END_OF_DAY
            if hours < 24 and minutes < 60:
                return dt.time(hours, minutes)
        self.problems.add(
            _line(node), key, f"expected a time 'HH:MM' (00:00 to 23:59, or 24:00 as an end), got {text!r}"
        )
        return None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _show(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return repr(node.value) if node.tag != "tag:yaml.org,2002:null" else "nothing"
    return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"


def load_trading_hours_overrides(
    path: str | os.PathLike[str] | None = None,
    private_dir: PrivateDir = None,
    instrument_codes: Iterable[str] | None = None,
) -> TradingHoursOverrides:
    """The shipped (or given) trading-hours YAML, each key replaced by the private file's.

    Instrument keys must be configured instruments: `instrument_codes`, by default those of
    `load_futures_config(private_dir=private_dir)`.
    """
    if instrument_codes is None:
        instrument_codes = load_futures_config(private_dir=private_dir).instrument_codes()
    main, private = _cache_key(path, TRADING_HOURS_FILE, private_dir, PRIVATE_TRADING_HOURS_FILENAME)
    return _load_trading_hours_cached(main, private, frozenset(instrument_codes))


@functools.lru_cache(maxsize=16)
def _load_trading_hours_cached(main: str, private: str | None, codes: frozenset[str]) -> TradingHoursOverrides:
    by_instrument: dict[str, WeeklyTradingHours] = {}
    by_zone: dict[str, WeeklyTradingHours] = {}
    files = [main] if private is None else [main, private]
    for file in files:
        reader = _YamlReader(Path(file), codes)
        instruments, zones = reader.read()
        reader.problems.raise_if_any()
        by_instrument.update(instruments)
        by_zone.update(zones)
    return TradingHoursOverrides(by_instrument, by_zone, tuple(files))


# -- process-wide shortcuts (pysystemtrade's function names) -------------------------------------


def clear_config_cache() -> None:
    """Forget every loaded configuration (after editing a file or changing the private folder)."""
    _load_futures_cached.cache_clear()
    _load_spot_fx_cached.cache_clear()
    _load_trading_hours_cached.cache_clear()


def get_instrument_config(instrument_code: str) -> futuresInstrumentWithIBConfigData:
    """The instrument with its IB data from the default configuration."""
    return load_futures_config().get(instrument_code)


def get_instrument_object_from_config(
    instrument_code: str, config: FuturesConfig | None = None
) -> futuresInstrumentWithIBConfigData:
    """pysystemtrade's name for `get_instrument_config`."""
    return (config or load_futures_config()).get(instrument_code)


def get_list_of_instruments() -> list[str]:
    return load_futures_config().instrument_codes()


def get_instrument_code_from_broker_code(
    ib_symbol: str,
    ib_exchange: str = "",
    ib_multiplier: float | str | None = None,
    valid_exchanges: str | Sequence[str] = "",
    trading_class: str = "",
) -> str:
    """Reverse lookup in the default configuration; see `FuturesConfig.instrument_code_from_broker`."""
    return load_futures_config().instrument_code_from_broker(
        ib_symbol, ib_exchange, ib_multiplier, valid_exchanges, trading_class
    )


def get_fx_config(fx_code: str) -> ibFXConfig:
    return load_spot_fx_config().get(fx_code)


def get_list_of_fxcodes() -> list[str]:
    return load_spot_fx_config().fx_codes()
