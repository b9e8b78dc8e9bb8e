"""Server-Sent Events framing (the WHATWG `text/event-stream` format).

    frame(7, "quote", {"bid": 5801.25})   # b'id: 7\\nevent: quote\\ndata: {"bid": 5801.25}\\n\\n'
    retry(2000)                           # b'retry: 2000\\n\\n': reconnect after 2 s
    comment("keepalive")                  # b': keepalive\\n\\n': ignored by EventSource

A frame is encoded once per event and the same bytes are written to every reader. `data` is one
line of JSON (JSON never needs a raw newline), so a frame always parses as a single event.
"""

from __future__ import annotations

import json
import math
from typing import Any

CONTENT_TYPE = "text/event-stream"


def frame(event_id: int | None, event: str, data: Any) -> bytes:
    """One event: `id:` (omitted when None), `event:`, one `data:` line of JSON."""
    body = json.dumps(_clean(data), separators=(",", ":"), default=str)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    """How long an EventSource waits before reconnecting after the stream ends."""
    return f"retry: {int(milliseconds)}\n\n".encode()


def comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


def parse(text: str) -> list[dict[str, str]]:
    """Events of an event-stream text (a client's view; used by tests and the benchmark)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            event[name] = event[name] + "\n" + value if name == "data" and name in event else value
        if event:
            events.append(event)
    return events


def _clean(value: Any) -> Any:
    """NaN and infinities become null: JSON has no such numbers and browsers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


__all__ = ["CONTENT_TYPE", "comment", "frame", "parse", "retry"]
