"""IB messages the layer handles itself are not ERRORs: a logging filter on ib_async's wrapper log.

    install_handled_error_filter(ib)     # connectionIB does this for its IB object

ib_async's `Wrapper.error` logs every error message from the gateway at ERROR on the
`ib_async.wrapper` logger, including ones this layer turns into an exception or an order status
that the caller handles: a nightly price job's log fills with ERROR lines that mean nothing, and
hides the one that matters. This filter lowers those records to INFO, so each is still logged
once, at the level it deserves:

| code | when | level |
|---|---|---|
| 162 | "HMDS query returned no data" / "No head time stamp" (an old or empty contract): `IBNoData` | INFO |
| 200 | no security definition (probing listed/expired contracts): `IBNoSecurityDefinition` | INFO |
| 202 | "Order Canceled" after a cancel this process asked for (and ib_async's "Canceled order" line) | INFO |
| 161 | "Cancel attempted when order is not in a cancellable state": our cancel crossed the order's end | INFO |
| 300 | cancel of a stream the gateway had already ended | INFO |
| 1100 | connectivity lost: the supervisor logs it once itself (ERROR outside reset windows, INFO inside) | INFO |
| — | ib_async.client's "API connection failed" / "Make sure API port…": `IBNotConnected` says it | INFO |

Farm-OK notices (2104, 2106, 2107, 2108, 2158) and other 21xx notices are already logged at INFO
by ib_async. Everything else (a 202 nobody asked for, rejections, permissions, 1100 outside a
reset window, ...) stays at ERROR. The supervisor's own filter handles 1100/1101/1102/2110 and
reconnect noise (connection_supervisor.py).
"""

from __future__ import annotations

import logging
import re
import weakref

from ib_async import IB

WRAPPER_LOGGER = "ib_async.wrapper"
CLIENT_LOGGER = "ib_async.client"
# ib_async.client's lines for a failed connect: connectionIB raises IBNotConnected saying the same.
_CONNECT_FAILED = ("API connection failed", "Make sure API port")
_ERROR_LINE = re.compile(r"^(?:Error|Warning) (\d+), reqId (-?\d+): (.*)", re.S)
_NO_DATA = ("HMDS query returned no data", "No head time stamp")


class HandledErrorFilter(logging.Filter):
    """Lower ib_async's ERROR/WARNING records for messages the layer handles to INFO."""

    def __init__(self) -> None:
        super().__init__()
        self._ibs: weakref.WeakSet[IB] = weakref.WeakSet()

    def watch(self, ib: IB) -> None:
        self._ibs.add(ib)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if record.name == CLIENT_LOGGER:
            return _lower(record) if message.startswith(_CONNECT_FAILED) else True
        if record.name != WRAPPER_LOGGER:
            return True
        match = _ERROR_LINE.match(message)
        if match is not None:
            if self._handled(int(match.group(1)), int(match.group(2)), match.group(3)):
                return _lower(record)
        elif message.startswith("Canceled order: ") and "errorCode=202" in message and "PendingCancel" in message:
            return _lower(record)  # ib_async's second line for a 202 after our own cancel
        return True

    def _handled(self, code: int, req_id: int, text: str) -> bool:
        if code == 162:
            return any(marker in text for marker in _NO_DATA)
        if code in (200, 300):
            return True
        if code == 1100 and req_id == -1:
            return True  # the supervisor logs it itself: ERROR with an alert outside reset windows
        if code in (161, 202):  # 161: our cancel crossed the order's end (fill, reject) on the wire
            return self._cancel_requested(req_id)
        return False

    def _cancel_requested(self, order_id: int) -> bool:
        for ib in list(self._ibs):
            wrapper = ib.wrapper
            trade = wrapper.trades.get((wrapper.clientId, order_id))
            if trade is not None:
                return trade.orderStatus.status == "PendingCancel" or any(
                    entry.status == "PendingCancel" for entry in trade.log
                )
        return False


def _lower(record: logging.LogRecord) -> bool:
    """Make `record` INFO; False (drop it) when its logger does not log INFO."""
    record.levelno, record.levelname = logging.INFO, "INFO"
    return logging.getLogger(record.name).isEnabledFor(logging.INFO)


_FILTER = HandledErrorFilter()


def install_handled_error_filter(ib: IB) -> HandledErrorFilter:
    """Install the filter on ib_async's loggers (once per process) and let it see `ib`'s orders."""
    _FILTER.watch(ib)
    for name in (WRAPPER_LOGGER, CLIENT_LOGGER):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    return _FILTER


__all__ = ["HandledErrorFilter", "install_handled_error_filter"]
