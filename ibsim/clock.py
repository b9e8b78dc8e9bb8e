"""The simulated clock: starts at a chosen instant and runs at a chosen speed.

    clock = SimClock(dt.datetime(2025, 3, 4, 15, tzinfo=dt.UTC), speed=60)
    clock.now(); clock.advance(3600); clock.set_speed(0)

Thread-safe: tests move the clock from their own thread while the gateway reads it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

UTC = dt.UTC


class SimClock:
    """Simulated time = start + speed * (real time elapsed), plus any manual jumps.

    `speed=0` freezes the clock (time moves only through `advance`), which tests use for
    exact, repeatable prices.
    """

    def __init__(self, start: dt.datetime | None = None, speed: float = 1.0):
        if start is None:
            start = dt.datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        if speed < 0:
            raise ValueError(f"SimClock speed must be >= 0, got {speed}")
        self._lock = threading.Lock()
        self._origin_sim = start.astimezone(UTC)
        self._origin_real = time.monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> dt.datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._origin_real) * self._speed
            return self._origin_sim + dt.timedelta(seconds=elapsed)

    def _rebase(self, sim_now: dt.datetime) -> None:
        self._origin_sim = sim_now
        self._origin_real = time.monotonic()

    def advance(self, seconds: float) -> dt.datetime:
        """Jump forward by `seconds` of simulated time; returns the new time."""
        if seconds < 0:
            raise ValueError("the simulated clock never goes backwards")
        with self._lock:
            elapsed = (time.monotonic() - self._origin_real) * self._speed
            self._rebase(self._origin_sim + dt.timedelta(seconds=elapsed + seconds))
            return self._origin_sim

    def set_time(self, when: dt.datetime) -> None:
        """Move the clock to `when` (forward only)."""
        when = when.astimezone(UTC)
        if when < self.now():
            raise ValueError("the simulated clock never goes backwards")
        with self._lock:
            self._rebase(when)

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        with self._lock:
            elapsed = (time.monotonic() - self._origin_real) * self._speed
            self._rebase(self._origin_sim + dt.timedelta(seconds=elapsed))
            self._speed = float(speed)

    def real_seconds_until(self, when: dt.datetime) -> float:
        """Real seconds until the simulated clock reaches `when` (inf when frozen)."""
        delta = (when - self.now()).total_seconds()
        if delta <= 0:
            return 0.0
        return float("inf") if self._speed == 0 else delta / self._speed
