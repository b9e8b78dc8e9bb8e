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
from sysbrokers.IB.ib_errors import IBNotConnected, IBRequestTimeout, classify, error_from

T = TypeVar("T")

# Errors about the connection itself arrive with reqId -1 but fail whatever request is running.
_CONNECTION_CODES = frozenset({504, 1100})


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
        """Run one ib_async request to completion and turn IB's error messages into exceptions.

        ib_async reports request errors through `errorEvent` and returns an empty result (or
        never returns, for some); here the first error belonging to this request (its request
        ids, or a connection error) ends it at once and is raised as the matching `IBError`
        subclass. `what` names the request in messages.
        """
        return self.run_read(lambda: self.request_async(make_request, what, contract, timeout, delayed_allowed))

    def run_read(self, make_coro: Callable[[], Awaitable[T]]) -> T:
        """Run a read-only request on the event loop, reconnecting first if the connection is down.

        While the connection looks up, the request goes straight out (no extra turn of the loop).
        If the gateway had closed the socket while nothing ran the loop, the request fails with
        `IBNotConnected`; then the connection is re-established and the request asked once more —
        harmless, since everything sent through here only reads.
        """
        conn = self._connection
        if conn.is_connected():
            try:
                return conn.run_sync(make_coro())
            except IBNotConnected:
                if conn.is_connected():
                    raise  # not a lost socket: a real answer from IB
        return conn.run_sync(self._when_connected(make_coro()))

    async def _when_connected(self, request: Awaitable[T]) -> T:
        """Reconnect first if needed, in the same run of the event loop as the request itself."""
        try:
            await self._connection.ensure_connected_async()
        except BaseException:
            request.close()  # a coroutine never started: close it quietly
            raise
        return await request

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
        cancellation is turned into the matching exception.
        """
        ib = self.ib
        task = asyncio.current_task()
        first_req_id = ib.client._reqIdSeq
        failure: list[Exception] = []

        def interrupt(exc: Exception) -> None:
            if not failure:
                failure.append(exc)
                task.cancel()

        def on_error(req_id: int, code: int, text: str, err_contract: Any) -> None:
            ours = req_id >= first_req_id or (req_id == -1 and code in _CONNECTION_CODES)
            if ours and classify(code, text, delayed_allowed) is not None:
                interrupt(error_from(code, text, req_id, err_contract or contract, delayed_allowed))

        limit = self.request_timeout if timeout is None else timeout
        timer = asyncio.get_running_loop().call_later(
            limit, lambda: interrupt(IBRequestTimeout(message=f"{what}: no answer from IB within {limit:g}s"))
        )
        ib.errorEvent += on_error
        try:
            return await make_request()
        except asyncio.CancelledError:
            if not failure:
                raise  # cancelled by someone else: let it through
            task.uncancel()
            raise failure[0] from None
        except ConnectionError as exc:
            raise IBNotConnected(message=f"{what}: connection to IB lost ({exc})") from exc
        finally:
            timer.cancel()
            ib.errorEvent -= on_error
