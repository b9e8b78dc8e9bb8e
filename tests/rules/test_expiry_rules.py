"""The expiry rule language and the configured rules against real, quoted expiries."""

import datetime as dt
import time

import pytest

from sysobjects import expiry_rules as er
from sysobjects.expiry_rules import ExpiryRule, parse_rule
from sysobjects.front_month import load_instrument_rules
from sysobjects.roll_cycles import ContractMonth

D = dt.date
UTC = dt.UTC


@pytest.fixture(scope="module")
def rules():
    return load_instrument_rules()


def ltd(rules, code, month):
    return rules[code].last_trade_date(month)


# Dates quoted in shared/reference/futures-specs.csv and the sources it cites.
@pytest.mark.parametrize(
    "code, month, expected",
    [
        ("SP500", "202606", D(2026, 6, 18)),  # Juneteenth Friday
        ("NASDAQ", "202606", D(2026, 6, 18)),  # NQM6
        ("SP500_micro", "202606", D(2026, 6, 18)),
        ("SOFR", "202412", D(2025, 3, 18)),  # SR3 Dec-24
        ("EUR", "202502", D(2025, 2, 14)),  # 6E Feb-2025, Presidents' Day (Lean #8522)
        ("CRUDE_W", "202212", D(2022, 11, 21)),  # CLZ2 ContractDetails (nautilus)
        ("EUROSTX", "202403", D(2024, 3, 15)),  # nautilus test_parsing 20240315
        ("VIX", "202203", D(2022, 3, 15)),  # 3rd Friday of April 2022 was Good Friday
    ],
)
def test_quoted_expiries(rules, code, month, expected):
    assert ltd(rules, code, month) == expected


# lastTradeDate of every DC contract in a recorded IB Gateway reqContractDetails (pyfutures).
DC_RECORDED = {
    "202403": "20240402-17:10",
    "202404": "20240430-17:10",
    "202405": "20240604-17:10",
    "202406": "20240702-17:10",
    "202407": "20240730-17:10",
    "202408": "20240904-17:10",
    "202409": "20241001-17:10",
    "202410": "20241029-17:10",
    "202411": "20241203-18:10",
    "202412": "20241231-18:10",
    "202501": "20250204-18:10",
    "202502": "20250304-18:10",
    "202503": "20250401-17:10",
    "202504": "20250429-17:10",
    "202505": "20250603-17:10",
    "202506": "20250701-17:10",
    "202507": "20250729-17:10",
    "202508": "20250903-17:10",
    "202509": "20250930-17:10",
    "202510": "20251104-18:10",
    "202511": "20251202-18:10",
    "202512": "20251230-18:10",
    "202601": "20260203-18:10",
    "202602": "20260303-18:10",
}

# lastTradeDate of every EBM contract in a recorded IB Gateway reqContractDetails (pyfutures).
EBM_RECORDED = {
    "202405": "20240510-16:30",
    "202409": "20240910-16:30",
    "202412": "20241210-17:30",
    "202503": "20250310-17:30",
    "202505": "20250512-16:30",
    "202509": "20250910-16:30",
    "202512": "20251210-17:30",
    "202603": "20260310-17:30",
    "202605": "20260511-16:30",
    "202609": "20260910-16:30",
    "202612": "20261210-17:30",
}


def _utc(text):
    return dt.datetime.strptime(text, "%Y%m%d-%H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize("code, recorded", [("MILK", DC_RECORDED), ("MILLWHEAT", EBM_RECORDED)])
def test_recorded_ib_expiries(rules, code, recorded):
    for month, text in recorded.items():
        assert rules[code].expiry_utc(month) == _utc(text), month


def test_usda_announcement_is_ib_real_expiration_date():
    # IB's realExpirationDate for DC is the announcement day, one business day after the LTD.
    assert er.usda_class3_announcement("CME", 2024, 8) == D(2024, 9, 5)
    assert er.usda_class3_announcement("CME", 2024, 12) == D(2025, 1, 2)
    assert er.usda_class3_announcement("CME", 2024, 7) == D(2024, 7, 31)


def test_expiry_instants_are_utc_and_zone_aware(rules):
    assert rules["SP500"].expiry_utc("202606") == dt.datetime(2026, 6, 18, 13, 30, tzinfo=UTC)
    assert rules["SP500"].expiry_utc("202612") == dt.datetime(2026, 12, 18, 14, 30, tzinfo=UTC)
    # Eurodollar: 11:00 London whatever Chicago's DST says
    assert rules["EDOLLAR"].expiry_utc("202203") == dt.datetime(2022, 3, 14, 11, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# The language


def rule(text, calendar="CME", **kw):
    return ExpiryRule.from_config(text, calendar, "America/Chicago", **kw)


@pytest.mark.parametrize(
    "text, month, expected",
    [
        ("weekday 3 TUE", "202406", D(2024, 6, 18)),
        ("weekday -1 FRI", "202405", D(2024, 5, 31)),
        ("month-2 | last_bd", "202406", D(2024, 4, 30)),
        ("month-2 | last_bd", "202405", D(2024, 3, 28)),  # Good Friday is the 29th
        ("bd 10", "202602", D(2026, 2, 13)),
        ("bd -3", "202603", D(2026, 3, 27)),
        ("day 15 | -1 bd", "202601", D(2026, 1, 14)),
        ("day 1 | -3 bd", "202607", D(2026, 6, 26)),
        ("last_day", "202402", D(2024, 2, 29)),
        ("weekday 3 WED | -2 bd@LONDON", "202106", D(2021, 6, 14)),
        ("day 25 | following", "202512", D(2025, 12, 26)),
        ("day 25 | preceding", "202512", D(2025, 12, 24)),
        ("month+1 | day 1 | -30 days", "202401", D(2024, 1, 2)),
    ],
)
def test_rule_language(text, month, expected):
    assert rule(text).last_trade_date(month) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "weekday 3 FRY",
        "weekday 0 FRI",
        "-2 bd | day 10",  # adjustment before an anchor
        "month+1",  # no anchor
        "day 10 | -2 bd@MOON",
        "day 40",
        "bd 0",
        "third friday",
    ],
)
def test_rule_errors(text):
    with pytest.raises(ValueError):
        parse_rule(text)


def test_steps_are_parsed_once_and_hashable():
    assert parse_rule("weekday 3 FRI | preceding") == (
        er.Step("weekday", 3, 4),
        er.Step("preceding"),
    )
    assert rule("day 10") == rule("day 10")
    assert len({rule("day 10"), rule("day 10")}) == 1


def test_lookback_into_the_last_open_session():
    # "day 1" lands on Saturday 2026-08-01: looked back to Friday's 13:05 CT close.
    hogs = rule("day 1", last_trade_time="12:00", sessions="08:30-13:05")
    assert hogs.last_trade_date("202608") == D(2026, 8, 1)
    assert hogs.last_trade_instant("202608") == dt.datetime(2026, 7, 31, 18, 5, tzinfo=UTC)
    # a time after the close on a business day: back to that day's close
    late = rule("day 3", last_trade_time="15:00", sessions="08:30-13:05")
    assert late.last_trade_instant("202608") == dt.datetime(2026, 8, 3, 18, 5, tzinfo=UTC)
    # inside the session: unchanged; overnight sessions open the evening before
    globex = rule("day 3", last_trade_time="08:30", sessions="17:00-16:00")
    assert globex.last_trade_instant("202608") == dt.datetime(2026, 8, 3, 13, 30, tzinfo=UTC)
    # in the break between two segments: back to the end of the first one
    grains = rule("day 3", last_trade_time="08:00", sessions="19:00-07:45, 08:30-13:20")
    assert grains.last_trade_instant("202608") == dt.datetime(2026, 8, 3, 12, 45, tzinfo=UTC)
    # on a holiday (Juneteenth 2026): back to Thursday's close
    holiday = rule("day 19", last_trade_time="08:30", sessions="17:00-16:00")
    assert holiday.last_trade_instant("202606") == dt.datetime(2026, 6, 18, 21, 0, tzinfo=UTC)
    # without sessions there is no lookback
    assert rule("day 1", last_trade_time="12:00").last_trade_instant("202608") == dt.datetime(
        2026, 8, 1, 17, 0, tzinfo=UTC
    )


def test_thousands_of_expiries_per_second(rules):
    er._last_trade_date.cache_clear()
    er._last_trade_instant.cache_clear()
    months = [ContractMonth(2001, 1).shift(i) for i in range(12 * 40)]
    started = time.perf_counter()
    count = 0
    for r in rules.values():
        for cm in months:
            r.expiry_utc(cm)
            count += 1
    elapsed = time.perf_counter() - started
    assert count == 30 * 480
    assert count / elapsed > 2000, f"{count / elapsed:.0f} expiries/s"
