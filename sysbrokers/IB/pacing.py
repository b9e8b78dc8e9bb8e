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

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]


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


def earliest_slot(
    now: float,
    limits: PacingLimits,
    weight: int,
    identical_last: float | None,
    contract_times: Iterable[float],
    all_times: Iterable[float],
) -> float:
    """Seconds to wait before a request of `weight`, given the booked times (0 when it may go now).

    The one implementation of IB's three rules, shared by the in-memory and the shared books.
    """
    earliest = now
    if identical_last is not None:
        earliest = max(earliest, identical_last + limits.identical_window)
    earliest = max(earliest, _free_slot(contract_times, weight, limits.same_contract_max, limits.same_contract_window))
    earliest = max(earliest, _free_slot(all_times, weight, limits.global_max, limits.global_window))
    return 0.0 if earliest <= now else earliest - now + limits.margin


class PacingBooks(Protocol):
    """Where bookings live: this process's memory, or the metadata store (shared by processes)."""

    def reserve(
        self, request_key: Hashable, contract_key: Hashable, what: str, limits: PacingLimits, clock: Clock
    ) -> tuple[float, object | None]:
        """Atomically: (seconds to wait, None), or (0, a booking made now).

        `clock` is read once the books are locked (or read), as late as possible: the request is
        sent right after, and the gateway stamps it when it arrives."""

    def confirm(self, booking: object, now: float) -> None:
        """Move a booking to `now` (its answer arrived), never earlier than it was."""


@dataclass(frozen=True)
class StoredBooking:
    """One booking as shared books keep it: plain text keys (the same in every process)."""

    request_key: str
    contract_key: str  # contract, exchange and tick type
    weight: int
    booked: float  # seconds since the epoch


def booking_keys(request_key: Hashable, contract_key: Hashable, what: str) -> tuple[str, str]:
    """The text keys a shared book stores: stable across processes (reprs of plain tuples)."""
    return repr(request_key), repr((contract_key, what))


def wait_for(
    bookings: Iterable[StoredBooking], request: str, contract: str, weight: int, limits: PacingLimits, now: float
) -> float:
    """`earliest_slot` over a shared book's bookings (any order; expired ones are ignored)."""
    identical: float | None = None
    per_contract: list[float] = []
    everything: list[float] = []
    for booking in bookings:
        age = now - booking.booked
        if booking.request_key == request and age < limits.identical_window:
            identical = booking.booked if identical is None else max(identical, booking.booked)
        if age < limits.global_window:
            everything.extend([booking.booked] * booking.weight)
            if booking.contract_key == contract and age < limits.same_contract_window:
                per_contract.extend([booking.booked] * booking.weight)
    return earliest_slot(now, limits, weight, identical, per_contract, everything)


def longest_window(limits: PacingLimits) -> float:
    """After this long a booking counts under no rule."""
    return max(limits.identical_window, limits.same_contract_window, limits.global_window)


class MemoryBooks:
    """One process's books; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Each booking is a one-element list shared by the books it is in, so `confirm` can move it.
        self._identical: dict[Hashable, list[float]] = {}
        self._per_contract: dict[Hashable, deque[list[float]]] = {}
        self._all: deque[list[float]] = deque()

    def reserve(
        self, request_key: Hashable, contract_key: Hashable, what: str, limits: PacingLimits, clock: Clock
    ) -> tuple[float, list[float] | None]:
        with self._lock:
            now = clock()
            self._expire(now, limits)
            weight = request_weight(what)
            last = self._identical.get(request_key)
            times = self._per_contract.get((contract_key, what), ())
            wait = earliest_slot(
                now,
                limits,
                weight,
                None if last is None else last[0],
                (t[0] for t in times),
                (t[0] for t in self._all),
            )
            if wait > 0:
                return wait, None
            booking = [now]
            self._identical[request_key] = booking
            per_contract = self._per_contract.setdefault((contract_key, what), deque())
            for _ in range(weight):
                per_contract.append(booking)
                self._all.append(booking)
            return 0.0, booking

    def confirm(self, booking: list[float], now: float) -> None:
        with self._lock:
            booking[0] = max(booking[0], now)

    def _expire(self, now: float, limits: PacingLimits) -> None:
        while self._all and now - self._all[0][0] >= limits.global_window:
            self._all.popleft()
        for key in [k for k, t in self._identical.items() if now - t[0] >= limits.identical_window]:
            del self._identical[key]
        for key, times in list(self._per_contract.items()):
            while times and now - times[0][0] >= limits.same_contract_window:
                times.popleft()
            if not times:
                del self._per_contract[key]


STRICT = "strict"  # IB's hard rules for every bar size
DOCUMENTED = "documented"  # the hard rules for bars of up to 30 s; see HistoricalPacer
SMALL_BAR_SECONDS = 30
MAX_IN_FLIGHT = 50  # IB's limit on simultaneous historical requests


class HistoricalPacer:
    """Says how long to wait before each historical request, and books it; thread-safe.

    `books` is where bookings live (default: this process's memory). Shared books need a clock
    that every process agrees on: pass `clock=time.time` with them.

    `profile` STRICT applies IB's three hard rules to every request. DOCUMENTED (IB's own
    statement of its rules) applies them to bars of up to 30 s; a request for larger bars keeps
    the identical-request rule and waits only while MAX_IN_FLIGHT requests are unanswered, and
    `fall_back()` (called on the first pacing violation of such a request) makes the pacer strict
    for the rest of its life. Every request is booked either way, so strict pacing after a fall
    back, and other processes' small-bar requests, count it.
    """

    def __init__(
        self,
        limits: PacingLimits | None = None,
        clock: Clock = time.monotonic,
        books: PacingBooks | None = None,
        profile: str = STRICT,
    ):
        if profile not in (STRICT, DOCUMENTED):
            raise ValueError(f"pacing profile {profile!r}: expected {STRICT!r} or {DOCUMENTED!r}")
        self.limits = limits or PacingLimits()
        # The identical-request rule alone (the other two rules can never bind).
        self._identical_only = dataclasses.replace(self.limits, same_contract_max=2**31, global_max=2**31)
        self._clock = clock
        self.books: PacingBooks = books if books is not None else MemoryBooks()
        self.profile = profile
        self.requests = 0
        self.waited = 0.0
        self._in_flight = 0
        self._lock = threading.Lock()

    def fall_back(self) -> bool:
        """Strict pacing from now on; True if the pacer was not strict already."""
        changed = self.profile != STRICT
        self.profile = STRICT
        return changed

    def hard_rules_apply(self, bar_seconds: float | None) -> bool:
        return self.profile == STRICT or bar_seconds is None or bar_seconds <= SMALL_BAR_SECONDS

    def confirm(self, booking: object) -> None:
        """The request's answer arrived: the gateway booked it no later than now."""
        with self._lock:
            self._in_flight -= 1
        self.books.confirm(booking, self._clock())

    def acquire(
        self,
        request_key: Hashable,
        contract_key: Hashable,
        what_to_show: str,
        sleep: Callable[[float], object] = time.sleep,
        bar_seconds: float | None = None,
    ) -> tuple[float, object]:
        """Wait until the request may go and book it: returns (seconds waited, booking).

        `bar_seconds` (the request's bar length) decides which rules apply under DOCUMENTED;
        unknown counts as small. Every acquire must be followed by `confirm(booking)`."""
        what = what_to_show.upper()
        waited = 0.0
        while True:
            limits = self.limits if self.hard_rules_apply(bar_seconds) else self._identical_only
            wait = 0.0
            with self._lock:
                if self._in_flight >= MAX_IN_FLIGHT:
                    wait = 0.01
                else:
                    self._in_flight += 1
            if not wait:
                try:
                    wait, booking = self.books.reserve(request_key, contract_key, what, limits, self._clock)
                except BaseException:
                    with self._lock:
                        self._in_flight -= 1
                    raise
                if booking is not None:
                    break
                with self._lock:
                    self._in_flight -= 1
            sleep(wait)
            waited += wait
        self.requests += 1
        self.waited += waited
        return waited, booking


def _free_slot(times: Iterable[float], weight: int, maximum: int, window: float) -> float:
    """Earliest time at which `weight` more requests fit under `maximum` per `window` (`times`:
    the bookings still inside the window)."""
    times = list(times)
    excess = len(times) + weight - maximum
    if excess <= 0:
        return 0.0
    # Confirmed bookings may have moved out of order when requests overlap.
    return sorted(times)[excess - 1] + window


class PacingRetry:
    """How long to wait after IB refused a request for pacing although the books said it may go
    (another process or program on the same login, or a gateway that restarted its count).

    IB's rules only look back over their windows, and a refused request does not count, so
    waiting out the longest window always clears a violation: waits start at 2 s (at IB's
    windows), double, are capped at a quarter of the global window, and `next_wait` returns None
    only once more than the global plus the identical-request window has passed since the first
    refusal — a violation never becomes a lost request.
    """

    BASE = 2.0  # seconds at IB's own windows

    def __init__(self, limits: PacingLimits):
        scale = limits.global_window / PacingLimits.global_window
        self._next = self.BASE * scale
        self._cap = limits.global_window / 4
        self._budget = limits.global_window + limits.identical_window + limits.margin
        self.waited = 0.0

    def next_wait(self) -> float | None:
        """Seconds to wait before asking again, or None when waiting longer cannot help."""
        if self.waited >= self._budget:
            return None
        wait = min(self._next, self._cap)
        self._next *= 2
        self.waited += wait
        return wait
