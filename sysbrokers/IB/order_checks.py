"""Safety checks run on every order before anything is sent to IB.

Each check raises a subclass of `OrderRefused` (an `IBError` without an IB code): the order was
refused by this layer and **nothing reached the gateway**. The read-only check is the
connection's own (`connectionIB.check_can_trade`, raising `IBReadOnlyError`).

    check_quantity(order.trade)
    ib_price = ib_price_on_grid(order.limit_price, min_tick=0.25, price_magnifier=1, what="limit price")
    check_market_open(hours, now, "SP500/20250600")
"""

from __future__ import annotations

import datetime as dt
import math
import numbers

from sysbrokers.IB.ib_errors import IBError
from syscore.exceptions import missingContract

__all__ = [
    "OrderDuplicate",
    "OrderInvalidQuantity",
    "OrderMarketClosed",
    "OrderOffTick",
    "OrderRefused",
    "OrderUnknownContract",
    "check_market_open",
    "check_quantity",
    "ib_price_on_grid",
    "is_market_open",
]

# A price is on the grid when it is within this fraction of a tick of a multiple of the tick:
# float noise (4123.2500000001) passes, a real off-tick price (4123.1) does not.
_TICK_TOLERANCE = 1e-6


class OrderRefused(IBError):
    """An order (or modification) this layer refused before sending: nothing reached IB."""


class OrderUnknownContract(OrderRefused, missingContract):
    """The order's instrument is not configured, or IB has no such (unexpired) contract."""


class OrderInvalidQuantity(OrderRefused):
    """The quantity is zero or not a whole number of contracts."""


class OrderOffTick(OrderRefused):
    """A limit or stop price that is not a multiple of the contract's minimum tick."""


class OrderMarketClosed(OrderRefused):
    """The contract's market is closed now (by IB's trading hours and the gateway's clock)."""


class OrderDuplicate(OrderRefused):
    """An order with this order reference was submitted already: orders are never sent twice."""


def check_quantity(trade: object) -> int:
    """`trade` as an int; raises `OrderInvalidQuantity` unless a non-zero whole number (not bool)."""
    if isinstance(trade, bool) or not isinstance(trade, numbers.Integral):
        raise OrderInvalidQuantity(message=f"order quantity {trade!r} is not a whole number of contracts")
    if trade == 0:
        raise OrderInvalidQuantity(message="order quantity is zero: an order must buy or sell at least one contract")
    return int(trade)


def ib_price_on_grid(price: float, min_tick: float, price_magnifier: float, what: str = "price") -> float:
    """The IB price (layer price x magnifier) snapped to the tick grid; `OrderOffTick` if off it.

    `min_tick` is in IB's price units. The returned price has float noise removed, so IB's own
    check (error 110) agrees with ours.
    """
    if not isinstance(price, numbers.Real) or isinstance(price, bool) or not math.isfinite(price) or price <= 0:
        raise OrderOffTick(message=f"{what} {price!r} is not a positive finite number")
    if not min_tick or min_tick <= 0:
        raise OrderOffTick(message=f"{what} {price!r}: the contract reports no minimum tick ({min_tick!r})")
    ib_price = float(price) * float(price_magnifier)
    steps = ib_price / min_tick
    if abs(steps - round(steps)) > _TICK_TOLERANCE:
        tick = min_tick / price_magnifier
        below = math.floor(steps) * tick
        raise OrderOffTick(
            message=f"{what} {price!r} is not on the tick grid of {tick:g}: "
            f"nearest allowed prices are {_tidy(below)} and {_tidy(below + tick)}"
        )
    return _tidy(round(steps) * min_tick)


def is_market_open(hours: list[tuple[dt.datetime, dt.datetime]], now: dt.datetime) -> bool:
    """True when `now` falls in one of the (start, end) UTC trading sessions."""
    return any(start <= now < end for start, end in hours)


def check_market_open(hours: list[tuple[dt.datetime, dt.datetime]], now: dt.datetime, what: str) -> None:
    """Raise `OrderMarketClosed` unless `now` is inside a trading session of `hours`."""
    if is_market_open(hours, now):
        return
    coming = [start for start, _ in hours if start > now]
    when = f"; it opens at {min(coming).isoformat(timespec='minutes')}" if coming else ""
    raise OrderMarketClosed(
        message=f"the market for {what} is closed at {now.isoformat(timespec='seconds')} (gateway clock){when}"
    )


def _tidy(price: float) -> float:
    # 10 significant decimals: removes binary noise from price x magnifier without moving a tick.
    return float(f"{price:.10f}")
