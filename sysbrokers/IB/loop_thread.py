"""An event loop on a thread of its own, and bounded hand-offs to a loop from other threads.

    loop_thread = LoopThread("ib-loop")               # the loop runs for ever on a daemon thread
    result = loop_thread.run(some_coroutine(), timeout=30, what="contract details")
    loop_thread.stop()                                 # cancels what is left, closes the loop, joins

    run_in_loop(loop, coro, timeout=30, what="...")   # from any other thread, to any running loop
    call_in_loop(loop, fn, *args, timeout=10, what="...")

`connectionIB` uses these when the thread that builds it already runs an event loop (Jupyter,
IPython with autoawait): ib_async's socket then lives on an "ib-loop" thread that keeps it
serviced between cells, and blocking calls from any other thread hand their work to that loop
and wait for the answer. Every wait is bounded: a time limit raises `IBRequestTimeout`, a loop
that stopped meanwhile raises `IBNotConnected`; neither leaves the caller hanging.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sysbrokers.IB.ib_errors import IBNotConnected, IBRequestTimeout

T = TypeVar("T")
log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # how often a waiting caller checks that the loop is still alive
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0

__all__ = ["LoopThread", "RelayedStream", "call_in_loop", "run_in_loop"]


class LoopThread:
    """One asyncio event loop running for ever on a daemon thread (`name`)."""

    def __init__(self, name: str = "ib-loop") -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stopped = False
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()
        if not self._started.wait(START_TIMEOUT):
            raise RuntimeError(f"event loop thread {name!r} did not start within {START_TIMEOUT:g} s")

    # ------------------------------------------------------------------ public
    def is_alive(self) -> bool:
        return self.thread.is_alive() and self.loop.is_running()

    def in_thread(self) -> bool:
        """True on the loop's own thread."""
        return threading.current_thread() is self.thread

    def run(self, coro: Coroutine[Any, Any, T], timeout: float, what: str = "call") -> T:
        """Run `coro` on the loop; wait up to `timeout` s for its result (from another thread)."""
        return run_in_loop(self.loop, coro, timeout, what)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0, what: str = "call") -> T:
        """Call `fn(*args)` on the loop's thread; wait up to `timeout` s for its result."""
        return call_in_loop(self.loop, fn, *args, timeout=timeout, what=what)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Cancel the loop's remaining tasks, stop and close the loop, join the thread. Idempotent.

        Called on the loop's own thread it only stops the loop (the thread then finishes by itself)."""
        if self._stopped:
            return
        self._stopped = True
        if self.in_thread():  # e.g. a listener closed the connection: the thread ends after this callback
            self.loop.stop()
            return
        if not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("event loop thread %r did not stop within %g s", self.name, timeout)

    # --------------------------------------------------------------- internals
    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)  # ib_async and eventkit look the loop up through the policy
        loop.call_soon(self._started.set)
        try:
            loop.run_forever()
        finally:
            try:
                _finish_tasks(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            except Exception as exc:  # never let clean-up hide the loop's end
                log.warning("%s: clean-up after stop failed: %s", self.name, exc)
            finally:
                asyncio.set_event_loop(None)
                loop.close()


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel every task left on the (stopped) loop and let them end, up to STOP_TIMEOUT."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.wait(pending, timeout=STOP_TIMEOUT))
    for task in pending:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.debug("task %s ended with %r while the loop stopped", task.get_name(), task.exception())


def run_in_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
    """Submit `coro` to `loop` (running on another thread) and wait for its result, bounded."""
    try:
        future = asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError:  # the loop is closed
        coro.close()
        raise IBNotConnected(message=f"{what}: the IB event loop has stopped (connection closed?)") from None
    return _wait(future, loop, timeout, what)


def call_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., T], *args: Any, timeout: float, what: str) -> T:
    """Call `fn(*args)` on `loop`'s thread (the loop runs on another thread); wait, bounded."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def call() -> None:
        if not future.set_running_or_notify_cancel():
            return  # the caller gave up already
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)

    try:
        loop.call_soon_threadsafe(call)
    except RuntimeError:
        raise IBNotConnected(message=f"{what}: the IB event loop has stopped (connection closed?)") from None
    return _wait(future, loop, timeout, what)


def _wait(future: concurrent.futures.Future, loop: asyncio.AbstractEventLoop, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            concurrent.futures.wait([future], timeout=max(0.0, min(POLL_SECONDS, remaining)))
            if future.done():
                return future.result()  # the work's own exceptions (time limits included) pass through
            if loop.is_closed() or not loop.is_running():
                raise IBNotConnected(message=f"{what}: the IB event loop stopped while waiting (connection closed?)")
            if time.monotonic() >= deadline:
                raise IBRequestTimeout(message=f"{what}: no result from the IB event loop within {timeout:g} s")
    except concurrent.futures.CancelledError:
        raise IBNotConnected(message=f"{what}: cancelled on the IB event loop (connection closed?)") from None
    except BaseException:
        future.cancel()  # a time limit, Ctrl-C (a Jupyter interrupt) or a dead loop: stop the work too
        raise


_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class RelayedStream:
    """An async iterator (a stream) iterated on the IB loop, whichever loop runs the `async for`.

    On the IB loop itself (async mode) the items pass straight through. From another loop
    (notebook mode: Jupyter's loop, while the IB socket lives on the "ib-loop" thread) the stream
    runs as a task on the IB loop and its items are relayed; `aclose()`, cancelling the consumer,
    an error or dropping the iterator ends that task, so the stream's own clean-up (its
    subscription's cancel) runs on the IB loop. Other attributes are the stream's own.
    """

    def __init__(self, ib_loop: Callable[[], asyncio.AbstractEventLoop | None], source: Any) -> None:
        self._ib_loop = ib_loop
        self._source = source
        self._direct: bool | None = None
        self._queue: asyncio.Queue | None = None
        self._pump: concurrent.futures.Future | None = None
        self._done = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._source, name)

    def __aiter__(self) -> RelayedStream:
        return self

    async def __aenter__(self) -> RelayedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def __anext__(self) -> Any:
        if self._direct is None:
            self._start()
        if self._direct:
            return await self._source.__anext__()
        if self._done:
            raise StopAsyncIteration
        try:
            item = await self._queue.get()
        except asyncio.CancelledError:
            self._stop()
            raise
        if item is _END:
            self._stop()
            raise StopAsyncIteration
        if isinstance(item, _Failure):
            self._stop()
            raise item.exc
        return item

    async def aclose(self) -> None:
        if self._direct:
            await _aclose(self._source)
        elif self._direct is None:
            self._direct = self._done = True  # never started: close it where it is
            await _aclose(self._source)
        else:
            self._stop()

    def __del__(self) -> None:
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()

    def _start(self) -> None:
        owner = self._ib_loop()
        here = asyncio.get_running_loop()
        self._direct = owner is None or owner is here
        if self._direct:
            return
        queue: asyncio.Queue = asyncio.Queue()
        self._queue = queue
        source = self._source

        def put(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the consumer's loop is closed: nobody to tell
                here.call_soon_threadsafe(queue.put_nowait, item)

        async def pump() -> None:
            try:
                async for item in source:
                    put(item)
                put(_END)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                put(_Failure(exc))
            finally:
                await _aclose(source)

        try:
            self._pump = asyncio.run_coroutine_threadsafe(pump(), owner)
        except RuntimeError:
            self._done = True
            raise IBNotConnected(message="stream: the IB event loop has stopped (connection closed?)") from None

    def _stop(self) -> None:
        self._done = True
        if self._pump is not None:
            self._pump.cancel()


async def _aclose(source: Any) -> None:
    close = getattr(source, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
