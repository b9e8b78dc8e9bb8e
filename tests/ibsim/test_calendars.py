"""Holiday calendars, session templates and IB trading-hours strings."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ibsim import calendars as cal
from ibsim.catalog import Catalog

UTC = dt.UTC
D = dt.date


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def fut(catalog: Catalog, symbol: str):
    return catalog.product(symbol, sec_type="FUT")


# ------------------------------------------------------------------------------ holidays


@pytest.mark.parametrize(
    "year, easter",
    [
        (2015, D(2015, 4, 5)),
        (2019, D(2019, 4, 21)),
        (2024, D(2024, 3, 31)),
        (2025, D(2025, 4, 20)),
        (2035, D(2035, 3, 25)),
    ],
)
def test_easter_computus(year, easter):
    assert cal.easter_sunday(year) == easter


def test_cme_holidays_2025():
    assert cal.holidays("CME", 2025) == {
        D(2025, 1, 1),
        D(2025, 1, 20),
        D(2025, 2, 17),
        D(2025, 4, 18),
        D(2025, 5, 26),
        D(2025, 6, 19),
        D(2025, 7, 4),
        D(2025, 9, 1),
        D(2025, 11, 27),
        D(2025, 12, 25),
    }


def test_good_friday_2025_closes_us_and_european_exchanges():
    for calendar in ("CME", "CFE", "EUREX", "ICE_EU", "MATIF"):
        assert cal.is_holiday(calendar, D(2025, 4, 18)), calendar
    assert cal.is_holiday("EUREX", D(2025, 4, 21))  # Easter Monday
    assert not cal.is_holiday("CME", D(2025, 4, 21))
    assert not cal.is_holiday("FX", D(2025, 4, 18))


def test_juneteenth_from_2022_with_observance():
    assert not cal.is_holiday("CME", D(2021, 6, 18))
    assert not cal.is_holiday("CME", D(2021, 6, 21))
    assert cal.is_holiday("CME", D(2022, 6, 20))  # Sunday the 19th -> Monday
    assert cal.is_holiday("CME", D(2026, 6, 19))


def test_us_observed_dates():
    assert cal.is_holiday("CME", D(2021, 12, 24))  # Christmas on Saturday -> Friday
    assert cal.is_holiday("CME", D(2022, 12, 26))  # Christmas on Sunday -> Monday
    assert cal.is_holiday("CME", D(2023, 1, 2))  # New Year on Sunday -> Monday
    assert not cal.is_holiday("CME", D(2021, 12, 31))  # New Year on Saturday: no observance
    assert cal.is_holiday("CME", D(2026, 7, 3))  # Independence Day on Saturday -> Friday
    assert cal.is_holiday("CME", D(2021, 7, 5))


def test_european_and_fx_calendars():
    assert cal.holidays("EUREX", 2025) == {
        D(2025, 1, 1),
        D(2025, 4, 18),
        D(2025, 4, 21),
        D(2025, 5, 1),
        D(2025, 12, 24),
        D(2025, 12, 25),
        D(2025, 12, 26),
        D(2025, 12, 31),
    }
    assert D(2025, 5, 1) in cal.holidays("MATIF", 2025)
    assert D(2025, 12, 24) not in cal.holidays("MATIF", 2025)
    assert D(2025, 5, 1) not in cal.holidays("ICE_EU", 2025)
    assert cal.holidays("FX", 2025) == {D(2025, 1, 1), D(2025, 12, 25)}


@pytest.mark.parametrize("year", range(2015, 2036))
def test_holiday_sets_are_sane_every_year(year):
    cme = cal.holidays("CME", year)
    assert all(d.weekday() < 5 and d.year == year for d in cme)
    assert cal.easter_sunday(year) - dt.timedelta(days=2) in cme
    thanksgiving = [d for d in cme if d.month == 11]
    assert len(thanksgiving) == 1 and thanksgiving[0].weekday() == 3 and 22 <= thanksgiving[0].day <= 28
    assert 8 <= len(cme) <= 11
    assert {d.weekday() for d in cal.holidays("EUREX", year) if d.month in (3, 4)} <= {
        0,
        4,
    }


def test_business_day_arithmetic():
    assert not cal.is_business_day("CME", D(2025, 4, 18))  # Good Friday
    assert not cal.is_business_day("CME", D(2025, 4, 19))  # Saturday
    assert cal.add_business_days("CME", D(2025, 4, 17), 1) == D(2025, 4, 21)
    assert cal.add_business_days("CME", D(2025, 4, 21), -1) == D(2025, 4, 17)
    assert cal.add_business_days("CME", D(2025, 4, 19), 0) == D(2025, 4, 19)
    assert cal.add_business_days("EUREX", D(2025, 4, 17), 1) == D(2025, 4, 22)
    assert cal.roll_back("CME", D(2025, 4, 20)) == D(2025, 4, 17)
    assert cal.roll_forward("CME", D(2025, 4, 18)) == D(2025, 4, 21)
    assert cal.last_business_day("CME", 2024, 3) == D(2024, 3, 28)


def test_unknown_calendar_is_rejected():
    with pytest.raises(ValueError, match="unknown holiday calendar"):
        cal.is_holiday("NOPE", D(2025, 1, 2))


# ------------------------------------------------------------------------------ sessions


def test_cme_session_utc_across_us_dst_change(catalog):
    es = fut(catalog, "ES")
    friday = cal.session_for_date(es, D(2025, 3, 7))  # CST, UTC-6
    assert friday.segments == ((utc(2025, 3, 6, 23), utc(2025, 3, 7, 22)),)
    assert friday.rth == ((utc(2025, 3, 7, 14, 30), utc(2025, 3, 7, 22)),)
    monday = cal.session_for_date(es, D(2025, 3, 10))  # opens Sunday 17:00 CDT, UTC-5
    assert monday.segments == ((utc(2025, 3, 9, 22), utc(2025, 3, 10, 21)),)
    assert cal.session_for_date(es, D(2025, 3, 8)) is None


def test_eurex_session_utc_across_european_dst_change(catalog):
    bund = fut(catalog, "GBL")
    before = cal.session_for_date(bund, D(2025, 3, 28))
    after = cal.session_for_date(bund, D(2025, 3, 31))
    assert before.segments == ((utc(2025, 3, 28, 0, 10), utc(2025, 3, 28, 21)),)
    assert after.segments == ((utc(2025, 3, 30, 23, 10), utc(2025, 3, 31, 20)),)


def test_holiday_trade_date_has_no_session(catalog):
    es = fut(catalog, "ES")
    week = cal.sessions(es, utc(2025, 4, 14), utc(2025, 4, 22))
    assert [s.trade_date for s in week] == [
        D(2025, 4, 14),
        D(2025, 4, 15),
        D(2025, 4, 16),
        D(2025, 4, 17),
        D(2025, 4, 21),
        D(2025, 4, 22),
    ]
    assert not cal.is_open(es, utc(2025, 4, 18, 15))


def test_sessions_interval_is_half_open(catalog):
    es = fut(catalog, "ES")
    start = utc(2025, 3, 4, 23)  # Wednesday's session opens at 17:00 CST
    assert [s.trade_date for s in cal.sessions(es, utc(2025, 3, 4, 22), start)] == []
    assert [s.trade_date for s in cal.sessions(es, utc(2025, 3, 4, 21, 59), start)] == [D(2025, 3, 4)]


def test_grain_sessions_have_a_break(catalog):
    corn = fut(catalog, "ZC")
    session = cal.session_for_date(corn, D(2025, 3, 4))
    assert session.segments == (
        (utc(2025, 3, 4, 1), utc(2025, 3, 4, 13, 45)),
        (utc(2025, 3, 4, 14, 30), utc(2025, 3, 4, 19, 20)),
    )
    assert session.rth == ((utc(2025, 3, 4, 14, 30), utc(2025, 3, 4, 19, 20)),)
    assert cal.session_at(corn, utc(2025, 3, 4, 14)) is None  # 08:00 CT break
    assert cal.session_at(corn, utc(2025, 3, 4, 15)).trade_date == D(2025, 3, 4)
    assert cal.next_open(corn, utc(2025, 3, 4, 14)) == utc(2025, 3, 4, 14, 30)


def test_session_at_next_open_previous_session(catalog):
    es = fut(catalog, "ES")
    saturday = utc(2025, 3, 8, 15)
    assert cal.session_at(es, saturday) is None
    assert not cal.is_open(es, saturday)
    assert cal.next_open(es, saturday) == utc(2025, 3, 9, 22)
    assert cal.previous_session(es, saturday).trade_date == D(2025, 3, 7)
    tuesday = utc(2025, 3, 4, 15)
    assert cal.session_at(es, tuesday).trade_date == D(2025, 3, 4)
    assert cal.previous_session(es, tuesday).trade_date == D(2025, 3, 3)
    assert cal.is_open(es, utc(2025, 3, 4, 23, 30))  # evening belongs to Wednesday's session
    assert cal.session_at(es, utc(2025, 3, 4, 23, 30)).trade_date == D(2025, 3, 5)
    assert not cal.is_open(es, utc(2025, 3, 4, 22, 30))  # daily halt


def test_fx_week_runs_sunday_to_friday_new_york(catalog):
    eurusd = catalog.fx_pair("EUR", "USD")
    monday = cal.session_for_date(eurusd, D(2025, 3, 10))
    assert monday.start == utc(2025, 3, 9, 21, 15)  # 17:15 EDT
    friday = cal.session_for_date(eurusd, D(2025, 3, 7))
    assert friday.end == utc(2025, 3, 7, 22)  # 17:00 EST
    assert cal.session_for_date(eurusd, D(2025, 12, 25)) is None


def test_instrument_sessions_stop_at_expiry(catalog):
    es = fut(catalog, "ES")
    esh5 = catalog.instrument(es, 2025, 3)
    assert esh5.expiry_utc == utc(2025, 3, 21, 13, 30)
    last = cal.sessions(esh5, utc(2025, 3, 20), utc(2025, 4, 1))
    assert [s.trade_date for s in last] == [D(2025, 3, 20), D(2025, 3, 21)]
    assert last[-1].end == esh5.expiry_utc and last[-1].rth == ()
    assert cal.is_open(esh5, utc(2025, 3, 21, 13, 29))
    assert not cal.is_open(esh5, utc(2025, 3, 21, 13, 30))
    assert cal.next_open(esh5, utc(2025, 3, 21, 14)) is None
    assert cal.is_open(es, utc(2025, 3, 21, 14))  # the product itself keeps trading
    assert cal.sessions(esh5, utc(2020, 1, 1), utc(2020, 2, 1)) == []  # not yet listed


# ------------------------------------------------------------------------------ IB strings

# Captured from a real IB Gateway (pyfutures recording, DA/DC, 2024-03-26 09:36:20 GMT).
REAL_DC_TRADING_HOURS = (
    "20240325:1700-20240326:1600;20240326:1700-20240327:1600;20240327:1700-20240328:1355;"
    "20240329:CLOSED;20240330:CLOSED;20240331:1700-20240401:1600"
)


def test_trading_hours_string_matches_real_gateway(catalog):
    milk = fut(catalog, "DA")
    at = utc(2024, 3, 26, 9, 36, 20)
    assert cal.trading_hours_string(milk, at) == REAL_DC_TRADING_HOURS
    liquid = cal.liquid_hours_string(milk, at).split(";")
    assert liquid[:5] == [
        "20240326:0830-20240326:1600",
        "20240327:0830-20240327:1600",
        "20240328:0830-20240328:1355",
        "20240329:CLOSED",
        "20240330:CLOSED",
    ]


def test_trading_hours_keep_local_times_across_dst(catalog):
    text = cal.trading_hours_string(fut(catalog, "ES"), utc(2025, 3, 6, 15))
    assert text == (
        "20250305:1700-20250306:1600;20250306:1700-20250307:1600;20250308:CLOSED;"
        "20250309:1700-20250310:1600;20250310:1700-20250311:1600;20250311:1700-20250312:1600"
    )


ENTRY = re.compile(r"^(\d{8}:CLOSED|\d{8}:\d{4}-\d{8}:\d{4})$")


@pytest.mark.parametrize("when", [utc(2025, 3, 4, 15), utc(2025, 4, 19, 12), utc(2024, 12, 24, 20)])
def test_hours_strings_are_well_formed_for_every_product(catalog, when):
    for product in catalog.products.values():
        for text in (
            cal.trading_hours_string(product, when),
            cal.liquid_hours_string(product, when),
        ):
            entries = text.split(";")
            assert entries and all(ENTRY.match(e) for e in entries), (
                product.symbol,
                text,
            )
            dates = [e[:8] for e in entries]
            assert dates == sorted(dates), (product.symbol, text)
