"""Executions of broker orders, each with the commission IB reported for it.

A `Fill` is one IB execution (exec id, UTC time, signed quantity, price, ids) merged with its
commission report **by execution id**. The commission is `None` until that report arrives: an
unknown commission is never zero (pysystemtrade stored delayed reports as 0 until
pst-group/pysystemtrade#1661). `listOfFills` sums quantities, prices and commissions per currency.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "UTC",
    "Fill",
    "InvalidFill",
    "as_utc",
    "check_commission",
    "datetime_from_iso",
    "datetime_to_iso",
    "listOfFills",
]

UTC = dt.UTC
REPR_MAX_FILLS = 10  # a listOfFills repr lists at most this many fills

# ib_async sends BOT / SLD on executions; the long names appear in some IB messages.
_SIDE_SIGN = {"BOT": 1, "BUY": 1, "SLD": -1, "SELL": -1}


class InvalidFill(ValueError):
    """A fill or commission that cannot be right; names the offending field."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"invalid fill {field}={value!r}: {reason}")


def as_utc(moment: dt.datetime, field: str = "time") -> dt.datetime:
    """`moment` converted to UTC; naive datetimes are refused rather than guessed."""
    if not isinstance(moment, dt.datetime):
        raise InvalidFill(field, moment, "expected a timezone-aware datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidFill(field, moment, "naive datetime; pass a timezone-aware (UTC) time")
    return moment.astimezone(UTC)


def datetime_to_iso(moment: dt.datetime) -> str:
    """Fixed-width UTC ISO text ("2024-03-01T14:30:00.000000+00:00"): exact, and sorts as text."""
    return as_utc(moment).isoformat(timespec="microseconds")


def datetime_from_iso(value: str | dt.datetime, field: str = "time") -> dt.datetime:
    """Inverse of `datetime_to_iso`; also accepts an aware datetime (e.g. a BSON date)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidFill(field, value, "not an ISO-8601 time") from None
    return as_utc(value, field)


def _optional_int(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidFill(field, value, "expected an integer or None")
    return int(value)


@dataclass(frozen=True)
class Fill:
    """One execution, signed (+ bought, - sold), with its commission once reported."""

    exec_id: str
    time: dt.datetime
    quantity: int
    price: float
    order_ref: str = ""
    perm_id: int | None = None
    account: str = ""
    con_id: int | None = None
    order_id: int | None = None  # IB's order id (per client id)
    client_id: int | None = None
    exchange: str = ""
    commission: float | None = None  # None = no commission report yet (not zero)
    commission_currency: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.exec_id, str) or not self.exec_id:
            raise InvalidFill("exec_id", self.exec_id, "an execution needs its IB execution id")
        object.__setattr__(self, "time", as_utc(self.time))
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity != int(quantity):
            raise InvalidFill("quantity", quantity, "expected a whole number of contracts")
        if quantity == 0:
            raise InvalidFill("quantity", quantity, "an execution of zero contracts")
        object.__setattr__(self, "quantity", int(quantity))
        # Fill prices are facts from the exchange: finite, but may be negative (CL in April 2020).
        if isinstance(self.price, bool) or not isinstance(self.price, int | float) or not math.isfinite(self.price):
            raise InvalidFill("price", self.price, "expected a finite number")
        object.__setattr__(self, "price", float(self.price))
        for name in ("perm_id", "con_id", "order_id", "client_id"):
            object.__setattr__(self, name, _optional_int(getattr(self, name), name))
        check_commission(self.commission, self.commission_currency)
        if self.commission is not None:
            object.__setattr__(self, "commission", float(self.commission))

    @property
    def commission_known(self) -> bool:
        return self.commission is not None

    @property
    def side(self) -> str:
        return "BUY" if self.quantity > 0 else "SELL"

    def __repr__(self) -> str:
        """`<Fill BUY 2 @ 5812.25 2025-03-04 15:00:01 UTC, commission 4.2 USD, exec 0000e1.01>`"""
        commission = (
            f"commission {self.commission:g} {self.commission_currency}"
            if self.commission_known
            else "commission not reported yet"
        )
        return (
            f"<Fill {self.side} {abs(self.quantity)} @ {self.price:g} {self.time:%Y-%m-%d %H:%M:%S} UTC, "
            f"{commission}, exec {self.exec_id}>"
        )

    def with_commission(self, commission: float, currency: str) -> Fill:
        """This fill with its commission report applied."""
        return replace(self, commission=commission, commission_currency=currency)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: the time as fixed-width UTC ISO text."""
        return {
            "exec_id": self.exec_id,
            "time": datetime_to_iso(self.time),
            "quantity": self.quantity,
            "price": self.price,
            "order_ref": self.order_ref,
            "perm_id": self.perm_id,
            "account": self.account,
            "con_id": self.con_id,
            "order_id": self.order_id,
            "client_id": self.client_id,
            "exchange": self.exchange,
            "commission": self.commission,
            "commission_currency": self.commission_currency,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fill:
        fields = {key: data[key] for key in _FIELDS if key in data}
        fields["time"] = datetime_from_iso(data["time"])
        return cls(**fields)

    @classmethod
    def from_ib_fill(cls, ib_fill: Any, price_magnifier: float = 1) -> Fill:
        """From an ib_async / ib_insync `Fill` (contract, execution, commissionReport, time).

        The commission counts only once the report is *for this execution* and names a currency:
        ib_async puts an empty `CommissionReport()` (commission 0.0) on every new fill and fills it
        in when the real report arrives. Prices are divided by `price_magnifier` (IB's price units
        to the layer's).
        """
        execution = ib_fill.execution
        sign = _SIDE_SIGN.get(str(execution.side).upper())
        if sign is None:
            raise InvalidFill("side", execution.side, "expected BOT or SLD")
        report = ib_fill.commissionReport
        known = report is not None and report.execId == execution.execId and bool(report.currency)
        contract = getattr(ib_fill, "contract", None)
        return cls(
            exec_id=execution.execId,
            time=execution.time,
            quantity=sign * abs(execution.shares),
            price=execution.price / price_magnifier,
            order_ref=execution.orderRef or "",
            perm_id=execution.permId or None,
            account=execution.acctNumber or "",
            con_id=(getattr(contract, "conId", 0) or None) if contract is not None else None,
            order_id=execution.orderId or None,
            client_id=execution.clientId or None,
            exchange=execution.exchange or "",
            commission=report.commission if known else None,
            commission_currency=report.currency if known else None,
        )


_FIELDS = tuple(Fill.__dataclass_fields__)


def check_commission(commission: float | None, currency: str | None) -> None:
    """Raise `InvalidFill` unless both are None, or a finite amount has a currency."""
    if commission is None:
        if currency is not None:
            raise InvalidFill("commission", commission, f"a currency ({currency!r}) without an amount")
        return
    if isinstance(commission, bool) or not isinstance(commission, int | float) or not math.isfinite(commission):
        raise InvalidFill("commission", commission, "expected a finite number (negative for a rebate)")
    if not isinstance(currency, str) or not currency:
        raise InvalidFill("commission_currency", currency, "a known commission needs its currency")


class listOfFills(list[Fill]):  # noqa: N801 - pysystemtrade's naming
    """The fills of one order, at most one per execution id."""

    def __init__(self, fills: Iterable[Fill] = ()) -> None:
        super().__init__()
        for fill in fills:
            self.add_fill(fill)

    def add_fill(self, fill: Fill) -> bool:
        """Add `fill`; `False` if its exec id is already here (a known commission is still merged)."""
        for index, existing in enumerate(self):
            if existing.exec_id == fill.exec_id:
                if fill.commission_known and existing.commission != fill.commission:
                    self[index] = existing.with_commission(fill.commission, fill.commission_currency)
                return False
        self.append(fill)
        return True

    def add_commission(self, exec_id: str, commission: float, currency: str) -> bool:
        """Apply a commission report to the fill with `exec_id`; `True` if anything changed.

        Raises `KeyError` if no fill has that exec id.
        """
        check_commission(commission, currency)
        for index, existing in enumerate(self):
            if existing.exec_id == exec_id:
                if (existing.commission, existing.commission_currency) == (float(commission), currency):
                    return False
                self[index] = existing.with_commission(commission, currency)
                return True
        raise KeyError(f"no fill with exec id {exec_id!r}")

    def by_exec_id(self) -> dict[str, Fill]:
        return {fill.exec_id: fill for fill in self}

    def total_quantity(self) -> int:
        return sum(fill.quantity for fill in self)

    def average_price(self) -> float | None:
        """Quantity-weighted price of the executions; None without fills."""
        size = sum(abs(fill.quantity) for fill in self)
        if size == 0:
            return None
        return sum(abs(fill.quantity) * fill.price for fill in self) / size

    def commission_by_currency(self) -> dict[str, float]:
        """Known commissions summed per currency (unknown ones are left out: check `all_commissions_known`)."""
        totals: dict[str, float] = {}
        for fill in self:
            if fill.commission_known:
                totals[fill.commission_currency] = totals.get(fill.commission_currency, 0.0) + fill.commission
        return totals

    @property
    def all_commissions_known(self) -> bool:
        return all(fill.commission_known for fill in self)

    def missing_commissions(self) -> listOfFills:
        return listOfFills(fill for fill in self if not fill.commission_known)

    def last_fill_time(self) -> dt.datetime | None:
        return max((fill.time for fill in self), default=None)

    def __repr__(self) -> str:
        """`<listOfFills 2: +3 @ 101.5 avg, commission 4.2 USD>` followed by the fills, one a line."""
        if not self:
            return "<listOfFills empty>"
        commission = ", ".join(f"{amount:g} {ccy}" for ccy, amount in sorted(self.commission_by_currency().items()))
        if not self.all_commissions_known:
            commission = f"{commission + ' + ' if commission else ''}{len(self.missing_commissions())} not reported yet"
        head = f"<listOfFills {len(self)}: {self.total_quantity():+d} @ {self.average_price():g} avg, commission {commission}>"
        shown = [repr(fill) for fill in self[:REPR_MAX_FILLS]]
        if len(self) > REPR_MAX_FILLS:
            shown.append(f"... {len(self) - REPR_MAX_FILLS} more")
        return "\n  ".join([head, *shown])

    def sorted(self) -> listOfFills:
        """Oldest first; exec id breaks ties so the order is stable across stores."""
        return listOfFills(sorted(self, key=lambda fill: (fill.time, fill.exec_id)))
