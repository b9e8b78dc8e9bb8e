"""`ibOrdersData`: the stack handler's orders at IB (seed 001 "Orders data").

    orders = ibOrdersData(conn)                       # order store: the metadata store's
    control = orders.put_order_on_stack(broker_order) # stored, checked, sent; an ibOrderWithControls
    orders.wait_for_order(control, "filled")
    control.order.filled_price, control.order.commission

Every order is stored (order reference, order id, client id, conId) before it is sent, with
IB's `orderRef` set to its unique order reference; its perm id, status, fills and commission
reports are stored as IB reports them. A second submission with the same reference is refused
(`OrderDuplicate`) and never reaches the gateway. After a reconnect or a process restart the
store is reconciled with IB's orders and executions (`sysbrokers.IB.reconciliation`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from ib_async import Trade

from sysbrokers.IB.client.ib_orders_client import (
    ibOrdersClient,
    ibOrderWithControls,
    layer_fill,
    rejection_of,
)
from sysbrokers.IB.connection_supervisor import ConnectionEvent, EventKind
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import data_and_log, data_object_repr, ibAsyncForms
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBNotConnected, IBOrderRejected
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysbrokers.IB.order_checks import OrderDuplicate
from sysbrokers.IB.reconciliation import ReconciliationReport, reconcile
from syscore.exceptions import missingOrder, orderCannotBeModified
from sysdata.orders import DuplicateOrderReference, OrderNotFound, OrderStore
from sysobjects.orders import InvalidOrder, brokerOrder, brokerOrderType, orderStatus

__all__ = ["ibOrdersData", "missingOrder", "orderCannotBeModified"]

WAIT_CONDITIONS = ("acknowledged", "filled", "done", "commissions")


class ibOrdersData(ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """Places, matches, modifies and cancels broker orders at IB; keeps the order store true."""

    __repr__ = data_object_repr  # "<ibXxxData on 127.0.0.1:4001 client 999 connected>"

    def __init__(
        self,
        ibconnection: connectionIB,
        data: Any = None,
        log: logging.Logger | None = None,
        order_store: OrderStore | None = None,
        check_trading_hours: bool = True,
    ) -> None:
        self.data, log = data_and_log(data, log)  # (conn, data_blob, log=...) as pysystemtrade's blob calls it
        if order_store is None and self.data is not None:
            order_store = self.data.db_orders
        self._connection = ibconnection
        self._client = ibOrdersClient(ibconnection, log)
        self._log = log or ibconnection.log
        self._own_metadata_store = None
        if order_store is None:
            from sysdata.metadata_store import open_metadata_store

            self._own_metadata_store = open_metadata_store(ibconnection.config)
            order_store = self._own_metadata_store.order_data()
        self._store = order_store
        self.check_trading_hours = check_trading_hours
        self._controls: dict[str, ibOrderWithControls] = {}
        self._not_ours: set[str] = set()  # order references of orders this store does not hold
        self._magnifiers: dict[tuple[str, str], float] = {}
        self._needs_reconcile = True  # a new process: catch up with what IB did meanwhile
        self.last_reconciliation: ReconciliationReport | None = None
        ib = ibconnection.ib
        # Registered before any waiter: the store is written before a caller sees the change.
        ib.orderStatusEvent += self._on_order_status
        ib.execDetailsEvent += self._on_exec_details
        ib.commissionReportEvent += self._on_commission_report
        ibconnection.events += self._on_connection_event

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def ib_client(self) -> ibOrdersClient:
        return self._client

    @property
    def order_store(self) -> OrderStore:
        return self._store

    def close(self) -> None:
        """Stop listening to IB; close the metadata store if this object opened it."""
        ib = self._connection.ib
        ib.orderStatusEvent -= self._on_order_status
        ib.execDetailsEvent -= self._on_exec_details
        ib.commissionReportEvent -= self._on_commission_report
        self._connection.supervisor.remove_listener(self._on_connection_event)
        if self._own_metadata_store is not None:
            self._own_metadata_store.close()
            self._own_metadata_store = None

    # ------------------------------------------------------------------ seed 001 "Orders data"
    def get_list_of_broker_orders(self, account_id: str = "") -> list[brokerOrder]:
        """IB's futures orders of the day (every client's), with their fills and commissions.

        Example: ib_orders_data.get_list_of_broker_orders()  # [<brokerOrder BUY 2 SP500/20250600 MKT, ...>]
        """
        self._sync()
        trades = self._client.broker_get_orders(account_id)
        fills_by_perm_id: dict[int, list] = {}
        for ib_fill in self._client.broker_get_fills():
            fills_by_perm_id.setdefault(ib_fill.execution.permId, []).append(ib_fill)
        orders = []
        for trade in trades:
            control = self._control_from_trade(trade)
            if control is None:
                continue
            for ib_fill in fills_by_perm_id.get(trade.order.permId, ()):
                if getattr(ib_fill.contract, "secType", "") == "BAG":
                    continue  # a combo's own execution repeats its legs' (recorded per leg)
                # Completed orders come back without their fills; they are facts, so no overfill checks.
                control.order.fills.add_fill(layer_fill(ib_fill, control.price_magnifier))
            orders.append(control.order)
        return orders

    def get_list_of_orders_from_storage(self, since: dt.datetime | None = None) -> list[brokerOrder]:
        """Orders this layer submitted (stored) in the last 24 hours, or since `since`.

        Example: ib_orders_data.get_list_of_orders_from_storage()  # [<brokerOrder ...>, ...]
        """
        self._sync()
        since = since or self._connection.now() - dt.timedelta(days=1)
        return self._store.list_orders(since=since)

    def put_order_on_stack(self, broker_order: brokerOrder) -> ibOrderWithControls:
        """Check, store and send `broker_order` (this trades!); returns it with its IB control object.

        Raises `IBReadOnlyError`, an `OrderRefused` subclass (`OrderDuplicate`, `OrderInvalidQuantity`,
        `OrderUnknownContract`, `OrderOffTick`, `OrderMarketClosed`) — nothing sent in each case —
        or `IBNotConnected`. A rejection by IB arrives later: see `wait_for_order`.

        Example: ib_orders_data.put_order_on_stack(brokerOrder("SP500", "202506", 2, account="DU123456"))
        """
        self._connection.check_can_trade()
        self._sync()
        reference = broker_order.order_reference
        if reference in self._controls:
            raise OrderDuplicate(message=f"order {reference!r} was already sent to IB; use a new order reference")
        prepared = self._client.prepare_order(broker_order, check_hours=self.check_trading_hours)
        now = self._connection.now()
        original = _ids_and_state(broker_order)
        broker_order.ib_order_id = prepared.ib_order.orderId
        broker_order.client_id = prepared.ib_order.clientId
        broker_order.con_id = prepared.contract.conId
        broker_order.leg_con_ids = list(getattr(prepared.resolved, "leg_con_ids", ()))  # a spread's legs
        broker_order.account = prepared.ib_order.account
        broker_order.mark_submitted(now)
        try:
            self._store.add_order(broker_order)
        except DuplicateOrderReference:
            _restore(broker_order, original)
            raise OrderDuplicate(
                message=f"order {reference!r} is stored already: a re-submission needs a new order reference"
            ) from None
        self._magnifiers[(broker_order.instrument_code, broker_order.contract_id)] = prepared.price_magnifier

        def send_and_track() -> ibOrderWithControls:
            # One step on the IB loop's thread: no status or fill of this order can be handled
            # between placeOrder and the control object being known (off that thread, in notebook
            # and async modes, IB's answer could otherwise arrive first and go to another object).
            trade = self._client.send_order(prepared)
            control = ibOrderWithControls(broker_order, trade, prepared.price_magnifier, submit_datetime=now)
            self._controls[reference] = control
            return control

        try:
            return self._connection.call_in_loop(send_and_track)
        except ConnectionError as exc:
            # Not sent: keep the record (the reference stays used) but never as a live order.
            broker_order.status = orderStatus.REJECTED
            self._store.update_order(broker_order)
            raise IBNotConnected(message=f"order {reference!r} not sent: connection to IB lost ({exc})") from exc

    def match_db_broker_order_to_order_from_brokers(self, broker_order: brokerOrder) -> brokerOrder | None:
        """The order as IB reports it now (status, ids, fills); None if IB does not know it.

        Example: ib_orders_data.match_db_broker_order_to_order_from_brokers(broker_order).status
        """
        control = self._match_control(broker_order)
        return None if control is None else control.order

    def match_db_broker_order_to_control_order_from_brokers(
        self, broker_order: brokerOrder
    ) -> ibOrderWithControls | None:
        """The live control object of a stored order: by order reference, then perm id, then temp id.

        Example: ib_orders_data.match_db_broker_order_to_control_order_from_brokers(broker_order)
        """
        return self._match_control(broker_order)

    def _match_control(self, broker_order: brokerOrder) -> ibOrderWithControls | None:
        self._sync()
        control = self._controls.get(broker_order.order_reference)
        if control is not None:
            self._refresh(control)
            return control
        trade = self._find_trade(broker_order)
        if trade is None:
            return None
        return self._adopt(trade, broker_order)

    def cancel_order_on_stack(self, broker_order: brokerOrder) -> ibOrderWithControls | None:
        """Send a cancellation for `broker_order`; None (nothing sent) if IB does not know it.

        Example: ib_orders_data.cancel_order_on_stack(broker_order)
        """
        self._connection.check_can_trade()
        control = self._match_control(broker_order)
        if control is None:
            self._log.warning("cancel: no order at IB matches %s", broker_order.order_reference)
            return None
        self.cancel_order_given_control_object(control)
        return control

    def cancel_order_given_control_object(self, broker_order_with_controls: ibOrderWithControls) -> None:
        """Send a cancellation unless the order is already done (IB would answer 161)."""
        self._connection.check_can_trade()
        self._connection.ensure_connected()
        self._refresh(broker_order_with_controls)
        if broker_order_with_controls.trade.isDone():
            return
        self._client.cancel_order(broker_order_with_controls)

    def check_order_is_cancelled(self, broker_order: brokerOrder) -> bool:
        """True once IB reports the order cancelled (or rejected); `missingOrder` if IB does not know it.

        Example: ib_orders_data.check_order_is_cancelled(broker_order)  # True once IB confirms
        """
        control = self._match_control(broker_order)
        if control is None:
            raise missingOrder(f"no order at IB matches {broker_order.order_reference!r}")
        return self.check_order_is_cancelled_given_control_object(control)

    def check_order_is_cancelled_given_control_object(self, broker_order_with_controls: ibOrderWithControls) -> bool:
        """True once IB reports the control object's order cancelled (or rejected).

        Example: ib_orders_data.check_order_is_cancelled_given_control_object(control)  # False while working
        """
        self._refresh(broker_order_with_controls)
        return broker_order_with_controls.order.status in (orderStatus.CANCELLED, orderStatus.REJECTED)

    def check_order_can_be_modified_given_control_object(self, broker_order_with_controls: ibOrderWithControls) -> bool:
        """A working limit order can be modified: IB reports it `PreSubmitted` (accepted, held until
        the exchange takes it) or `Submitted` (working at the exchange).

        Example: ib_orders_data.check_order_can_be_modified_given_control_object(control)  # True
        """
        self._refresh(broker_order_with_controls)
        control = broker_order_with_controls
        return control.order.order_type == brokerOrderType.LIMIT and control.ib_status in ("PreSubmitted", "Submitted")

    def modify_limit_price_given_control_object(
        self, broker_order_with_controls: ibOrderWithControls, new_limit_price: float | None = None
    ) -> ibOrderWithControls:
        """Move a working limit order to `new_limit_price` (default: the order's own `limit_price`).

        Raises `IBReadOnlyError`, `orderCannotBeModified`, or `OrderOffTick` (nothing sent).

        Example: ib_orders_data.modify_limit_price_given_control_object(control, new_limit_price=5800.25)
        """
        self._connection.check_can_trade()
        control = broker_order_with_controls
        price = control.order.limit_price if new_limit_price is None else new_limit_price
        if not self.check_order_can_be_modified_given_control_object(control):
            raise orderCannotBeModified(
                f"order {control.order.order_reference!r} is {control.ib_status or 'unknown'} "
                f"({control.order.order_type.value}): only a Submitted limit order can be modified"
            )
        self._client.modify_limit_price(control, price)
        control.order.limit_price = price
        self._store.update_order(control.order)
        return control

    # ------------------------------------------------------------------ beyond the seed
    def wait_for_order(
        self, broker_order_with_controls: ibOrderWithControls, until: str = "filled", timeout: float = 10.0
    ) -> bool:
        """Run the event loop until the order is `until`; False on timeout.

        `acknowledged`: IB gave a perm id (or finished it); `filled`; `done`: filled, cancelled or
        rejected; `commissions`: done with every commission report in. Raises `IBOrderRejected`
        if IB rejected the order. Event-driven: returns as soon as IB's message is processed.
        """
        if until not in WAIT_CONDITIONS:
            raise ValueError(f"until must be one of {WAIT_CONDITIONS}, not {until!r}")
        control = broker_order_with_controls
        order = control.order
        condition: Callable[[], bool] = {
            "acknowledged": lambda: order.perm_id is not None or not order.active,
            "filled": lambda: order.status == orderStatus.FILLED,
            "done": lambda: not order.active,
            "commissions": lambda: not order.active and order.commission is not None,
        }[until]

        def finished() -> bool:
            return condition() or order.status == orderStatus.REJECTED

        reached = self._connection.run_sync(self._wait_async(finished, timeout), timeout=timeout + 10)
        if order.status == orderStatus.REJECTED and until != "done":
            raise rejection_of(control.trade) or IBOrderRejected(
                message=f"order {order.order_reference!r} was rejected by IB"
            )
        return reached and condition()

    def reconcile(self) -> ReconciliationReport:
        """Match IB's open and completed orders and the day's executions to stored orders now."""
        self._connection.ensure_connected()
        trades = self._client.broker_get_orders()
        report = reconcile(
            self._store, trades, self._client.broker_get_fills(), self._magnifier_of, settle_unacknowledged=True
        )
        for reference in report.orders_never_acknowledged:  # lost in transit: nothing at IB to control
            control = self._controls.pop(reference, None)
            if control is not None:
                control.order.status = orderStatus.REJECTED
        self._rebind_controls()
        self._needs_reconcile = False
        self.last_reconciliation = report
        return report

    def broker_what_if_order(self, broker_order: brokerOrder):
        """IB's margin and commission for the order without placing it (ib_async `OrderState`)."""
        self._connection.check_can_trade()
        return self._client.broker_what_if_order(broker_order)

    # ------------------------------------------------------------------ IB events
    def _on_order_status(self, trade: Trade) -> None:
        self._guarded(self._update_from_trade, trade)

    def _on_exec_details(self, trade: Trade, fill) -> None:
        self._guarded(self._update_from_trade, trade)

    def _on_commission_report(self, trade: Trade, fill, report) -> None:
        self._guarded(self._update_from_trade, trade)

    def _update_from_trade(self, trade: Trade) -> None:
        control = self._control_for_event(trade)
        if control is not None:
            self._update_and_store(control)

    def _update_and_store(self, control: ibOrderWithControls) -> None:
        """Take IB's state into the order; store what changed (the record, or only new fills)."""
        order = control.order
        record, fills = _record_state(order), _fill_state(order)
        control.update_order()
        if _record_state(order) != record:
            self._store.update_order(order)  # the record and every fill (idempotent)
            return
        for fill in order.fills:
            if fills.get(fill.exec_id) != (fill.commission, fill.commission_currency):
                self._store.record_fill(order.order_reference, fill)  # new, or its commission arrived

    def _on_connection_event(self, event: ConnectionEvent) -> None:
        if event.kind == EventKind.DISCONNECTED:
            self._needs_reconcile = True
        elif event.kind == EventKind.RECONNECTED:
            # ib_async has re-read the day's orders and executions: reconcile from what it holds.
            self._guarded(self._reconcile_in_memory)

    def _reconcile_in_memory(self) -> None:
        report = reconcile(
            self._store, self._connection.ib.trades(), self._client.broker_get_fills(), self._magnifier_of
        )
        self._rebind_controls()
        # Orders IB does not report: the next call asks IB itself (`reconcile`), which settles the
        # ones IB never acknowledged; ib_async's start-up download may have been incomplete.
        self._needs_reconcile = bool(report.orders_unknown_to_ib)
        self.last_reconciliation = report

    def _guarded(self, handler: Callable, *args) -> None:
        # An exception must not escape into ib_async's message loop; the next call reconciles.
        try:
            handler(*args)
        except Exception:
            self._needs_reconcile = True
            self._log.exception("orders: could not record an IB update; will reconcile")

    # ------------------------------------------------------------------ internals
    def _sync(self) -> None:
        if not self._connection.is_connected():
            self._connection.ensure_connected()
        if self._needs_reconcile:
            self.reconcile()

    def _refresh(self, control: ibOrderWithControls) -> None:
        """Let pending IB messages in, point the control at the live Trade, update the order."""
        if self._connection.ib.isConnected():
            self._connection.sleep(0)
        live = self._live_trade(control.order)
        if live is not None and live is not control.trade:
            control.rebind(live)
        self._update_and_store(control)

    def _control_for_event(self, trade: Trade) -> ibOrderWithControls | None:
        reference = trade.order.orderRef
        if not reference or reference in self._not_ours:
            return None
        control = self._controls.get(reference)
        if control is None:
            try:
                stored = self._store.get_order_by_reference(reference)
            except OrderNotFound:
                self._not_ours.add(reference)
                return None
            control = self._register(stored, trade)
        elif control.trade is not trade:
            control.rebind(trade)
        return control

    def _register(self, order: brokerOrder, trade: Trade) -> ibOrderWithControls:
        control = ibOrderWithControls(order, trade, self._magnifier_of(order), submit_datetime=order.submit_datetime)
        self._controls[order.order_reference] = control
        return control

    def _adopt(self, trade: Trade, broker_order: brokerOrder) -> ibOrderWithControls:
        """A control object for an order placed earlier (another process, or before a restart)."""
        try:
            order = self._store.get_order_by_reference(broker_order.order_reference)
        except OrderNotFound:
            order = broker_order
        control = self._register(order, trade)
        self._refresh(control)
        return control

    def _control_from_trade(self, trade: Trade) -> ibOrderWithControls | None:
        legs = []
        if trade.contract.secType == "BAG":  # a calendar spread: its instrument is its legs'
            try:
                legs = self._client.leg_contracts_of(trade.contract)
            except IBNoSecurityDefinition as exc:
                self._log.warning("combo order %s: a leg is unknown to IB, left out: %s", trade.order.permId, exc)
                return None
        instrument_code = self._client.instrument_code_for_contract(legs[0] if legs else trade.contract)
        if instrument_code is None:
            self._log.debug("not a configured futures order, left out: %s", trade.contract)
            return None
        known = self._controls.get(trade.order.orderRef)
        try:
            first = legs[0] if legs else trade.contract
            magnifier = known.price_magnifier if known else self._magnifier_for_trade(instrument_code, first)
            return ibOrderWithControls.from_trade(trade, instrument_code, magnifier, leg_contracts=legs)
        except InvalidOrder as exc:
            self._log.warning("IB order %s could not be read: %s", trade.order.permId, exc)
            return None

    def _magnifier_for_trade(self, instrument_code: str, contract: Any) -> float:
        month = str(contract.lastTradeDateOrContractMonth)[:8]
        key = (instrument_code, month)
        if key not in self._magnifiers:
            self._magnifiers[key] = self._client.price_magnifier_for(instrument_code, month)
        return self._magnifiers[key]

    def _magnifier_of(self, order: brokerOrder) -> float:
        """The magnifier used when the order was sent; else the configured one (no IB request)."""
        known = self._magnifiers.get((order.instrument_code, order.contract_id))
        if known is not None:
            return known
        try:
            return load_futures_config().get(order.instrument_code).ib_data.price_magnifier
        except LookupError:
            return 1

    def _find_trade(self, broker_order: brokerOrder) -> Trade | None:
        trade = self._live_trade(broker_order)
        if trade is not None:
            return trade
        for trade in self._client.broker_get_orders():
            if _same_order(trade, broker_order):
                return trade
        return None

    def _live_trade(self, broker_order: brokerOrder) -> Trade | None:
        for trade in self._connection.ib.trades():
            if _same_order(trade, broker_order):
                return trade
        return None

    def _rebind_controls(self) -> None:
        for reference, control in list(self._controls.items()):
            live = self._live_trade(control.order)
            if live is not None and live is not control.trade:
                control.rebind(live)
                self._update_and_store(control)
            elif live is None and not control.order.active:
                # Done and IB no longer reports it (an earlier day's order after the daily
                # restart): nothing left to control. A late commission report finds the order in
                # the store again; a process running for months keeps only the orders IB reports.
                del self._controls[reference]

    async def _wait_async(self, finished: Callable[[], bool], timeout: float) -> bool:
        if finished():
            return True
        ib = self._connection.ib
        done = asyncio.get_running_loop().create_future()

        def check(*_args) -> None:
            if not done.done() and finished():
                done.set_result(True)

        events = (ib.orderStatusEvent, ib.execDetailsEvent, ib.commissionReportEvent)
        for event in events:
            event += check
        self._connection.events += check  # a reconnect's reconciliation can finish the order too
        try:
            await asyncio.wait_for(done, timeout)
            return True
        except TimeoutError:
            return finished()
        finally:
            for event in events:
                event -= check
            self._connection.supervisor.remove_listener(check)


def _same_order(trade: Trade, broker_order: brokerOrder) -> bool:
    ib_order = trade.order
    if ib_order.orderRef:
        return ib_order.orderRef == broker_order.order_reference
    if broker_order.perm_id and ib_order.permId == broker_order.perm_id:
        return True
    return (
        broker_order.ib_order_id is not None
        and (ib_order.clientId, ib_order.orderId) == (broker_order.client_id, broker_order.ib_order_id)
        and (ib_order.account or broker_order.account) == broker_order.account
    )


def _record_state(order: brokerOrder) -> tuple:
    """What a stored order record holds that IB can change."""
    return (order.perm_id, order.ib_order_id, order.client_id, order.con_id, order.status, order.limit_price)


def _fill_state(order: brokerOrder) -> dict[str, tuple]:
    return {f.exec_id: (f.commission, f.commission_currency) for f in order.fills}


_SET_ON_SUBMISSION = ("ib_order_id", "client_id", "con_id", "leg_con_ids", "account", "submit_datetime", "status")


def _ids_and_state(order: brokerOrder) -> dict:
    return {name: getattr(order, name) for name in _SET_ON_SUBMISSION}


def _restore(order: brokerOrder, original: dict) -> None:
    for name, value in original.items():
        setattr(order, name, value)
