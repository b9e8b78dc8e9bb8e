"""The price jobs behave like production tools: a stop at a safe point with a partial summary and
exit 130/143, one-line errors with documented exit codes, and a summary that names the price store
and lists every instrument. Real processes against ibsim over loopback."""

from __future__ import annotations

import datetime as dt
import signal
import socket
import time

import pytest

from ibsim import PacingRules
from sysproduction import script_runner
from tests.connection import sims_fixture  # noqa: F401 - fixtures
from tests.production.seeding import finish, start_main_job, start_seed, stored

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 1, 6, 15, 17, 23, tzinfo=dt.UTC)  # EDOLLAR's last contracts gone from IB


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_seeding_between_contracts_with_a_partial_summary(sims, tmp_path, signum):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    folder = tmp_path / "run"
    run = start_seed(folder, sim, "GOLD", "CRUDE_W")  # ~110 requests: past IB's 60 per window
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(stored(folder)) < 3:
        time.sleep(0.05)
    run.send_signal(signum)
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 128 + signum, output[-2000:]
    assert f"interrupted ({signal.Signals(signum).name})" in output and "Traceback" not in output
    assert "seed_price_data_from_IB partial summary" in output and f"price store          parquet://{folder}" in output
    partial = stored(folder)  # every stored series reads back whole
    assert 3 <= len(partial) and all(len(frame) for frame in partial.values())
    rerun = finish(start_seed(folder, sim, "GOLD", "CRUDE_W"))
    assert "pacing violations    0" in rerun


def test_the_summary_names_the_store_and_lists_an_instrument_ib_has_no_contract_for(sims, tmp_path):
    sim = sims(start=LATER, speed=0)
    folder = tmp_path / "run"
    output = finish(start_seed(folder, sim, "EDOLLAR", "US10"))
    assert f"price store          parquet://{folder}/prices" in output
    assert "  EDOLLAR              no contracts at IB" in output
    assert "  US10" in output and " contracts " in output


def test_a_config_typo_is_one_line_naming_file_key_and_line(tmp_path):
    run = start_main_job(tmp_path, "SP500", config='ib_gateway: external\nib_port: "4002"\n')
    output, _ = run.communicate(timeout=60)
    assert run.returncode == script_runner.EXIT_CONFIG
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "private_config.yaml:2" in lines[0] and "ib_port" in lines[0], output


def test_an_unreachable_gateway_is_one_line_and_exit_3(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = f"ib_gateway: external\nib_port: {port}\nbroker_account: DU123456\nib_connect_timeout: 2\n"
    run = start_main_job(tmp_path, "SP500", config=config)
    output, _ = run.communicate(timeout=60)
    assert run.returncode == script_runner.EXIT_GATEWAY_UNREACHABLE, output
    errors = [line for line in output.splitlines() if line.startswith("seed_price_data_from_IB:")]
    assert len(errors) == 1 and "Traceback" not in output, output
