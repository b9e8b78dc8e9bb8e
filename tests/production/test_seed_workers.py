"""Seeding with several workers through the shared work queue: a killed worker's items are done by
another, and the store ends up exactly as after a single-process run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from ibsim import PacingRules
from tests.connection import sims_fixture  # noqa: F401 - fixtures
from tests.production.seeding import finish, start_seed, stored, summary_count

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
ARGS = ("US10", "CORN", "--frequencies", "D,H", "--since", "2024-10-01")


def _workers_of(folder: Path) -> list[int]:
    """Pids of the worker processes running in `folder`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"--worker" in command and cwd == str(folder):
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_three_workers_one_killed_store_what_a_single_process_stores(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    metadata = tmp_path / "metadata.sqlite"  # one machine: one metadata store, one set of pacing books
    single = finish(start_seed(tmp_path / "single", sim, *ARGS, metadata=metadata))
    reference = stored(tmp_path / "single")

    folder = tmp_path / "workers"
    violations = sim.pacer.violations
    run = start_seed(folder, sim, *ARGS, "--workers", "3", "--lease-seconds", "2", metadata=metadata)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(_workers_of(folder)) < 3 or len(stored(folder)) < 4):
        time.sleep(0.05)
    victims = _workers_of(folder)
    assert len(victims) == 3, "three workers should be running"
    os.kill(victims[0], signal.SIGKILL)
    output = finish(run)
    assert f"worker {victims[0]} ended with status -9" in output
    assert sim.pacer.violations == violations  # the workers shared the login's pacing books
    for line in ("contracts", "no data at IB"):
        assert summary_count(output, line) == summary_count(single, line), line  # one summary over all workers
    # Bars a worker stored just before it was killed (before marking its item done) are stored
    # but counted by nobody: the item is done again and adds nothing then.
    assert 0 < summary_count(output, "bars added") <= summary_count(single, "bars added")
    got = stored(folder)
    assert sorted(got) == sorted(reference)
    for key, frame in reference.items():
        pd.testing.assert_frame_equal(got[key], frame, check_freq=False, obj=key)

    again = finish(start_seed(folder, sim, *ARGS, "--workers", "3", "--lease-seconds", "2", metadata=metadata))
    assert summary_count(again, "bars added") == 0


@pytest.mark.slow
def test_two_hosts_sharing_one_queue_split_the_work_and_report_the_whole(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))
    metadata = tmp_path / "metadata.sqlite"  # stands in for the MongoDB both hosts would use
    single = finish(start_seed(tmp_path / "single", sim, *ARGS, metadata=metadata))
    shared = tmp_path / "shared"
    hosts = [
        start_seed(shared, sim, *ARGS, "--workers", "2", "--queue", "nightly", metadata=metadata, private=f"host{i}")
        for i in range(2)
    ]
    outputs = [finish(host) for host in hosts]
    for output in outputs:  # each host prints the summary of the whole queue
        assert summary_count(output, "contracts") == summary_count(single, "contracts")
        assert summary_count(output, "bars added") == summary_count(single, "bars added")
    assert sim.pacer.violations == 0
    reference = stored(tmp_path / "single")
    got = stored(shared)
    assert sorted(got) == sorted(reference)
    for key, frame in reference.items():
        pd.testing.assert_frame_equal(got[key], frame, check_freq=False, obj=key)
