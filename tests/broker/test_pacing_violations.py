"""A pacing violation the books did not foresee (another program on the login) is waited out for as
long as IB's rules can require, so it never turns into a lost page; past that it is an error."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from ibsim import PacingRules
from sysbrokers.IB.ib_errors import IBPacingViolation
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.pacers import clear_pacers
from sysbrokers.IB.pacing import PacingLimits, PacingRetry
from sysobjects.contracts import futuresContract
from tests.connection import open_conn

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
SCALE = 0.002  # IB's windows / 500: the global window is 1.2 s


@pytest.fixture(autouse=True)
def _fresh_pacers():
    clear_pacers()
    yield
    clear_pacers()


def test_retry_waits_double_up_to_a_cap_and_give_up_after_ibs_longest_window():
    limits = PacingLimits()
    retry = PacingRetry(limits)
    waits = []
    while (wait := retry.next_wait()) is not None:
        waits.append(wait)
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(waits) == limits.global_window / 4
    assert sum(waits) >= limits.global_window + limits.identical_window  # a whole window passed


def test_violations_beyond_the_old_five_retries_are_waited_out(sims, conns, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(SCALE))
    conn = open_conn(sim, conns, tmp_path, ib_pacing_scale=SCALE)
    data = ibFuturesContractPriceData(conn)
    sim.faults.force_pacing_violations(8)
    prices = data.get_prices_for_contract_object(futuresContract("SP500", "202506"))
    assert len(prices) > 100
    assert data.ib_client.stats.pacing_violations == 8


def test_violations_that_outlast_ibs_windows_are_an_error(sims, conns, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(SCALE))
    conn = open_conn(sim, conns, tmp_path, ib_pacing_scale=SCALE)
    data = ibFuturesContractPriceData(conn)
    sim.faults.force_pacing_violations(1000)
    began = time.monotonic()
    with pytest.raises(IBPacingViolation):
        data.get_prices_for_contract_object(futuresContract("SP500", "202506"))
    limits = PacingLimits().scaled(SCALE)
    assert time.monotonic() - began >= limits.global_window + limits.identical_window
