"""The nightly price seeding and the daily update, end to end against ibsim."""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from ibsim import PacingRules
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBPermissionError
from sysdata.prices import contract_prices_key
from sysobjects.contracts import futuresContract
from sysobjects.exceptions import InstrumentConfigError, InvalidContractDate
from sysproduction.price_updates import count_gaps
from sysproduction.seed_price_data_from_IB import seed_price_data_from_IB
from sysproduction.update_historical_prices import update_historical_prices
from tests.connection import sims_fixture, test_config  # noqa: F401 - fixtures
from tests.production.seeding import seed_blob, start_main_job

ROOT = Path(__file__).resolve().parents[2]


def test_seed_then_rerun_adds_nothing(sims, tmp_path):
    sim = sims(pacing=PacingRules.scaled(0.01))
    with seed_blob(sim, tmp_path) as data:
        first = seed_price_data_from_IB(data, ["SP500", "CORN"])
        assert first.errors == []
        assert first.contracts > 20 and first.bars_added > 5000
        assert first.pacing_violations == 0 and sim.pacer.violations == 0
        assert first.gaps == 0
        assert first.requests == first.contracts  # one request per contract: IB's longest daily span
        store = data.db_futures_contract_price
        key = contract_prices_key("SP500", "20250600", "D")
        stored = store.read(key)
        assert str(stored.index.tz) == "UTC" and stored.index.is_unique and stored.index.is_monotonic_increasing
        # Only finished sessions are stored: nothing from the simulated "today".
        assert stored.index[-1] < pd.Timestamp(sim.clock.now().date(), tz="UTC")
        second = seed_price_data_from_IB(data, ["SP500", "CORN"])
        assert second.bars_added == 0 and second.errors == []
        update = update_historical_prices(data, ["SP500"])
        assert update.bars_added == 0 and update.errors == []


def test_daily_update_adds_the_new_session(sims, tmp_path):
    sim = sims(pacing=PacingRules.scaled(0.01))
    with seed_blob(sim, tmp_path) as data:
        seed_price_data_from_IB(data, ["SP500"])
        sim.clock.advance(86400)  # a day later at the gateway
        data.ib_conn._clock_offset = None  # re-measure the gateway's clock
        update = update_historical_prices(data, ["SP500"])
        assert update.errors == []
        assert update.bars_added >= 4  # one new session for each live contract
        again = update_historical_prices(data, ["SP500"])
        assert again.bars_added == 0


def test_real_pacing_limits_give_no_violation(sims, tmp_path):
    # IB's own windows at the gateway and in the client; hourly pages of one contract in quick
    # succession meet the "6 requests for one contract within 2 s" rule.
    sim = sims(pacing=PacingRules())
    with seed_blob(sim, tmp_path, ib_pacing_scale=1.0) as data:
        prices = data.broker_futures_contract_price
        start = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
        hourly = prices.get_prices_at_frequency_for_contract_object(
            futuresContract("SP500", "202506"), "H", start=start
        )
        assert len(hourly) > 1000
        summary = seed_price_data_from_IB(data, ["SP500"])
        assert summary.errors == []
        client = prices.ib_client
        assert client.stats.pacing_violations == 0 and summary.pacing_violations == 0
        assert sim.pacer.violations == 0
        assert client.stats.pacing_waits >= 1.5  # the pacer did hold requests back


def test_bad_input_gives_typed_errors_and_leaves_prices_untouched(sims, tmp_path):
    sim = sims(pacing=PacingRules.scaled(0.01))
    with seed_blob(sim, tmp_path) as data:
        seed_price_data_from_IB(data, ["SP500"])
        store = data.db_futures_contract_price
        key = contract_prices_key("SP500", "20250600", "D")
        before = store.read(key)
        prices = data.broker_futures_contract_price
        with pytest.raises(InvalidContractDate, match="202513"):
            futuresContract("SP500", "202513")
        with pytest.raises(IBNoSecurityDefinition, match="SP500"):
            prices.get_prices_for_contract_object(futuresContract("SP500", "203012"))
        with pytest.raises(IBNoSecurityDefinition):
            prices.get_prices_for_contract_object(futuresContract("SP500", "202412"))  # expired
        pd.testing.assert_frame_equal(store.read(key), before)


def test_permission_error_is_typed_and_recorded(sims, tmp_path):
    sim = sims(pacing=PacingRules.scaled(0.01), permissions=frozenset({"NYMEX"}))
    with seed_blob(sim, tmp_path) as data:
        with pytest.raises(IBPermissionError):
            data.broker_futures_contract_price.get_prices_for_contract_object(futuresContract("SP500", "202506"))
        summary = seed_price_data_from_IB(data, ["SP500"])
        assert summary.errors and all("permission" in message.lower() for _, message in summary.errors)
        assert data.db_futures_contract_price.keys("futures/SP500/") == []


def test_malformed_private_instrument_config_is_reported_with_file_row_column(tmp_path):
    from sysbrokers.IB.ib_instrument_config import clear_config_cache, load_futures_config

    private = tmp_path / "private"
    private.mkdir()
    (private / "ib_config_futures.csv").write_text(
        "Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,priceMagnifier,IgnoreWeekly\n"
        "SP500,ES,CME,USD,fifty,1,FALSE\n"
    )
    clear_config_cache()
    try:
        with pytest.raises(InstrumentConfigError) as err:
            load_futures_config(private_dir=private)
        assert "ib_config_futures.csv:2" in str(err.value) and "IBMultiplier" in str(err.value)
    finally:
        clear_config_cache()


def _stored(folder: Path) -> dict[str, pd.DataFrame]:
    from sysdata.prices import open_price_store

    store = open_price_store(f"parquet://{folder}/data/prices")
    return {key: store.read(key) for key in store.keys("futures/")}


@pytest.mark.slow
def test_main_job_on_embedded_defaults_resumes_after_a_kill(tmp_path):
    instruments = ["SP500", "US10", "GOLD", "BUND"]
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir()
    killed.mkdir()
    run = start_main_job(clean, *instruments)
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output[-3000:]
    assert "seed_price_data_from_IB summary" in output and "pacing violations    0" in output
    reference = _stored(clean)
    assert len(reference) > 20

    victim = start_main_job(killed, *instruments)
    deadline = time.monotonic() + 120
    prices = killed / "data" / "prices" / "futures"
    while time.monotonic() < deadline and len(list(prices.rglob("*.parquet"))) < 8:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    partial = len(list(prices.rglob("*.parquet")))
    assert 0 < partial < len(reference), "the kill should land in the middle of the run"
    rerun = start_main_job(killed, *instruments)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output[-3000:]
    resumed = _stored(killed)
    assert sorted(resumed) == sorted(reference)
    for key, frame in reference.items():
        assert count_gaps(resumed[key].index) == 0, key
        pd.testing.assert_frame_equal(resumed[key], frame, check_freq=False)
    again = start_main_job(killed, *instruments)
    output, _ = again.communicate(timeout=300)
    assert "bars added           0" in output
