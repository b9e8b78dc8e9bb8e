"""Interactive and asyncio use of the broker layer: notebook mode (a connection built while an
event loop runs on its thread, as in Jupyter), async mode and the `*_async` forms (docs/async.md).

Shared helpers: `in_a_running_loop(cell)` runs synchronous "cells" on the main thread while an
asyncio loop runs there, as ipykernel does; `idle(seconds, until)` is the notebook idle between
cells (the main thread only awaits `asyncio.sleep`); `ib_loop_threads()` lists live "ib-loop"
threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


def ib_loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ib-loop"]


async def idle(seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Stay idle on the main thread's loop for up to `seconds`, or until `until()` is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until is not None and until():
            return True
        await asyncio.sleep(0.02)
    return bool(until()) if until is not None else True
