"""The order store: every submitted broker order, with its IB ids and its executions.

A restarted process matches IB's orders and executions to its own through what is stored here:
the unique order reference (also sent to IB as `Order.orderRef`), the perm id and the conId.

Guarantees every implementation keeps, also across processes:
- one order per order reference: `add_order` of a second one raises `DuplicateOrderReference`;
- one fill per execution id: `record_fill` of a known execution stores nothing and returns False;
- a stored status never goes back from done (filled / cancelled / rejected) to active;
- times are timezone-aware UTC in and out.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import replace

from sysobjects.fills import Fill, listOfFills
from sysobjects.orders import brokerOrder

__all__ = [
    "ConflictingFill",
    "DuplicateOrderReference",
    "FillNotFound",
    "OrderNotFound",
    "OrderStore",
    "OrderStoreError",
]


class OrderStoreError(RuntimeError):
    """Base class of the order store's errors."""


class DuplicateOrderReference(OrderStoreError):
    """An order with this reference is stored already (a re-submission must use a new reference)."""

    def __init__(self, order_reference: str) -> None:
        self.order_reference = order_reference
        super().__init__(f"an order with reference {order_reference!r} is already stored")


class OrderNotFound(OrderStoreError, LookupError):
    """No stored order has this reference (or perm id)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"no stored order with {what}")


class FillNotFound(OrderStoreError, LookupError):
    """No stored fill has this execution id."""

    def __init__(self, exec_id: str) -> None:
        self.exec_id = exec_id
        super().__init__(f"no stored fill with exec id {exec_id!r}")


class ConflictingFill(OrderStoreError):
    """An execution given for one order belongs to another (by its order_ref, or as stored)."""

    def __init__(self, exec_id: str, owner_order_ref: str, other_order_ref: str) -> None:
        self.exec_id = exec_id
        self.owner_order_ref = owner_order_ref
        super().__init__(f"exec id {exec_id!r} belongs to order {owner_order_ref!r}, not to order {other_order_ref!r}")


class OrderStore(ABC):
    """Broker orders and their fills in one metadata database."""

    kind: str

    @abstractmethod
    def add_order(self, order: brokerOrder) -> str:
        """Store a new order with its fills; return its key, the order reference.

        Raises `DuplicateOrderReference` if that reference is stored already.
        """

    @abstractmethod
    def _update_order_record(self, order: brokerOrder) -> None:
        """Rewrite the stored order (not its fills); done statuses are never made active again.

        Raises `OrderNotFound`.
        """

    def update_order(self, order: brokerOrder) -> None:
        """Store the order's current status, ids and prices, and record its fills and commissions.

        Raises `OrderNotFound` if the order was never added.
        """
        self._update_order_record(order)
        for fill in order.fills:
            self.record_fill(order.order_reference, fill)

    @abstractmethod
    def _get_order_record(self, order_reference: str | None, perm_id: int | None) -> brokerOrder:
        """The stored order without its fills; raises `OrderNotFound`."""

    def get_order_by_reference(self, order_reference: str) -> brokerOrder:
        """The stored order with its fills; raises `OrderNotFound`."""
        order = self._get_order_record(order_reference, None)
        return self._with_fills(order)

    def get_order_by_perm_id(self, perm_id: int) -> brokerOrder:
        """The stored order IB knows by `perm_id`; raises `OrderNotFound`."""
        order = self._get_order_record(None, int(perm_id))
        return self._with_fills(order)

    @abstractmethod
    def _list_order_records(self, active_only: bool, since: dt.datetime | None) -> list[brokerOrder]: ...

    def list_orders(self, active_only: bool = False, since: dt.datetime | None = None) -> list[brokerOrder]:
        """Stored orders with their fills, by submission time (unsubmitted last), then reference.

        `active_only` keeps created / submitted / partially filled orders; `since` keeps orders
        submitted at or after that time (so never-submitted orders are left out).
        """
        records = self._list_order_records(active_only, since)
        fills = self._fills_by_order([order.order_reference for order in records])
        orders = [
            brokerOrder.from_dict(order.as_dict(include_fills=False), fills.get(order.order_reference, ()))
            for order in records
        ]
        return sorted(orders, key=_listing_key)

    @abstractmethod
    def record_fill(self, order_reference: str, fill: Fill) -> bool:
        """Store one execution of a stored order, once: `False` if its exec id is stored already.

        A known commission on a repeated execution still fills in a stored unknown commission.
        Raises `OrderNotFound`, or `ConflictingFill` if the exec id belongs to another order.
        """

    @abstractmethod
    def record_commission(self, exec_id: str, commission: float, currency: str) -> bool:
        """Set the commission of a stored fill; `False` if it already had exactly that.

        Raises `FillNotFound` when no fill has `exec_id` (record the execution first).
        """

    def fills_for_order(self, order_reference: str) -> listOfFills:
        """The stored fills of one order, oldest first; raises `OrderNotFound`."""
        self._get_order_record(order_reference, None)
        return self._fills_for_order(order_reference)

    @abstractmethod
    def _fills_for_order(self, order_reference: str) -> listOfFills: ...

    @abstractmethod
    def _fills_by_order(self, order_references: list[str]) -> dict[str, listOfFills]: ...

    @abstractmethod
    def get_fill(self, exec_id: str) -> Fill:
        """One stored fill; raises `FillNotFound`."""

    @abstractmethod
    def fills_without_commission(self) -> listOfFills:
        """Stored fills still waiting for their commission report, oldest first."""

    @abstractmethod
    def delete_order(self, order_reference: str) -> bool:
        """Delete an order and its fills (tests and admin only); `False` if it was not stored."""

    @staticmethod
    def _fill_of(order_reference: str, fill: Fill) -> Fill:
        """`fill` labelled with the order it is recorded for."""
        if fill.order_ref and fill.order_ref != order_reference:
            raise ConflictingFill(fill.exec_id, fill.order_ref, order_reference)
        return replace(fill, order_ref=order_reference)

    @staticmethod
    def _check_stored_owner(exec_id: str, stored_order_ref: str, order_reference: str) -> None:
        if stored_order_ref != order_reference:
            raise ConflictingFill(exec_id, stored_order_ref, order_reference)

    def _with_fills(self, order: brokerOrder) -> brokerOrder:
        fills = self._fills_for_order(order.order_reference)
        return brokerOrder.from_dict(order.as_dict(include_fills=False), fills)


def _listing_key(order: brokerOrder) -> tuple:
    submitted = order.submit_datetime
    return (submitted is None, submitted or dt.datetime.min.replace(tzinfo=dt.UTC), order.order_reference)
