"""Front-month resolution, auto-roll, held contracts, the YAML config and seasonal routing."""

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from sysobjects.front_month import (
    DEFAULT_RULES_YAML,
    NoFrontMonth,
    front_month,
    front_months_between,
    held_contract,
    load_instrument_rules,
    parse_instrument_rules,
    route_contract,
)
from sysobjects.roll_cycles import ContractMonth

UTC = dt.UTC
CM = ContractMonth.parse
SPECS_CSV = Path("/work/shared/reference/futures-specs.csv")


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules():
    return load_instrument_rules()


def test_front_month_across_an_expiry_on_a_holiday_shifted_day(rules):
    es = rules["SP500"]
    # ESM6 expires Thu 2026-06-18 08:30 CT (13:30 UTC) because Friday is Juneteenth
    before = front_month(es, at(2026, 6, 18, 13, 29, 59))
    assert before.yyyymm == "202606"
    assert before.contract_id == "202606"
    assert before.last_trade_date == dt.date(2026, 6, 18)
    assert before.expiry_utc == before.roll_utc == at(2026, 6, 18, 13, 30)
    assert front_month(es, at(2026, 6, 18, 13, 30)).yyyymm == "202609"
    # on the holiday itself the front is already September
    assert front_month(es, at(2026, 6, 19, 15, 0)).yyyymm == "202609"
    assert front_month(es, at(2026, 3, 1)).yyyymm == "202603"


def test_front_month_across_year_end_and_expiry_before_contract_month(rules):
    assert front_month(rules["SP500"], at(2026, 12, 31)).yyyymm == "202703"
    # DCZ5 trades until 2025-12-30 18:10 UTC
    assert front_month(rules["MILK"], at(2025, 12, 30, 18, 9)).yyyymm == "202512"
    assert front_month(rules["MILK"], at(2025, 12, 30, 18, 10)).yyyymm == "202601"
    # CL Jan-2025 expires in December 2024 (25th is Christmas: 4 business days before)
    cl = rules["CRUDE_W"]
    assert cl.last_trade_date("202501") == dt.date(2024, 12, 19)
    assert front_month(cl, at(2024, 12, 19, 19, 29)).yyyymm == "202501"
    assert front_month(cl, at(2024, 12, 19, 19, 30)).yyyymm == "202502"
    # SOFR Dec-2024 stays front until March 2025
    assert front_month(rules["SOFR"], at(2025, 3, 1)).yyyymm == "202412"


def test_auto_roll_business_days(rules):
    es = rules["SP500"]
    # 2 business days before Thu 2026-06-18 is Tue 2026-06-16, at 08:30 CT
    assert front_month(es, at(2026, 6, 16, 13, 29), roll_business_days=2).yyyymm == "202606"
    rolled = front_month(es, at(2026, 6, 16, 13, 30), roll_business_days=2)
    assert rolled.yyyymm == "202609"
    assert rolled.roll_utc == at(2026, 9, 16, 13, 30)  # ESU6: Fri 18 Sep, 2 bd before
    # the count skips holidays: NG Jul-2026 expires Fri 2026-06-26; 5 business days
    # earlier skips Juneteenth and lands on Thu 2026-06-18 at 14:30 ET
    ng = rules["GAS_US"]
    assert ng.last_trade_date("202607") == dt.date(2026, 6, 26)
    assert ng.roll_utc("202607", 5) == at(2026, 6, 18, 18, 30)
    assert front_month(ng, at(2026, 6, 18, 18, 29), roll_business_days=5).yyyymm == "202607"
    assert front_month(ng, at(2026, 6, 18, 18, 30), roll_business_days=5).yyyymm == "202608"
    with pytest.raises(ValueError):
        front_month(ng, at(2026, 6, 1), roll_business_days=-1)


def test_configured_auto_roll_default():
    document = yaml.safe_load(DEFAULT_RULES_YAML.read_text())
    document["instruments"] = {"SP500": document["instruments"]["SP500"]}
    document["defaults"]["auto_roll_business_days"] = 1
    es = parse_instrument_rules(document)["SP500"]
    assert es.auto_roll_business_days == 1
    assert front_month(es, at(2026, 6, 17, 13, 30)).yyyymm == "202609"
    assert front_month(es, at(2026, 6, 17, 13, 30), roll_business_days=0).yyyymm == "202606"


def test_cycles_priced_hold_listed(rules):
    cl = rules["CRUDE_W"]
    when = at(2025, 3, 3)
    assert front_month(cl, when).yyyymm == "202504"  # priced: every month
    assert front_month(cl, when, cycle="hold").yyyymm == "202512"  # hold: Z only
    eur = rules["EUR"]
    # CME FX lists 3 serial months: the nearest listed contract is January
    assert front_month(eur, at(2026, 1, 5), cycle="listed").yyyymm == "202601"
    assert front_month(eur, at(2026, 1, 5)).yyyymm == "202603"
    with pytest.raises(ValueError):
        front_month(eur, at(2026, 1, 5), cycle="weekly")


def test_contract_id_by_day():
    document = yaml.safe_load(DEFAULT_RULES_YAML.read_text())
    vix = document["instruments"]["VIX"]
    parsed = parse_instrument_rules({"instruments": {"VIX": {**vix, "contract_id": "day"}}})
    front = front_month(parsed["VIX"], at(2026, 1, 5))
    assert front.yyyymm == "202601"
    assert front.contract_id == "20260121"


def test_delisted_instrument(rules):
    ge = rules["EDOLLAR"]
    assert front_month(ge, at(2023, 3, 20)).yyyymm == "202306"
    with pytest.raises(NoFrontMonth):
        front_month(ge, at(2023, 7, 1))


def test_front_months_between(rules):
    fronts = front_months_between(rules["SP500"], at(2026, 1, 1), at(2026, 12, 31))
    assert [f.yyyymm for f in fronts] == ["202603", "202606", "202609", "202612", "202703"]
    assert fronts[1].roll_utc == at(2026, 6, 18, 13, 30)


def test_held_contract_hold_cycle_and_roll_offset(rules):
    # US10: hold HMUZ, RollOffsetDays -25 from the real expiry (ZNU6 2026-09-21)
    zn = rules["US10"]
    assert zn.last_trade_date("202609") == dt.date(2026, 9, 21)
    held = held_contract(zn, at(2026, 8, 27, 12))
    assert (held.hold, held.carry, held.roll_date) == (CM("202609"), CM("202612"), dt.date(2026, 8, 27))
    assert held_contract(zn, at(2026, 8, 28, 12)).hold == CM("202612")
    # CORN holds only December (Z), carry is the previous priced contract
    corn = held_contract(rules["CORN"], at(2026, 3, 1))
    assert (corn.hold, corn.carry, corn.next_hold) == (CM("202612"), CM("202609"), CM("202712"))
    with pytest.raises(ValueError):
        held_contract(zn, dt.datetime(2026, 8, 27))


def test_every_reference_instrument_is_configured_with_its_cycles(rules):
    with SPECS_CSV.open(newline="") as handle:
        specs = list(csv.DictReader(handle))
    assert {row["instrument_code"] for row in specs} == set(rules)
    for row in specs:
        r = rules[row["instrument_code"]]
        assert r.ib_symbol == row["ib_symbol"]
        assert r.exchange == row["ib_exchange"]
        listed = row["listed_months"].replace("+3 serial", "")
        assert r.listed_cycle.letters == ("FGHJKMNQUVXZ" if listed == "all" else listed)
        assert r.serial_months == (3 if "serial" in row["listed_months"] else 0)
        for column, cycle in (("hold_cycle", "hold"), ("priced_cycle", "priced")):
            letters = row[column].rstrip("?")
            assert r.cycle(cycle).letters == ("FGHJKMNQUVXZ" if letters == "all" else letters)


def test_config_errors():
    good = yaml.safe_load(DEFAULT_RULES_YAML.read_text())["instruments"]["SP500"]
    for broken, message in (
        ({k: v for k, v in good.items() if k != "expiry"}, "missing keys"),
        ({**good, "expiry_rule": "x"}, "unknown keys"),
        ({**good, "expiry": "third friday"}, "unknown rule step"),
        ({**good, "calendar": "NYSE"}, "unknown calendar"),
        ({**good, "hold_cycle": "HMUZQQ"}, "month letters"),
        ({**good, "contract_id": "week"}, "contract_id"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_instrument_rules({"instruments": {"SP500": broken}})


def test_year_range_cycles_and_masks_in_yaml():
    base = yaml.safe_load(DEFAULT_RULES_YAML.read_text())["instruments"]["MILLWHEAT"]
    item = {
        **base,
        "hold_cycle": {"-2019": "HKUZ", "2020-": "HUZ"},
        "masks": [{"months": "K", "skip_years": "odd"}],
    }
    ebm = parse_instrument_rules({"instruments": {"MILLWHEAT": item}})["MILLWHEAT"]
    hold = ebm.cycle("hold")
    assert hold.months_between("201901", "202112") == [
        CM("201903"),
        CM("201909"),
        CM("201912"),  # 2019 is odd: no K
        CM("202003"),
        CM("202009"),
        CM("202012"),
        CM("202103"),
        CM("202109"),
        CM("202112"),
    ]
    assert not ebm.cycle("priced").contains("202505")  # the mask applies to every cycle
    assert ebm.cycle("priced").contains("202405")


def test_seasonal_instruments_sharing_a_trading_class():
    base = yaml.safe_load(DEFAULT_RULES_YAML.read_text())["instruments"]["MILLWHEAT"]
    winter = {**base, "listed_months": "HZ", "hold_cycle": "HZ", "priced_cycle": "HZ"}
    summer = {**base, "listed_months": "KU", "hold_cycle": "KU", "priced_cycle": "KU"}
    split = parse_instrument_rules({"instruments": {"WHEAT_W": winter, "WHEAT_S": summer}})
    assert route_contract(split, "EBM", "MATIF", "EBM", "202512") == "WHEAT_W"
    assert route_contract(split, "EBM", "MATIF", "EBM", "202605") == "WHEAT_S"
    assert route_contract(split, "EBM", "MATIF", "EBM", "202606") is None
    assert route_contract(split, "EBM", "MATIF", "OTHER", "202605") is None
    assert front_month(split["WHEAT_S"], at(2026, 6, 1)).yyyymm == "202609"
    clash = {**summer, "listed_months": "KUZ"}
    with pytest.raises(ValueError, match="share trading class"):
        parse_instrument_rules({"instruments": {"WHEAT_W": winter, "WHEAT_S": clash}})


def test_route_contract_on_the_real_config(rules):
    assert route_contract(rules, "ES", "CME", "ES", "202606") == "SP500"
    assert route_contract(rules, "SI", "COMEX", "SIL", "202607") == "SILVER"
    assert route_contract(rules, "GE", "CME", "GE", "202309") is None  # after delisting
