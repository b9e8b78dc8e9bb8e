"""OHLCV prices of one futures contract: pysystemtrade's `futuresContractPrices`.

A pandas DataFrame with exactly the columns OPEN, HIGH, LOW, FINAL, VOLUME (float64), indexed by
a timezone-aware UTC DatetimeIndex that is strictly increasing. Construction checks all of this
and raises a typed error; pandas operations whose result no longer fits (other columns, a naive
index, rows out of order) give back a plain DataFrame instead.

Timestamps
    intraday bar   -> the bar's start time in UTC (ask IB with formatDate=2, which sends UTC)
    daily bar      -> midnight UTC of the session's trade date (IB sends the date only)

The `frequency` attribute (`Frequency.Day`, `Frequency.Hour`, ...) tells daily from intraday data,
because a midnight-UTC daily row can look exactly like an intraday bar starting at 00:00 UTC.
Merging prices of different frequencies is refused (`PriceFrequencyMismatch`): keep daily and
intraday series apart (pysystemtrade mixed them and users hit collisions, #381/#387).
"""

from __future__ import annotations

import datetime as dt
import enum
import html
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from sysobjects.exceptions import (
    PriceColumnsError,
    PriceFrequencyMismatch,
    PriceIndexError,
    PricesNotStrictlyIncreasing,
)

__all__ = [
    "FINAL_COLUMN",
    "PRICE_DATA_COLUMNS",
    "VOLUME_COLUMN",
    "Frequency",
    "as_utc_index",
    "bar_rows",
    "bar_timestamp",
    "check_index_strictly_increasing",
    "futuresContractPrices",
    "infer_intraday_frequency",
    "is_valid_utc_index",
    "merged_frequency",
]

OPEN_COLUMN = "OPEN"
HIGH_COLUMN = "HIGH"
LOW_COLUMN = "LOW"
FINAL_COLUMN = "FINAL"
VOLUME_COLUMN = "VOLUME"
PRICE_DATA_COLUMNS = (OPEN_COLUMN, HIGH_COLUMN, LOW_COLUMN, FINAL_COLUMN, VOLUME_COLUMN)
INDEX_NAME = "index"  # pysystemtrade's name, kept for stores written by it

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal"})


class Frequency(enum.StrEnum):
    """Bar size of a price series (member names as in pysystemtrade's syscore.dateutils)."""

    Unknown = "unknown"
    Year = "Y"
    Month = "M"
    Week = "W"
    BDay = "B"
    Day = "D"
    Hour = "H"
    Minutes_15 = "15min"
    Minutes_5 = "5min"
    Minute = "1min"
    Seconds_10 = "10s"
    Second = "1s"
    Mixed = "mixed"

    @classmethod
    def _missing_(cls, value: object) -> Frequency | None:
        """pysystemtrade's forms: a member name ("Day"), its int enum value (6 = Day), or a member
        of pysystemtrade's own `Frequency` enum (matched by name)."""
        name = getattr(value, "name", value)
        if isinstance(name, str) and name in cls.__members__:
            return cls.__members__[name]
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(cls):
            return list(cls)[value - 1]  # pysystemtrade: Enum("Frequency", "Unknown Year ... Mixed")
        return None

    @property
    def is_intraday(self) -> bool:
        return self in _INTRADAY_SECONDS

    @property
    def is_daily_or_longer(self) -> bool:
        return self in (Frequency.Day, Frequency.BDay, Frequency.Week, Frequency.Month, Frequency.Year)


_INTRADAY_SECONDS = {
    Frequency.Hour: 3600,
    Frequency.Minutes_15: 900,
    Frequency.Minutes_5: 300,
    Frequency.Minute: 60,
    Frequency.Seconds_10: 10,
    Frequency.Second: 1,
}


# -- shared checks (also used by spot FX prices) ------------------------------------------------


def _is_utc(tz: Any) -> bool:
    if tz is None:
        return False
    if tz is dt.UTC or str(tz) in _UTC_NAMES or str(tz) == "tzutc()":
        return True
    return isinstance(tz, dt.timezone) and tz.utcoffset(None) == dt.timedelta(0)


def as_utc_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    """`index` as a UTC DatetimeIndex named "index"; naive or non-UTC indexes are refused."""
    if len(index) == 0 and not isinstance(index, pd.DatetimeIndex):
        return pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME)
    if not isinstance(index, pd.DatetimeIndex):
        raise PriceIndexError(f"{what}: index must be a DatetimeIndex, got {type(index).__name__}")
    if index.tz is None:
        raise PriceIndexError(
            f"{what}: index is timezone-naive (first value {index[0]}); localise it to UTC first "
            "(e.g. index.tz_localize('UTC') if the times are UTC)"
        )
    if not _is_utc(index.tz):
        raise PriceIndexError(f"{what}: index is in {index.tz}, not UTC; convert it first (index.tz_convert('UTC'))")
    if index.hasnans:
        raise PriceIndexError(f"{what}: index contains NaT")
    out = index.tz_convert("UTC")
    out.name = INDEX_NAME
    return out


def check_index_strictly_increasing(index: pd.DatetimeIndex, what: str) -> None:
    if len(index) < 2:
        return
    values = index.asi8
    bad = np.flatnonzero(values[1:] <= values[:-1])
    if bad.size:
        position = int(bad[0]) + 1
        raise PricesNotStrictlyIncreasing(what, position, index[position - 1], index[position])


def bar_timestamp(bar_date: dt.date | dt.datetime) -> tuple[pd.Timestamp, bool]:
    """(UTC timestamp, is_daily) of an ib_async bar's `date`.

    A `date` (daily and longer bars) becomes midnight UTC of that trade date; a `datetime` must
    be timezone-aware (request with formatDate=2) and is converted to UTC.
    """
    if isinstance(bar_date, dt.datetime):
        if bar_date.tzinfo is None or bar_date.tzinfo.utcoffset(bar_date) is None:
            raise PriceIndexError(
                f"bar time {bar_date} is timezone-naive; request bars with formatDate=2 so IB sends UTC"
            )
        return pd.Timestamp(bar_date).tz_convert("UTC"), False
    if isinstance(bar_date, dt.date):
        return pd.Timestamp(bar_date.year, bar_date.month, bar_date.day, tz="UTC"), True
    raise PriceIndexError(f"bar date must be a date or datetime, got {bar_date!r}")


_UNIX_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_NS_PER_DAY = 86_400 * 10**9


def _epoch_nanoseconds(dates: list, is_daily: bool) -> np.ndarray:
    """UTC nanoseconds of bar dates: midnight UTC for dates, the aware instant for datetimes."""
    if is_daily:
        days = np.fromiter((d.toordinal() for d in dates), np.int64, len(dates))
        return (days - _UNIX_EPOCH_ORDINAL) * _NS_PER_DAY
    for d in dates:
        if d.tzinfo is None or d.tzinfo.utcoffset(d) is None:
            raise PriceIndexError(f"bar time {d} is timezone-naive; request bars with formatDate=2 so IB sends UTC")
    # Whole microseconds: exact, unlike float seconds.
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return np.fromiter(((d - epoch) // dt.timedelta(microseconds=1) for d in dates), np.int64, len(dates)) * 1000


def bar_rows(bars: Iterable[Any]) -> list[Any]:
    """The bars as a list; also accepts the DataFrame of ib_async's util.df(bars)."""
    if isinstance(bars, pd.DataFrame):
        return list(bars.itertuples(index=False))
    return list(bars)


def infer_intraday_frequency(index: pd.DatetimeIndex) -> Frequency:
    """The bar size whose length is the smallest gap between bars, or Unknown."""
    if len(index) < 2:
        return Frequency.Unknown
    smallest = int(np.min(np.diff(index.asi8)) // 1_000_000_000)
    for frequency, seconds in _INTRADAY_SECONDS.items():
        if smallest == seconds:
            return frequency
    return Frequency.Unknown


def _coerce_frequency(frequency: Frequency | str | None) -> Frequency:
    if frequency is None:
        return Frequency.Unknown
    if isinstance(frequency, Frequency):
        return frequency
    try:
        return Frequency(frequency)
    except ValueError:
        try:
            return Frequency[frequency]
        except KeyError:
            choices = ", ".join(f.value for f in Frequency)
            raise ValueError(f"unknown frequency {frequency!r}; one of {choices}") from None


def merged_frequency(mine: Frequency, theirs: Frequency, mine_empty: bool, theirs_empty: bool, what: str) -> Frequency:
    """The frequency of a merge of two series, refusing daily + intraday."""
    if mine == theirs or theirs == Frequency.Unknown or theirs_empty:
        return mine
    if mine == Frequency.Unknown or mine_empty:
        return theirs
    raise PriceFrequencyMismatch(
        f"{what}: cannot merge {theirs.name} ({theirs.value}) prices into {mine.name} ({mine.value}) "
        "prices; keep daily and intraday series separate"
    )


# -- the prices frame ---------------------------------------------------------------------------


def _validated_frame(data: Any) -> pd.DataFrame:
    what = "futuresContractPrices"
    frame = pd.DataFrame(data) if not isinstance(data, pd.DataFrame) else data
    columns = [str(c) for c in frame.columns]
    missing = [c for c in PRICE_DATA_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in PRICE_DATA_COLUMNS]
    if missing or extra or len(columns) != len(PRICE_DATA_COLUMNS):
        detail = []
        if missing:
            detail.append(f"missing {missing}")
        if extra:
            detail.append(f"unexpected {extra}")
        if not detail:
            detail.append(f"duplicated columns in {columns}")
        raise PriceColumnsError(f"{what}: columns must be exactly {list(PRICE_DATA_COLUMNS)}; {'; '.join(detail)}")
    index = as_utc_index(frame.index, what)
    check_index_strictly_increasing(index, what)
    out = {}
    for column in PRICE_DATA_COLUMNS:
        try:
            out[column] = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise PriceColumnsError(f"{what}: column {column} is not numeric ({exc})") from None
    return pd.DataFrame(out, index=index, columns=list(PRICE_DATA_COLUMNS))


def is_valid_utc_index(index: pd.Index) -> bool:
    """True for a strictly increasing UTC DatetimeIndex without NaT (checked, never converted)."""
    if not isinstance(index, pd.DatetimeIndex) or not _is_utc(index.tz) or index.hasnans:
        return False
    values = index.asi8
    return bool(np.all(values[1:] > values[:-1]))


def _prices_or_plain_frame(*args: Any, **kwargs: Any) -> pd.DataFrame:
    # pandas builds the results of operations through _constructor. Results that are still valid
    # prices as they stand keep the type; anything else (other columns or dtypes, e.g. the
    # booleans of isna(), rows out of order) comes back as a plain DataFrame, never converted.
    frame = pd.DataFrame(*args, **kwargs)
    valid = (
        list(frame.columns) == list(PRICE_DATA_COLUMNS)
        and all(dtype == np.float64 for dtype in frame.dtypes)
        and is_valid_utc_index(frame.index)
    )
    if not valid:
        return frame
    prices = object.__new__(futuresContractPrices)
    pd.DataFrame.__init__(prices, frame)
    prices.frequency = Frequency.Unknown  # pandas then copies the source's via __finalize__
    prices.contract = None
    return prices


class futuresContractPrices(pd.DataFrame):  # noqa: N801 - pysystemtrade's public name
    """OHLCV prices of one contract; see the module docstring for the rules."""

    # `contract`: the futuresContract the prices are of, when known (shown by repr; not stored).
    _metadata = ["frequency", "contract"]

    def __init__(self, price_data: Any = None, frequency: Frequency | str | None = None, contract: Any = None) -> None:
        if price_data is None:
            price_data = pd.DataFrame(columns=list(PRICE_DATA_COLUMNS))
        inherited = getattr(price_data, "frequency", None) if frequency is None else frequency
        contract = getattr(price_data, "contract", None) if contract is None else contract
        super().__init__(_validated_frame(price_data))
        self.frequency = _coerce_frequency(inherited)
        self.contract = contract

    @property
    def _constructor(self):  # type: ignore[override]
        return _prices_or_plain_frame

    @property
    def _constructor_sliced(self):  # type: ignore[override]
        return pd.Series

    def reset_index(self, *args: Any, **kwargs: Any) -> pd.DataFrame | None:
        # the index becomes a column, so the result is no longer prices: return a plain frame
        if kwargs.get("inplace"):
            raise TypeError("futuresContractPrices.reset_index(inplace=True) is not supported")
        return pd.DataFrame(self).reset_index(*args, **kwargs)

    # -- constructors ----------------------------------------------------------------------------

    @classmethod
    def create_empty(cls, frequency: Frequency | str | None = None, contract: Any = None) -> futuresContractPrices:
        """An empty but valid prices object (pysystemtrade's graceful failure)."""
        return cls(None, frequency=frequency, contract=contract)

    @classmethod
    def create_from_final_prices_only(
        cls, final_prices: pd.Series, frequency: Frequency | str | None = None
    ) -> futuresContractPrices:
        frame = pd.DataFrame({FINAL_COLUMN: final_prices}).reindex(columns=list(PRICE_DATA_COLUMNS))
        return cls(frame, frequency=frequency)

    @classmethod
    def from_ib_bars(
        cls,
        bars: Iterable[Any],
        frequency: Frequency | str | None = None,
        price_divisor: float = 1.0,
        contract: Any = None,
    ) -> futuresContractPrices:
        """From ib_async `BarData` (or `util.df(bars)`): open/high/low/close/volume -> OHLCV.

        Daily bars (whose `date` is a date) are stamped midnight UTC of the trade date and get
        `Frequency.Day` unless a longer frequency is given. Intraday bars must carry aware
        datetimes (formatDate=2); their frequency is inferred from the bar spacing when not
        given. IB's volume of -1 (no volume, e.g. MIDPOINT) becomes NaN. Prices are divided by
        `price_divisor` (IB's price magnifier). `contract` (a futuresContract) is kept for the repr.
        """
        rows = bar_rows(bars)
        dates = [bar.date for bar in rows]
        kinds = {not isinstance(d, dt.datetime) for d in dates}
        if len(kinds) > 1:
            raise PriceIndexError("bars mix daily dates and intraday times")
        is_daily = kinds == {True}
        wanted = _coerce_frequency(frequency)
        if is_daily and wanted.is_intraday:
            raise PriceFrequencyMismatch(f"bars are daily (dates) but frequency {wanted.value!r} was given")
        if kinds == {False} and wanted.is_daily_or_longer:
            raise PriceFrequencyMismatch(f"bars are intraday (times) but frequency {wanted.value!r} was given")
        index = pd.DatetimeIndex(_epoch_nanoseconds(dates, is_daily), tz="UTC", name=INDEX_NAME)
        check_index_strictly_increasing(index, "futuresContractPrices")
        columns = {
            OPEN_COLUMN: np.fromiter((bar.open for bar in rows), np.float64, len(rows)),
            HIGH_COLUMN: np.fromiter((bar.high for bar in rows), np.float64, len(rows)),
            LOW_COLUMN: np.fromiter((bar.low for bar in rows), np.float64, len(rows)),
            FINAL_COLUMN: np.fromiter((bar.close for bar in rows), np.float64, len(rows)),
        }
        if price_divisor != 1:
            for name in columns:
                columns[name] /= price_divisor
        volume = np.fromiter((bar.volume for bar in rows), np.float64, len(rows))
        volume[volume < 0] = np.nan
        columns[VOLUME_COLUMN] = volume
        if wanted == Frequency.Unknown:
            wanted = Frequency.Day if is_daily else infer_intraday_frequency(index)
        # Built valid (float columns, strictly increasing UTC index): no second validation pass.
        prices = object.__new__(cls)
        pd.DataFrame.__init__(prices, columns, index=index, columns=list(PRICE_DATA_COLUMNS))
        prices.frequency = wanted
        prices.contract = contract
        return prices

    # -- queries ---------------------------------------------------------------------------------

    @property
    def is_daily(self) -> bool:
        return self.frequency.is_daily_or_longer

    @property
    def is_intraday(self) -> bool:
        return self.frequency.is_intraday

    def final_prices(self) -> pd.Series:
        """The FINAL column as a Series (a copy)."""
        return pd.Series(self[FINAL_COLUMN].to_numpy(copy=True), index=self.index.copy(), name=FINAL_COLUMN)

    return_final_prices = final_prices  # pysystemtrade's name

    # -- display (IPython / Jupyter) -------------------------------------------------------------

    def summary(self) -> str:
        """One line: `<futuresContractPrices SP500 202506 D: 312 rows 2024-03-18 → 2025-06-20 UTC>`.

        Example: `prices.summary()`; `repr(prices)` and the notebook view put it above the table.
        """
        what = ["futuresContractPrices"]
        if self.contract is not None:
            legs = self.contract.date_str.split("_")  # a calendar spread has one date per leg
            dates = "_".join(leg[:6] if leg.endswith("00") else leg for leg in legs)
            what += [self.contract.instrument_code, dates]
        if self.frequency != Frequency.Unknown:
            what.append(self.frequency.value)
        rows = len(self)
        if rows == 0:
            return f"<{' '.join(what)}: 0 rows>"
        times_of_day = self.is_intraday or (not self.is_daily and bool((self.index != self.index.normalize()).any()))
        stamp = "%Y-%m-%d %H:%M" if times_of_day else "%Y-%m-%d"
        first, last = self.index[0].strftime(stamp), self.index[-1].strftime(stamp)
        return f"<{' '.join(what)}: {rows} row{'s' if rows != 1 else ''} {first} → {last} UTC>"

    def __repr__(self) -> str:
        return f"{self.summary()}\n{super().__repr__()}"

    def _repr_html_(self) -> str | None:
        table = super()._repr_html_()
        if table is None:  # pandas' display.notebook_repr_html is off: the text repr is used
            return None
        return f"<p><code>{html.escape(self.summary())}</code></p>\n{table}"

    def check_strictly_increasing(self) -> None:
        """Raise PricesNotStrictlyIncreasing if a timestamp repeats or goes backwards."""
        check_index_strictly_increasing(as_utc_index(self.index, "futuresContractPrices"), "futuresContractPrices")

    # -- merging ---------------------------------------------------------------------------------

    def merge_with(self, new_prices: pd.DataFrame, keep_older: bool = True) -> futuresContractPrices:
        """Union of both, one row per timestamp, in order; neither input is modified.

        Where both have a row for the same timestamp the existing row is kept (as pysystemtrade
        and the price stores do); `keep_older=False` lets the new row win instead, e.g. to
        replace a partial bar downloaded during its session.
        """
        new = new_prices if isinstance(new_prices, futuresContractPrices) else futuresContractPrices(new_prices)
        frequency = merged_frequency(self.frequency, new.frequency, len(self) == 0, len(new) == 0, "merge_with")
        if keep_older:
            old_part, new_part = pd.DataFrame(self), pd.DataFrame(new[~new.index.isin(self.index)])
        else:
            old_part, new_part = pd.DataFrame(self[~self.index.isin(new.index)]), pd.DataFrame(new)
        parts = [part for part in (old_part, new_part) if len(part)]
        contract = self.contract if self.contract is not None else getattr(new, "contract", None)
        if not parts:
            return futuresContractPrices.create_empty(frequency, contract)
        merged = pd.concat(parts).sort_index(kind="stable")
        return futuresContractPrices(merged, frequency=frequency, contract=contract)

    def add_rows_to_existing_data(self, new_prices: pd.DataFrame) -> futuresContractPrices:
        """Append only the new rows later than the last existing row (pysystemtrade's default)."""
        new = new_prices if isinstance(new_prices, futuresContractPrices) else futuresContractPrices(new_prices)
        if len(self):
            new = new[new.index > self.index[-1]]
        return self.merge_with(new)

    def merge_with_other_prices(
        self, new_prices: pd.DataFrame, only_add_rows: bool = True, keep_older: bool = True
    ) -> futuresContractPrices:
        """pysystemtrade's entry point (without its spike check)."""
        if only_add_rows:
            return self.add_rows_to_existing_data(new_prices)
        return self.merge_with(new_prices, keep_older=keep_older)
