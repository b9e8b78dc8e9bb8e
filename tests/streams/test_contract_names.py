"""Contract names: IB local symbols and contract keys to futuresContract, and back."""

from __future__ import annotations

import datetime as dt

import pytest

from sysbrokers.IB.contract_names import (
    AmbiguousContractName,
    ContractNameError,
    contract_from_name,
    instrument_code_for,
    local_symbol_for,
    parse_local_symbol,
)
from sysbrokers.IB.ib_instrument_config import FuturesConfig, load_futures_config
from syscore.exceptions import missingContract
from sysobjects.contracts import futuresContract

IN_2025 = dt.datetime(2025, 3, 4, 15, tzinfo=dt.UTC)
IN_2026 = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ESM5", futuresContract("SP500", "202506")),
        ("NQZ4", futuresContract("NASDAQ", "202412")),
        ("ZN   JUN 25", futuresContract("US10", "202506")),
        ("FGBL DEC 19", futuresContract("BUND", "201912")),
        ("MESH5", futuresContract("SP500_micro", "202503")),
        ("6EZ5", futuresContract("EUR", "202512")),  # the trading class, not the IB symbol EUR
        ("SR3Z4", futuresContract("SOFR", "202412")),  # a class ending in a digit
        ("ESZ24", futuresContract("SP500", "202412")),  # a two-digit year
        ("esm5", futuresContract("SP500", "202506")),
        (" ZN   JUN 25 ", futuresContract("US10", "202506")),
        ("SP500/202506", futuresContract("SP500", "202506")),
        ("SP500/20250600", futuresContract("SP500", "202506")),
        ("SP500 202506", futuresContract("SP500", "202506")),
        ("SP500_20250600", futuresContract("SP500", "202506")),
        ("SP500_micro_202506", futuresContract("SP500_micro", "202506")),
        ("ES 202506", futuresContract("SP500", "202506")),  # the IB symbol in the key form
    ],
)
def test_names_resolve_to_contracts(name, expected):
    contract = contract_from_name(name, now=IN_2025)
    assert contract == expected
    assert contract.key == expected.key


def test_single_digit_years_take_the_window_around_now():
    # [now.year - 2, now.year + 7]: expired two years back at most, listed seven years ahead at most.
    assert parse_local_symbol("ESM5", IN_2026) == ("ES", 2025, 6)
    assert parse_local_symbol("ESM4", IN_2026) == ("ES", 2024, 6)  # two years back
    assert parse_local_symbol("ESM3", IN_2026) == ("ES", 2033, 6)  # seven years ahead
    assert parse_local_symbol("ESZ6", IN_2026) == ("ES", 2026, 12)
    assert parse_local_symbol("ESH0", dt.datetime(2029, 6, 1, tzinfo=dt.UTC)) == ("ES", 2030, 3)
    assert parse_local_symbol("ESH9", dt.datetime(2030, 6, 1, tzinfo=dt.UTC)) == ("ES", 2029, 3)
    # two digits: the century that puts the year nearest to now
    assert parse_local_symbol("ZN   JUN 25", IN_2026) == ("ZN", 2025, 6)
    assert parse_local_symbol("ZN   JUN 40", IN_2026) == ("ZN", 2040, 6)
    assert parse_local_symbol("ZN   JUN 99", IN_2026) == ("ZN", 1999, 6)
    assert parse_local_symbol("ZN   JUN 05", dt.datetime(2098, 1, 1, tzinfo=dt.UTC)) == ("ZN", 2105, 6)


@pytest.mark.parametrize(
    "name",
    ["", "   ", "ES", "ESM", "XXM5", "ES-M5", "ZN JUNE 25", "FOO/202506", "SP500/2025", "SP500/202513", "ESA5"],
)
def test_bad_names_raise_a_typed_error_naming_the_input(name):
    with pytest.raises(ContractNameError) as raised:
        contract_from_name(name, now=IN_2025)
    assert repr(name) in str(raised.value)
    assert raised.value.name == name
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, missingContract)


def test_a_prefix_of_several_instruments_is_ambiguous():
    shipped = load_futures_config()
    twin = shipped.instruments["SP500"].__class__(
        shipped.instruments["SP500"].instrument.__class__("SP500_TWIN"), shipped.instruments["SP500"].ib_data
    )
    config = FuturesConfig({**shipped.instruments, "SP500_TWIN": twin}, {}, shipped.files)
    with pytest.raises(AmbiguousContractName, match="SP500, SP500_TWIN"):
        contract_from_name("ESM5", config, now=IN_2025)
    assert contract_from_name("NQZ4", config, now=IN_2025) == futuresContract("NASDAQ", "202412")


def test_instrument_codes_from_symbols_and_classes():
    assert instrument_code_for("NASDAQ") == "NASDAQ"
    assert instrument_code_for("NQ") == "NASDAQ"
    assert instrument_code_for("6E") == "EUR"
    assert instrument_code_for("SR3") == "SOFR"
    with pytest.raises(ContractNameError, match="'NOPE'"):
        instrument_code_for("NOPE")


def test_local_symbols_of_contracts():
    assert local_symbol_for(futuresContract("NASDAQ", "202412")) == "NQZ4"
    assert local_symbol_for(futuresContract("EUR", "202512")) == "6EZ5"
    assert local_symbol_for(futuresContract("US10", "202506"), style="month") == "ZN   JUN 25"
    assert local_symbol_for(futuresContract("BUND", "201912"), style="month") == "FGBL DEC 19"
    for name in ("ESM5", "NQZ4", "SR3Z4", "6EH5"):  # round trip
        assert local_symbol_for(contract_from_name(name, now=IN_2025)) == name
    with pytest.raises(ValueError, match="style"):
        local_symbol_for(futuresContract("SP500", "202506"), style="weekly")


def test_futures_contract_from_local_symbol():
    assert futuresContract.from_local_symbol("NQZ4") == contract_from_name("NQZ4")
    assert futuresContract.from_local_symbol("ZN   JUN 25").instrument_code == "US10"
    with pytest.raises(ContractNameError):
        futuresContract.from_local_symbol("not a symbol")
