"""Reconciliation: bring the order store in line with what IB reports.

After a reconnect (the gateway's daily restart) or a process restart, ib_async has re-read the
day's open orders, completed orders and executions (with their commission reports). Here they
are matched to stored orders — by order reference (IB's `orderRef`), else by perm id — and:

- every execution of a stored order is recorded once (the store is idempotent by exec id), so
  fills that happened while disconnected are recorded exactly once;
- commission reports that arrived since are filled in (unknown stays `None`, never 0);
- stored orders still marked active take IB's status (filled, cancelled, rejected) and ids.

Nothing is ever sent to IB from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sysbrokers.IB.client.ib_orders_client import layer_fill, order_status_of_trade
from sysdata.orders import OrderNotFound, OrderStore
from sysobjects.orders import brokerOrder, orderStatus

__all__ = ["ReconciliationReport", "reconcile"]

log = logging.getLogger(__name__)

MagnifierLookup = Callable[[brokerOrder], float]


@dataclass
class ReconciliationReport:
    """What one reconciliation changed in the store, and what it could not match."""

    fills_recorded: list[str] = field(default_factory=list)  # exec ids stored now
    commissions_recorded: list[str] = field(default_factory=list)  # exec ids whose report arrived
    orders_updated: list[str] = field(default_factory=list)  # order references
    unmatched_fills: list[str] = field(default_factory=list)  # executions of orders not stored here
    orders_unknown_to_ib: list[str] = field(default_factory=list)  # active stored orders IB does not report
    # active stored orders IB never acknowledged (no perm id) and does not report: lost in transit,
    # settled as rejected when the caller asked (`settle_unacknowledged`)
    orders_never_acknowledged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.fills_recorded or self.commissions_recorded or self.orders_updated or self.orders_never_acknowledged
        )

    def __str__(self) -> str:
        return (
            f"reconciliation: {len(self.fills_recorded)} fills and {len(self.commissions_recorded)} commissions "
            f"recorded, {len(self.orders_updated)} orders updated, {len(self.unmatched_fills)} executions not ours, "
            f"{len(self.orders_unknown_to_ib)} active orders unknown to IB, "
            f"{len(self.orders_never_acknowledged)} never acknowledged by IB (settled as rejected)"
        )


class _StoredOrders:
    """Stored orders looked up once each, by reference or perm id."""

    def __init__(self, store: OrderStore) -> None:
        self.store = store
        self.by_reference: dict[str, brokerOrder | None] = {}

    def find(self, order_reference: str, perm_id: int | None) -> brokerOrder | None:
        if order_reference:
            if order_reference not in self.by_reference:
                self.by_reference[order_reference] = self._get(
                    lambda: self.store.get_order_by_reference(order_reference)
                )
            found = self.by_reference[order_reference]
            if found is not None:
                return found
        if perm_id:
            for order in self.by_reference.values():
                if order is not None and order.perm_id == perm_id:
                    return order
            found = self._get(lambda: self.store.get_order_by_perm_id(perm_id))
            if found is not None:
                self.by_reference[found.order_reference] = found
            return found
        return None

    def add(self, order: brokerOrder) -> brokerOrder:
        return self.by_reference.setdefault(order.order_reference, order) or order

    @staticmethod
    def _get(lookup: Callable[[], brokerOrder]) -> brokerOrder | None:
        try:
            return lookup()
        except OrderNotFound:
            return None


def reconcile(
    store: OrderStore,
    trades: Iterable[Any],
    fills: Iterable[Any],
    price_magnifier: MagnifierLookup = lambda order: 1,
    settle_unacknowledged: bool = False,
) -> ReconciliationReport:
    """Record IB's `fills` (ib_async Fills) and `trades` (ib_async Trades) into `store`.

    `settle_unacknowledged` (only when `trades` and `fills` are IB's complete answer for the day,
    as `ibOrdersData.reconcile()` fetches them): an active stored order that IB never acknowledged
    (no perm id) and does not report never reached IB — sent as the connection dropped — and is
    stored as rejected instead of staying active for ever.
    """
    report = ReconciliationReport()
    orders = _StoredOrders(store)
    touched: dict[str, brokerOrder] = {}
    for ib_fill in fills:
        if getattr(ib_fill.contract, "secType", "") == "BAG":
            continue
        execution = ib_fill.execution
        order = orders.find(execution.orderRef or "", execution.permId or None)
        if order is None:
            report.unmatched_fills.append(execution.execId)
            continue
        _record_fill(store, order, layer_fill(ib_fill, price_magnifier(order)), report)
        touched[order.order_reference] = order

    by_reference, by_perm_id = {}, {}
    for trade in trades:
        if trade.order.orderRef:
            by_reference[trade.order.orderRef] = trade
        if trade.order.permId:
            by_perm_id[trade.order.permId] = trade
    for order in store.list_orders(active_only=True):
        touched.setdefault(order.order_reference, orders.add(order))
    for reference, order in touched.items():
        trade = by_reference.get(reference) or (by_perm_id.get(order.perm_id) if order.perm_id else None)
        if trade is None:
            if order.active and not order.fills:
                if settle_unacknowledged and not order.perm_id:
                    order.status = orderStatus.REJECTED
                    store.update_order(order)
                    report.orders_never_acknowledged.append(reference)
                else:
                    report.orders_unknown_to_ib.append(reference)
            continue
        if _take_trade_state(order, trade):
            store.update_order(order)
            report.orders_updated.append(reference)
    if report.changed or report.orders_unknown_to_ib:
        log.info("%s", report)
    return report


def _record_fill(store: OrderStore, order: brokerOrder, fill, report: ReconciliationReport) -> None:
    known = order.fills.by_exec_id().get(fill.exec_id)
    if known is None:
        if store.record_fill(order.order_reference, fill):
            report.fills_recorded.append(fill.exec_id)
        order.fills.add_fill(fill)
        return
    if fill.commission_known and (known.commission, known.commission_currency) != (
        fill.commission,
        fill.commission_currency,
    ):
        if store.record_commission(fill.exec_id, fill.commission, fill.commission_currency):
            report.commissions_recorded.append(fill.exec_id)
        order.fills.add_commission(fill.exec_id, fill.commission, fill.commission_currency)


def _take_trade_state(order: brokerOrder, trade: Any) -> bool:
    """Copy IB's ids and status onto the stored order; True if anything changed."""
    before = (order.perm_id, order.ib_order_id, order.client_id, order.con_id, order.status)
    ib_order = trade.order
    order.perm_id = ib_order.permId or order.perm_id
    order.ib_order_id = ib_order.orderId or order.ib_order_id
    order.client_id = ib_order.clientId or order.client_id
    order.con_id = trade.contract.conId or order.con_id
    if order.status.is_active:
        status = order_status_of_trade(trade, order.filled_quantity, order.status)
        if order.fill_equals_desired_trade():
            status = orderStatus.FILLED
        order.status = status
    return before != (order.perm_id, order.ib_order_id, order.client_id, order.con_id, order.status)
