"""Spot FX rates: pysystemtrade's `fxPrices`, a pandas Series on a UTC DatetimeIndex.

Values are float64 rates, all > 0 (NaN allowed for a missing day); the index is timezone-aware
UTC and strictly increasing. Daily rates from IB are stamped midnight UTC of the trade date, as
futures daily bars are (see `sysobjects.futures_per_contract_prices`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from sysobjects.exceptions import InvalidPriceData, PriceColumnsError
from sysobjects.futures_per_contract_prices import (
    INDEX_NAME,
    as_utc_index,
    bar_rows,
    bar_timestamp,
    check_index_strictly_increasing,
    is_valid_utc_index,
)

__all__ = ["DEFAULT_CURRENCY", "fxPrices", "get_fx_tuple_from_code"]

DEFAULT_CURRENCY = "USD"  # pysystemtrade's convention: rates are quoted against the dollar


def get_fx_tuple_from_code(code: str) -> tuple[str, str]:
    """ "GBPUSD" -> ("GBP", "USD")."""
    if not isinstance(code, str) or len(code) != 6 or not code.isalpha():
        raise ValueError(f"an FX code is six letters such as 'GBPUSD', got {code!r}")
    return code[:3], code[3:]


def _validated_series(data: Any) -> pd.Series:
    what = "fxPrices"
    if isinstance(data, pd.DataFrame):
        raise PriceColumnsError(f"{what}: expected a Series of rates, got a DataFrame")
    series = data if isinstance(data, pd.Series) else pd.Series(data, dtype="float64" if data is None else None)
    index = as_utc_index(series.index, what)
    check_index_strictly_increasing(index, what)
    try:
        values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PriceColumnsError(f"{what}: rates are not numeric ({exc})") from None
    bad = np.flatnonzero(values <= 0)  # NaN compares False, so missing days pass
    if bad.size:
        position = int(bad[0])
        raise InvalidPriceData(f"{what}: rates must be > 0, got {values[position]} at {index[position]}")
    return pd.Series(values, index=index, name="")


def _fx_or_plain_series(*args: Any, **kwargs: Any) -> pd.Series:
    # results of pandas operations that are no longer valid rates as they stand (booleans of a
    # comparison, rates <= 0, rows out of order, ...) come back as plain Series, never converted
    series = pd.Series(*args, **kwargs)
    if series.dtype != np.float64 or not is_valid_utc_index(series.index):
        return series
    if bool(np.any(series.to_numpy() <= 0)):
        return series
    fx = object.__new__(fxPrices)
    pd.Series.__init__(fx, series)
    return fx


class fxPrices(pd.Series):  # noqa: N801 - pysystemtrade's public name
    """Daily (or other) FX rates of one currency pair."""

    def __init__(self, data: Any = None) -> None:
        super().__init__(_validated_series(data))

    @property
    def _constructor(self):  # type: ignore[override]
        return _fx_or_plain_series

    @property
    def _constructor_expanddim(self):  # type: ignore[override]
        return pd.DataFrame

    @classmethod
    def create_empty(cls) -> fxPrices:
        return cls(None)

    @classmethod
    def from_data_frame(cls, data_frame: pd.DataFrame) -> fxPrices:
        """From a one-column DataFrame (pysystemtrade's storage form)."""
        if data_frame.shape[1] != 1:
            raise PriceColumnsError(f"fxPrices: expected one column, got {list(data_frame.columns)}")
        return cls(data_frame.iloc[:, 0])

    @classmethod
    def from_ib_bars(cls, bars: Iterable[Any], invert: bool = False) -> fxPrices:
        """The `close` of ib_async bars (MIDPOINT for FX); `invert=True` gives 1 / close."""
        rows = bar_rows(bars)
        stamps = []
        for bar in rows:
            stamp, _ = bar_timestamp(bar.date)
            stamps.append(stamp)
        if stamps:
            index = pd.DatetimeIndex(stamps, name=INDEX_NAME)
        else:
            index = pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME)
        values = np.array([float(bar.close) for bar in rows], dtype=np.float64)
        if invert:
            with np.errstate(divide="ignore"):
                values = 1.0 / values
        return cls(pd.Series(values, index=index))

    def inverted(self) -> fxPrices:
        """1 / rate (e.g. USDJPY -> JPYUSD)."""
        return fxPrices(pd.Series(1.0 / self.to_numpy(), index=self.index))

    def check_strictly_increasing(self) -> None:
        check_index_strictly_increasing(as_utc_index(self.index, "fxPrices"), "fxPrices")

    def merge_with(self, new_prices: pd.Series, keep_older: bool = True) -> fxPrices:
        """Union of both, one value per timestamp; the existing value wins unless `keep_older=False`."""
        new = new_prices if isinstance(new_prices, fxPrices) else fxPrices(new_prices)
        if keep_older:
            parts = [pd.Series(self), pd.Series(new[~new.index.isin(self.index)])]
        else:
            parts = [pd.Series(self[~self.index.isin(new.index)]), pd.Series(new)]
        parts = [part for part in parts if len(part)]
        if not parts:
            return fxPrices.create_empty()
        return fxPrices(pd.concat(parts).sort_index(kind="stable"))

    def add_rows_to_existing_data(self, new_prices: pd.Series) -> fxPrices:
        """Append only the rates later than the last existing one (pysystemtrade's default)."""
        new = new_prices if isinstance(new_prices, fxPrices) else fxPrices(new_prices)
        if len(self):
            new = fxPrices(pd.Series(new[new.index > self.index[-1]]))
        return self.merge_with(new)

    def merge_with_other_prices(self, new_prices: pd.Series, only_add_rows: bool = True) -> fxPrices:
        """pysystemtrade's entry point (without its spike check)."""
        if only_add_rows:
            return self.add_rows_to_existing_data(new_prices)
        return self.merge_with(new_prices, keep_older=True)
