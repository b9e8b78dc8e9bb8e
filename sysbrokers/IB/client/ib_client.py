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
from sysbrokers.IB.ib_errors import IBError, IBNotConnected, IBRequestTimeout, classify, error_from

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

        ib_async reports request errors through `errorEvent` and returns an empty result; here
        the first error belonging to this request (its request ids, or a connection error) is
        raised as the matching `IBError` subclass. `what` names the request in messages.
        """
        self._connection.ensure_connected()
        ib = self.ib
        first_req_id = ib.client._reqIdSeq
        errors: list[IBError] = []

        def on_error(req_id: int, code: int, text: str, err_contract: Any) -> None:
            ours = req_id >= first_req_id or (req_id == -1 and code in _CONNECTION_CODES)
            if ours and classify(code, text, delayed_allowed) is not None:
                errors.append(error_from(code, text, req_id, err_contract or contract, delayed_allowed))

        ib.errorEvent += on_error
        limit = self.request_timeout if timeout is None else timeout
        try:
            result = self._connection.run_sync(asyncio.wait_for(make_request(), limit))
        except TimeoutError as exc:
            raise IBRequestTimeout(message=f"{what}: no answer from IB within {limit:g}s") from exc
        except ConnectionError as exc:
            raise IBNotConnected(message=f"{what}: connection to IB lost ({exc})") from exc
        finally:
            ib.errorEvent -= on_error
        if errors:
            raise errors[0]
        return result
