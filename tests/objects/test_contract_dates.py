"""contractDate and expiryDate: accepted forms, impossible dates, ordering, expiry metadata."""

import datetime as dt

import pytest

from sysobjects.contract_dates import (
    contract_month_from_number,
    contractDate,
    expiryDate,
    month_from_contract_letter,
)
from sysobjects.exceptions import InvalidContractDate, InvalidExpiryDate


def test_month_form_is_stored_with_trailing_zeros():
    date = contractDate("201203")
    assert date.date_str == "20120300"
    assert date.key == "20120300"
    assert date.short_date_str == "201203"
    assert (date.year(), date.month(), date.day()) == (2012, 3, 0)
    assert not date.is_day_defined()
    assert date.only_has_month
    assert date.letter_month() == "H"
    assert date.as_date() == dt.date(2012, 3, 1)


def test_day_form():
    date = contractDate("20120315")
    assert date.date_str == "20120315"
    assert date.short_date_str == "20120315"
    assert date.is_day_defined()
    assert date.day() == 15
    assert date.as_date() == dt.date(2012, 3, 15)
    assert date.yyyymm == "201203"


def test_yyyymm00_is_the_month_form():
    assert contractDate("20120300") == contractDate("201203")
    assert not contractDate("20120300").is_day_defined()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("201213", "month 13"),
        ("201200", "month 00"),
        ("2012AB", "6 digits"),
        ("20120230", "day 30 does not exist"),
        ("20130229", "day 29 does not exist"),
        ("20120431", "day 31 does not exist"),
        ("", "empty"),
        ("   ", "empty"),
        ("2012031", "6 digits"),
        ("201203150", "6 digits"),
        ("201203_", "spread"),  # a spread needs two leg dates
        (201203, "expected a string"),
        (None, "expected a string"),
        ("180001", "year 1800"),
    ],
)
def test_impossible_dates_raise_a_typed_error_naming_the_value(value, reason):
    with pytest.raises(InvalidContractDate) as info:
        contractDate(value)
    assert repr(value) in str(info.value)
    assert reason in str(info.value)
    assert info.value.value == value


def test_invalid_contract_date_is_a_value_error():
    with pytest.raises(ValueError):
        contractDate("2012AB")


def test_leap_day_is_accepted():
    assert contractDate("20120229").day() == 29


def test_ordering_and_equality_ignore_the_expiry():
    month = contractDate("201203", expiry_date="20120319")
    same_month = contractDate("201203")
    assert month == same_month
    assert hash(month) == hash(same_month)
    assert contractDate("201203") < contractDate("20120301") < contractDate("201204")
    assert sorted([contractDate("201206"), contractDate("201112"), contractDate("201203")]) == [
        contractDate("201112"),
        contractDate("201203"),
        contractDate("201206"),
    ]
    assert contractDate("201203") != contractDate("20120315")
    assert contractDate("201203") != "20120300"


def test_expiry_is_unknown_until_set():
    date = contractDate("201203")
    assert date.expiry_date is None
    date.update_expiry_date("20120319")
    assert date.expiry_date == expiryDate(2012, 3, 19)
    assert isinstance(date.expiry_date, expiryDate)
    date.update_expiry_date(dt.date(2012, 3, 20))
    assert date.expiry_date.as_str() == "20120320"
    date.update_expiry_date(None)
    assert date.expiry_date is None


def test_expiry_refuses_a_datetime():
    with pytest.raises(InvalidExpiryDate):
        contractDate("201203", expiry_date=dt.datetime(2012, 3, 19, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    "text",
    ["20250915", "20250915 10:00:00 GB", "20250915 14:30 US/Eastern", " 20250915 "],
)
def test_expiry_from_ib_strings(text):
    assert expiryDate.from_str(text) == dt.date(2025, 9, 15)


@pytest.mark.parametrize("text", ["2025091", "20251315", "20250931", "202509", "", "2025-09-15", "20250915X"])
def test_bad_expiry_strings(text):
    with pytest.raises(InvalidExpiryDate) as info:
        expiryDate.from_str(text)
    assert repr(text) in str(info.value)


def test_storage_round_trip():
    date = contractDate("201203", expiry_date="20120319")
    stored = date.as_dict()
    assert stored == {"contract_date": "201203", "expiry_date": (2012, 3, 19)}
    again = contractDate.create_from_dict(stored)
    assert again == date
    assert again.expiry_date == date.expiry_date
    assert contractDate.create_from_dict({"contract_date": "20120315", "expiry_date": None}).expiry_date is None


def test_copy_constructor_keeps_the_expiry():
    original = contractDate("201203", expiry_date="20120319")
    copy = contractDate(original)
    assert copy == original and copy.expiry_date == original.expiry_date
    copy.update_expiry_date("20120320")
    assert original.expiry_date.as_str() == "20120319"


def test_month_letters():
    assert [contract_month_from_number(m) for m in range(1, 13)] == list("FGHJKMNQUVXZ")
    assert month_from_contract_letter("z") == 12
    with pytest.raises(ValueError):
        month_from_contract_letter("A")
    with pytest.raises(ValueError):
        contract_month_from_number(13)
