"""The main job is reproducible and crash-safe: the same gateway data gives the same stored bars.

Each run is `python -m sysproduction.seed_price_data_from_IB` in its own process, against one
gateway whose clock is frozen (so every run sees the same market) and which enforces IB's pacing
rules at 1/100 of IB's windows. Runs are compared key by key and bar by bar:
- two uninterrupted runs store identical content;
- a run SIGKILLed at several points and restarted at once stores exactly what an uninterrupted
  run stores, with no pacing violation in the restarted run (it knows its predecessor's
  requests from the shared pacing books) and no error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import signal
import time

import pandas as pd
import pytest

from ibsim import PacingRules
from tests.connection import sims_fixture  # noqa: F401 - fixtures
from tests.production.seeding import finish, start_seed, stored, summary_count

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
# Hourly bars of whole histories, 15-minute bars since October (1-week pages): seams at two sizes.
ARGS = ("US10", "--frequencies", "D,H,15min", "--since", "2024-10-01")
# The client paces by IB's windows / 100 (6 s, 20 ms, 150 ms) with a margin of 5 ms; a loaded CI
# machine can hold a process back longer than that between booking a request and sending it, which
# at this scale looks like a violation (at IB's real windows the margin is 50 ms on 2 s to 600 s).
# So the gateway here is a little more lenient than the client, as IB effectively is: 300 ms on the
# global window, which the restarted run would break at once without its predecessor's bookings
# (checked: with `ib_pacing_shared: false` the restart breaks it).
GATEWAY_RULES = dataclasses.replace(
    PacingRules.scaled(0.01), global_window=5.7, same_contract_window=0.01, identical_window=0.1
)


def _assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    assert sorted(got) == sorted(want)
    for key, frame in want.items():
        pd.testing.assert_frame_equal(got[key], frame, check_freq=False, obj=key)


@pytest.mark.slow
def test_runs_are_reproducible_and_a_killed_run_restarted_at_once_stores_the_same(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=GATEWAY_RULES)
    metadata = tmp_path / "metadata.sqlite"  # one machine, one gateway login: one metadata store
    began = time.monotonic()
    output = finish(start_seed(tmp_path / "first", sim, *ARGS, metadata=metadata))
    assert summary_count(output, "IB requests") > 60, "the run must outlast IB's 60-request window"
    duration = time.monotonic() - began
    reference = stored(tmp_path / "first")
    assert {key.rsplit("/", 1)[1] for key in reference} == {"D", "H", "15min"}
    assert sum(len(frame) for frame in reference.values()) > 5_000

    finish(start_seed(tmp_path / "second", sim, *ARGS, metadata=metadata))
    _assert_same(stored(tmp_path / "second"), reference)

    for fraction in (0.15, 0.45, 0.8):  # kills early, midway and late in the run
        folder = tmp_path / f"killed-{fraction}"
        victim = start_seed(folder, sim, *ARGS, metadata=metadata)
        time.sleep(duration * fraction)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=30)
        assert len(stored(folder)) < len(reference), f"the kill at {fraction:.0%} should land mid-run"
        violations = sim.pacer.violations
        output = finish(
            start_seed(folder, sim, *ARGS, metadata=metadata)
        )  # at once: IB still counts the killed run's requests
        assert sim.pacer.violations == violations, f"restart after a kill at {fraction:.0%} broke IB's pacing"
        assert summary_count(output, "pacing violations") == 0
        _assert_same(stored(folder), reference)
