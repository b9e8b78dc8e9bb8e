"""Checking the query of a market-data service request; a bad one is a 4xx naming the parameter.

raise RequestError(400, "bar_size", "bar size '7 secs' is not one of 5 secs")
RequestError(...).body      # {"error": "...", "parameter": "bar_size"}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sysobjects.futures_per_contract_prices import Frequency

UTC = dt.UTC

# Historical bar sizes: IB's names (and this layer's frequency codes) -> Frequency.
HISTORY_BAR_SIZES: dict[str, Frequency] = {
    "1 day": Frequency.Day,
    "1 hour": Frequency.Hour,
    "15 mins": Frequency.Minutes_15,
    "5 mins": Frequency.Minutes_5,
    "1 min": Frequency.Minute,
    "10 secs": Frequency.Seconds_10,
    "1 secs": Frequency.Second,
}
# Default span of a history request without `start`, by frequency.
DEFAULT_SPANS: dict[Frequency, dt.timedelta] = {
    Frequency.Day: dt.timedelta(days=365),
    Frequency.Hour: dt.timedelta(days=31),
    Frequency.Minutes_15: dt.timedelta(days=7),
    Frequency.Minutes_5: dt.timedelta(days=7),
    Frequency.Minute: dt.timedelta(days=1),
    Frequency.Seconds_10: dt.timedelta(hours=4),
    Frequency.Second: dt.timedelta(minutes=30),
}
STREAM_BAR_SIZES = ("5 secs",)  # IB's real-time bars come in one size
FORMATS = ("json", "csv")


class RequestError(Exception):
    """A request the service refuses: HTTP `status`, the `parameter` at fault and why."""

    def __init__(self, status: int, parameter: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.parameter = parameter
        self.message = message

    @property
    def body(self) -> dict[str, Any]:
        return {"error": self.message, "parameter": self.parameter}


def history_frequency(value: str | None) -> Frequency:
    """`bar_size` of a history request: IB's name ("1 hour") or a frequency code ("H"); default 1 day."""
    if value is None or value == "":
        return Frequency.Day
    text = " ".join(value.split()).lower()
    if text in HISTORY_BAR_SIZES:
        return HISTORY_BAR_SIZES[text]
    for frequency in HISTORY_BAR_SIZES.values():
        if value in (frequency.value, frequency.name):
            return frequency
    raise RequestError(400, "bar_size", f"bar size {value!r} is not one of {', '.join(HISTORY_BAR_SIZES)}")


def stream_bar_size(value: str | None) -> str:
    if value is None or " ".join(value.split()).lower() in STREAM_BAR_SIZES:
        return STREAM_BAR_SIZES[0]
    raise RequestError(400, "bar_size", f"streamed bars are 5-second bars only (bar_size=5 secs), not {value!r}")


def timestamp(value: str | None, parameter: str) -> dt.datetime | None:
    """An ISO 8601 time ("2025-03-04T15:00:00Z"; a date is its midnight; no zone means UTC)."""
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value.strip())
    except ValueError:
        raise RequestError(400, parameter, f"{parameter} {value!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def history_range(
    start: str | None, end: str | None, frequency: Frequency, now: dt.datetime, max_days: float
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] of a history request: defaults by frequency, at most `max_days` long."""
    end_at = timestamp(end, "end") or now
    start_at = timestamp(start, "start") or end_at - min(DEFAULT_SPANS[frequency], dt.timedelta(days=max_days))
    if start_at >= end_at:
        raise RequestError(400, "start", f"start {start_at.isoformat()} is not before end {end_at.isoformat()}")
    if end_at - start_at > dt.timedelta(days=max_days):
        days = (end_at - start_at).total_seconds() / 86400
        raise RequestError(
            400, "start", f"range of {days:g} days is longer than {max_days:g} (market_data_service_max_history_days)"
        )
    return start_at, end_at


def output_format(value: str | None) -> str:
    text = (value or "json").lower()
    if text not in FORMATS:
        raise RequestError(400, "format", f"format {value!r} is not json or csv")
    return text


def last_event_id(header: str | None, query: str | None) -> int | None:
    value = header if header not in (None, "") else query
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise RequestError(400, "last_event_id", f"Last-Event-ID {value!r} is not an event id (an integer)") from None
    if number < 0:
        raise RequestError(400, "last_event_id", f"Last-Event-ID {value!r} is negative")
    return number


__all__ = [
    "HISTORY_BAR_SIZES",
    "RequestError",
    "history_frequency",
    "history_range",
    "last_event_id",
    "output_format",
    "stream_bar_size",
    "timestamp",
]
