"""The data-quality check finds stored bars that differ from IB's complete bars, and repairs them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ibsim import PacingRules
from sysbrokers.IB.client.ib_contracts_client import clear_contract_cache
from sysdata.config.configdata import get_production_config
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction import check_price_data as check_module
from sysproduction.check_price_data import check_price_data, sample_keys
from sysproduction.seed_price_data_from_IB import seed_price_data_from_IB
from tests.connection import ACCOUNT, sims_fixture  # noqa: F401 - fixtures
from tests.production.seeding import seed_blob

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
SINCE = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)


def _damage(store, key: str) -> pd.DataFrame:
    """Three bars cut short as at an old page seam, and one bar lost; returns the intact frame."""
    intact = store.read(key)
    damaged = intact.copy()
    for row in (5, 40, 80):
        damaged.iloc[row, damaged.columns.get_loc("HIGH")] = damaged.iloc[row]["OPEN"]
        damaged.iloc[row, damaged.columns.get_loc("VOLUME")] = 0.0
    damaged = damaged.drop(damaged.index[60])
    store.write(key, damaged)
    return intact


def test_check_finds_partial_bars_and_gaps_and_repair_restores_ibs_bars(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    with seed_blob(sim, tmp_path) as data:
        summary = seed_price_data_from_IB(data, ["US10"], (Frequency.Hour,), since=SINCE)
        assert summary.errors == [] and summary.bars_added > 500
        store = data.db_futures_contract_price
        key = max(store.keys("futures/US10/"), key=lambda k: len(store.read(k)))
        intact = _damage(store, key)

        report = check_price_data(data, ["US10"], sample=None)
        damaged = {check.key: check for check in report.checked}[key]
        assert (damaged.differing, damaged.gaps, damaged.not_at_ib) == (3, 1, 0)
        assert all(check.clean for check in report.checked if check.key != key)
        assert report.total("replaced") == 0 and store.read(key).shape[0] == len(intact) - 1  # a check writes nothing

        repaired = check_price_data(data, ["US10"], sample=None, repair=True)
        assert (repaired.total("replaced"), repaired.total("filled"), repaired.unrepaired) == (3, 1, 0)
        pd.testing.assert_frame_equal(store.read(key), intact, check_freq=False)
        assert all(check.clean for check in check_price_data(data, ["US10"], sample=None).checked)


def test_the_command_reports_differences_with_exit_status_1_and_repairs(sims, tmp_path, monkeypatch, capsys, request):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    with seed_blob(sim, tmp_path) as data:
        seed_price_data_from_IB(data, ["US10"], (Frequency.Hour,), since=SINCE)
        store = data.db_futures_contract_price
        key = store.keys("futures/US10/")[-1]
        _damage(store, key)
    private = tmp_path / "private"
    (private / "private_config.yaml").write_text(
        f"ib_gateway: external\nib_port: {sim.port}\nbroker_account: {ACCOUNT}\nib_pacing_scale: 0.01\n"
        "ib_pacing_profile: strict\n"
        f"price_store: parquet://{tmp_path}/prices\nsqlite_path: {tmp_path}/metadata.sqlite\n"
    )
    monkeypatch.setenv("PYSYS_PRIVATE_CONFIG_DIR", str(private))
    get_production_config.cache_clear()  # the command reads the process-wide configuration ...
    request.addfinalizer(get_production_config.cache_clear)  # ... which later tests must not inherit
    clear_contract_cache()
    assert check_module.main(["US10", "--all"]) == 1
    out = capsys.readouterr().out
    assert "bars differing       3" in out and f"  {key}: 3 differing, 1 missing" in out and str(tmp_path) in out
    assert check_module.main(["US10", "--all", "--repair"]) == 0
    assert "bars replaced        3" in capsys.readouterr().out
    assert check_module.main(["US10", "--sample", "2"]) == 0


def test_the_sample_changes_with_the_day_and_is_stable_within_it():
    keys = [f"futures/X/2025{m:02d}00/H" for m in range(1, 13)]
    day = dt.date(2025, 3, 4)
    assert sample_keys(keys, 4, day) == sample_keys(keys, 4, day)
    assert len(sample_keys(keys, 4, day)) == 4
    assert sample_keys(keys, 4, day) != sample_keys(keys, 4, day + dt.timedelta(days=1))
    assert sample_keys(keys, None, day) == keys
