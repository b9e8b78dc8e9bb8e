"""Contract months, cycles, masks, year-range cycles and roll parameters."""

import datetime as dt

import pytest

from sysobjects.roll_cycles import (
    ContractMonth,
    CycleMask,
    RollCycle,
    RollParameters,
    YearSpec,
)

CM = ContractMonth.parse
D = dt.date


def test_contract_month_parsing_and_arithmetic():
    assert CM("202406") == ContractMonth(2024, 6)
    assert CM("20240600") == CM("20240621") == CM("2024M") == CM(D(2024, 6, 3))
    assert CM("202412").letter == "Z"
    assert CM("202412").shift(1) == CM("202501")
    assert CM("202501").shift(-13) == CM("202312")
    assert str(CM("202403")) == "202403"
    assert CM("202403") < CM("202406") < CM("202501")
    for bad in ("2024", "202413", "2024A", "abcdef"):
        with pytest.raises(ValueError):
            CM(bad)


def test_year_specs():
    assert 2024 in YearSpec("2024-") and 2023 not in YearSpec("2024-")
    assert 2019 in YearSpec("-2019") and 2020 not in YearSpec("-2019")
    assert 2021 in YearSpec("2020-2023") and 2024 not in YearSpec("2020-2023")
    assert 2021 in YearSpec("odd") and 2022 not in YearSpec("odd")
    assert 2022 in YearSpec("2022") and 2023 not in YearSpec("2022")
    union = YearSpec("2010, 2020-2021, even")
    assert {y for y in range(2009, 2024) if y in union} == {
        2010,
        2012,
        2014,
        2016,
        2018,
        2020,
        2021,
        2022,
    }
    assert 1999 in YearSpec("") and 1999 in YearSpec("all")
    for bad in ("20x4", "2025-2020", "-", "prime"):
        with pytest.raises(ValueError):
            YearSpec(bad)


def test_simple_cycle_navigation():
    cycle = RollCycle.parse("HMUZ")
    assert cycle.letters == "HMUZ"
    assert RollCycle.parse("zumh").letters == "HMUZ"
    assert RollCycle.parse("all").letters == "FGHJKMNQUVXZ"
    assert cycle.next("202412") == CM("202503")
    assert cycle.next("202411") == CM("202412")
    assert cycle.next("202412", 3) == CM("202509")
    assert cycle.previous("202503") == CM("202412")
    assert cycle.previous("202502") == CM("202412")
    assert cycle.next("202503", -1) == CM("202412")
    assert cycle.contains("202409") and not cycle.contains("202410")
    assert cycle.first_on_or_after("202410") == CM("202412")
    assert cycle.last_on_or_before("202410") == CM("202409")
    assert cycle.months_between("202405", "202506") == [
        CM("202406"),
        CM("202409"),
        CM("202412"),
        CM("202503"),
        CM("202506"),
    ]
    # dates work as month bounds too
    assert cycle.months_between(D(2024, 5, 20), D(2024, 9, 1)) == [CM("202406"), CM("202409")]
    with pytest.raises(ValueError):
        RollCycle.parse("HMUZA")
    with pytest.raises(ValueError):
        RollCycle.parse("HHMUZ")


def test_mask_skip_odd_years():
    cycle = RollCycle.parse("HMUZ", [{"months": "Z", "skip_years": "odd"}])
    assert cycle.months_in_year(2024) == (3, 6, 9, 12)
    assert cycle.months_in_year(2025) == (3, 6, 9)
    assert cycle.next("202509") == CM("202603")
    assert cycle.previous("202603") == CM("202509")
    assert cycle.next("202609") == CM("202612")


def test_mask_month_only_from_a_year():
    cycle = RollCycle.parse("HMUZ", [CycleMask("Z", only_years=YearSpec("2024-"))])
    assert not cycle.contains("202312") and cycle.contains("202412")
    assert cycle.months_between("202301", "202412") == [
        CM("202303"),
        CM("202306"),
        CM("202309"),
        CM("202403"),
        CM("202406"),
        CM("202409"),
        CM("202412"),
    ]
    with pytest.raises(ValueError):
        CycleMask("Z")
    with pytest.raises(ValueError):
        CycleMask.from_config({"months": "Z", "from": 2024})


def test_year_range_cycle():
    # EBM-style: one hold cycle until 2019, another from 2020
    cycle = RollCycle.parse({"-2019": "HKUZ", "2020-": "FHKUX"})
    assert cycle.months_in_year(2019) == (3, 5, 9, 12)
    assert cycle.months_in_year(2020) == (1, 3, 5, 9, 11)
    assert cycle.next("201912") == CM("202001")
    assert cycle.previous("202001") == CM("201912")
    assert cycle.letters == "FHKUXZ"
    # a year in no range has no months; navigation skips it
    gap = RollCycle.parse({"-2019": "Z", "2021-": "H"})
    assert gap.months_in_year(2020) == ()
    assert gap.next("201912") == CM("202103")


def test_empty_cycle_raises():
    cycle = RollCycle.parse({"-2019": "Z"})
    with pytest.raises(ValueError):
        cycle.next("202001")


def test_roll_parameters_approximate():
    # pysystemtrade SP500: HMUZ, RollOffsetDays -5, CarryOffset 1, ExpiryOffset 14
    params = RollParameters(RollCycle.parse("HMUZ"), RollCycle.parse("HMUZ"), -5, 1, 14)
    assert params.approx_expiry("202406") == D(2024, 6, 15)
    assert params.roll_date("202406") == D(2024, 6, 10)
    held = params.contracts_held_on(D(2024, 6, 10))
    assert (held.hold, held.carry, held.next_hold) == (CM("202406"), CM("202409"), CM("202409"))
    assert held.roll_date == D(2024, 6, 10)
    assert params.contracts_held_on(D(2024, 6, 11)).hold == CM("202409")


def test_roll_parameters_with_real_expiries_and_negative_carry():
    # CRUDE_W: hold Z, priced every month, RollOffsetDays -40, CarryOffset -1
    params = RollParameters(RollCycle.parse("Z"), RollCycle.parse("all"), -40, -1, -11)
    expiries = {
        CM("202312"): D(2023, 11, 20),
        CM("202412"): D(2024, 11, 19),
        CM("202512"): D(2025, 11, 19),
    }
    held = params.contracts_held_on(D(2024, 10, 10), expiries.__getitem__)
    assert held.hold == CM("202412")
    assert held.carry == CM("202411")
    assert held.roll_date == D(2024, 10, 10)
    assert params.contracts_held_on(D(2024, 10, 11), expiries.__getitem__).hold == CM("202512")


def test_roll_parameter_validation():
    cycle = RollCycle.parse("HMUZ")
    with pytest.raises(ValueError):
        RollParameters(cycle, cycle, roll_offset_days=5)
    with pytest.raises(ValueError):
        RollParameters(cycle, cycle, carry_offset=2)
