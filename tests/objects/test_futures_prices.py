"""futuresContractPrices: columns, UTC index, bars from ib_async, merging, ordering."""

import datetime as dt
import zoneinfo

import numpy as np
import pandas as pd
import pytest
from ib_async import BarData, util

from sysobjects.exceptions import (
    InvalidPriceData,
    PriceColumnsError,
    PriceFrequencyMismatch,
    PriceIndexError,
    PricesNotStrictlyIncreasing,
)
from sysobjects.futures_per_contract_prices import PRICE_DATA_COLUMNS, Frequency, futuresContractPrices

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def frame(times, finals, tz="UTC"):
    index = pd.DatetimeIndex(pd.to_datetime(times))
    if tz is not None:
        index = index.tz_localize(tz)
    finals = np.asarray(finals, dtype=float)
    return pd.DataFrame(
        {"OPEN": finals - 1, "HIGH": finals + 1, "LOW": finals - 2, "FINAL": finals, "VOLUME": np.arange(len(finals))},
        index=index,
    )


def daily_bar(day, close, volume=100.0):
    return BarData(date=day, open=close - 1, high=close + 1, low=close - 2, close=close, volume=volume)


def test_columns_and_dtypes():
    prices = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]))
    assert list(prices.columns) == list(PRICE_DATA_COLUMNS) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    assert all(dtype == np.float64 for dtype in prices.dtypes)
    assert str(prices.index.tz) == "UTC"


def test_columns_in_another_order_are_reordered():
    data = frame(["2025-03-03"], [10])[["VOLUME", "FINAL", "LOW", "HIGH", "OPEN"]]
    assert list(futuresContractPrices(data).columns) == list(PRICE_DATA_COLUMNS)


@pytest.mark.parametrize(
    ("columns", "needle"),
    [
        (["OPEN", "HIGH", "LOW", "FINAL"], "missing ['VOLUME']"),
        (["OPEN", "HIGH", "LOW", "FINAL", "VOLUME", "WAP"], "unexpected ['WAP']"),
        (["OPEN", "HIGH", "LOW", "CLOSE", "VOLUME"], "missing ['FINAL']"),
    ],
)
def test_wrong_columns_are_refused(columns, needle):
    data = frame(["2025-03-03"], [10]).rename(columns={"FINAL": "CLOSE"} if "CLOSE" in columns else {})
    data = data.reindex(columns=columns)
    with pytest.raises(PriceColumnsError) as info:
        futuresContractPrices(data)
    assert needle in str(info.value)


def test_non_numeric_column_is_refused():
    data = frame(["2025-03-03"], [10]).astype(object)
    data.loc[data.index[0], "HIGH"] = "eleven"
    with pytest.raises(PriceColumnsError, match="HIGH"):
        futuresContractPrices(data)


def test_naive_index_is_refused():
    with pytest.raises(PriceIndexError, match="naive"):
        futuresContractPrices(frame(["2025-03-03"], [10], tz=None))


def test_non_utc_index_is_refused():
    with pytest.raises(PriceIndexError, match="America/Chicago"):
        futuresContractPrices(frame(["2025-03-03"], [10], tz="America/Chicago"))


def test_non_datetime_index_is_refused():
    data = frame(["2025-03-03"], [10]).reset_index(drop=True)
    with pytest.raises(PriceIndexError, match="DatetimeIndex"):
        futuresContractPrices(data)


def test_other_utc_spellings_are_normalised():
    data = frame(["2025-03-03"], [10], tz=None)
    data.index = data.index.tz_localize(dt.UTC)
    prices = futuresContractPrices(data)
    assert str(prices.index.tz) == "UTC"


@pytest.mark.parametrize("times", [["2025-03-04", "2025-03-03"], ["2025-03-03", "2025-03-03"]])
def test_index_must_be_strictly_increasing(times):
    with pytest.raises(PricesNotStrictlyIncreasing) as info:
        futuresContractPrices(frame(times, [10, 11]))
    assert info.value.position == 1


def test_check_strictly_increasing_catches_later_mutation():
    prices = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]))
    prices.check_strictly_increasing()
    prices.index = prices.index[::-1]
    with pytest.raises(PricesNotStrictlyIncreasing):
        prices.check_strictly_increasing()


def test_empty():
    empty = futuresContractPrices.create_empty()
    assert empty.empty
    assert list(empty.columns) == list(PRICE_DATA_COLUMNS)
    assert isinstance(empty.index, pd.DatetimeIndex) and str(empty.index.tz) == "UTC"
    assert futuresContractPrices().empty
    assert futuresContractPrices(pd.DataFrame(columns=list(PRICE_DATA_COLUMNS))).empty


def test_daily_bars_are_midnight_utc_of_the_trade_date():
    bars = [daily_bar(dt.date(2025, 3, 3), 10), daily_bar(dt.date(2025, 3, 4), 11)]
    prices = futuresContractPrices.from_ib_bars(bars)
    assert list(prices.index) == [pd.Timestamp("2025-03-03", tz="UTC"), pd.Timestamp("2025-03-04", tz="UTC")]
    assert prices.frequency == Frequency.Day
    assert prices.is_daily and not prices.is_intraday
    assert prices["FINAL"].tolist() == [10.0, 11.0]
    assert prices.loc["2025-03-04", "OPEN"] == 10.0


def test_intraday_bars_are_converted_to_utc_and_frequency_inferred():
    bars = [
        BarData(date=dt.datetime(2025, 3, 3, 8, 30, tzinfo=CHICAGO), open=1, high=2, low=0.5, close=1.5, volume=5),
        BarData(date=dt.datetime(2025, 3, 3, 9, 30, tzinfo=CHICAGO), open=1, high=2, low=0.5, close=1.6, volume=6),
    ]
    prices = futuresContractPrices.from_ib_bars(bars)
    assert prices.index[0] == pd.Timestamp("2025-03-03 14:30", tz="UTC")
    assert prices.frequency == Frequency.Hour
    assert prices.is_intraday


def test_intraday_bar_at_midnight_utc_is_still_distinguishable_from_daily():
    midnight = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
    intraday = futuresContractPrices.from_ib_bars(
        [BarData(date=midnight, open=1, high=1, low=1, close=1, volume=1)], frequency="H"
    )
    daily = futuresContractPrices.from_ib_bars([daily_bar(dt.date(2025, 3, 4), 1)])
    assert intraday.index.equals(daily.index)
    assert intraday.frequency == Frequency.Hour and daily.frequency == Frequency.Day
    with pytest.raises(PriceFrequencyMismatch):
        daily.merge_with(intraday)


def test_naive_intraday_bars_are_refused():
    bars = [BarData(date=dt.datetime(2025, 3, 3, 14, 30), open=1, high=1, low=1, close=1, volume=1)]
    with pytest.raises(PriceIndexError, match="formatDate=2"):
        futuresContractPrices.from_ib_bars(bars)


def test_mixed_daily_and_intraday_bars_are_refused():
    bars = [daily_bar(dt.date(2025, 3, 3), 1), BarData(date=dt.datetime(2025, 3, 4, tzinfo=dt.UTC), close=1)]
    with pytest.raises(PriceIndexError, match="mix"):
        futuresContractPrices.from_ib_bars(bars)


def test_frequency_contradicting_the_bars_is_refused():
    with pytest.raises(PriceFrequencyMismatch):
        futuresContractPrices.from_ib_bars([daily_bar(dt.date(2025, 3, 3), 1)], frequency=Frequency.Hour)


def test_negative_ib_volume_becomes_nan_and_util_df_is_accepted():
    bars = [daily_bar(dt.date(2025, 3, 3), 1, volume=-1), daily_bar(dt.date(2025, 3, 4), 2, volume=7)]
    prices = futuresContractPrices.from_ib_bars(util.df(bars))
    assert np.isnan(prices["VOLUME"].iloc[0])
    assert prices["VOLUME"].iloc[1] == 7.0


def test_no_bars_gives_empty_prices():
    prices = futuresContractPrices.from_ib_bars([])
    assert prices.empty and str(prices.index.tz) == "UTC"


def test_merge_keeps_existing_rows_by_default_and_has_no_duplicates():
    old = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]), frequency="D")
    new = futuresContractPrices(frame(["2025-03-02", "2025-03-04", "2025-03-05"], [9, 21, 22]), frequency="D")
    merged = old.merge_with(new)
    assert merged.index.is_unique and merged.index.is_monotonic_increasing
    assert merged["FINAL"].tolist() == [9.0, 10.0, 11.0, 22.0]
    assert merged.frequency == Frequency.Day
    assert old["FINAL"].tolist() == [10.0, 11.0]  # inputs untouched
    assert new["FINAL"].tolist() == [9.0, 21.0, 22.0]


def test_merge_new_data_wins_when_asked():
    old = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]))
    new = futuresContractPrices(frame(["2025-03-04", "2025-03-05"], [21, 22]))
    assert old.merge_with(new, keep_older=False)["FINAL"].tolist() == [10.0, 21.0, 22.0]


def test_add_rows_only_appends_later_rows():
    old = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]))
    new = futuresContractPrices(frame(["2025-03-02", "2025-03-04", "2025-03-05"], [9, 21, 22]))
    assert old.add_rows_to_existing_data(new)["FINAL"].tolist() == [10.0, 11.0, 22.0]
    assert old.merge_with_other_prices(new)["FINAL"].tolist() == [10.0, 11.0, 22.0]
    assert old.merge_with_other_prices(new, only_add_rows=False)["FINAL"].tolist() == [9.0, 10.0, 11.0, 22.0]


def test_merge_with_empty_and_plain_frames():
    old = futuresContractPrices(frame(["2025-03-03"], [10]), frequency="D")
    assert old.merge_with(futuresContractPrices.create_empty()).equals(old)
    merged = futuresContractPrices.create_empty().merge_with(old)
    assert merged.frequency == Frequency.Day and merged["FINAL"].tolist() == [10.0]
    assert old.merge_with(frame(["2025-03-04"], [12]))["FINAL"].tolist() == [10.0, 12.0]
    with pytest.raises(PriceIndexError):
        old.merge_with(frame(["2025-03-04"], [12], tz=None))


def test_final_prices():
    prices = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]))
    finals = prices.final_prices()
    assert type(finals) is pd.Series and finals.name == "FINAL"
    assert finals.tolist() == [10.0, 11.0]
    finals.iloc[0] = 99.0
    assert prices["FINAL"].iloc[0] == 10.0
    assert prices.return_final_prices().tolist() == [10.0, 11.0]


def test_create_from_final_prices_only():
    series = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2025-03-03", "2025-03-04"], tz="UTC"))
    prices = futuresContractPrices.create_from_final_prices_only(series)
    assert prices["FINAL"].tolist() == [1.0, 2.0]
    assert prices["OPEN"].isna().all()


def test_pandas_results_keep_the_type_only_when_still_valid():
    prices = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]), frequency="D")
    subset = prices[prices["FINAL"] > 10]
    assert isinstance(subset, futuresContractPrices) and subset.frequency == Frequency.Day
    assert isinstance(prices.tail(1), futuresContractPrices)
    assert type(prices[["OPEN"]]) is pd.DataFrame
    assert type(prices.iloc[::-1]) is pd.DataFrame
    assert type(pd.concat([prices, prices])) is pd.DataFrame
    assert type(prices.reset_index()) is pd.DataFrame
    assert isinstance(prices.copy(), futuresContractPrices) and prices.copy().frequency == Frequency.Day
    assert isinstance(prices.dropna(), futuresContractPrices) and prices.shift().frequency == Frequency.Day


def test_pandas_results_are_never_converted():
    prices = futuresContractPrices(frame(["2025-03-03", "2025-03-04"], [10, 11]))
    missing = prices.isna()
    assert type(missing) is pd.DataFrame and all(pd.api.types.is_bool_dtype(d) for d in missing.dtypes)
    assert type(prices > 10) is pd.DataFrame
    assert prices.dropna().equals(prices)  # needs notna(): booleans must stay booleans
    assert type(prices.astype(int)) is pd.DataFrame


def test_errors_are_value_errors():
    assert issubclass(PriceIndexError, InvalidPriceData) and issubclass(InvalidPriceData, ValueError)
