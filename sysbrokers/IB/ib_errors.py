"""IB error codes mapped to a small exception hierarchy.

`classify(code, text)` names the exception type for an IB error message (None for a notice that
is not an error), `error_from(...)` builds the exception, `is_informational(code)` says whether a
code is only a notice. `CODES` is the table documented in docs/errors.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syscore.exceptions import missingContract, missingData


class IBError(Exception):
    """An error reported by (or about) the IB gateway. `code` is None for our own errors."""

    def __init__(
        self,
        code: int | None = None,
        text: str = "",
        req_id: int = -1,
        contract: Any = None,
        message: str | None = None,
    ) -> None:
        self.code = code
        self.text = text
        self.req_id = req_id
        self.contract = contract
        self.message = message or _describe(code, text, req_id, contract)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class IBNoSecurityDefinition(IBError, missingContract):
    """200: the contract does not exist or is ambiguous (fix tradingClass, multiplier, expiry)."""


class IBPacingViolation(IBError):
    """162 'pacing violation', 420, 100: too many requests; back off and retry."""


class IBNoData(IBError, missingData):
    """162 'HMDS query returned no data' / 'No head time stamp': nothing in that window."""


class IBPermissionError(IBError):
    """No market data or trading permission for the request (354, 10197, 162 permissions, ...)."""


class IBOrderRejected(IBError):
    """201, 203, ...: the gateway rejected an order."""


class IBValidationError(IBError):
    """321, 110, ...: the request was malformed or not allowed as sent."""


class IBAccountNotManaged(IBValidationError):
    """The configured account is not among the gateway's managed accounts."""


class IBReadOnlyError(IBError):
    """An order call on a read-only connection (ours), or 321 'API is in Read-Only mode'."""


class IBClientIdInUse(IBError):
    """326: another connection to the gateway holds this client id."""


class IBNotConnected(IBError, ConnectionError):
    """No usable connection: gateway absent, socket closed, 504, 1100, 502, ..."""


class IBResetWindow(IBNotConnected):
    """Not connected inside one of IB's reset windows, and the caller asked not to wait for its end."""


class IBRequestTimeout(IBError, TimeoutError):
    """A request got no answer within the configured request timeout."""


@dataclass(frozen=True)
class CodeInfo:
    """One row of the error table: what the code means and what the layer does about it."""

    code: int
    meaning: str
    exception: type[IBError] | None  # None: a notice, never raised
    action: str


def _row(code: int, meaning: str, exception: type[IBError] | None, action: str) -> tuple[int, CodeInfo]:
    return code, CodeInfo(code, meaning, exception, action)


# 162 is an umbrella code: its exception depends on the text (see `classify`).
CODES: dict[int, CodeInfo] = dict(
    [
        _row(100, "Max rate of messages per second exceeded", IBPacingViolation, "raise; back off"),
        _row(101, "Max number of tickers (market data lines) reached", IBError, "raise"),
        _row(102, "Duplicate ticker id", IBValidationError, "raise (a request id bug)"),
        _row(103, "Duplicate order id", IBValidationError, "raise"),
        _row(105, "Order being modified does not match original order", IBValidationError, "raise"),
        _row(110, "Price does not conform to the minimum price variation", IBValidationError, "raise"),
        _row(162, "Historical data service error (text decides)", IBError, "see the 162 rows below"),
        _row(165, "Historical data service query message", None, "log INFO"),
        _row(200, "No security definition found / ambiguous contract", IBNoSecurityDefinition, "raise"),
        _row(201, "Order rejected", IBOrderRejected, "raise"),
        _row(202, "Order cancelled", None, "order status handles it; log INFO"),
        _row(203, "Security not available or allowed for this account", IBOrderRejected, "raise"),
        _row(300, "Can't find EId with ticker id (cancel of an ended stream)", None, "log INFO"),
        _row(320, "Error reading request", IBValidationError, "raise"),
        _row(321, "Error validating request (incl. API is Read-Only)", IBValidationError, "raise"),
        _row(322, "Server error processing request", IBError, "raise; retry later"),
        _row(326, "Client id already in use", IBClientIdInUse, "store id: mark refused, take next; else raise"),
        _row(354, "Requested market data is not subscribed", IBPermissionError, "raise"),
        _row(366, "No historical data query found for ticker id", IBError, "raise; stream is resubscribed"),
        _row(386, "Duplicate ticker id for historical data query", IBValidationError, "raise"),
        _row(388, "Order size smaller than minimum", IBOrderRejected, "raise"),
        _row(399, "Order message warning", None, "log INFO"),
        _row(420, "Invalid real-time query (pacing)", IBPacingViolation, "raise; back off"),
        _row(434, "Order size cannot be zero", IBOrderRejected, "raise"),
        _row(460, "No trading permissions", IBPermissionError, "raise"),
        _row(502, "Couldn't connect to TWS", IBNotConnected, "raise at connect; reconnect loop later"),
        _row(503, "TWS is out of date and must be upgraded", IBNotConnected, "raise"),
        _row(504, "Not connected", IBNotConnected, "raise; supervisor reconnects"),
        _row(507, "Bad message length (socket EOF)", IBNotConnected, "raise; supervisor reconnects"),
        _row(1100, "Connectivity between IB and TWS lost", IBNotConnected, "state IB_LOST; alert outside resets"),
        _row(1101, "Connectivity restored, data lost", None, "state CONNECTED; resubscribe market data"),
        _row(1102, "Connectivity restored, data maintained", None, "state CONNECTED; nothing to redo"),
        _row(1300, "TWS socket port reset", IBNotConnected, "raise; reconnect"),
        _row(2103, "Market data farm connection broken", None, "farm degraded"),
        _row(2104, "Market data farm connection OK", None, "farm OK"),
        _row(2105, "HMDS data farm connection broken", None, "farm degraded"),
        _row(2106, "HMDS data farm connection OK", None, "farm OK"),
        _row(2107, "HMDS data farm inactive, available on demand", None, "farm OK"),
        _row(2108, "Market data farm inactive, available on demand", None, "farm OK"),
        _row(2110, "Connectivity between TWS and server broken", None, "state SERVER_LOST until restored"),
        _row(2157, "Sec-def data farm connection broken", None, "farm degraded"),
        _row(2158, "Sec-def data farm connection OK", None, "farm OK"),
        _row(2174, "Date-time without explicit time zone (warning)", None, "log INFO"),
        _row(10089, "Market data subscription not valid for API", IBPermissionError, "raise"),
        _row(10090, "Part of requested market data not subscribed", None, "log INFO; stream continues"),
        _row(10091, "Market data subscription not valid for API", IBPermissionError, "raise"),
        _row(
            10167, "Not subscribed; displaying delayed data", None, "warning; IBPermissionError if delayed not allowed"
        ),
        _row(10168, "Not subscribed; delayed data not enabled", IBPermissionError, "raise"),
        _row(
            10182, "Failed to request live updates (disconnected)", IBNotConnected, "raise; resubscribed on reconnect"
        ),
        _row(10186, "Not subscribed; delayed data not enabled", IBPermissionError, "raise"),
        _row(10187, "Historical ticks: no market data permissions", IBPermissionError, "raise"),
        _row(10197, "No market data during competing live session", IBPermissionError, "raise"),
        _row(10318, "Order doesn't support fractional quantity", IBOrderRejected, "raise"),
    ]
)

# Texts of the 162 umbrella code, lower-cased, with the exception each one means.
TEXT_RULES_162: tuple[tuple[str, type[IBError]], ...] = (
    ("pacing violation", IBPacingViolation),
    ("hmds query returned no data", IBNoData),
    ("no head time stamp", IBNoData),
    ("no market data permissions", IBPermissionError),
)

NOTICE_RANGE = range(2100, 2200)  # farm and system notices: never errors


def is_informational(code: int) -> bool:
    """True for notices and warnings that are not errors (2100-2199, 1101, 1102, 10167, ...)."""
    if code in NOTICE_RANGE:
        return True
    info = CODES.get(code)
    return info is not None and info.exception is None


def classify(code: int, text: str = "", delayed_allowed: bool = True) -> type[IBError] | None:
    """The exception type for an IB error message, or None if it is only a notice.

    10167 (delayed data shown instead of live) is a notice unless `delayed_allowed` is False.
    Unknown codes classify as plain `IBError`.
    """
    lowered = (text or "").lower()
    if code == 10167:
        return None if delayed_allowed else IBPermissionError
    if code == 321 and "read-only" in lowered:
        return IBReadOnlyError
    if code == 420 and "permission" in lowered:  # real-time bars without a subscription
        return IBPermissionError
    if code == 162:
        for needle, exc_type in TEXT_RULES_162:
            if needle in lowered:
                return exc_type
        return IBError
    if is_informational(code):
        return None
    info = CODES.get(code)
    return info.exception if info is not None and info.exception is not None else IBError


def error_from(
    code: int, text: str = "", req_id: int = -1, contract: Any = None, delayed_allowed: bool = True
) -> IBError:
    """The exception for an IB error message (plain `IBError` for a notice or unknown code)."""
    exc_type = classify(code, text, delayed_allowed) or IBError
    return exc_type(code, text, req_id, contract)


def _describe(code: int | None, text: str, req_id: int, contract: Any) -> str:
    if code is None:
        return text or "IB error"
    parts = [f"IB error {code}"]
    if req_id is not None and req_id != -1:
        parts.append(f" (reqId {req_id})")
    parts.append(f": {text}" if text else "")
    if contract is not None:
        parts.append(f" [contract: {_contract_label(contract)}]")
    return "".join(parts)


def _contract_label(contract: Any) -> str:
    local = getattr(contract, "localSymbol", "")
    symbol = getattr(contract, "symbol", "")
    expiry = getattr(contract, "lastTradeDateOrContractMonth", "")
    exchange = getattr(contract, "exchange", "")
    label = " ".join(str(p) for p in (local or symbol, expiry if not local else "", exchange) if p)
    return label or repr(contract)
