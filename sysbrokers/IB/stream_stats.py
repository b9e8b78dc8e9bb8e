"""Per-stream statistics: update rate, last-update age, gaps and rolls (seed 004's `get_stats()`).

    stream = stream_front_month_quotes(conn, "NASDAQ")
    async for event in stream: ...
    stream.stats.as_dict()
    # {"name": "quotes NASDAQ front", "updates": 812, "updates_per_second": 9.8,
    #  "last_update_age_seconds": 0.04, "gaps": 0, "missing_updates": 0, "max_gap_seconds": 0.31,
    #  "rolls": 1, "roll_failures": 0, "resubscriptions": 0, ...}

Every stream of `front_month_stream` carries one `StreamStats`; `record(data_time)` is called per
update. Two kinds of gap are counted:

* periodic streams (bars) know when the next update is due: a bar whose start is more than one
  bar after the previous one is a *sequence hole*; `missing_updates` counts the bars skipped;
* every stream counts a *silence* when two consecutive updates arrive more than `gap_seconds`
  apart (wall-clock, default 5 s), for quote and trade streams that have no sequence. A quiet
  market causes silences too: they are facts to show, not errors.

Rates are over the last `window_seconds` (default 10 s) of arrivals, by `time.monotonic()`.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StreamStats", "relays_itself"]


@dataclass
class StreamStats:
    """Counters of one stream; `as_dict()` is plain data for /metrics."""

    name: str
    expected_interval: float | None = None  # seconds between updates' data times (bars), else None
    gap_seconds: float = 5.0  # a wall-clock silence longer than this is a gap
    window_seconds: float = 10.0
    updates: int = 0
    gaps: int = 0  # sequence holes plus silences
    missing_updates: int = 0  # expected updates that never came (periodic streams)
    silences: int = 0
    max_gap_seconds: float = 0.0
    rolls: int = 0
    roll_failures: int = 0
    resubscriptions: int = 0
    errors: int = 0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    last_update_at: dt.datetime | None = None  # wall clock, UTC
    last_data_time: dt.datetime | None = None  # the update's own time (gateway clock)
    _arrivals: collections.deque = field(default_factory=collections.deque, repr=False)
    _last_mono: float | None = field(default=None, repr=False)
    _clock: Any = field(default=time.monotonic, repr=False)

    def record(self, data_time: dt.datetime | None = None) -> None:
        """One update arrived now; `data_time` is its own time (bar start, tick time), if any."""
        now = self._clock()
        if self._last_mono is not None:
            silence = now - self._last_mono
            self.max_gap_seconds = max(self.max_gap_seconds, silence)
            if silence > self.gap_seconds:
                self.silences += 1
                self.gaps += 1
        if self.expected_interval and data_time is not None and self.last_data_time is not None:
            step = (data_time - self.last_data_time).total_seconds()
            skipped = round(step / self.expected_interval) - 1
            if skipped > 0:
                self.gaps += 1
                self.missing_updates += skipped
        self._last_mono = now
        self.updates += 1
        self.last_update_at = dt.datetime.now(dt.UTC)
        if data_time is not None:
            self.last_data_time = data_time
        self._arrivals.append(now)
        self._trim(now)

    def restart_sequence(self) -> None:
        """The next update starts a new sequence (a new contract after a roll): no hole across it."""
        self.last_data_time = None

    def _trim(self, now: float) -> None:
        cutoff = now - self.window_seconds
        while self._arrivals and self._arrivals[0] < cutoff:
            self._arrivals.popleft()

    def updates_per_second(self) -> float:
        """Arrivals per second over the last `window_seconds` (or since the start, if shorter)."""
        now = self._clock()
        self._trim(now)
        span = min(self.window_seconds, max(now - self._started_mono(), 1e-9))
        return len(self._arrivals) / span

    def last_update_age(self) -> float | None:
        """Seconds since the last update (None before the first)."""
        return None if self._last_mono is None else self._clock() - self._last_mono

    def _started_mono(self) -> float:
        elapsed = (dt.datetime.now(dt.UTC) - self.started_at).total_seconds()
        return self._clock() - elapsed

    def as_dict(self) -> dict[str, Any]:
        age = self.last_update_age()
        return {
            "name": self.name,
            "updates": self.updates,
            "updates_per_second": round(self.updates_per_second(), 3),
            "last_update_age_seconds": None if age is None else round(age, 3),
            "last_update_at": None if self.last_update_at is None else self.last_update_at.isoformat(),
            "last_data_time": None if self.last_data_time is None else self.last_data_time.isoformat(),
            "gaps": self.gaps,
            "missing_updates": self.missing_updates,
            "silences": self.silences,
            "max_gap_seconds": round(self.max_gap_seconds, 3),
            "rolls": self.rolls,
            "roll_failures": self.roll_failures,
            "resubscriptions": self.resubscriptions,
            "errors": self.errors,
            "started_at": self.started_at.isoformat(),
        }


def relays_itself(method: Any) -> Any:
    """Mark a data object's `stream_*` method whose stream objects relay to the IB loop themselves
    (front_month_stream's `__aiter__`), so that the generic relay (ib_data_args) leaves the stream
    object, and its `.stats`, to the caller."""
    method._relayed = True
    return method
