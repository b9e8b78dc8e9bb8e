"""Broker orders (pysystemtrade's `brokerOrder`) and an order with its live IB `Trade`.

    order = brokerOrder("GOLD", "20240600", trade=2, order_type="LMT", limit_price=2315.5,
                        account="DU123456", strategy_name="trend")
    order.order_reference          # "trend/GOLD/1f3a9c0b7d2e": unique, sent to IB as Order.orderRef

A `brokerOrder` holds what was asked for (contract, signed quantity, type, prices), the ids IB
gave it (order id, perm id, client id, conId), its status and its fills. The fills are the truth
for the filled quantity, the average price and the commission; the commission is `None` while
any fill still waits for its commission report (unknown is not zero).

`orderWithControls` pairs an order with the ib_async `Trade` that IB keeps updating;
`update_order()` copies the ids, status and fills from that Trade into the order.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sysexecution.trade_qty import tradeQuantity
from sysobjects.contract_dates import contractDate
from sysobjects.contracts import futuresContract
from sysobjects.exceptions import InvalidContractDate
from sysobjects.fills import (
    UTC,
    Fill,
    InvalidFill,
    as_utc,
    datetime_from_iso,
    datetime_to_iso,
    listOfFills,
)

__all__ = [
    "ACTIVE_STATUS_VALUES",
    "InvalidOrder",
    "brokerOrder",
    "brokerOrderType",
    "new_order_reference",
    "orderStatus",
    "orderWithControls",
    "order_status_from_ib",
]

# ib_async's "no value" for doubles; IB also reports an unset limit price as 0.0.
_UNSET_DOUBLE = 1.7976931348623157e308


class InvalidOrder(ValueError):
    """An order that cannot be right; `field` names the offending attribute."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"invalid order {field}={value!r}: {reason}")


class brokerOrderType(StrEnum):  # noqa: N801 - pysystemtrade's public name
    """Order types IB is sent; the value is IB's `orderType`."""

    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"

    @classmethod
    def from_name(cls, value: str | brokerOrderType) -> brokerOrderType:
        """IB's code ("LMT") or pysystemtrade's name ("limit", "market", "stop_loss")."""
        if isinstance(value, cls):
            return value
        found = _ORDER_TYPE_NAMES.get(str(value).strip().lower())
        if found is None:
            raise InvalidOrder("order_type", value, f"expected one of {', '.join(t.value for t in cls)}")
        return found


_ORDER_TYPE_NAMES = {
    "mkt": brokerOrderType.MARKET,
    "market": brokerOrderType.MARKET,
    "lmt": brokerOrderType.LIMIT,
    "limit": brokerOrderType.LIMIT,
    "stp": brokerOrderType.STOP,
    "stop": brokerOrderType.STOP,
    "stop_loss": brokerOrderType.STOP,
}


class orderStatus(StrEnum):  # noqa: N801 - named like brokerOrderType
    CREATED = "created"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @classmethod
    def from_name(cls, value: str | orderStatus) -> orderStatus:
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower().replace(" ", "_"))
        except ValueError:
            raise InvalidOrder("status", value, f"expected one of {', '.join(s.value for s in cls)}") from None

    @property
    def is_active(self) -> bool:
        """Could still trade (or is still being sent)."""
        return self in _ACTIVE_STATUSES

    @property
    def is_done(self) -> bool:
        return not self.is_active


_ACTIVE_STATUSES = frozenset({orderStatus.CREATED, orderStatus.SUBMITTED, orderStatus.PARTIALLY_FILLED})
ACTIVE_STATUS_VALUES = tuple(sorted(status.value for status in _ACTIVE_STATUSES))

_IB_DONE_STATUS = {
    "Filled": orderStatus.FILLED,
    "Cancelled": orderStatus.CANCELLED,
    "ApiCancelled": orderStatus.CANCELLED,
    "Inactive": orderStatus.REJECTED,  # rejected by IB (or held in a way that needs a human)
}


def order_status_from_ib(ib_status: str, filled_quantity: int, current: orderStatus) -> orderStatus:
    """Our status for IB's `OrderStatus.status` ("PreSubmitted", "Filled", ...)."""
    if ib_status in _IB_DONE_STATUS:
        return _IB_DONE_STATUS[ib_status]
    if not ib_status:
        return current  # not sent yet, or IB has said nothing so far
    return orderStatus.PARTIALLY_FILLED if filled_quantity else orderStatus.SUBMITTED


def new_order_reference(strategy_name: str, instrument_code: str) -> str:
    """ "{strategy}/{instrument}/{12 hex digits}": unique per submission, readable in TWS."""
    return f"{strategy_name}/{instrument_code}/{uuid.uuid4().hex[:12]}"


def _optional_id(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InvalidOrder(name, value, "expected a non-negative integer or None")
    return int(value)


def _optional_price(value: Any, name: str, any_sign: bool = False) -> float | None:
    """A positive price; `any_sign`: any finite one (a spread's price can be zero or negative)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidOrder(name, value, "expected a finite number")
    if value <= 0 and not any_sign:
        raise InvalidOrder(name, value, "must be positive")
    return float(value)


@dataclass
class brokerOrder:  # noqa: N801 - pysystemtrade's public name
    """One order sent (or about to be sent) to IB for one futures contract."""

    instrument_code: str
    contract_id: str  # pysystemtrade's 8-character contract date, "20240600" for a month
    trade: int  # signed: + buy, - sell; a spread ("20250600_20250900"): a tradeQuantity, one per leg
    order_type: brokerOrderType = brokerOrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    account: str = ""
    strategy_name: str = ""
    order_reference: str = ""  # generated when empty
    ib_order_id: int | None = None
    perm_id: int | None = None
    client_id: int | None = None
    con_id: int | None = None
    submit_datetime: dt.datetime | None = None
    status: orderStatus = orderStatus.CREATED
    fills: listOfFills = field(default_factory=listOfFills)
    # pysystemtrade's stack ids: this order, its contract-order parent, its children
    order_id: int | None = None
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    leg_con_ids: list[int] = field(default_factory=list)  # a spread's legs at IB (set when sent)

    def __post_init__(self) -> None:
        if isinstance(self.contract_id, futuresContract):
            contract = self.contract_id
            if self.instrument_code and self.instrument_code != contract.instrument_code:
                raise InvalidOrder("instrument_code", self.instrument_code, f"but the contract is {contract.key}")
            self.instrument_code = contract.instrument_code
            self.contract_id = contract.date_str
        if not isinstance(self.instrument_code, str) or not self.instrument_code.strip():
            raise InvalidOrder("instrument_code", self.instrument_code, "expected a non-empty instrument code")
        try:
            self.contract_id = contractDate(self.contract_id).date_str
        except InvalidContractDate as exc:
            raise InvalidOrder("contract_id", self.contract_id, exc.reason) from None
        self.trade = _checked_trade(self.trade, self.contract_id)
        self.leg_con_ids = [int(con_id) for con_id in self.leg_con_ids]
        self.order_type = brokerOrderType.from_name(self.order_type)
        self.limit_price = _optional_price(self.limit_price, "limit_price", any_sign=self.is_spread_order)
        self.stop_price = _optional_price(self.stop_price, "stop_price")
        self._check_prices_match_type()
        for name in ("account", "strategy_name", "order_reference"):
            if not isinstance(getattr(self, name), str):
                raise InvalidOrder(name, getattr(self, name), "expected a string")
        if not self.order_reference:
            self.order_reference = new_order_reference(self.strategy_name, self.instrument_code)
        for name in ("ib_order_id", "perm_id", "client_id", "con_id", "order_id", "parent"):
            setattr(self, name, _optional_id(getattr(self, name), name))
        self.children = [_optional_id(child, "children") for child in self.children]
        if self.submit_datetime is not None:
            self.submit_datetime = _order_time(self.submit_datetime, "submit_datetime")
        self.status = orderStatus.from_name(self.status)
        fills, self.fills = self.fills, listOfFills()
        for fill in fills:
            self.add_fill(fill)

    def _check_prices_match_type(self) -> None:
        needs = {brokerOrderType.LIMIT: "limit_price", brokerOrderType.STOP: "stop_price"}.get(self.order_type)
        for name in ("limit_price", "stop_price"):
            given = getattr(self, name) is not None
            if name == needs and not given:
                raise InvalidOrder(name, None, f"a {self.order_type.value} order needs a {name}")
            if name != needs and given:
                raise InvalidOrder(name, getattr(self, name), f"not used by a {self.order_type.value} order")

    @classmethod
    def from_contract(cls, contract: futuresContract, trade: int, **kwargs: Any) -> brokerOrder:
        return cls(contract.instrument_code, contract.date_str, trade, **kwargs)

    # -- identity --------------------------------------------------------------------------------

    @property
    def futures_contract(self) -> futuresContract:
        return futuresContract(self.instrument_code, self.contract_id)

    @property
    def key(self) -> str:
        """pysystemtrade's order key: "strategy/instrument/contract"."""
        return f"{self.strategy_name}/{self.instrument_code}/{self.contract_id}"

    @property
    def broker_tempid(self) -> str:
        """pysystemtrade's "{account}/{clientId}/{orderId}"; "" until IB has given the ids."""
        if self.client_id is None or self.ib_order_id is None:
            return ""
        return f"{self.account}/{self.client_id}/{self.ib_order_id}"

    @property
    def broker_permid(self) -> int | None:
        return self.perm_id

    @property
    def broker_clientid(self) -> int | None:
        return self.client_id

    @property
    def broker_account(self) -> str:
        return self.account

    # -- fills and commissions -------------------------------------------------------------------

    def add_fill(self, fill: Fill) -> bool:
        """Record an execution of this order; `False` if that exec id was already recorded.

        A fill without an order reference is labelled with this order's.

        A known commission on a repeated execution is still merged into the recorded one.
        """
        if fill.order_ref and fill.order_ref != self.order_reference:
            raise InvalidOrder("fills", fill.exec_id, f"belongs to order {fill.order_ref!r}")
        if not fill.order_ref:
            fill = replace(fill, order_ref=self.order_reference)
        if self.is_spread_order:
            return self._add_leg_fill(fill)
        if (fill.quantity > 0) != (self.trade > 0):
            raise InvalidOrder("fills", fill.exec_id, f"{fill.side} execution for an order to trade {self.trade}")
        if fill.exec_id not in self.fills.by_exec_id():
            if abs(self.filled_quantity + fill.quantity) > abs(self.trade):
                raise InvalidOrder(
                    "fills", fill.exec_id, f"{fill.quantity} more would overfill {self.filled_quantity} of {self.trade}"
                )
        added = self.fills.add_fill(fill)
        if added:
            self._status_after_fill()
        return added

    # -- calendar spreads: fills per leg ---------------------------------------------------------

    @property
    def is_spread_order(self) -> bool:
        return isinstance(self.trade, tradeQuantity)

    def leg_of_fill(self, fill: Fill) -> int:
        """The index of the leg a fill belongs to: by its conId once the legs' are known, else by
        its side (a calendar spread's legs trade opposite ways)."""
        if fill.con_id is not None and fill.con_id in self.leg_con_ids:
            return self.leg_con_ids.index(fill.con_id)
        same_side = [i for i, qty in enumerate(self.trade) if (qty > 0) == (fill.quantity > 0)]
        if len(same_side) != 1:
            raise InvalidOrder("fills", fill.exec_id, f"conId {fill.con_id} is not a leg of {self.trade}")
        return same_side[0]

    def fills_of_leg(self, leg: int) -> listOfFills:
        return listOfFills(f for f in self.fills if self.leg_of_fill(f) == leg)

    def leg_contracts(self) -> list[futuresContract]:
        return self.futures_contract.as_list_of_individual_contracts()

    def leg_fill_prices(self) -> list[float | None]:
        """Each leg's average fill price (None for a leg with no fill yet)."""
        return [self.fills_of_leg(leg).average_price() for leg in range(len(self.trade))]

    def _add_leg_fill(self, fill: Fill) -> bool:
        leg = self.leg_of_fill(fill)
        wanted = self.trade[leg]
        if (fill.quantity > 0) != (wanted > 0):
            raise InvalidOrder("fills", fill.exec_id, f"{fill.side} execution for leg {leg} to trade {wanted}")
        if fill.exec_id not in self.fills.by_exec_id():
            done = self.fills_of_leg(leg).total_quantity()
            if abs(done + fill.quantity) > abs(wanted):
                raise InvalidOrder(
                    "fills", fill.exec_id, f"{fill.quantity} more would overfill leg {leg}: {done} of {wanted}"
                )
        added = self.fills.add_fill(fill)
        if added:
            self._status_after_fill()
        return added

    def add_commission(self, exec_id: str, commission: float, currency: str) -> bool:
        """Apply a commission report to one of this order's fills; `True` if it changed.

        Raises `KeyError` when the order has no fill with `exec_id`.
        """
        return self.fills.add_commission(exec_id, commission, currency)

    def _status_after_fill(self) -> None:
        if self.filled_quantity == self.trade:
            self.status = orderStatus.FILLED
        elif self.status in (orderStatus.CREATED, orderStatus.SUBMITTED):
            self.status = orderStatus.PARTIALLY_FILLED

    @property
    def filled_quantity(self) -> int:
        """Contracts filled; a spread: a tradeQuantity, per leg."""
        if self.is_spread_order:
            return tradeQuantity(self.fills_of_leg(leg).total_quantity() for leg in range(len(self.trade)))
        return self.fills.total_quantity()

    @property
    def fill(self) -> int:
        """pysystemtrade's name for the filled quantity."""
        return self.filled_quantity

    @property
    def remaining_quantity(self) -> int:
        return self.trade - self.filled_quantity

    @property
    def average_fill_price(self) -> float | None:
        """The average fill price; a spread: its price as a combo bought (sum of ratio x leg
        average, the first leg positive — IB's combo convention), None until every leg traded."""
        if self.is_spread_order:
            prices = self.leg_fill_prices()
            if any(p is None for p in prices):
                return None
            return sum(r * p for r, p in zip(self.trade.ratios, prices, strict=True))  # type: ignore[misc]
        return self.fills.average_price()

    @property
    def filled_price(self) -> float | None:
        """pysystemtrade's name for the average fill price."""
        return self.average_fill_price

    @property
    def fill_datetime(self) -> dt.datetime | None:
        return self.fills.last_fill_time()

    @property
    def commission(self) -> dict[str, float] | None:
        """Commission per currency; `None` while any fill's report is missing, `{}` without fills."""
        if not self.fills.all_commissions_known:
            return None
        return self.fills.commission_by_currency()

    def fill_equals_desired_trade(self) -> bool:
        return self.filled_quantity == self.trade

    @property
    def active(self) -> bool:
        return self.status.is_active

    # -- display ---------------------------------------------------------------------------------

    def describe(self) -> str:
        """One line: "BUY 2 SP500/20250600 MKT, Filled 2/2 @ 5812.25, commission 4.2 USD, ref ..."."""
        if isinstance(self.trade, list):  # a calendar spread (tradeQuantity): one quantity per leg
            first, size = self.trade[0], str(list(self.trade))
            done = f"{list(self.filled_quantity)}/{list(self.trade)}"
        else:
            first, size = self.trade, str(abs(self.trade))
            done = f"{abs(self.filled_quantity)}/{abs(self.trade)}"
        side = "BUY" if first > 0 else "SELL"
        price = ""
        if self.order_type == brokerOrderType.LIMIT:
            price = f" @ {self.limit_price:g}"
        elif self.order_type == brokerOrderType.STOP:
            price = f" stop {self.stop_price:g}"
        parts = [f"{side} {size} {self.instrument_code}/{self.contract_id} {self.order_type.value}{price}"]
        filled = f"{self.status.value} {done}"
        if self.average_fill_price is not None:
            filled += f" @ {self.average_fill_price:g}"
        parts.append(filled)
        commission = self.commission
        if commission:
            parts.append("commission " + ", ".join(f"{v:g} {ccy}" for ccy, v in sorted(commission.items())))
        elif commission is None:
            parts.append("commission not reported yet")
        if self.account:
            parts.append(f"account {self.account}")
        parts.append(f"ref {self.order_reference}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<brokerOrder {self.describe()}>"

    # -- state changes ---------------------------------------------------------------------------

    def mark_submitted(self, submit_datetime: dt.datetime | None = None) -> None:
        self.submit_datetime = _order_time(submit_datetime or dt.datetime.now(UTC), "submit_datetime")
        if self.status == orderStatus.CREATED:
            self.status = orderStatus.SUBMITTED

    # -- serialisation ---------------------------------------------------------------------------

    def as_dict(self, include_fills: bool = True) -> dict[str, Any]:
        """JSON-safe: enums as their values, times as fixed-width UTC ISO text."""
        data: dict[str, Any] = {
            "instrument_code": self.instrument_code,
            "contract_id": self.contract_id,
            "trade": self.trade,
            "order_type": self.order_type.value,
            "limit_price": self.limit_price,
            "stop_price": self.stop_price,
            "account": self.account,
            "strategy_name": self.strategy_name,
            "order_reference": self.order_reference,
            "ib_order_id": self.ib_order_id,
            "perm_id": self.perm_id,
            "client_id": self.client_id,
            "con_id": self.con_id,
            "submit_datetime": None if self.submit_datetime is None else datetime_to_iso(self.submit_datetime),
            "status": self.status.value,
            "order_id": self.order_id,
            "parent": self.parent,
            "children": list(self.children),
        }
        if self.is_spread_order:
            data["trade"] = list(self.trade)
            data["leg_con_ids"] = list(self.leg_con_ids)
        if include_fills:
            data["fills"] = [fill.as_dict() for fill in self.fills]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], fills: Iterable[Fill] | None = None) -> brokerOrder:
        """Inverse of `as_dict`; `fills` (e.g. from a store) replaces any fills in `data`.

        The stored status and fills are taken as they are, not re-derived or re-checked.
        """
        known = {key: data[key] for key in _ORDER_FIELDS if key in data}
        if known.get("submit_datetime") is not None:
            known["submit_datetime"] = _order_time(known["submit_datetime"], "submit_datetime")
        if fills is None:
            fills = [Fill.from_dict(item) for item in data.get("fills", ())]
        known.pop("fills", None)
        order = cls(**known)
        # Stored fills are facts (IB corrections can even overfill): load them as they are,
        # without add_fill's checks or its status changes.
        order.fills = listOfFills(fills)
        return order


_ORDER_FIELDS = tuple(brokerOrder.__dataclass_fields__)


def _checked_trade(trade: Any, contract_id: str) -> int | tradeQuantity:
    """An int for one contract; a tradeQuantity (one non-zero int per leg) for a spread."""
    legs = contractDate(contract_id).number_of_legs
    if isinstance(trade, list | tuple) and legs == 1 and len(trade) == 1:
        trade = trade[0]  # pysystemtrade's one-leg tradeQuantity
    if legs > 1:
        if not isinstance(trade, list | tuple) or len(trade) != legs:
            raise InvalidOrder("trade", trade, f"a spread of {legs} legs needs one quantity per leg, e.g. [1, -1]")
        try:
            quantities = tradeQuantity(trade)
        except TypeError as exc:
            raise InvalidOrder("trade", trade, str(exc)) from None
        if any(q == 0 for q in quantities):
            raise InvalidOrder("trade", trade, "every leg of a spread must trade")
        return quantities
    if isinstance(trade, bool) or not isinstance(trade, numbers.Integral):
        raise InvalidOrder("trade", trade, "expected a whole number of contracts (an int)")
    if trade == 0:
        raise InvalidOrder("trade", trade, "an order must buy or sell at least one contract")
    return int(trade)


def _order_time(value: Any, name: str) -> dt.datetime:
    try:
        return datetime_from_iso(value, name) if isinstance(value, str) else as_utc(value, name)
    except InvalidFill as exc:
        raise InvalidOrder(name, value, exc.reason) from None


def _ib_price(value: Any) -> float | None:
    if value is None or value == 0 or value == _UNSET_DOUBLE or not math.isfinite(value):
        return None
    return float(value)


class orderWithControls:  # noqa: N801 - pysystemtrade's public name
    """A `brokerOrder` plus the live ib_async `Trade` (the "control object") IB updates."""

    def __init__(
        self,
        order: brokerOrder,
        control_object: Any,
        ticker: Any = None,
        submit_datetime: dt.datetime | None = None,
    ) -> None:
        self._order = order
        self._control_object = control_object
        self.ticker = ticker
        if submit_datetime is not None or order.submit_datetime is None:
            order.mark_submitted(submit_datetime)

    @classmethod
    def from_ib_trade(
        cls, trade: Any, instrument_code: str, strategy_name: str = "", ticker: Any = None
    ) -> orderWithControls:
        """An order rebuilt from a Trade IB reported (e.g. after a restart), with its fills."""
        ib_order, contract = trade.order, trade.contract
        sign = 1 if str(ib_order.action).upper() == "BUY" else -1
        order_type = brokerOrderType.from_name(ib_order.orderType)
        order = brokerOrder(
            instrument_code,
            str(contract.lastTradeDateOrContractMonth)[:8],
            sign * int(ib_order.totalQuantity),
            order_type=order_type,
            limit_price=_ib_price(ib_order.lmtPrice) if order_type == brokerOrderType.LIMIT else None,
            stop_price=_ib_price(ib_order.auxPrice) if order_type == brokerOrderType.STOP else None,
            account=ib_order.account or "",
            strategy_name=strategy_name,
            order_reference=ib_order.orderRef or "",
        )
        submitted = min((entry.time for entry in getattr(trade, "log", ())), default=None)
        owc = cls(order, trade, ticker=ticker, submit_datetime=submitted)
        owc.update_order()
        return owc

    @property
    def order(self) -> brokerOrder:
        return self._order

    @property
    def control_object(self) -> Any:
        return self._control_object

    @property
    def trade(self) -> Any:
        """The ib_async `Trade`."""
        return self._control_object

    @property
    def broker_tempid(self) -> str:
        ib_order = self.trade.order
        account = ib_order.account or self.order.account
        return f"{account}/{ib_order.clientId}/{ib_order.orderId}"

    def update_order(self) -> brokerOrder:
        """Copy ids, status and fills (with any commission reports) from the Trade; return the order."""
        trade, order = self.trade, self._order
        ib_order, ib_status = trade.order, trade.orderStatus
        order.ib_order_id = ib_order.orderId or ib_status.orderId or order.ib_order_id
        order.perm_id = ib_order.permId or ib_status.permId or order.perm_id
        order.client_id = ib_order.clientId or ib_status.clientId or order.client_id
        order.con_id = trade.contract.conId or order.con_id
        order.account = ib_order.account or order.account
        for ib_fill in trade.fills:
            if getattr(ib_fill.contract, "secType", "") == "BAG":
                continue  # a combo's own fill repeats its legs' fills
            order.add_fill(self.fill_of(ib_fill))
        order.status = self.status_of(trade, order.filled_quantity, order.status)
        if order.fill_equals_desired_trade():
            order.status = orderStatus.FILLED
        return order

    def fill_of(self, ib_fill: Any) -> Fill:
        """One of the Trade's fills as a `Fill` (subclasses convert price units here)."""
        return Fill.from_ib_fill(ib_fill)

    def status_of(self, trade: Any, filled_quantity: int, current: orderStatus) -> orderStatus:
        """Our status for the Trade's state (subclasses refine it, e.g. rejected vs cancelled)."""
        return order_status_from_ib(trade.orderStatus.status, filled_quantity, current)

    def completed(self) -> bool:
        return self._order.fill_equals_desired_trade()

    def broker_limit_price(self) -> float | None:
        """IB's current limit price; None when IB reports none (0.0 or unset)."""
        return _ib_price(self.trade.order.lmtPrice)

    def seconds_since_submission(self, now: dt.datetime | None = None) -> float:
        now = as_utc(now) if now is not None else dt.datetime.now(UTC)
        return (now - self._order.submit_datetime).total_seconds()

    def __repr__(self) -> str:
        """`<orderWithControls DU123456/999/7 IB Filled: BUY 2 SP500/20250600 MKT, Filled 2/2 ...>`"""
        try:
            ib_status = self.trade.orderStatus.status or "?"
            tempid = self.broker_tempid
        except AttributeError:  # a control object that is not an ib_async Trade
            ib_status, tempid = "?", self._order.broker_tempid or "?"
        return f"<{type(self).__name__} {tempid} IB {ib_status}: {self._order.describe()}>"
