"""`ibClient`: what every client object shares — the connection, and running one request.

Client objects talk to ib_async in one domain each (contracts, prices, FX, orders, ...). They
hold the connection by composition; data-source objects hold client objects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ib_async import IB

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBNotConnected

T = TypeVar("T")


class ibClient:  # noqa: N801 - pysystemtrade's public name
    """Base of the client objects: `.ib_connection`, `.ib`, `.client_id`, `.log`."""

    def __init__(self, ibconnection: connectionIB, log: logging.Logger | None = None):
        self._connection = ibconnection
        self._log = log or ibconnection.log

    @property
    def ib_connection(self) -> connectionIB:
        return self._connection

    @property
    def ib(self) -> IB:
        return self._connection.ib

    @property
    def client_id(self) -> int:
        return self._connection.client_id()

    @property
    def log(self) -> logging.Logger:
        return self._log

    @property
    def cache(self):
        """pysystemtrade's per-client `Cache` (`cache.get(method, *args)` memoises a call)."""
        if "_cache" not in self.__dict__:
            from syscore.cache import Cache

            self._cache = Cache(self)
        return self._cache

    def error_handler(self, reqid: int, error_code: int, error_string: str, ib_contract: Any = None) -> None:
        """pysystemtrade's errorEvent handler: an error (per `ib_errors.classify`) is logged as a
        warning, a notice at DEBUG. This layer raises request errors itself (`run_request`); this
        only logs, for code that registers it on `ib.errorEvent` as pysystemtrade does."""
        from sysbrokers.IB.ib_errors import classify

        message = f"Reqid {reqid}: {error_code} {error_string} for {ib_contract}"
        if classify(error_code, error_string) is None:
            self.broker_message(message)
        else:
            self.broker_error(message)

    def broker_error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.log.warning(msg)

    def broker_message(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.log.debug(msg)

    def refresh(self) -> None:
        """Let IB's pending messages in (pysystemtrade's `ib.sleep(0.00001)`); no-op when disconnected."""
        if self._connection.ib.isConnected():
            self._connection.sleep(0)

    @property
    def request_timeout(self) -> float:
        return float(self._connection.config.ib_request_timeout)

    def run_request(
        self,
        make_request: Callable[[], Awaitable[T]],
        what: str,
        contract: Any = None,
        timeout: float | None = None,
        delayed_allowed: bool = True,
    ) -> T:
        """Run one read-only ib_async request to completion; IB's error messages become exceptions.

        ib_async reports request errors through `errorEvent` and returns an empty result (or
        never returns, for some); here the first error belonging to this request (its request
        ids, or a connection error) ends it at once and is raised as the matching `IBError`
        subclass. `what` names the request in messages.

        The request goes out at once, from the calling thread, and the event loop runs only until
        its answer is in, as ib_async's own blocking calls do: no task and no extra turn of the
        loop for ib_async's future-returning requests. If the gateway had closed the socket while
        nothing ran the loop, the request fails with `IBNotConnected`; then the connection is
        re-established and the request asked once more — harmless, since everything sent
        through here only reads (what-if orders included).
        """
        conn = self._connection
        if conn.is_connected():
            try:
                return self._run_once(make_request, what, contract, timeout, delayed_allowed)
            except IBNotConnected:
                if conn.is_connected():
                    raise  # not a lost socket: a real answer from IB
        conn.ensure_connected()
        return self._run_once(make_request, what, contract, timeout, delayed_allowed)

    def _run_once(
        self,
        make_request: Callable[[], Awaitable[T]],
        what: str,
        contract: Any,
        timeout: float | None,
        delayed_allowed: bool,
    ) -> T:
        conn = self._connection
        limit = self.request_timeout if timeout is None else timeout
        if conn.off_loop_thread():  # notebook mode, or a worker thread of an asyncio program
            coro = self.request_async(make_request, what, contract, timeout, delayed_allowed)
            return conn.run_sync(coro, timeout=limit + 10)  # the request's own limit, then the hand-off's
        loop = conn.sync_loop()
        watch = conn.request_watch
        request = watch.start(loop, what, contract, limit, delayed_allowed)
        try:
            future = asyncio.ensure_future(make_request(), loop=loop)
            request.target = future
            if request.failure is not None:  # refused while being sent
                future.cancel()
            result = loop.run_until_complete(future)
        except asyncio.CancelledError:
            if request.failure is None:
                raise
            raise request.failure from None
        except ConnectionError as exc:
            raise _lost(what, exc) from exc
        finally:
            watch.finish(request)
        if request.failure is not None:  # ib_async ended the request (empty) on IB's error
            raise request.failure
        return result

    async def request_async(
        self,
        make_request: Callable[[], Awaitable[T]],
        what: str,
        contract: Any = None,
        timeout: float | None = None,
        delayed_allowed: bool = True,
    ) -> T:
        """`run_request` for code running inside the event loop.

        The request is awaited in the calling task itself (no task of its own, no `asyncio.wait`):
        an error of its own or the time limit interrupts it by cancelling the await, and the
        cancellation is turned into the matching exception. The connection's `RequestWatch`
        does the listening and timing for every request in flight.
        """
        task = asyncio.current_task()
        watch = self._connection.request_watch
        request = watch.start(
            task.get_loop(), what, contract, self.request_timeout if timeout is None else timeout, delayed_allowed
        )
        request.target = task
        try:
            return await make_request()
        except asyncio.CancelledError:
            if request.failure is None:
                raise  # cancelled by someone else: let it through
            task.uncancel()
            raise request.failure from None
        except ConnectionError as exc:
            raise _lost(what, exc) from exc
        finally:
            watch.finish(request)


def _lost(what: str, exc: ConnectionError) -> IBNotConnected:
    return IBNotConnected(message=f"{what}: connection to IB lost ({exc})")
