"""Client-side model of IB's historical-data pacing rules.

IB refuses a historical request (error 162, "pacing violation") when it is
- identical to one made within the last 15 seconds,
- the sixth (or later) request for the same contract, exchange and tick type within 2 seconds,
- over 60 requests within any 10-minute window,
with BID_ASK requests counting twice. `HistoricalPacer` keeps the same books as the gateway and
says how long to wait before a request so that none of the rules is ever broken — and not a
moment longer, so a large download runs at the pace IB allows.

The gateway books a request when it receives it, a little after we send it. A booking is
therefore made when a request is sent and moved to the time its answer arrives (`confirm`),
which is never earlier than the gateway's own stamp.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class PacingLimits:
    identical_window: float = 15.0
    same_contract_window: float = 2.0
    same_contract_max: int = 5
    global_window: float = 600.0
    global_max: int = 60
    # Extra seconds added to every wait: IB's clock and ours are not the same clock.
    margin: float = 0.05

    def __post_init__(self) -> None:
        for name in ("identical_window", "same_contract_window", "global_window", "margin"):
            if getattr(self, name) < 0:
                raise ValueError(f"PacingLimits.{name} must be >= 0")
        if self.same_contract_max < 2 or self.global_max < 2:
            raise ValueError("PacingLimits maxima must be >= 2 (a BID_ASK request counts twice)")

    def scaled(self, factor: float) -> PacingLimits:
        """The same limits with every window multiplied by `factor` (1 = IB's own)."""
        return PacingLimits(
            identical_window=self.identical_window * factor,
            same_contract_window=self.same_contract_window * factor,
            same_contract_max=self.same_contract_max,
            global_window=self.global_window * factor,
            global_max=self.global_max,
            margin=self.margin * min(1.0, factor * 10),
        )


def request_weight(what_to_show: str) -> int:
    return 2 if what_to_show.upper() == "BID_ASK" else 1


class HistoricalPacer:
    """Says how long to wait before each historical request; thread-safe."""

    def __init__(self, limits: PacingLimits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or PacingLimits()
        self._clock = clock
        self._lock = threading.Lock()
        # Each booking is a one-element list shared by the books it is in, so `confirm` can move it.
        self._identical: dict[Hashable, list[float]] = {}
        self._per_contract: dict[Hashable, deque[list[float]]] = {}
        self._all: deque[list[float]] = deque()
        self.requests = 0
        self.waited = 0.0

    def delay(self, request_key: Hashable, contract_key: Hashable, what_to_show: str) -> float:
        """Seconds to wait before sending this request (0 when it may go now)."""
        with self._lock:
            return self._delay(request_key, contract_key, what_to_show.upper(), self._clock())

    def _delay(self, request_key: Hashable, contract_key: Hashable, what: str, now: float) -> float:
        limits = self.limits
        self._expire(now)
        weight = request_weight(what)
        earliest = now
        last = self._identical.get(request_key)
        if last is not None:
            earliest = max(earliest, last[0] + limits.identical_window)
        times = self._per_contract.get((contract_key, what), deque())
        earliest = max(earliest, _free_slot(times, weight, limits.same_contract_max, limits.same_contract_window))
        earliest = max(earliest, _free_slot(self._all, weight, limits.global_max, limits.global_window))
        return 0.0 if earliest <= now else earliest - now + limits.margin

    def record(self, request_key: Hashable, contract_key: Hashable, what_to_show: str) -> list[float]:
        """Book a request that is being sent; returns the booking for `confirm`."""
        what = what_to_show.upper()
        with self._lock:
            booking = [self._clock()]
            self._identical[request_key] = booking
            times = self._per_contract.setdefault((contract_key, what), deque())
            for _ in range(request_weight(what)):
                times.append(booking)
                self._all.append(booking)
            self.requests += 1
            return booking

    def confirm(self, booking: list[float]) -> None:
        """The request's answer arrived: the gateway booked it no later than now."""
        with self._lock:
            booking[0] = max(booking[0], self._clock())

    def acquire(
        self,
        request_key: Hashable,
        contract_key: Hashable,
        what_to_show: str,
        sleep: Callable[[float], object] = time.sleep,
    ) -> tuple[float, list[float]]:
        """Wait until the request may go and book it: returns (seconds waited, booking)."""
        waited = 0.0
        while True:
            wait = self.delay(request_key, contract_key, what_to_show)
            if wait <= 0:
                break
            sleep(wait)
            waited += wait
        booking = self.record(request_key, contract_key, what_to_show)
        self.waited += waited
        return waited, booking

    def _expire(self, now: float) -> None:
        limits = self.limits
        while self._all and now - self._all[0][0] >= limits.global_window:
            self._all.popleft()
        for key in [k for k, t in self._identical.items() if now - t[0] >= limits.identical_window]:
            del self._identical[key]
        for key, times in list(self._per_contract.items()):
            while times and now - times[0][0] >= limits.same_contract_window:
                times.popleft()
            if not times:
                del self._per_contract[key]


def _free_slot(times: deque[list[float]], weight: int, maximum: int, window: float) -> float:
    """Earliest time at which `weight` more requests fit under `maximum` per `window`."""
    excess = len(times) + weight - maximum
    if excess <= 0:
        return 0.0
    # Confirmed bookings may have moved out of order when requests overlap.
    return sorted(t[0] for t in times)[excess - 1] + window
