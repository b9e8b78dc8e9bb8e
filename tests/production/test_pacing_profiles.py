"""Pacing profiles: IB's hard rules where IB states them (bars of 30 s or less), a soft throttle
above; the first violation makes the client strict for the rest of its run."""

from __future__ import annotations

import datetime as dt

import pytest

from ibsim import PacingRules
from ibsim.pacing import HistoricalPacer as GatewayPacer
from sysbrokers.IB.pacing import DOCUMENTED, STRICT, HistoricalPacer, PacingLimits
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction.seed_price_data_from_IB import seed_price_data_from_IB
from tests.connection import sims_fixture  # noqa: F401 - fixtures
from tests.production.seeding import seed_blob

FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)
INSTRUMENTS = ["SP500", "US10", "CORN", "GOLD"]  # about 90 daily requests: past IB's 60 per window


def test_gateway_as_documented_refuses_small_bars_only_and_slows_large_ones():
    gateway = GatewayPacer(PacingRules.documented(1.0))
    for i in range(70):  # 70 hourly requests at once: never refused, the last 10 answered late
        assert gateway.check(("h", i), ("ES",), "TRADES", 100.0, bar_seconds=3600) is None
        delay = gateway.answer_delay(3600, 100.0)
        assert delay == (0.0 if i < 60 else 1.0)
    for i in range(5):
        assert gateway.check(("s", i), ("ES",), "TRADES", 100.0, bar_seconds=5) is None
    assert gateway.check(("s", 9), ("ES",), "TRADES", 100.0, bar_seconds=5) is not None  # 6th for one contract
    strict = GatewayPacer(PacingRules())
    for i in range(60):
        assert strict.check(("h", i), (f"C{i}",), "TRADES", 100.0, bar_seconds=3600) is None
    assert strict.check(("h", 60), ("C60",), "TRADES", 100.0, bar_seconds=3600) is not None


def test_client_profiles_apply_the_hard_rules_to_small_bars_only():
    clock = [1000.0]
    pacer = HistoricalPacer(PacingLimits(), clock=lambda: clock[0], profile=DOCUMENTED)

    def send(key, contract: str, bar_seconds: int) -> float:
        waited, booking = pacer.acquire(
            key, contract, "TRADES", sleep=lambda s: clock.__setitem__(0, clock[0] + s), bar_seconds=bar_seconds
        )
        pacer.confirm(booking)  # answered at once
        return waited

    assert all(send(("h", i), f"C{i}", 3600) == 0 for i in range(100))
    # The identical-request rule still holds for large bars ...
    assert send(("h", 0), "C0", 3600) == pytest.approx(15.05)
    # ... and every rule for small ones: the 100 hourly requests count in the 60-per-window rule.
    assert send(("s", 0), "X", 5) > 500
    assert pacer.fall_back() and pacer.profile == STRICT and not pacer.fall_back()


def test_documented_profile_against_a_documented_gateway_seeds_without_waiting(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.documented(0.01))
    with seed_blob(sim, tmp_path, ib_pacing_profile=DOCUMENTED) as data:
        summary = seed_price_data_from_IB(data, INSTRUMENTS, (Frequency.Day,))
        pacer = data.broker_futures_contract_price.ib_client.pacer
    assert summary.errors == [] and summary.requests > 60
    assert sim.pacer.violations == 0 and summary.pacing_violations == 0
    assert pacer.waited == 0 and pacer.profile == DOCUMENTED
    assert sim.pacer.soft_delayed > 0  # the gateway slowed the answers down instead


def test_first_violation_makes_the_documented_profile_strict_for_the_rest_of_the_run(sims, tmp_path):
    sim = sims(start=FROZEN, speed=0, pacing=PacingRules.scaled(0.01))  # hard rules on every bar size
    with seed_blob(sim, tmp_path, ib_pacing_profile=DOCUMENTED) as data:
        summary = seed_price_data_from_IB(data, INSTRUMENTS, (Frequency.Day,))
        pacer = data.broker_futures_contract_price.ib_client.pacer
    assert summary.errors == [] and summary.requests - summary.pacing_violations > 60
    assert summary.pacing_violations == sim.pacer.violations == 1  # one, then strict: no second
    assert pacer.profile == STRICT and pacer.waited > 0
