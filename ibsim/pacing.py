"""IB's historical-data pacing rules, enforced by the simulated gateway.

    pacer = HistoricalPacer(PacingRules.scaled(0.01))            # hard rules for every bar size
    pacer = HistoricalPacer(PacingRules.documented(0.01))         # as IB documents them (below)
    broken = pacer.check(request_key, contract_key, "TRADES", time.monotonic(), bar_seconds=3600)
    delay = pacer.answer_delay(3600, time.monotonic())           # soft throttle: seconds to hold the answer
    limiter = MessageRateLimiter(50); limiter.admit(time.monotonic())           # False: error 100

IB answers error 162 "Historical data request pacing violation" when a client makes
- an identical historical request within 15 seconds,
- six or more requests for the same contract, exchange and tick type within 2 seconds,
- more than 60 requests within any 10-minute window.
A BID_ASK request counts twice. IB states these hard rules for bars of 30 seconds or less; larger
bars are "soft" throttled: answers slow down when requests come fast. `PacingRules()` applies the
hard rules to every bar size (the strict reading); `PacingRules.documented()` applies them to bars
of up to 30 s only and holds back each answer to a larger-bar request past `soft_max` per
`soft_window` by `soft_delay`. Windows and limits are configurable so that tests and
benchmarks can use short ones. Time is the gateway's real time (monotonic seconds): IB
paces on wall-clock time, not market time.
"""

from __future__ import annotations

import dataclasses
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
    # None: the hard rules apply to every bar size. 30: only to bars of up to 30 s, as IB documents.
    hard_max_bar_seconds: float | None = None
    soft_window: float = 600.0  # larger bars: answers past soft_max requests per soft_window ...
    soft_max: int = 60
    soft_delay: float = 1.0  # ... are held back this long

    @classmethod
    def scaled(cls, factor: float) -> PacingRules:
        """The same limits with every window multiplied by `factor` (e.g. 0.01 for tests)."""
        return cls(
            identical_window=cls.identical_window * factor,
            same_contract_window=cls.same_contract_window * factor,
            global_window=cls.global_window * factor,
            soft_window=cls.soft_window * factor,
            soft_delay=cls.soft_delay * factor,
        )

    @classmethod
    def documented(cls, factor: float = 1.0) -> PacingRules:
        """IB's rules as documented: hard rules for bars of 30 s or less, a soft throttle above."""
        return dataclasses.replace(cls.scaled(factor), hard_max_bar_seconds=30.0)


class HistoricalPacer:
    """Tracks historical requests of one gateway and says when one breaks a pacing rule."""

    def __init__(self, rules: PacingRules | None = None):
        self.rules = rules or PacingRules()
        self._identical: dict[tuple, float] = {}
        self._per_contract: dict[tuple, deque[float]] = {}
        self._all: deque[float] = deque()
        self.violations = 0
        self._forced = 0
        self._soft: deque[float] = deque()
        self.soft_delayed = 0  # answers held back by the soft throttle

    def force_violations(self, count: int) -> None:
        """Fault injection: the next `count` requests fail with a pacing violation."""
        self._forced += count

    def check(
        self, request_key: tuple, contract_key: tuple, what_to_show: str, now: float, bar_seconds: float = 0.0
    ) -> str | None:
        """Record a request; return the broken rule's name, or None when it is allowed.

        A refused request is not recorded, as IB does not count it against the limits. Requests
        for bars above `hard_max_bar_seconds` are never refused (see `answer_delay`).
        """
        if self._forced > 0:
            self._forced -= 1
            self.violations += 1
            return "forced"
        if not self.rules.enabled or self._soft_throttled(bar_seconds):
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

    def answer_delay(self, bar_seconds: float, now: float) -> float:
        """Seconds to hold back the answer to an accepted request (IB's soft throttle for larger bars)."""
        if not self.rules.enabled or not self._soft_throttled(bar_seconds):
            return 0.0
        rules = self.rules
        while self._soft and now - self._soft[0] >= rules.soft_window:
            self._soft.popleft()
        self._soft.append(now)
        if len(self._soft) <= rules.soft_max:
            return 0.0
        self.soft_delayed += 1
        return rules.soft_delay

    def _soft_throttled(self, bar_seconds: float) -> bool:
        limit = self.rules.hard_max_bar_seconds
        return limit is not None and bar_seconds > limit

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


class MessageRateLimiter:
    """IB's API message-rate limit for one connection: 50 client messages per second (TWS default).

    A token bucket: `max_per_second` tokens, refilled at `max_per_second` per second; each message
    takes one. A burst of 50 at once passes and the 51st is refused; a client that keeps to the rate
    on average (ib_async sends bursts of at most 45 per second) is never refused because its
    bursts reached the gateway a little late or early. `admit(now)` takes a token if there is one;
    `delay(now)` is how long a paced client ("+PACEAPI") waits for the next one.
    """

    def __init__(self, max_per_second: int):
        if max_per_second <= 0:
            raise ValueError("max_per_second must be positive")
        self.max_per_second = max_per_second
        self._tokens = float(max_per_second)
        self._at: float | None = None

    def _refill(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._tokens = min(float(self.max_per_second), self._tokens + (now - self._at) * self.max_per_second)
        if self._at is None or now > self._at:
            self._at = now

    def admit(self, now: float) -> bool:
        self._refill(now)
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def delay(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.max_per_second
