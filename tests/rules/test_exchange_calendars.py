"""Holiday calendars: what the library gives us, our corrections, business-day arithmetic."""

import datetime as dt

import pytest

from sysobjects import exchange_calendars as xc

D = dt.date


@pytest.mark.parametrize(
    "day",
    [
        D(2022, 6, 20),  # Juneteenth observed (Sunday the 19th)
        D(2026, 6, 19),  # Juneteenth
        D(2027, 6, 18),  # Juneteenth observed (Saturday the 19th)
        D(2024, 3, 29),  # Good Friday
        D(2025, 4, 18),  # Good Friday
        D(2021, 12, 24),  # Christmas observed (Saturday the 25th)
        D(2022, 12, 26),  # Christmas observed (Sunday the 25th)
        D(2025, 1, 20),  # MLK
        D(2025, 2, 17),  # Presidents' Day
        D(2025, 11, 27),  # Thanksgiving
    ],
)
def test_cme_settlement_holidays(day):
    assert xc.is_holiday("CME", day)
    assert not xc.is_business_day("CME", day)


def test_cme_business_days_that_look_like_holidays():
    assert xc.is_business_day("CME", D(2021, 6, 18))  # no Juneteenth before 2022
    assert xc.is_business_day("CME", D(2021, 12, 31))  # New Year on Saturday: no closure
    assert xc.is_business_day("CME", D(2025, 11, 28))  # day after Thanksgiving: early close
    assert xc.is_business_day("CME", D(2025, 10, 13))  # Columbus Day: CME trades


def test_carter_mourning_day_cme_open_cfe_closed():
    # The library closes 2025-01-09 everywhere; CME only closed early (documented correction).
    assert D(2025, 1, 9) in xc.library_closed_weekdays("CME_Agriculture")
    assert xc.is_business_day("CME", D(2025, 1, 9))
    assert xc.is_holiday("CFE", D(2025, 1, 9))


def test_globex_calendars_treat_holidays_as_trading_days():
    # Why "CME" is not backed by CME_Equity: Globex trades (early close) on Juneteenth and MLK.
    closed = xc.library_closed_weekdays("CME_Equity")
    assert D(2026, 6, 19) not in closed
    assert D(2025, 1, 20) not in closed


def test_eurex_calendar():
    for day in (D(2024, 12, 24), D(2024, 12, 31), D(2025, 5, 1), D(2025, 4, 21)):
        assert xc.is_holiday("EUREX", day), day
    # weekend Christmas is not moved to Monday/Tuesday at Eurex
    assert xc.is_business_day("EUREX", D(2021, 12, 27))
    assert xc.is_business_day("EUREX", D(2021, 12, 28))


def test_matif_and_london_calendars():
    assert xc.is_holiday("MATIF", D(2025, 5, 1))
    assert xc.is_holiday("MATIF", D(2025, 4, 21))  # Easter Monday
    assert xc.is_business_day("MATIF", D(2025, 7, 14))  # Bastille Day: derivatives trade
    for day in (D(2022, 6, 2), D(2022, 6, 3), D(2022, 9, 19), D(2023, 5, 8)):
        assert xc.is_holiday("LONDON", day), day
    assert xc.is_business_day("LONDON", D(2026, 6, 19))


def test_holidays_of_one_year():
    cme_2026 = xc.holidays("CME", 2026)
    assert D(2026, 6, 19) in cme_2026
    assert all(d.year == 2026 and d.weekday() < 5 for d in cme_2026)
    assert len(cme_2026) == 10


def test_add_business_days():
    # across Juneteenth 2026 (Friday) and the weekend
    assert xc.add_business_days("CME", D(2026, 6, 18), 1) == D(2026, 6, 22)
    assert xc.add_business_days("CME", D(2026, 6, 22), -1) == D(2026, 6, 18)
    # from a non-business day the day itself is "day 0"
    assert xc.add_business_days("CME", D(2026, 6, 19), -1) == D(2026, 6, 18)
    assert xc.add_business_days("CME", D(2026, 6, 20), 1) == D(2026, 6, 22)
    assert xc.add_business_days("CME", D(2026, 6, 20), 0) == D(2026, 6, 20)
    assert xc.add_business_days("CME", D(2026, 6, 1), 10) == D(2026, 6, 15)


def test_roll_and_month_helpers():
    assert xc.roll_back("CME", D(2026, 6, 19)) == D(2026, 6, 18)
    assert xc.roll_forward("CME", D(2026, 6, 19)) == D(2026, 6, 22)
    assert xc.roll_forward("CME", D(2026, 6, 18)) == D(2026, 6, 18)
    assert xc.last_business_day("CME", 2024, 3) == D(2024, 3, 28)  # Good Friday the 29th
    assert xc.nth_business_day("CME", 2025, 1, 1) == D(2025, 1, 2)
    assert xc.nth_business_day("CME", 2025, 1, -1) == D(2025, 1, 31)
    assert xc.business_days_between("CME", D(2026, 6, 17), D(2026, 6, 22)) == 2
    with pytest.raises(ValueError):
        xc.nth_business_day("CME", 2025, 1, 30)


def test_errors():
    with pytest.raises(ValueError, match="unknown calendar"):
        xc.is_business_day("NOPE", D(2025, 1, 2))
    with pytest.raises(ValueError, match="outside the calendar range"):
        xc.is_business_day("CME", D(1999, 12, 31))
    with pytest.raises(ValueError):
        xc.add_business_days("CME", D(2045, 12, 29), 5)
