"""The client-side pacer never lets a request break IB's rules, and waits no longer than needed.

Checked against the simulated gateway's own pacing books (ibsim.pacing), which implement IB's
rules independently: every request the client pacer lets through must be accepted there.
"""

from __future__ import annotations

import random

import pytest

from ibsim.pacing import HistoricalPacer as GatewayPacer
from ibsim.pacing import PacingRules
from sysbrokers.IB.pacing import HistoricalPacer, PacingLimits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _pair(**limits):
    clock = FakeClock()
    client = HistoricalPacer(PacingLimits(margin=0.001, **limits), clock=clock)
    rules = PacingRules(
        identical_window=client.limits.identical_window,
        same_contract_window=client.limits.same_contract_window,
        same_contract_max=client.limits.same_contract_max,
        global_window=client.limits.global_window,
        global_max=client.limits.global_max,
    )
    return clock, client, GatewayPacer(rules)


def test_identical_request_waits_the_identical_window():
    clock, pacer, _ = _pair()
    assert pacer.acquire("r1", "ES", "TRADES", sleep=clock.sleep)[0] == 0
    waited, _ = pacer.acquire("r1", "ES", "TRADES", sleep=clock.sleep)
    assert waited == pytest.approx(15.0, abs=0.01)


def test_sixth_request_for_one_contract_waits():
    clock, pacer, _ = _pair()
    for i in range(5):
        assert pacer.acquire(f"r{i}", "ES", "TRADES", sleep=clock.sleep)[0] == 0
    assert pacer.acquire("r5", "ES", "TRADES", sleep=clock.sleep)[0] == pytest.approx(2.0, abs=0.01)
    # Another contract is not held up by ES.
    assert pacer.acquire("n1", "NQ", "TRADES", sleep=clock.sleep)[0] == 0


def test_bid_ask_counts_twice():
    clock, pacer, _ = _pair(global_max=4, global_window=60.0)
    assert pacer.acquire("a", "ES", "BID_ASK", sleep=clock.sleep)[0] == 0
    assert pacer.acquire("b", "NQ", "BID_ASK", sleep=clock.sleep)[0] == 0
    assert pacer.acquire("c", "ZN", "TRADES", sleep=clock.sleep)[0] == pytest.approx(60.0, abs=0.01)


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError, match="must be >= 0"):
        PacingLimits(identical_window=-1)
    with pytest.raises(ValueError, match="maxima"):
        PacingLimits(global_max=1)


@pytest.mark.parametrize("seed", range(5))
def test_random_workload_never_violates_and_waits_minimally(seed):
    rng = random.Random(seed)
    clock, pacer, gateway = _pair(global_max=12, global_window=30.0, identical_window=5.0)
    contracts = ["ES", "NQ", "ZN", "GC"]
    for i in range(200):
        contract = rng.choice(contracts)
        what = rng.choice(["TRADES", "TRADES", "MIDPOINT", "BID_ASK"])
        key = (contract, what, rng.randrange(6))  # repeats make identical requests
        _, booking = pacer.acquire(key, contract, what, sleep=clock.sleep)
        clock.now += rng.choice([0.0, 0.001, 0.02])  # the request travels to the gateway ...
        assert gateway.check(key, (contract,), what, clock.now) is None, f"request {i} broke a rule"
        clock.now += rng.choice([0.0, 0.001, 0.02])  # ... and the answer comes back
        pacer.confirm(booking)
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.5])
    # Waiting as little as possible: the gateway would have refused the request a hair earlier.
    assert pacer.waited > 0
    assert gateway.violations == 0
