"""IB's limit on simultaneous market-data lines of a login, held across processes.

    lines = MarketDataLines(books, budget=100, gateway="myhost:4001")   # books: the metadata store's
    line = lines.acquire("ES 202506")          # IBMarketDataLinesExhausted when all are in use
    line = lines.acquire("ES 202506", wait=30) # or wait up to 30 s for one to be freed
    lines.release(line)

IB allows a login a number of simultaneous market-data lines (100 by default; more with quote
booster packs) and answers 101 "Max number of tickers has been reached" past it. Every process
subscribing through one gateway therefore takes its lines from one budget kept in the metadata
store: a line is one numbered slot of the gateway, held by a process (host, pid, token) under a
lease this object renews every third of `lease_seconds`. A killed process stops renewing, so its
lines are free again once their leases expire.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from sysbrokers.IB.ib_errors import IBError

log = logging.getLogger(__name__)
DEFAULT_BUDGET = 100
DEFAULT_LEASE_SECONDS = 30.0


class IBMarketDataLinesExhausted(IBError):
    """Every market-data line of the login is in use (IB would answer 101)."""


@dataclass(frozen=True)
class LineHolder:
    host: str
    pid: int
    token: str


@dataclass(frozen=True)
class Line:
    slot: int
    what: str  # what the line is for, e.g. "ES 202506 quotes"


class LineBooks(Protocol):
    """The metadata store's side: numbered slots per gateway, taken under leases."""

    def take(self, budget: int, holder: LineHolder, what: str, expires: float, now: float) -> int | None:
        """Atomically take a free (or expired) slot below `budget`; None when all are held."""

    def renew(self, holder: LineHolder, expires: float) -> int:
        """Extend every lease of `holder`; returns how many lines it holds."""

    def give_back(self, holder: LineHolder, slot: int) -> None: ...

    def holders(self, now: float) -> dict[LineHolder, int]:
        """Lines in use per holder (unexpired leases)."""


class MarketDataLines:
    """This process's share of the login's market-data lines; thread-safe."""

    def __init__(
        self,
        books: LineBooks,
        budget: int = DEFAULT_BUDGET,
        gateway: str = "",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if budget < 1 or lease_seconds <= 0:
            raise ValueError("a market-data line budget is >= 1 and its lease > 0 seconds")
        self.books, self.budget, self.gateway, self.lease_seconds = books, budget, gateway, lease_seconds
        self.holder = LineHolder(socket.gethostname(), os.getpid(), uuid.uuid4().hex)
        self._held: dict[int, Line] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, what: str, wait: float | None = None, sleep=time.sleep) -> Line:
        """A line for `what`; raises `IBMarketDataLinesExhausted` (naming the limit and who holds
        the lines) when none is free, after waiting up to `wait` seconds for one if given."""
        deadline = time.monotonic() + (wait or 0.0)
        while True:
            now = time.time()
            slot = self.books.take(self.budget, self.holder, what, now + self.lease_seconds, now)
            if slot is not None:
                line = Line(slot, what)
                with self._lock:
                    self._held[slot] = line
                    self._start_renewing()
                return line
            if time.monotonic() >= deadline:
                raise IBMarketDataLinesExhausted(message=self._exhausted(what))
            sleep(min(0.5, max(0.01, deadline - time.monotonic())))

    def release(self, line: Line) -> None:
        with self._lock:
            if self._held.pop(line.slot, None) is None:
                return
        self.books.give_back(self.holder, line.slot)

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def close(self) -> None:
        """Give every line back and stop renewing."""
        self._stop.set()
        with self._lock:
            slots, self._held = list(self._held), {}
        for slot in slots:
            self.books.give_back(self.holder, slot)

    def _start_renewing(self) -> None:
        if self._renewer is None or not self._renewer.is_alive():
            self._renewer = threading.Thread(target=self._renew_loop, name="market-data-lines", daemon=True)
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                if not self._held:
                    continue
            try:
                self.books.renew(self.holder, time.time() + self.lease_seconds)
            except Exception as exc:  # a store blip: say so and try again at the next third of the lease
                log.warning("renewing %d market-data line(s) failed: %s", self.held(), exc)

    def _exhausted(self, what: str) -> str:
        holders = self.books.holders(time.time())
        named = ", ".join(
            f"{h.host} pid {h.pid}{' (this process)' if h == self.holder else ''}: {n}"
            for h, n in sorted(holders.items(), key=lambda item: -item[1])
        )
        return (
            f"no market-data line for {what}: all {self.budget} lines of the login at {self.gateway or 'the gateway'} "
            f"are in use (ib_market_data_lines); held by {named or 'nobody'}"
        )
