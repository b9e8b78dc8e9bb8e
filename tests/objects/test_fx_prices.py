"""fxPrices: UTC index, positive rates, bars from ib_async, inversion and merging."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from ib_async import BarData

from sysobjects.exceptions import InvalidPriceData, PriceColumnsError, PriceIndexError, PricesNotStrictlyIncreasing
from sysobjects.spot_fx_prices import fxPrices, get_fx_tuple_from_code


def rates(days, values, tz="UTC"):
    index = pd.DatetimeIndex(pd.to_datetime(days))
    return pd.Series(values, index=index if tz is None else index.tz_localize(tz), dtype=float)


def test_valid_rates():
    fx = fxPrices(rates(["2025-03-03", "2025-03-04"], [1.27, 1.28]))
    assert isinstance(fx, pd.Series)
    assert str(fx.index.tz) == "UTC"
    assert fx.tolist() == [1.27, 1.28]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (rates(["2025-03-03"], [1.2], tz=None), PriceIndexError),
        (rates(["2025-03-03"], [1.2], tz="Europe/London"), PriceIndexError),
        (rates(["2025-03-04", "2025-03-03"], [1.2, 1.3]), PricesNotStrictlyIncreasing),
        (rates(["2025-03-03"], [0.0]), InvalidPriceData),
        (rates(["2025-03-03"], [-1.0]), InvalidPriceData),
        (pd.DataFrame({"a": [1.0]}), PriceColumnsError),
    ],
)
def test_invalid_rates_are_refused(data, error):
    with pytest.raises(error):
        fxPrices(data)


def test_missing_day_is_allowed():
    fx = fxPrices(rates(["2025-03-03", "2025-03-04"], [1.2, np.nan]))
    assert np.isnan(fx.iloc[1])


def test_from_ib_bars_daily_and_inverted():
    bars = [BarData(date=dt.date(2025, 3, 3), close=150.0), BarData(date=dt.date(2025, 3, 4), close=125.0)]
    usdjpy = fxPrices.from_ib_bars(bars)
    assert list(usdjpy.index) == [pd.Timestamp("2025-03-03", tz="UTC"), pd.Timestamp("2025-03-04", tz="UTC")]
    jpyusd = fxPrices.from_ib_bars(bars, invert=True)
    assert jpyusd.tolist() == pytest.approx([1 / 150.0, 1 / 125.0])
    assert usdjpy.inverted().tolist() == pytest.approx(jpyusd.tolist())
    assert fxPrices.from_ib_bars([]).empty


def test_merge_and_add_rows():
    old = fxPrices(rates(["2025-03-03", "2025-03-04"], [1.0, 1.1]))
    new = fxPrices(rates(["2025-03-02", "2025-03-04", "2025-03-05"], [0.9, 2.1, 2.2]))
    assert old.merge_with(new).tolist() == [0.9, 1.0, 1.1, 2.2]
    assert old.merge_with(new, keep_older=False).tolist() == [0.9, 1.0, 2.1, 2.2]
    assert old.add_rows_to_existing_data(new).tolist() == [1.0, 1.1, 2.2]
    assert old.merge_with_other_prices(new).tolist() == [1.0, 1.1, 2.2]
    merged = old.merge_with(new)
    assert isinstance(merged, fxPrices) and merged.index.is_unique


def test_pandas_results_fall_back_when_invalid():
    fx = fxPrices(rates(["2025-03-03", "2025-03-04"], [1.0, 1.1]))
    assert isinstance(fx * 2, fxPrices)
    assert type(fx - 5) is pd.Series  # negative rates are not rates
    assert type(fx.iloc[::-1]) is pd.Series
    above = fx > 0.5
    assert type(above) is pd.Series and above.dtype == bool  # not turned into rates of 1.0


def test_empty_and_from_data_frame():
    assert fxPrices.create_empty().empty
    frame = pd.DataFrame({"price": [1.1]}, index=pd.DatetimeIndex(["2025-03-03"], tz="UTC"))
    assert fxPrices.from_data_frame(frame).tolist() == [1.1]


def test_fx_code_split():
    assert get_fx_tuple_from_code("GBPUSD") == ("GBP", "USD")
    with pytest.raises(ValueError):
        get_fx_tuple_from_code("GBPUS")
