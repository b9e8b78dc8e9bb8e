"""Four processes seeding different instruments at once against one gateway login share IB's limits.

Each process is the main job in a process of its own; they share the machine's metadata store
and with it the pacing books. The gateway enforces IB's rules (windows at 1/100 of IB's).
"""

from __future__ import annotations

import datetime as dt

import pytest

from ibsim import PacingRules
from tests.connection import sims_fixture  # noqa: F401 - fixtures
from tests.production.seeding import finish, start_seed, stored, summary_count

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
GROUPS = ("SP500", "US10", "CORN", "GOLD")


@pytest.mark.slow
def test_four_processes_seeding_at_once_break_no_pacing_rule_and_send_no_extra_request(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    metadata = tmp_path / "metadata.sqlite"
    runs = [start_seed(tmp_path / code, sim, code, metadata=metadata) for code in GROUPS]
    outputs = [finish(run) for run in runs]
    assert sim.pacer.violations == 0
    requests = [summary_count(output, "IB requests") for output in outputs]
    # Daily bars: IB's longest span covers any contract, so the lower bound is one request per
    # contract IB has bars for; every process sent exactly that.
    for code, output, sent in zip(GROUPS, outputs, requests, strict=True):
        with_bars = summary_count(output, "contracts") - summary_count(output, "no data at IB")
        assert sent == with_bars == len(stored(tmp_path / code)), code
    assert sum(requests) > 60  # together they outlast IB's 60-request window: the books were shared
