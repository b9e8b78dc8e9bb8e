"""IB's historical-data pacing rules, enforced by the simulated gateway.

IB answers error 162 "Historical data request pacing violation" when a client makes
- an identical historical request within 15 seconds,
- six or more requests for the same contract, exchange and tick type within 2 seconds,
- more than 60 requests within any 10-minute window.
A BID_ASK request counts twice. Windows and limits are configurable so that tests and
benchmarks can use short ones. Time is the gateway's real time (monotonic seconds): IB
paces on wall-clock time, not market time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class PacingRules:
    identical_window: float = 15.0
    same_contract_window: float = 2.0
    same_contract_max: int = 5  # a 6th request within the window is a violation
    global_window: float = 600.0
    global_max: int = 60
    enabled: bool = True

    @classmethod
    def scaled(cls, factor: float) -> PacingRules:
        """The same limits with every window multiplied by `factor` (e.g. 0.01 for tests)."""
        return cls(
            identical_window=cls.identical_window * factor,
            same_contract_window=cls.same_contract_window * factor,
            global_window=cls.global_window * factor,
        )


class HistoricalPacer:
    """Tracks historical requests of one gateway and says when one breaks a pacing rule."""

    def __init__(self, rules: PacingRules | None = None):
        self.rules = rules or PacingRules()
        self._identical: dict[tuple, float] = {}
        self._per_contract: dict[tuple, deque[float]] = {}
        self._all: deque[float] = deque()
        self.violations = 0
        self._forced = 0

    def force_violations(self, count: int) -> None:
        """Fault injection: the next `count` requests fail with a pacing violation."""
        self._forced += count

    def check(self, request_key: tuple, contract_key: tuple, what_to_show: str, now: float) -> str | None:
        """Record a request; return the broken rule's name, or None when it is allowed.

        A refused request is not recorded, as IB does not count it against the limits.
        """
        if self._forced > 0:
            self._forced -= 1
            self.violations += 1
            return "forced"
        if not self.rules.enabled:
            return None
        rules = self.rules
        weight = 2 if what_to_show.upper() == "BID_ASK" else 1
        self._expire(now)
        last = self._identical.get(request_key)
        broken = None
        if last is not None and now - last < rules.identical_window:
            broken = f"identical request within {rules.identical_window:g}s"
        per_contract = self._per_contract.setdefault(contract_key + (what_to_show.upper(),), deque())
        if broken is None and len(per_contract) + weight > rules.same_contract_max:
            broken = (
                f"more than {rules.same_contract_max} requests for one contract within {rules.same_contract_window:g}s"
            )
        if broken is None and len(self._all) + weight > rules.global_max:
            broken = f"more than {rules.global_max} requests within {rules.global_window:g}s"
        if broken is not None:
            self.violations += 1
            return broken
        self._identical[request_key] = now
        for _ in range(weight):
            per_contract.append(now)
            self._all.append(now)
        return None

    def _expire(self, now: float) -> None:
        rules = self.rules
        while self._all and now - self._all[0] >= rules.global_window:
            self._all.popleft()
        for key in [k for k, t in self._identical.items() if now - t >= rules.identical_window]:
            del self._identical[key]
        for key, times in list(self._per_contract.items()):
            while times and now - times[0] >= rules.same_contract_window:
                times.popleft()
            if not times:
                del self._per_contract[key]
