"""Watching the requests in flight on one connection: IB's errors for them and their time limits.

ib_async reports a failed request through `errorEvent` and ends it with an empty result (or never
ends it, for some). One `RequestWatch` per IB client object listens to `errorEvent` once and keeps
one timer for the earliest time limit, instead of a listener and a timer per request: requests are
the hot path of contract resolution and price paging, and both would be added and removed on every
call.

A request owns the request ids ib_async allocates from the moment it starts until the next request
starts, so concurrent requests each get their own errors: an error for request id N interrupts the
request with the greatest first id <= N.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ib_async import IB

from sysbrokers.IB.ib_errors import IBError, IBRequestTimeout, classify, error_from

# Errors about the connection itself arrive with reqId -1 but fail whatever request is running.
CONNECTION_CODES = frozenset({504, 1100})


@dataclass(eq=False, slots=True)
class WatchedRequest:
    """One request in flight and what to raise if IB refuses it or stays silent.

    `target` is what an interruption cancels: the future the blocking caller runs the loop
    on, or the task awaiting the request inside the loop.
    """

    loop: asyncio.AbstractEventLoop
    first_req_id: int
    deadline: float  # loop time
    what: str
    contract: Any
    delayed_allowed: bool
    limit: float
    target: asyncio.Future | None = None
    failure: IBError | None = None

    def interrupt(self, exc: IBError) -> None:
        if self.failure is None:
            self.failure = exc
            if self.target is not None:
                self.target.cancel()


class RequestWatch:
    """The requests in flight on one `IB` object."""

    def __init__(self, ib: IB) -> None:
        self._ib = ib
        self._pending: list[WatchedRequest] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._listening = False

    def start(
        self, loop: asyncio.AbstractEventLoop, what: str, contract: Any, limit: float, delayed_allowed: bool
    ) -> WatchedRequest:
        """Register a request about to be sent on `loop` (call just before sending it)."""
        if not self._listening:
            self._ib.errorEvent += self._on_error
            self._listening = True
        request = WatchedRequest(
            loop=loop,
            first_req_id=self._ib.client._reqIdSeq,
            deadline=loop.time() + limit,
            what=what,
            contract=contract,
            delayed_allowed=delayed_allowed,
            limit=limit,
        )
        self._pending.append(request)
        # Every request usually has the same limit, so the timer armed for an earlier request
        # fires first and re-arms for the rest: no timer is created or cancelled per request.
        if self._timer is None or self._timer_loop is not loop or self._timer.when() > request.deadline:
            self._arm(loop, request.deadline)
        return request

    def finish(self, request: WatchedRequest) -> None:
        """The request ended (answered, failed or cancelled)."""
        if request in self._pending:  # close() may have forgotten it already
            self._pending.remove(request)

    def close(self) -> None:
        """Stop listening (the connection is closed)."""
        if self._listening:
            self._ib.errorEvent -= self._on_error
            self._listening = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()

    # ------------------------------------------------------------------ internals
    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._on_timer)
        self._timer_loop = loop

    def _on_timer(self) -> None:
        self._timer = None
        loop = self._timer_loop
        if loop is None:
            return
        now = loop.time()
        later = []
        for request in list(self._pending):
            if request.loop is not loop:
                continue
            if request.deadline <= now:
                request.interrupt(
                    IBRequestTimeout(message=f"{request.what}: no answer from IB within {request.limit:g}s")
                )
            elif request.failure is None:
                later.append(request.deadline)
        if later:
            self._arm(loop, min(later))

    def _on_error(self, req_id: int, code: int, text: str, err_contract: Any) -> None:
        if not self._pending:
            return
        if req_id == -1:
            if code in CONNECTION_CODES:
                for request in list(self._pending):
                    self._fail(request, req_id, code, text, err_contract)
            return
        owner = None
        for request in self._pending:
            if request.first_req_id <= req_id and (owner is None or request.first_req_id > owner.first_req_id):
                owner = request
        if owner is not None:
            self._fail(owner, req_id, code, text, err_contract)

    @staticmethod
    def _fail(request: WatchedRequest, req_id: int, code: int, text: str, err_contract: Any) -> None:
        if classify(code, text, request.delayed_allowed) is not None:
            request.interrupt(error_from(code, text, req_id, err_contract or request.contract, request.delayed_allowed))
