"""Our rules agree with the simulator's independent catalog wherever it lists a contract.

ibsim (the simulated gateway) has its own exchange rules and holiday code; the broker layer
never imports it, but this test may. Every instrument, every contract month 2020-2030 that
ibsim lists: same last trade date, same expiry instant, except the documented differences.
"""

import datetime as dt

import pytest

from ibsim.catalog import Catalog
from sysobjects.front_month import front_month, load_instrument_rules

UTC = dt.UTC

# Where the two legitimately differ (reported to the lead; see docs/expiry_and_rolls.md):
# ibsim pins the Eurodollar to 05:00 Chicago; the contract terminates at 11:00 London, which
# is 10:00 UTC only while both cities keep the same DST (not in the March gap weeks). And
# GEM3's rule date, Mon 2023-06-19, was Juneteenth (CME closed): we look the instant back to
# the last open session (Fri 2023-06-16 16:00 CT), ibsim keeps 05:00 CT on the holiday.
KNOWN_INSTANT_DIFFERENCES = {
    ("EDOLLAR", "202003"),
    ("EDOLLAR", "202103"),
    ("EDOLLAR", "202203"),
    ("EDOLLAR", "202303"),
    ("EDOLLAR", "202306"),
}


@pytest.fixture(scope="module")
def rules():
    return load_instrument_rules()


@pytest.fixture(scope="module")
def catalog():
    return Catalog()


def test_every_listed_contract_2020_2030_agrees(rules, catalog):
    compared = 0
    date_mismatches = []
    instant_mismatches = set()
    for code, r in rules.items():
        product = catalog.product(r.ib_symbol, r.exchange, sec_type="FUT")
        assert product is not None, f"ibsim has no {r.ib_symbol}@{r.exchange}"
        for year in range(2020, 2031):
            for month in range(1, 13):
                instrument = catalog.instrument(product, year, month)
                if instrument is None:
                    continue
                compared += 1
                cm = f"{year}{month:02d}"
                if r.last_trade_date(cm) != instrument.last_trade_date:
                    date_mismatches.append((code, cm, r.last_trade_date(cm), instrument.last_trade_date))
                if r.expiry_utc(cm) != instrument.expiry_utc:
                    instant_mismatches.add((code, cm))
    assert compared > 2000
    assert date_mismatches == []
    assert instant_mismatches == KNOWN_INSTANT_DIFFERENCES


def test_front_month_agrees_with_ibsim_contfut(rules, catalog):
    # ibsim's CONTFUT front = nearest non-expired listed contract: our "listed" cycle front.
    start = dt.datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    instants = [start + dt.timedelta(days=3 * i, hours=7 * i % 24) for i in range(250)]
    checked = 0
    for code, r in rules.items():
        if code == "EDOLLAR":  # delisted before 2024
            continue
        for when in instants:
            ours = front_month(r, when, cycle="listed")
            theirs = catalog.front_month(r.ib_symbol, r.exchange, as_of=when)
            assert theirs is not None
            assert ours.yyyymm == theirs.contract_month, (code, when)
            checked += 1
    assert checked == 29 * 250
